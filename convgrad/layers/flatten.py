"""Flatten: each sample's (C, *spatial) entries laid out in one row of features. One overlay is one
entry of Z.

Canonical arrays: A_prev (N, C, *spatial), Z and dZ (N, F) with F = C·prod(spatial) (a Geometry
with out_channels = F and no output axes, so that Z reads (N, F) batched and (F,) for one sample).

The order decides which entry lands at feature j of a sample:

    channels-first (PyTorch's torch.flatten of NCHW):   j = c·prod(spatial) + position row-major
    channels-last  (Keras' Flatten of NHWC):             j = position row-major·C + c

The overlay rule, for the entry Z[n, j]:

    window:   the one entry A_prev[n, c, *p] that order puts at j
    forward:  Z[n, j] = A_prev[n, c, *p]                 (a copy)
    backward: dA_prev[n, c, *p] = dZ[n, j]               (dZ reshaped back, in the same order)

There are no weights and no bias; every overlay reads a different entry, so nothing adds up.
Rational, and names are fine under --symbolic. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from math import prod
from typing import Any

import numpy as np

from ..errors import InputError
from ..forms import BARE, UNBATCHED, Form, parse_layout
from ..geometry import Geometry
from ..numbers import describe_value
from .base import Column, Factor, Record, Takes, Term, Totals

name = "flatten"
sentence = (
    "Z_nj = the entry of sample n that the order puts at feature j: channels-first (PyTorch) counts c, then the "
    "position row-major; channels-last (Keras) the position, then c; dA_prev = dZ reshaped back"
)
takes = Takes(weights=False, bias=False, keys=("order",))
rational = True
title = "Z = flatten(A_prev): one overlay per entry of Z, copying one entry of A_prev"
overlay_unit = "one per entry of Z"
overlay_note = (
    "Each overlay is one entry of Z: it copies the entry of A_prev the order puts there, and in the "
    "backward pass sends dZ of that entry back to the same place; no entry is read twice, so nothing adds up."
)
backward_rule = "dA_prev = dZ reshaped back"
columns = (
    Column("A_prev", "A_prev"),
    Column("feature", "feature j"),
    Column("Z", "Z"),
    Column("dZ", "dZ", backward=True),
    Column("dA_prev", "dA_prev", backward=True),
)

ORDERS = ("channels-first", "channels-last")


# -- reading the key ---------------------------------------------------------------------------


def parse_order(value: Any) -> str:
    """ "channels-first" or "channels-last" from either word, a layout's letters (NCHW, NHWC, ...)
    or the frameworks' names (pytorch, keras, tensorflow)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("pytorch", "torch", "c,h,w", "chw"):
            return "channels-first"
        if word in ("keras", "tensorflow", "tf", "h,w,c", "hwc"):
            return "channels-last"
        last = parse_layout(value)
        if last is not None:
            return "channels-last" if last else "channels-first"
    raise InputError(
        f"order must be channels-first (PyTorch: C, H, W) or channels-last (Keras: H, W, C), got {describe_value(value)}"
    )


def configure(fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
    """The order as given, else from the layout: channels-first for NCHW-type (the default),
    channels-last for NHWC-type."""
    if fields.get("order") is not None:
        return {"order": parse_order(fields["order"])}
    layout = fields.get("layout")
    last = parse_layout(layout) if isinstance(layout, str) else None
    return {"order": "channels-last" if last else "channels-first"}


def adjust_form(form: Form) -> Form:
    """A bare (H, W) input is one sample with its first axis read as channels (the same entries in
    the same row-major order, so the order does not matter): Z is then (F,)."""
    if form.kind == BARE:
        return Form(UNBATCHED, False, form.dims - 1)
    return form


def accept(A_prev: np.ndarray) -> None:
    """A copy: names are fine under --symbolic."""


def kinks(A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
    """None: a copy is linear."""
    return np.zeros(A_prev.shape, dtype=bool)


# -- the geometry ------------------------------------------------------------------------------


def geometry(A_shape: tuple[int, ...], params: Mapping[str, Any]) -> Geometry:
    """Z is (N, F), F = C·prod(spatial): out_channels F and no output axes."""
    batch, channels, *size = A_shape
    dims = len(size)
    return Geometry(
        batch=batch,
        in_channels=channels,
        out_channels=channels * prod(size),
        groups=1,
        input_size=tuple(size),
        kernel_size=(1,) * dims,
        stride=(1,) * dims,
        dilation=(1,) * dims,
        padding=((0, 0),) * dims,
        output_size=(),
    )


def shape_sentences(geom: Geometry, params: Mapping[str, Any]) -> list[str]:
    """What ``shape`` says: the product that gives F and the order."""
    sizes = (geom.in_channels,) + tuple(geom.input_size)
    named = "·".join(str(s) for s in sizes)
    return [
        f"F = C·prod(spatial) = {named} = {geom.out_channels} features per sample, in {params['order']} order "
        + ("(c, then the position row-major)" if params["order"] == "channels-first" else "(the position, then c)")
    ]


# -- the order ---------------------------------------------------------------------------------


def source(j: int, geom: Geometry, order: str) -> tuple[int, ...]:
    """The (c, *position) of A_prev that feature j of a sample copies."""
    C, size = geom.in_channels, tuple(geom.input_size)
    if order == "channels-first":
        return tuple(int(i) for i in np.unravel_index(j, (C,) + size))
    *position, c = (int(i) for i in np.unravel_index(j, size + (C,)))
    return (c, *position)


def feature(entry: tuple[int, ...], geom: Geometry, order: str) -> int:
    """The feature j that A_prev entry (c, *position) of a sample lands at (``source``'s inverse)."""
    C, size = geom.in_channels, tuple(geom.input_size)
    c, *position = entry
    if order == "channels-first":
        return int(np.ravel_multi_index((c, *position), (C,) + size))
    return int(np.ravel_multi_index((*position, c), size + (C,)))


def flatten_array(A: np.ndarray, order: str) -> np.ndarray:
    """(N, C, *spatial) -> (N, F) in ``order``."""
    rows = A if order == "channels-first" else np.moveaxis(A, 1, -1)
    return rows.reshape(A.shape[0], -1)


def unflatten_array(Z: np.ndarray, A_shape: tuple[int, ...], order: str) -> np.ndarray:
    """(N, F) -> (N, C, *spatial), the inverse of ``flatten_array``."""
    if order == "channels-first":
        return Z.reshape(A_shape)
    N, C, *size = A_shape
    return np.moveaxis(Z.reshape((N, *size, C)), -1, 1)


# -- one overlay, top to bottom ----------------------------------------------------------------


def record(index: int, A_prev: np.ndarray, dZ: np.ndarray | None, geom: Geometry, order: str) -> Record:
    """Overlay ``index``: Z[n, j], the entry of A_prev it copies, its gradient sent back."""
    n, j = divmod(index, geom.out_channels)
    entry = (n, *source(j, geom, order))  # window: the one entry the order puts at j
    a = A_prev[entry]  # forward: a copy
    dz = None if dZ is None else dZ[n, j]  # backward: dA_prev[entry] = dZ[n, j]
    return Record(
        index=index,
        n=n,
        channel=entry[1],
        position=tuple(entry[2:]),
        reads=(entry,),
        writes=((n, j),),
        values={"A_prev": a, "feature": str(j), "Z": a, "dZ": dz, "dA_prev": dz},
    )


def records(
    A_prev: np.ndarray,
    W: Any,
    b: Any,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
    indices: Iterable[int] | None = None,
) -> Iterator[Record]:
    for index in range(geom.overlay_count) if indices is None else indices:
        yield record(index, A_prev, dZ, geom, params["order"])


# -- the totals at once ------------------------------------------------------------------------


def totals(
    A_prev: np.ndarray, W: Any, b: Any, dZ: np.ndarray | None, geom: Geometry, params: Mapping[str, Any]
) -> Totals:
    """Z (N, F) and dA_prev (N, C, *spatial) at once: a reshape each way."""
    order = params["order"]
    Z = np.ascontiguousarray(flatten_array(A_prev, order))
    if dZ is None:
        return Totals(Z=Z)
    return Totals(Z=Z, dA_prev=np.ascontiguousarray(unflatten_array(dZ, A_prev.shape, order)))


def entry_terms(
    quantity: str,
    index: tuple[int, ...],
    A_prev: np.ndarray,
    W: Any,
    b: Any,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
) -> list[Term]:
    """Z[n, j]: the one entry of A_prev it copies; dA_prev[n, c, *p]: the one dZ sent back there."""
    order = params["order"]
    if quantity == "Z":
        n, j = index
        entry = (n, *source(j, geom, order))
        return [Term(n * geom.out_channels + j, (Factor("A_prev", entry, A_prev[entry]),))]
    if quantity == "dA_prev" and dZ is not None:
        n, *rest = index
        j = feature(tuple(rest), geom, order)
        return [Term(n * geom.out_channels + j, (Factor("dZ", (n, j), dZ[n, j]),))]
    raise ValueError(f"{name} has no {quantity}: it has Z and dA_prev")
