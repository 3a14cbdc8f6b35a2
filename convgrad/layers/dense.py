"""Dense (affine, fully connected): Z = A_prev·Wᵀ + b. One overlay is one output unit of one sample.

Canonical arrays (PyTorch's nn.Linear order):

    A_prev (N, in)   W (out, in)   b (out,)   Z, dZ (N, out)

W may be given as (in, out) instead (``"W_layout": "in-out"``, as CS231n and Keras); it is read
into (out, in) and dW goes back the way W came. A Geometry with in_channels = in, out_channels =
out and no spatial axes lets A_prev and Z read (N, features) batched and (features,) for one sample.

The overlay rule, for output unit j of sample n:

    window:   the whole row A_prev[n, :] and the weights of unit j, W[j, :]
    forward:  Z[n, j] = sum_i A_prev[n, i]·W[j, i] + b[j]
    backward: dW[j, :]    += dZ[n, j]·A_prev[n, :]     (every sample adds to it)
              db[j]       += dZ[n, j]
              dA_prev[n, :] += dZ[n, j]·W[j, :]        (every unit adds to it)

Rational; linear in every input, so names are fine under --symbolic. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..forms import BATCHED, UNBATCHED, Form
from ..geometry import Geometry
from ..numbers import describe_value
from .base import Column, Factor, Record, Takes, Term, Totals

name = "dense"
sentence = (
    "Z_nj = Σ_i A_prev_ni·W_ji + b_j; dW_ji += dZ_nj·A_prev_ni, db_j += dZ_nj, dA_prev_ni += dZ_nj·W_ji "
    "(n the sample, j the output unit, i the input feature)"
)
takes = Takes(weights=True, bias=True, keys=("W_layout",))
rational = True
title = "Z = A_prev·Wᵀ + b: one overlay per output unit of each sample, its row of A_prev times its weights"
overlay_unit = "one per output unit"
overlay_note = (
    "Each overlay is one output unit j of one sample n: it multiplies the sample's row of A_prev by unit j's "
    "weights and adds b[j]. Backward: its dW share is dZ[n, j] times that row (every sample adds to dW[j]), "
    "its db share dZ[n, j], and its dA_prev share dZ[n, j] times the weights (every unit adds to the row)."
)
backward_rule = "dW += dZ·A_prev row, db += dZ, dA_prev row += dZ·weights"
columns = (
    Column("A_prev", "A_prev row"),
    Column("weights", "weights of j"),
    Column("bias", "b"),
    Column("Z", "Z"),
    Column("dZ", "dZ", backward=True),
    Column("dW", "dW share", backward=True),
    Column("dA_prev", "dA_prev share", backward=True),
)

LAYOUTS = ("out-in", "in-out")


# -- reading the arrays and the key ----------------------------------------------------------


def parse_W_layout(value: Any) -> str:
    """ "out-in" (PyTorch's nn.Linear, the default) or "in-out" (CS231n, Keras)."""
    if value is None:
        return "out-in"
    if isinstance(value, str):
        word = value.strip().lower().replace("_", "-").replace(" ", "-").replace(",", "-")
        word = {"outin": "out-in", "inout": "in-out", "pytorch": "out-in", "keras": "in-out"}.get(word, word)
        word = {"(out-in)": "out-in", "(in-out)": "in-out"}.get(word, word)
        if word in LAYOUTS:
            return word
    raise InputError(
        f"W_layout must be out-in (PyTorch nn.Linear: W (out, in)) or in-out (CS231n, Keras: W (in, out)), "
        f"got {describe_value(value)}"
    )


def user_form(A_shape: tuple[int, ...], W_layout: str) -> Form:
    """The form of a dense problem's arrays: (N, in) batched or (in,) one sample, no spatial axes.

    With no spatial axes the activations read the same in either layout, so the form's
    ``channels_last`` says how W is laid out: (in, out) is W's channels-last order."""
    if len(A_shape) not in (1, 2):
        raise InputError(
            f"dense: A_prev has shape ({', '.join(map(str, A_shape))}) but a dense layer takes (N, in) or (in,): "
            "flatten it first (a flatten layer)"
        )
    return Form(BATCHED if len(A_shape) == 2 else UNBATCHED, W_layout == "in-out", 0)


def canonical_W(W_user: np.ndarray, W_layout: str) -> np.ndarray:
    """W as given -> (out, in)."""
    return W_user.T if W_layout == "in-out" else W_user


def user_W(W: np.ndarray, W_layout: str) -> np.ndarray:
    """(out, in) -> W the way it was given (dW too)."""
    return W.T if W_layout == "in-out" else W


def configure(fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
    """The layout of W and the sizes, checked against each other in one line each.

    fields: ``W_layout`` (as given or None), ``A_shape`` (canonical (N, in)), ``W_shape`` (W as given)."""
    layout = parse_W_layout(fields.get("W_layout"))
    A_shape, W_shape = tuple(fields["A_shape"]), tuple(fields["W_shape"])
    shown = f"({', '.join(map(str, W_shape))})"
    if len(W_shape) != 2:
        raise InputError(f"dense: W has shape {shown} but a dense layer's W is a matrix, {_words(layout)}")
    out, inputs = W_shape if layout == "out-in" else W_shape[::-1]
    features = A_shape[-1]
    if features != inputs:
        hint = ""
        swapped = "in-out" if layout == "out-in" else "out-in"
        if W_shape[0 if layout == "out-in" else 1] == features:
            hint = f'; if W is {_words(swapped)}, say "W_layout": "{swapped}"'
        raise InputError(
            f"dense: A_prev has {features} feature{'s' if features != 1 else ''} per sample but W {shown} "
            f"expects {inputs} (in), W being {_words(layout)}{hint}"
        )
    return {"W_layout": layout, "in_features": int(inputs), "out_features": int(out)}


def _words(layout: str) -> str:
    return "(out, in) as PyTorch's nn.Linear" if layout == "out-in" else "(in, out) as CS231n and Keras"


def accept(A_prev: np.ndarray) -> None:
    """Linear in every input: names are fine under --symbolic."""


def kinks(A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
    """None: the layer is linear."""
    return np.zeros(A_prev.shape, dtype=bool)


# -- the geometry ------------------------------------------------------------------------------


def geometry(A_shape: tuple[int, ...], params: Mapping[str, Any]) -> Geometry:
    """in_channels = in, out_channels = out, no spatial axes: N·out overlays."""
    batch, inputs = A_shape
    return Geometry(
        batch=batch,
        in_channels=inputs,
        out_channels=params["out_features"],
        groups=1,
        input_size=(),
        kernel_size=(),
        stride=(),
        dilation=(),
        padding=(),
        output_size=(),
    )


def shape_formulas(geom: Geometry, params: Mapping[str, Any] | None = None) -> list[str]:
    """What ``shape`` says about the sizes."""
    return [
        f"Z = A_prev·Wᵀ + b: ({geom.batch}, {geom.in_channels}) → ({geom.batch}, {geom.out_channels}); "
        f"W holds {geom.out_channels}·{geom.in_channels} = {geom.out_channels * geom.in_channels} weights"
    ]


def output_padding_notes(geom: Geometry) -> list[str]:
    """Nothing to say: the shape view asks every kind with weights (conv-transpose has notes)."""
    return []


# -- one overlay, top to bottom ----------------------------------------------------------------


def record(index: int, A_prev: np.ndarray, W: np.ndarray, b: Any, dZ: np.ndarray | None) -> Record:
    """Overlay ``index`` = (n, j): the row, unit j's weights, Z[n, j]; its three gradient shares."""
    n, j = divmod(index, W.shape[0])
    row = A_prev[n]  # window: sample n's whole row (in,)
    weights = W[j]  # and unit j's weights (in,)
    bias = b[j] if b is not None else _zero(row[0])
    Z = _dot(row, weights) + bias  # forward
    values: dict[str, Any] = {
        "A_prev": row,
        "weights": weights,
        "bias": bias,
        "Z": Z,
        "dZ": None,
        "dW": None,
        "db": None,
        "dA_prev": None,
    }
    if dZ is not None:
        dz = dZ[n, j]
        values.update(
            dZ=dz,
            dW=_clean(dz * row),  # backward: dW[j, :] += dZ[n, j]·A_prev[n, :]
            db=dz,  # db[j] += dZ[n, j]
            dA_prev=_clean(dz * weights),  # dA_prev[n, :] += dZ[n, j]·W[j, :]
        )
    return Record(
        index=index,
        n=n,
        channel=j,
        position=(),
        reads=tuple((n, i) for i in range(A_prev.shape[1])),
        writes=((n, j),),
        values=values,
    )


def records(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: Any,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
    indices: Iterable[int] | None = None,
) -> Iterator[Record]:
    for index in range(geom.overlay_count) if indices is None else indices:
        yield record(index, A_prev, W, b, dZ)


def _dot(row: np.ndarray, weights: np.ndarray) -> Any:
    """sum_i row[i]·weights[i], in the entries' own number type (left to right for object arrays)."""
    if row.dtype != object and weights.dtype != object:
        return row.dtype.type(np.dot(row, weights))
    terms = [a * w for a, w in zip(row, weights)]
    return sum(terms[1:], terms[0])


def _zero(value: Any) -> Any:
    return 0.0 if isinstance(value, (float, np.floating)) else value * 0


def _clean(array: np.ndarray) -> np.ndarray:
    """-0.0 (a negative dZ times a zero) shown as 0 in floats."""
    return array + 0.0 if array.dtype != object else array


# -- the totals at once ------------------------------------------------------------------------


def totals(
    A_prev: np.ndarray, W: np.ndarray, b: Any, dZ: np.ndarray | None, geom: Geometry, params: Mapping[str, Any]
) -> Totals:
    """Z = A·Wᵀ + b; dW = dZᵀ·A (out, in), db = Σ_n dZ, dA_prev = dZ·W: one matrix product each."""
    Z = np.matmul(A_prev, W.T)
    if b is not None:
        Z = Z + b[None, :]
    if dZ is None:
        return Totals(Z=Z)
    dW = _clean(np.matmul(dZ.T, A_prev))
    db = dZ.sum(axis=0)
    dA = _clean(np.matmul(dZ, W))
    return Totals(Z=Z, dW=dW, db=db, dA_prev=dA)


def entry_terms(
    quantity: str,
    index: tuple[int, ...],
    A_prev: np.ndarray,
    W: np.ndarray,
    b: Any,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
) -> list[Term]:
    """The summands of one entry, each naming its overlay (n, j) -> n·out + j, in overlay order:
    Z[n, j] one per input plus the bias; dW[j, i] and db[j] one per sample; dA_prev[n, i] one per unit."""
    out, inputs = W.shape
    if quantity == "Z":
        n, j = index
        terms = [
            Term(n * out + j, (Factor("A_prev", (n, i), A_prev[n, i]), Factor("W", (j, i), W[j, i])))
            for i in range(inputs)
        ]
        if b is not None:
            terms.append(Term(None, (Factor("b", (j,), b[j]),)))
        return terms
    if dZ is None:
        raise ValueError(f"{name} has no {quantity} without dZ")
    if quantity == "dW":
        j, i = index
        return [
            Term(n * out + j, (Factor("dZ", (n, j), dZ[n, j]), Factor("A_prev", (n, i), A_prev[n, i])))
            for n in range(A_prev.shape[0])
        ]
    if quantity == "db":
        (j,) = index
        return [Term(n * out + j, (Factor("dZ", (n, j), dZ[n, j]),)) for n in range(A_prev.shape[0])]
    if quantity == "dA_prev":
        n, i = index
        return [Term(n * out + j, (Factor("dZ", (n, j), dZ[n, j]), Factor("W", (j, i), W[j, i]))) for j in range(out)]
    raise ValueError(f"{name} has no {quantity}: it has Z, dW, db and dA_prev")
