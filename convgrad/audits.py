"""The things people trip over, computed: inputs no window reaches, the gradient that lands in
the padding, and every term behind one entry of dA_prev or dW. Pure: no I/O, no words
(render/text.py and render/auditview.py write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError, UsageError, option
from .geometry import Geometry
from .layers import conv
from .layers.base import Term
from .layers.conv import dA_terms, db_terms, dW_terms, z_terms
from .problem import Problem
from .selection import CELL_PATTERN, parse_cell


@dataclass(frozen=True)
class Leftover:
    """Along one spatial axis: the A_prev indices no window tap reaches, and why.

    stepped_over: those the windows step over (stride, dilation); past_end: those after ``last``,
    the index where the last window ends.
    """

    axis: int
    indices: tuple[int, ...]
    stepped_over: tuple[int, ...]
    past_end: tuple[int, ...]
    last: int


def stride_leftovers(geom: Geometry) -> list[Leftover]:
    """Axes with A_prev indices that no window reaches (their dA_prev is exactly 0)."""
    found = []
    for axis, hit in enumerate(geom.covered()):
        missing = tuple(i for i, h in enumerate(hit) if not h)
        if not missing:
            continue
        s, d, k, (b, _) = geom.stride[axis], geom.dilation[axis], geom.kernel_size[axis], geom.padding[axis]
        last = (geom.output_size[axis] - 1) * s - b + d * (k - 1)
        between = tuple(i for i in missing if i <= last)
        after = tuple(i for i in missing if i > last)
        found.append(Leftover(axis, missing, between, after, last))
    return found


@dataclass(frozen=True)
class PaddingCrop:
    """The gradient of the padded input, what of it fell in the padding (discarded), and dA_prev.

    padded: (N, C_in, *padded); in_padding: bool (*padded), True on padding cells;
    discarded: the sum of |gradient| that fell in the padding.
    """

    padded: np.ndarray
    in_padding: np.ndarray
    cropped: np.ndarray
    discarded: Any


def padding_crop(problem: Problem) -> PaddingCrop | None:
    g = problem.geom
    if problem.kind is not None:  # convolution's audit: a column kind's padding is no padded input
        return None
    if problem.dZ is None or all(b == 0 and a == 0 for b, a in g.padding):
        return None
    padded = conv.backward(problem.A_prev, problem.W, problem.dZ, g, keep_padding=True).dA_prev
    padded = problem.domain.finalize(padded)
    mask = np.ones(g.padded_size, dtype=bool)
    mask[conv.interior(g)[2:]] = False
    outside = padded[(slice(None), slice(None)) + (mask,)] if mask.any() else np.zeros(0)
    discarded = (
        sum((abs(v) for v in np.ravel(outside)), start=0) if padded.dtype == object else float(np.abs(outside).sum())
    )
    if (
        padded.dtype != object
        and not problem.allow_nonfinite
        and not (np.isfinite(padded).all() and np.isfinite(discarded))
    ):
        # Shares that overflow are refused like totals that do: JSON would otherwise say "Infinity".
        raise InputError(
            "the gradient that falls on the padding overflows float64: its magnitudes add up to beyond about 1.8e308",
            hint=f"{option('exact')} computes it exactly",
        )
    return PaddingCrop(padded, mask, padded[conv.interior(g)], discarded)


# -- the reverse view: one cell ------------------------------------------------------------------


@dataclass(frozen=True)
class CellView:
    """Every term behind one entry. array: "A_prev", "W", "b" (their gradients' terms) or "Z" (the
    terms of the one overlay that made it); index: as the user gave it; gradient: the entry's total
    (the gradient; for Z, Z itself); overlay: for Z, the overlay that made it (0-based)."""

    array: str
    user_index: tuple[int, ...]
    canonical: tuple[int, ...]
    terms: list[Term]
    gradient: Any
    overlay: int | None = None


def index_ranges(array: str, shape: tuple[int, ...]) -> str:
    """The valid indexes of an array: "W has shape (2, 2): indexes 0..1, 0..1"."""
    if not shape:
        return f"{array} is a single number: leave out the index"
    spans = ", ".join(f"0..{n - 1}" if n > 1 else "0" for n in shape)
    return f"{array} has shape {shape}: indexes {spans}"


def cell_view(problem: Problem, text: str) -> CellView:
    """The terms behind dA_prev, dW or db at the entry ``text`` names, or behind one Z (the overlay
    that made it); indices in the user's form."""
    array, index = parse_cell(text)
    if problem.dZ is None and array != "Z":  # before the index is checked: the first thing to fix
        raise UsageError(
            f"{option('cell')} shows gradients: it needs backward (and a dZ); forward takes a Z entry, e.g. Z[0]"
        )
    if problem.kind is not None and array != "A_prev" and not problem.has_weights:
        raise UsageError(
            f"{option('cell')} {text!r}: {problem.layer} has no {array}; its gradient is dA_prev ({option('cell')} A_prev[...])"
        )
    if problem.kind is not None and array == "Z":
        raise UsageError(
            f"{option('cell')} {text!r}: a Z entry's overlay is shown for convolution; for {problem.layer} "
            f"ask for a gradient entry ({option('cell')} A_prev[...] or W[...])"
        )
    if problem.kind is not None and array == "b":
        raise UsageError(
            f"{option('cell')} {text!r}: {problem.layer}'s db is the sum of dZ over every output and belongs to no overlay; "
            f"see db in the totals, or {option('cell')} W[...] and {option('cell')} A_prev[...]"
        )
    form, g = problem.form, problem.geom
    shapes = problem.user_shapes
    shape = tuple(shapes[array])
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        match = CELL_PATTERN.fullmatch(text)
        typed = (match.group(1) if match else None) or array
        count = f" ({len(shape)} index{'es' if len(shape) != 1 else ''}, counting from 0)" if shape else ""
        raise UsageError(f"{option('cell')} {text!r} is not an entry of {typed}: {index_ranges(typed, shape)}{count}")
    overlay = None
    dZ = problem.dZ
    if problem.kind is not None:  # a kind that declares its own terms
        canonical = (
            form.activation_index_to_canonical(index)
            if array == "A_prev"
            else form.kernel_index_to_canonical(index)
            if array == "W"
            else (index[0] if index else 0,)
        )
        args = (problem.A_prev, problem.W, problem.b, problem.dZ, g, problem.params)
        quantity = {"A_prev": "dA_prev", "W": "dW", "b": "db"}[array]
        terms = list(problem.kind.entry_terms(quantity, canonical, *args))
    elif array == "Z":
        canonical = form.activation_index_to_canonical(index)
        overlay = conv.overlay_index(canonical[0], canonical[1], tuple(canonical[2:]), g)
        terms = [Term(overlay, t.factors) for t in z_terms(problem.A_prev, problem.W, problem.b, canonical, g)]
    elif dZ is None:
        raise UsageError(
            f"{option('cell')} shows gradients: it needs backward (and a dZ); forward takes a Z entry, e.g. Z[0]"
        )
    elif array == "A_prev":
        canonical = form.activation_index_to_canonical(index)
        terms = dA_terms(problem.W, dZ, canonical, g)
    elif array == "W":
        canonical = form.kernel_index_to_canonical(index)
        terms = list(dW_terms(problem.A_prev, dZ, canonical, g))
    else:
        canonical = (form.bias_index_to_canonical(index),)
        terms = list(db_terms(dZ, canonical[0], g))
    total = sum(
        (t.value for t in terms), start=problem.domain.zeros(()).item() if problem.A_prev.dtype == object else 0.0
    )
    return CellView(array, index, canonical, terms, problem.domain.finalize(np.asarray(total))[()], overlay)
