"""The engine: forward and backward through a convolution layer. Pure: no I/O.

Arrays are canonical (channels-first, batched):
    A_prev  (N, C_in, *spatial)       input activations
    W       (C_out, C_in/G, *k)       filters
    b       (C_out,) or None          bias
    dZ      (N, C_out, *out)          upstream gradient dL/dZ
Entries may be floats or any Python numbers in an object array (Fraction,
sympy expressions): the same code computes all of them.

Two paths compute the same thing:
- ``iter_overlays`` walks the overlays one at a time (one filter at one output
  position of one sample) and reads like the math: window, slice, product,
  contribution. It is lazy: nothing is held beyond the overlay yielded.
- ``forward`` / ``backward`` compute the totals at once: a matrix product per
  kernel tap for any entry type, or, for float32/float64 arrays, the taps
  stacked (im2col) so that BLAS does one large GEMM per tile of samples; tests
  check both against the overlay sums and plain loops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
import numpy as np

from . import blas
from .geometry import Geometry


@dataclass(frozen=True)
class Overlay:
    """One application of one filter at one output position of one sample.

    index: place in the overlay order (n, then c_out, then position row-major), 0-based.
    window_start: A_prev coordinates of the first tap (negative in leading padding);
    the window covers window_start + dilation * i along each spatial dim.
    in_input: (*k) bool, False where a tap falls in the padding.
    channels: the input channels this filter reads (its group's).
    A_slice: (C_in/G, *k) the input under the taps (0 in the padding).
    kernel: (C_in/G, *k) the weights as applied (W[c_out], flipped in convolution mode).
    Z: sum(kernel * A_slice) + b[c_out].
    dZ, db: dL/dZ at this output, which is also this overlay's db contribution.
    dW: (C_in/G, *k) contribution to dW[c_out] (dZ * A_slice), aligned with W as given.
    dA_prev: (C_in/G, *k) contribution to dA_prev on the window taps (dZ * kernel),
    aligned with A_slice; the taps outside the input are discarded.
    The gradient fields are None in a forward pass.
    """

    index: int
    n: int
    c_out: int
    position: tuple[int, ...]
    window_start: tuple[int, ...]
    in_input: np.ndarray
    channels: range
    A_slice: np.ndarray
    kernel: np.ndarray
    bias: object
    Z: object
    dZ: object = None
    dW: np.ndarray | None = None
    db: object = None
    dA_prev: np.ndarray | None = None

    @property
    def products(self) -> np.ndarray:
        """(C_in/G, *k) the terms of Z: kernel * A_slice, tap by tap."""
        return self.kernel * self.A_slice


def pad_input(A_prev: np.ndarray, geom: Geometry) -> np.ndarray:
    """(N, C_in, *spatial) -> (N, C_in, *padded), zeros around (an int 0 in object arrays)."""
    padded = np.zeros(A_prev.shape[:2] + geom.padded_size, dtype=A_prev.dtype)
    padded[interior(geom)] = A_prev
    return padded


def interior(geom: Geometry) -> tuple[slice, ...]:
    """Index of A_prev inside the padded input (N, C, *padded)."""
    return (slice(None), slice(None)) + tuple(
        slice(b, b + n) for n, (b, _) in zip(geom.input_size, geom.padding)
    )


def applied_kernel(W: np.ndarray, geom: Geometry) -> np.ndarray:
    """W as it is slid over the input: flipped along every spatial axis in convolution mode."""
    if not geom.flip:
        return W
    return W[(slice(None), slice(None)) + (slice(None, None, -1),) * geom.dims]


def overlay_key(index: int, geom: Geometry) -> tuple[int, int, tuple[int, ...]]:
    """(n, c_out, position) of the overlay at ``index`` in the overlay order."""
    per_sample = geom.out_channels * geom.positions_per_map
    n, rest = divmod(index, per_sample)
    c_out, flat = divmod(rest, geom.positions_per_map)
    position = tuple(int(p) for p in np.unravel_index(flat, geom.output_size))
    return n, c_out, position


def overlay_index(n: int, c_out: int, position: tuple[int, ...], geom: Geometry) -> int:
    flat = int(np.ravel_multi_index(position, geom.output_size))
    return (n * geom.out_channels + c_out) * geom.positions_per_map + flat


class OverlayMaker:
    """Builds any overlay of one problem on demand; the input is padded once.

    Shapes as in the module docstring; dZ None gives forward-only overlays.
    """

    def __init__(self, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None,
                 dZ: np.ndarray | None, geom: Geometry) -> None:
        self.geom = geom
        self.A_pad = pad_input(A_prev, geom)
        self.kernels = applied_kernel(W, geom)
        self.b = b
        self.dZ = dZ
        # The tap that met kernel[i] belongs to W[k-1-i] when the kernel is flipped.
        self.unflip = (slice(None),) + (slice(None, None, -1) if geom.flip else slice(None),) * geom.dims

    def make(self, index: int) -> Overlay:
        geom = self.geom
        n, c_out, position = overlay_key(index, geom)
        channels = geom.input_channels_of(c_out)
        start = geom.window_start(position)
        taps = window_taps(start, geom)
        A_slice = self.A_pad[(n, slice(channels.start, channels.stop)) + taps]
        kernel = self.kernels[c_out]
        bias = 0 if self.b is None else self.b[c_out]
        Z = (kernel * A_slice).sum() + bias
        in_input = _taps_in_input(start, geom)
        if self.dZ is None:
            return Overlay(index, n, c_out, position, start, in_input, channels, A_slice, kernel, bias, Z)
        dz = self.dZ[(n, c_out) + position]
        return Overlay(
            index, n, c_out, position, start, in_input, channels, A_slice, kernel, bias, Z,
            dZ=dz,
            dW=(dz * A_slice)[self.unflip],
            db=dz,
            dA_prev=dz * kernel,
        )


def window_taps(start: tuple[int, ...], geom: Geometry) -> tuple[slice, ...]:
    """Spatial index, in padded coordinates, of the taps of the window starting at ``start``."""
    return tuple(
        slice(s + pb, s + pb + d * (k - 1) + 1, d)
        for s, (pb, _), d, k in zip(start, geom.padding, geom.dilation, geom.kernel_size)
    )


def iter_overlays(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    indices: Iterable[int] | None = None,
) -> Iterator[Overlay]:
    """Yield overlays in order (or those at ``indices``), one at a time."""
    maker = OverlayMaker(A_prev, W, b, dZ, geom)
    for index in range(geom.overlay_count) if indices is None else indices:
        yield maker.make(index)


def _taps_in_input(start: tuple[int, ...], geom: Geometry) -> np.ndarray:
    """(*k) bool: which taps of the window at ``start`` fall inside A_prev."""
    per_dim = [
        (np.arange(k) * d + s >= 0) & (np.arange(k) * d + s < n)
        for s, d, k, n in zip(start, geom.dilation, geom.kernel_size, geom.input_size)
    ]
    mask = per_dim[0]
    for axis_mask in per_dim[1:]:
        mask = np.multiply.outer(mask, axis_mask)
    return mask


# ---------------------------------------------------------------------------
# Totals at once.
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


def _grouped(geom: Geometry) -> tuple[int, int, int, int, int]:
    return geom.batch, geom.groups, geom.in_per_group, geom.out_per_group, geom.positions_per_map


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dW, db, dA_prev) for L with dL/dZ = dZ; shapes those of W, (C_out,), A_prev.

    keep_padding: return the gradient of the padded input (N, C_in, *padded) instead.
    """
    geom = effective(geom)
    dtype = _blas_dtype(A_prev.dtype, W.dtype, dZ.dtype)
    if dtype is not None and geom.overlay_count:
        dW_applied, dA = blas.backward(A_prev, W, dZ, geom, dtype, keep_padding)
    else:
        dW_applied, dA_pad = _backward_taps(A_prev, W, dZ, geom)
        dA_pad = dA_pad.reshape((geom.batch, geom.in_channels) + geom.padded_size)
        dA = dA_pad if keep_padding else dA_pad[interior(geom)]
    dW = applied_kernel(dW_applied.reshape(W.shape), geom)  # flipping back is its own inverse
    db = dZ.sum(axis=(0,) + tuple(range(2, 2 + geom.dims)))
    return dW, db, dA


def _forward_taps(A_prev: np.ndarray, W: np.ndarray, geom: Geometry) -> np.ndarray:
    """Z without bias, (N, G, Co, P), one batched product per tap: any entry type."""
    N, G, Ci, Co, P = _grouped(geom)
    A_pad = pad_input(A_prev, geom).reshape((N, G, Ci) + geom.padded_size)
    kernels = applied_kernel(W, geom).reshape((G, Co, Ci) + geom.kernel_size)
    dtype = np.result_type(A_prev.dtype, W.dtype)
    Z = np.zeros((N, G, Co, P), dtype=dtype)
    for tap in np.ndindex(*geom.kernel_size):
        X = A_pad[(slice(None),) * 3 + _tap_view(geom, tap)].reshape(N, G, Ci, P)
        Z += kernels[(Ellipsis,) + tap] @ X
    return Z


def _backward_taps(
    A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry
) -> tuple[np.ndarray, np.ndarray]:
    """(dW of the applied kernel (G, Co, Ci, *k), dA_pad (N, G, Ci, *padded)), one tap at a time."""
    N, G, Ci, Co, P = _grouped(geom)
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


class RunningTotals:
    """dW, db and dA_prev summed over the overlays added so far, in overlay order."""

    def __init__(self, A_prev: np.ndarray, W: np.ndarray, geom: Geometry) -> None:
        dtype = np.result_type(A_prev.dtype, W.dtype)
        self.geom = geom
        self.dW = np.zeros(W.shape, dtype=dtype)
        self.db = np.zeros(W.shape[0], dtype=dtype)
        self.dA_pad = np.zeros(A_prev.shape[:2] + geom.padded_size, dtype=dtype)
        self.count = 0

    @classmethod
    def before(
        cls, index: int, A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry
    ) -> RunningTotals:
        """Totals of the overlays before ``index``, computed at once (dZ masked after it)."""
        totals = cls(A_prev, W, geom)
        if index == 0:
            return totals
        masked = dZ.copy().reshape(-1)  # C order of (N, C_out, *out) is the overlay order
        masked[index:] = 0
        dW, db, dA_prev = backward(A_prev, W, masked.reshape(dZ.shape), geom)
        totals.dW, totals.db = dW, db
        totals.dA_pad[interior(geom)] = dA_prev  # contributions in the padding are not kept
        totals.count = index
        return totals

    def add(self, overlay: Overlay) -> None:
        """Accumulate one overlay's contributions (it must carry gradients)."""
        self.dW[overlay.c_out] += overlay.dW
        self.db[overlay.c_out] += overlay.db
        taps = window_taps(overlay.window_start, self.geom)
        channels = slice(overlay.channels.start, overlay.channels.stop)
        self.dA_pad[(overlay.n, channels) + taps] += overlay.dA_prev
        self.count += 1

    @property
    def dA_prev(self) -> np.ndarray:
        """(N, C_in, *spatial) the running dA_prev, padding cropped."""
        return self.dA_pad[interior(self.geom)]

    @property
    def dA_padded(self) -> np.ndarray:
        """(N, C_in, *padded) the running gradient of the padded input, padding kept."""
        return self.dA_pad

