"""Convolution, the first layer kind: one filter at one output position of one sample. Pure: no I/O.

Shapes are canonical (see layers/base.py):
    A_prev  (N, C_in, *spatial)    W  (C_out, C_in/G, *k)    b  (C_out,) or None
    Z, dZ   (N, C_out, *out)       G groups: filter c_out reads the C_in/G channels of its group.

The module reads top to bottom:
1. the overlay order (``overlay_key`` / ``overlay_index``) and the window of one overlay;
2. the per-overlay rule (``OverlayMaker.make``): window, slice, product, contributions
   (dW += dZ·A_slice, db += dZ, dA_prev[window] += dZ·W), and ``RunningTotals.add``,
   which accumulates them;
3. the same totals at once (``forward`` / ``backward``): one matrix product per kernel
   tap for any entry type, or for float32/float64 the taps stacked (im2col) into one
   BLAS GEMM per tile of samples (``convgrad/blas.py``);
4. the terms of one entry (``z_terms``, ``dW_terms``, ``db_terms``, ``dA_terms``): the
   reverse view, "what did every overlay add here", used by --cell and check's working.

Notes
-----
Along each spatial axis, with input length n, kernel k, stride s, dilation d and
padding (p_before, p_after), the output length is
    out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1
(``geometry.output_length``), and output position p meets input index x through
kernel tap t when x = p*s - p_before + d*t.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import blas
from ..geometry import Geometry, applied_kernel, applied_tap
from .base import Factor, Gradients, Overlay, Takes, Term

name = "conv"

takes = Takes(weights=True, bias=True, keys=("stride", "padding", "dilation", "groups", "mode"))
"""W and b, and convolution's own configuration keys (the shared ones are in problem.SHARED_FIELDS)."""

geometry = Geometry.build
"""The layer's Geometry from its configuration (keyword arguments: batch, in_channels,
out_channels, groups, input_size, kernel_size, stride, dilation, padding, flip)."""


# ---------------------------------------------------------------------------
# 1. The overlay order and the window of one overlay.
# ---------------------------------------------------------------------------


def overlay_key(index: int, geom: Geometry) -> tuple[int, int, tuple[int, ...]]:
    """(n, c_out, position) of the overlay at ``index`` in the overlay order (n, c_out, position row-major)."""
    per_sample = geom.out_channels * geom.positions_per_map
    n, rest = divmod(index, per_sample)
    c_out, flat = divmod(rest, geom.positions_per_map)
    position = tuple(int(p) for p in np.unravel_index(flat, geom.output_size))
    return n, c_out, position


def overlay_index(n: int, c_out: int, position: tuple[int, ...], geom: Geometry) -> int:
    """The place in the overlay order of filter c_out at output ``position`` (*out index) of sample n."""
    flat = int(np.ravel_multi_index(position, geom.output_size))
    return (n * geom.out_channels + c_out) * geom.positions_per_map + flat


def pad_input(A_prev: np.ndarray, geom: Geometry) -> np.ndarray:
    """(N, C_in, *spatial) -> (N, C_in, *padded), zeros around (an int 0 in object arrays)."""
    padded = np.zeros(A_prev.shape[:2] + geom.padded_size, dtype=A_prev.dtype)
    padded[interior(geom)] = A_prev
    return padded


def interior(geom: Geometry) -> tuple[slice, ...]:
    """Index of A_prev (N, C_in, *spatial) inside the padded input (N, C_in, *padded)."""
    return (slice(None), slice(None)) + tuple(slice(b, b + n) for n, (b, _) in zip(geom.input_size, geom.padding))


def window_taps(start: tuple[int, ...], geom: Geometry) -> tuple[slice, ...]:
    """Spatial index, in padded coordinates, of the (*k) taps of the window starting at ``start``."""
    return tuple(
        slice(s + pb, s + pb + d * (k - 1) + 1, d)
        for s, (pb, _), d, k in zip(start, geom.padding, geom.dilation, geom.kernel_size)
    )


def taps_in_input(start: tuple[int, ...], geom: Geometry) -> np.ndarray:
    """(*k) bool: which taps of the window at ``start`` fall inside A_prev, not in the padding."""
    per_dim = [
        (np.arange(k) * d + s >= 0) & (np.arange(k) * d + s < n)
        for s, d, k, n in zip(start, geom.dilation, geom.kernel_size, geom.input_size)
    ]
    mask = per_dim[0]
    for axis_mask in per_dim[1:]:
        mask = np.multiply.outer(mask, axis_mask)
    return mask


def _channel_slice(channels: range) -> slice:
    return slice(channels.start, channels.stop)


# ---------------------------------------------------------------------------
# 2. One overlay: window, slice, product, contributions; and accumulating them.
# ---------------------------------------------------------------------------


class OverlayMaker:
    """Builds any overlay of one problem on demand; the input is padded once.

    Shapes as in the module docstring; dZ None gives forward-only overlays.
    """

    def __init__(
        self, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, dZ: np.ndarray | None, geom: Geometry
    ) -> None:
        self.geom = geom
        self.A_pad = pad_input(A_prev, geom)  # (N, C_in, *padded)
        self.kernels = applied_kernel(W, geom)  # (C_out, C_in/G, *k) as slid over the input
        self.b = b
        self.dZ = dZ

    def make(self, index: int) -> Overlay:
        """The overlay at ``index`` in the overlay order."""
        geom = self.geom
        n, c_out, position = overlay_key(index, geom)
        # Window: where filter c_out sits for this output position, and the channels it reads.
        start = geom.window_start(position)
        taps = window_taps(start, geom)
        channels = geom.input_channels_of(c_out)
        # Slice: the input under the window, (C_in/G, *k).
        A_slice = self.A_pad[(n, _channel_slice(channels)) + taps]
        # Product: the forward term.
        kernel = self.kernels[c_out]
        bias = 0 if self.b is None else self.b[c_out]
        Z = (kernel * A_slice).sum() + bias
        # Contributions (backward pass only): dW[c_out] += dZ·A_slice (back on W as given),
        # db[c_out] += dZ, dA_prev[window] += dZ·W; RunningTotals.add accumulates them.
        dz = dW = dA_prev = None
        if self.dZ is not None:
            dz = self.dZ[(n, c_out) + position]
            dW = applied_kernel(dz * A_slice, geom)
            dA_prev = dz * kernel
        return Overlay(
            index=index,
            n=n,
            c_out=c_out,
            position=position,
            window_start=start,
            in_input=taps_in_input(start, geom),
            channels=channels,
            A_slice=A_slice,
            kernel=kernel,
            bias=bias,
            Z=Z,
            dZ=dz,
            dW=dW,
            db=dz,
            dA_prev=dA_prev,
        )


def iter_overlays(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    indices: Iterable[int] | None = None,
) -> Iterator[Overlay]:
    """Yield overlays in order (or those at ``indices``), one at a time: nothing is held beyond the one yielded."""
    maker = OverlayMaker(A_prev, W, b, dZ, geom)
    for index in range(geom.overlay_count) if indices is None else indices:
        yield maker.make(index)


class OverlayTile(NamedTuple):
    """Many overlays at once: the fields of ``Overlay`` with a leading axis of T overlays.

    indices, n, c_out: (T,) (``indices``: the overlays' places in the overlay order); position, window_start: (T, dims); A_slice, dW, dA_prev: (T, C_in/G, *k);
    Z, dZ: (T,). The gradient fields are None in a forward pass (db is dZ).
    """

    indices: np.ndarray
    n: np.ndarray
    c_out: np.ndarray
    position: np.ndarray
    window_start: np.ndarray
    A_slice: np.ndarray
    Z: np.ndarray
    dZ: np.ndarray | None
    dW: np.ndarray | None
    dA_prev: np.ndarray | None


class TileMaker:
    """Builds the overlays at many indices at once, with the same steps as ``OverlayMaker.make``.

    The padded input is viewed as every window at every output position, (N, G, C_in/G, *out, *k)
    (no copy), and a tile gathers its slices from that view in one indexing step.
    """

    def __init__(
        self, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, dZ: np.ndarray | None, geom: Geometry
    ) -> None:
        self.geom = geom
        dims = geom.dims
        A_pad = pad_input(A_prev, geom)  # (N, C_in, *padded)
        extent = geom.dilated_kernel_size
        view = np.lib.stride_tricks.sliding_window_view(A_pad, extent, axis=tuple(range(2, 2 + dims)))
        view = view[
            (slice(None), slice(None))
            + tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(geom.stride, geom.output_size))
            + tuple(slice(None, None, d) for d in geom.dilation)
        ]
        N, G, Ci, _, _ = geom.grouped
        self.windows = view.reshape((N, G, Ci) + view.shape[2:])  # (N, G, C_in/G, *out, *k)
        self.kernels = applied_kernel(W, geom)  # (C_out, C_in/G, *k)
        self.b = b
        self.dZ = dZ

    def make(self, indices: np.ndarray) -> OverlayTile:
        """The overlays at ``indices`` (T,) in the overlay order, as one tile."""
        geom = self.geom
        indices = np.asarray(indices, dtype=np.intp)
        per_sample = geom.out_channels * geom.positions_per_map
        n, rest = np.divmod(indices, per_sample)
        c_out, flat = np.divmod(rest, geom.positions_per_map)
        position = (
            np.stack(np.unravel_index(flat, geom.output_size), axis=1)
            if len(indices)
            else np.zeros((0, geom.dims), dtype=np.intp)
        )
        start = position * np.array(geom.stride) - np.array([before for before, _ in geom.padding])
        group = c_out // geom.out_per_group
        # Slice: the input under each window, (T, C_in/G, *k).
        A_slice = self.windows[(n, group, slice(None)) + tuple(position.T)]
        # Product: the forward term of each overlay, summed per overlay as one overlay sums it.
        kernel = self.kernels[c_out]
        T = len(indices)
        Z = (kernel * A_slice).reshape(T, -1).sum(axis=1)
        if self.b is not None:
            Z = Z + self.b[c_out]
        dz = dW = dA_prev = None
        if self.dZ is not None:
            dz = self.dZ[(n, c_out) + tuple(position.T)]
            scale = dz.reshape((T,) + (1,) * (A_slice.ndim - 1))
            dW = applied_kernel(scale * A_slice, geom)
            dA_prev = scale * kernel
        return OverlayTile(indices, n, c_out, position, start, A_slice, Z, dz, dW, dA_prev)


def iter_tiles(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    indices: Iterable[int] | None = None,
    size: int = 256,
) -> Iterator[OverlayTile]:
    """Tiles of up to ``size`` overlays, in order (or at ``indices``): memory stays one tile's."""
    if not geom.overlay_count:
        return
    maker = TileMaker(A_prev, W, b, dZ, geom)
    chosen = iter(range(geom.overlay_count) if indices is None else indices)
    while True:
        block = np.fromiter(itertools.islice(chosen, size), dtype=np.intp)
        if not len(block):
            return
        yield maker.make(block)


class RunningTotals:
    """dW (C_out, C_in/G, *k), db (C_out,) and dA_pad (N, C_in, *padded) summed over the
    overlays added so far, in overlay order."""

    def __init__(self, A_prev: np.ndarray, W: np.ndarray, geom: Geometry) -> None:
        dtype = np.result_type(A_prev.dtype, W.dtype)
        self.geom = geom
        self.dW = np.zeros(W.shape, dtype=dtype)
        self.db = np.zeros(W.shape[0], dtype=dtype)
        self.dA_pad = np.zeros(A_prev.shape[:2] + geom.padded_size, dtype=dtype)
        self.count = 0

    @classmethod
    def before(cls, index: int, A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry) -> RunningTotals:
        """Totals of the overlays before ``index``, computed at once (dZ masked after it)."""
        totals = cls(A_prev, W, geom)
        if index == 0:
            return totals
        masked = dZ.copy().reshape(-1)  # C order of (N, C_out, *out) is the overlay order
        masked[index:] = 0
        gradients = backward(A_prev, W, masked.reshape(dZ.shape), geom)
        totals.dW, totals.db = gradients.dW, gradients.db
        totals.dA_pad[interior(geom)] = gradients.dA_prev  # contributions in the padding are not kept
        totals.count = index
        return totals

    def add(self, overlay: Overlay) -> None:
        """Accumulate one overlay's contributions (it must carry gradients)."""
        self.dW[overlay.c_out] += overlay.dW
        self.db[overlay.c_out] += overlay.db
        window = (overlay.n, _channel_slice(overlay.channels)) + window_taps(overlay.window_start, self.geom)
        self.dA_pad[window] += overlay.dA_prev
        self.count += 1

    @property
    def dA_prev(self) -> np.ndarray:
        """(N, C_in, *spatial) the running dA_prev, padding cropped."""
        return self.dA_pad[interior(self.geom)]

    @property
    def dA_padded(self) -> np.ndarray:
        """(N, C_in, *padded) the running gradient of the padded input, padding kept."""
        return self.dA_pad


# ---------------------------------------------------------------------------
# 3. Totals at once.
#
# With the channels split by group, A_pad is viewed as (N, G, C_in/G, *padded)
# and W as (G, C_out/G, C_in/G, *k). Tap t of the window at output position o
# reads A_pad[..., o*s + t*d], so for each tap the inputs it meets at every
# output position form X_t = A_pad[..., t*d : t*d + s*(out-1)+1 : s], and
#   Z      += W_t @ X_t                     (G, Co, Ci) @ (N, G, Ci, P)
#   dW_t    = sum_n dZ @ X_t^T              (N, G, Co, P) @ (N, G, P, Ci)
#   dA_t   += W_t^T @ dZ  scattered back on the same strided view.
# Any entry type (Fraction, sympy expressions in object arrays) takes exactly
# these steps, one tap at a time. float32/float64 take the BLAS path in
# blas.py, which stacks the taps so each product is one GEMM of inner size Ci*T.
# ---------------------------------------------------------------------------


def _tap_view(geom: Geometry, tap: tuple[int, ...]) -> tuple[slice, ...]:
    """Spatial index, in padded coordinates, of what tap ``tap`` meets at every output position."""
    return tuple(
        slice(t * d, t * d + s * (o - 1) + 1, s)
        for t, d, s, o in zip(tap, geom.dilation, geom.stride, geom.output_size)
    )


def _blas_dtype(*dtypes: np.dtype) -> np.dtype | None:
    """float32/float64 when the BLAS path computes these totals, else None (object arrays...)."""
    if any(dt.kind not in "biuf" for dt in dtypes):
        return None
    dtype = np.result_type(*dtypes)
    return dtype if dtype in (np.float32, np.float64) else None


def effective(geom: Geometry) -> Geometry:
    """The same layer with a stride that cannot matter (one output along an axis) set to 1, and
    likewise a dilation with one tap: a stride of 10**9 over a 3-long input then costs nothing."""
    stride = tuple(s if o > 1 else 1 for s, o in zip(geom.stride, geom.output_size))
    dilation = tuple(d if k > 1 else 1 for d, k in zip(geom.dilation, geom.kernel_size))
    if stride == geom.stride and dilation == geom.dilation:
        return geom
    return dataclasses.replace(geom, stride=stride, dilation=dilation)


def forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, geom: Geometry) -> np.ndarray:
    """Z (N, C_out, *out) = cross-correlation of A_prev with the applied kernel, plus b."""
    geom = effective(geom)
    dtype = _blas_dtype(A_prev.dtype, W.dtype)
    if dtype is not None and geom.overlay_count:
        if b is not None and np.result_type(dtype, b.dtype) == dtype:
            return blas.forward(A_prev, W, b, geom, dtype)  # b added as Z is written
        Z = blas.forward(A_prev, W, None, geom, dtype)
    else:
        Z = _forward_taps(A_prev, W, geom).reshape((geom.batch, geom.out_channels) + geom.output_size)
    if b is not None:
        Z = Z + b.reshape((1, -1) + (1,) * geom.dims)
    return Z


def backward(
    A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry, keep_padding: bool = False
) -> Gradients:
    """dW (C_out, C_in/G, *k), db (C_out,), dA_prev (N, C_in, *spatial) for L with dL/dZ = dZ.

    keep_padding: dA_prev is the gradient of the padded input (N, C_in, *padded) instead.
    """
    geom = effective(geom)
    dtype = _blas_dtype(A_prev.dtype, W.dtype, dZ.dtype)
    if dtype is not None and geom.overlay_count:
        dW_applied, dA = blas.backward(A_prev, W, dZ, geom, dtype, keep_padding)
    else:
        dW_applied, dA_pad = _backward_taps(A_prev, W, dZ, geom)
        dA_pad = dA_pad.reshape((geom.batch, geom.in_channels) + geom.padded_size)
        dA = dA_pad if keep_padding else dA_pad[interior(geom)]
    dW = applied_kernel(dW_applied.reshape(W.shape), geom)  # back onto W as given
    db = dZ.sum(axis=(0,) + tuple(range(2, 2 + geom.dims)))
    return Gradients(dW=dW, db=db, dA_prev=dA)


def _forward_taps(A_prev: np.ndarray, W: np.ndarray, geom: Geometry) -> np.ndarray:
    """Z without bias, (N, G, Co, P), one batched product per tap: any entry type."""
    N, G, Ci, Co, P = geom.grouped
    A_pad = pad_input(A_prev, geom).reshape((N, G, Ci) + geom.padded_size)
    kernels = applied_kernel(W, geom).reshape((G, Co, Ci) + geom.kernel_size)
    dtype = np.result_type(A_prev.dtype, W.dtype)
    Z = np.zeros((N, G, Co, P), dtype=dtype)
    for tap in np.ndindex(*geom.kernel_size):
        X = A_pad[(slice(None),) * 3 + _tap_view(geom, tap)].reshape(N, G, Ci, P)
        Z += kernels[(Ellipsis,) + tap] @ X
    return Z


def _backward_taps(A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """(dW of the applied kernel (G, Co, Ci, *k), dA_pad (N, G, Ci, *padded)), one tap at a time."""
    N, G, Ci, Co, P = geom.grouped
    A_pad = pad_input(A_prev, geom).reshape((N, G, Ci) + geom.padded_size)
    kernels = applied_kernel(W, geom).reshape((G, Co, Ci) + geom.kernel_size)
    dtype = np.result_type(A_prev.dtype, W.dtype, dZ.dtype)
    dZ_g = dZ.reshape(N, G, Co, P)
    dZ_by_group = np.ascontiguousarray(dZ_g.transpose(1, 2, 0, 3)).reshape(G, Co, N * P)
    dW_applied = np.zeros((G, Co, Ci) + geom.kernel_size, dtype=dtype)
    dA_pad = np.zeros((N, G, Ci) + geom.padded_size, dtype=dtype)
    for tap in np.ndindex(*geom.kernel_size):
        view = (slice(None),) * 3 + _tap_view(geom, tap)
        X = A_pad[view].reshape(N, G, Ci, P)
        X_by_group = X.transpose(1, 0, 3, 2).reshape(G, N * P, Ci)
        dW_applied[(Ellipsis,) + tap] = dZ_by_group @ X_by_group
        W_t = kernels[(Ellipsis,) + tap]
        dA_pad[view] += (W_t.transpose(0, 2, 1) @ dZ_g).reshape((N, G, Ci) + geom.output_size)
    return dW_applied, dA_pad


# ---------------------------------------------------------------------------
# 4. The terms of one entry: which overlay terms make it up.
#
# Indices are canonical; Term.factors name their operands with canonical
# indices too, and presentation converts them to the user's form. For dA_prev
# the taps solve x = p*s - p_before + d*t per spatial dim.
# ---------------------------------------------------------------------------


def _input_at(A_prev: np.ndarray, n: int, c: int, x: tuple[int, ...], geom: Geometry) -> Any | None:
    """A_prev entry at spatial x, or None when x lies in the padding (the term is 0)."""
    if all(0 <= xi < size for xi, size in zip(x, geom.input_size)):
        return A_prev[(n, c) + x]
    return None


def _positions(geom: Geometry) -> Iterator[tuple[int, ...]]:
    """Every output position (*out index), row-major."""
    return itertools.product(*(range(o) for o in geom.output_size))


def z_terms(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, index: tuple[int, ...], geom: Geometry
) -> list[Term]:
    """Z[n, c_out, *pos] = sum over taps of W·A_prev (taps in the padding left out) + b."""
    n, c_out, position = index[0], index[1], tuple(index[2:])
    overlay = overlay_index(n, c_out, position, geom)
    start = geom.window_start(position)
    terms = []
    for ci, c in enumerate(geom.input_channels_of(c_out)):
        for tap in itertools.product(*(range(k) for k in geom.kernel_size)):
            x = tuple(s + d * t for s, d, t in zip(start, geom.dilation, tap))
            a = _input_at(A_prev, n, c, x, geom)
            if a is None:
                continue
            w_index = (c_out, ci) + applied_tap(tap, geom)
            terms.append(Term(overlay, (Factor("W", w_index, W[w_index]), Factor("A_prev", (n, c) + x, a))))
    if b is not None:
        terms.append(Term(None, (Factor("b", (c_out,), b[c_out]),)))
    return terms


def dW_terms(A_prev: np.ndarray, dZ: np.ndarray, index: tuple[int, ...], geom: Geometry) -> Iterator[Term]:
    """dW[c_out, c_in, *k] = sum over the filter's overlays of dZ·(the input under that weight)."""
    c_out, ci, w_tap = index[0], index[1], tuple(index[2:])
    tap = applied_tap(w_tap, geom)  # the window tap this weight is applied at
    c = geom.input_channels_of(c_out)[ci]
    for n in range(geom.batch):
        for position in _positions(geom):
            start = geom.window_start(position)
            x = tuple(s + d * t for s, d, t in zip(start, geom.dilation, tap))
            a = _input_at(A_prev, n, c, x, geom)
            if a is None:
                continue
            z_index = (n, c_out) + position
            yield Term(
                overlay_index(n, c_out, position, geom),
                (Factor("dZ", z_index, dZ[z_index]), Factor("A_prev", (n, c) + x, a)),
            )


def db_terms(dZ: np.ndarray, c_out: int, geom: Geometry) -> Iterator[Term]:
    """db[c_out] = sum of dZ over the filter's overlays."""
    for n in range(geom.batch):
        for position in _positions(geom):
            z_index = (n, c_out) + position
            yield Term(overlay_index(n, c_out, position, geom), (Factor("dZ", z_index, dZ[z_index]),))


def dA_terms(W: np.ndarray, dZ: np.ndarray, index: tuple[int, ...], geom: Geometry) -> list[Term]:
    """dA_prev[n, c, *x] = sum over the overlays whose window covers x of dZ·(the weight there)."""
    n, c, x = index[0], index[1], tuple(index[2:])
    group = c // geom.in_per_group
    ci = c - group * geom.in_per_group
    # Per spatial dim, the (output position, tap) pairs that land on x.
    per_dim = []
    for xi, s, d, k, (pb, _), o in zip(x, geom.stride, geom.dilation, geom.kernel_size, geom.padding, geom.output_size):
        pairs = []
        for t in range(k):
            offset = xi + pb - d * t
            if offset % s == 0 and 0 <= offset // s < o:
                pairs.append((offset // s, t))
        per_dim.append(pairs)
    terms = {}  # by overlay: an overlay meets x through one tap at most
    for c_out in range(group * geom.out_per_group, (group + 1) * geom.out_per_group):
        for combo in itertools.product(*per_dim):
            position = tuple(p for p, _ in combo)
            tap = tuple(t for _, t in combo)
            z_index = (n, c_out) + position
            w_index = (c_out, ci) + applied_tap(tap, geom)
            overlay = overlay_index(n, c_out, position, geom)
            terms[overlay] = Term(overlay, (Factor("dZ", z_index, dZ[z_index]), Factor("W", w_index, W[w_index])))
    return [terms[overlay] for overlay in sorted(terms)]


def entry_terms(
    quantity: str,
    index: tuple[int, ...],
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
) -> Iterable[Term]:
    """The terms of one entry of ``quantity`` ("Z", "dW", "db", "dA_prev") at a canonical index.

    index: (n, c_out, *out) for Z, (c_out, c_in, *k) for dW, (c_out,) for db,
    (n, c_in, *spatial) for dA_prev. The gradients need dZ.
    """
    if quantity == "Z":
        return z_terms(A_prev, W, b, index, geom)
    if dZ is None:
        raise ValueError(f"the terms of {quantity} need dZ")
    if quantity == "dW":
        return dW_terms(A_prev, dZ, index, geom)
    if quantity == "db":
        return db_terms(dZ, index[0], geom)
    if quantity == "dA_prev":
        return dA_terms(W, dZ, index, geom)
    raise ValueError(f"no quantity {quantity!r}: Z, dW, db or dA_prev")
