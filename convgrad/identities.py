"""The backward pass as two convolutions, computed that way (forward passes only). Pure.

- dW is the cross-correlation of the padded A_prev with dZ dilated by the stride
  (s-1 zeros between its entries), read at every d-th offset for dilation d:
      dW[c_out, c_in, t] = sum_n sum_p dZ[n, c_out, p] · A_pad[n, c_in, s·p + d·t]
- dA_prev is the full convolution of the stride-dilated dZ with the kernel
  rotated 180° (the transposed convolution), then cropped to A_prev:
      dA_pad[n, c_in, x] = sum_{c_out, t} dZ_dil[n, c_out, x - d·t] · W[c_out, c_in, t]

Both are evaluated with ``conv.forward`` (never ``conv.backward``), so they
check the backward pass from the other side.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .geometry import Geometry, applied_kernel, flip_taps
from .layers import conv
from .problem import Problem


def dilate(dZ: np.ndarray, stride: tuple[int, ...]) -> np.ndarray:
    """(N, C, *out) -> (N, C, *(s·(out-1)+1)): s-1 zeros between neighbouring entries."""
    shape = dZ.shape[:2] + tuple(s * (o - 1) + 1 for o, s in zip(dZ.shape[2:], stride))
    out = np.zeros(shape, dtype=dZ.dtype)
    out[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = dZ
    return out


class InputGradient(NamedTuple):
    """padded: the gradient of the padded input (N, C_in, *padded); dA_prev: its interior (N, C_in, *spatial)."""

    padded: np.ndarray
    dA_prev: np.ndarray


def _upstream(problem: Problem) -> np.ndarray:
    """dZ (N, C_out, *out); a forward-only problem has no backward pass to rewrite."""
    if problem.dZ is None:
        raise ValueError("the backward pass as convolutions needs dZ")
    return problem.dZ


def dW_by_correlation(problem: Problem) -> np.ndarray:
    """dW (C_out, C_in/G, *k) as corr(pad(A_prev), dilate(dZ, stride)), one group at a time."""
    g, dZ = problem.geom, _upstream(problem)
    A_pad = conv.pad_input(problem.A_prev, g)
    dZ_dil = dilate(dZ, g.stride)
    Ci, Co = g.in_per_group, g.out_per_group
    parts = []
    for group in range(g.groups):
        # The batch is summed by making it the channel axis: inputs (C_in/G, N, *padded), kernels (C_out/G, N, *).
        inputs = np.swapaxes(A_pad[:, group * Ci : (group + 1) * Ci], 0, 1)
        kernels = np.swapaxes(dZ_dil[:, group * Co : (group + 1) * Co], 0, 1)
        corr = Geometry.build(
            batch=Ci,
            in_channels=g.batch,
            out_channels=Co,
            groups=1,
            input_size=g.padded_size,
            kernel_size=kernels.shape[2:],
            stride=g.dilation,
            dilation=(1,) * g.dims,
            padding="valid",
        )
        full = conv.forward(np.ascontiguousarray(inputs), np.ascontiguousarray(kernels), None, corr)
        taps = full[(slice(None), slice(None)) + tuple(slice(0, k) for k in g.kernel_size)]
        parts.append(np.swapaxes(taps, 0, 1))  # (C_out/G, C_in/G, *k)
    applied = np.concatenate(parts, axis=0)
    return applied_kernel(applied, g)  # in convolution mode, back to W as given


def dA_by_transposed_convolution(problem: Problem) -> InputGradient:
    """The gradient of the padded input and dA_prev: full convolution of dilate(dZ) with rot180(W), cropped."""
    g = problem.geom
    dZ_dil = dilate(_upstream(problem), g.stride)
    rotated = flip_taps(applied_kernel(problem.W, g), g.dims)
    Ci, Co = g.in_per_group, g.out_per_group
    span = tuple(d * (k - 1) for k, d in zip(g.kernel_size, g.dilation))
    padded = np.zeros(problem.A_prev.shape[:2] + g.padded_size, dtype=np.result_type(problem.W, problem.dZ))
    for group in range(g.groups):
        kernels = np.swapaxes(rotated[group * Co : (group + 1) * Co], 0, 1)  # (C_in/G, C_out/G, *k)
        full = Geometry.build(
            batch=g.batch,
            in_channels=Co,
            out_channels=Ci,
            groups=1,
            input_size=dZ_dil.shape[2:],
            kernel_size=g.kernel_size,
            stride=(1,) * g.dims,
            dilation=g.dilation,
            padding=tuple((e, e) for e in span),
        )
        result = conv.forward(
            np.ascontiguousarray(dZ_dil[:, group * Co : (group + 1) * Co]), np.ascontiguousarray(kernels), None, full
        )
        # Entries past the last window (stride leftovers) get nothing: they stay 0.
        region = tuple(slice(0, n) for n in result.shape[2:])
        padded[(slice(None), slice(group * Ci, (group + 1) * Ci)) + region] = result
    return InputGradient(padded=padded, dA_prev=padded[conv.interior(g)])
