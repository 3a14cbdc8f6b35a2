"""Shape arithmetic of one convolution layer: padding, output size, windows.

Everything here is in the canonical channels-first form the engine uses:
input (N, C_in, *spatial), kernel (C_out, C_in/groups, *k), output (N, C_out, *out).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import NamedTuple

import numpy as np

PaddingPairs = tuple[tuple[int, int], ...]


class GroupedShape(NamedTuple):
    """The sizes the grouped products run over: N, G, C_in/G, C_out/G and P = prod(out)."""

    batch: int
    groups: int
    in_per_group: int
    out_per_group: int
    positions: int


def output_length(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    """Output length along one axis.

    Notes
    -----
    out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1, which is < 1
    when the dilated kernel is larger than the padded input.
    """
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Padding that makes the output ceil(size / stride) long, the extra after (as TensorFlow)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    spec: str | PaddingPairs,
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> PaddingPairs:
    """[before, after] per spatial dim from "valid", "same", "full" or explicit pairs.

    "full" pads d*(k-1) on both sides, so every partial overlap is an overlay
    (the textbook full convolution).
    """
    if spec == "valid":
        return tuple((0, 0) for _ in size)
    if spec == "same":
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation))
    if spec == "full":
        return tuple((d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation))
    assert not isinstance(spec, str), spec
    return spec


@dataclass(frozen=True)
class Geometry:
    """Resolved configuration and shapes of one layer (canonical, channels-first).

    batch: N; in_channels: C_in; out_channels: C_out; groups: G (C_in and C_out
    divisible by G; filter c_out sees input channels of group c_out // (C_out/G));
    input_size, kernel_size, output_size: spatial shapes; stride, dilation: per
    spatial dim; padding: (before, after) per spatial dim; flip: True in
    convolution mode (kernel flipped along every spatial axis before use).
    """

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: PaddingPairs
    output_size: tuple[int, ...]
    flip: bool = False

    @classmethod
    def build(
        cls,
        *,
        batch: int,
        in_channels: int,
        out_channels: int,
        groups: int,
        input_size: tuple[int, ...],
        kernel_size: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
        padding: str | PaddingPairs,
        flip: bool = False,
    ) -> Geometry:
        """Resolve the padding and compute the output size (may be < 1: callers validate).

        Notes
        -----
        Per spatial axis, out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1
        (``output_length``).
        """
        pairs = resolve_padding(padding, input_size, kernel_size, stride, dilation)
        out = tuple(
            output_length(n, k, s, d, b, a)
            for n, k, s, d, (b, a) in zip(input_size, kernel_size, stride, dilation, pairs)
        )
        return cls(
            batch, in_channels, out_channels, groups, input_size, kernel_size, stride, dilation, pairs, out, flip
        )

    @property
    def dims(self) -> int:
        return len(self.input_size)

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def padded_size(self) -> tuple[int, ...]:
        return tuple(n + b + a for n, (b, a) in zip(self.input_size, self.padding))

    @property
    def positions_per_map(self) -> int:
        return prod(self.output_size)

    @property
    def overlay_count(self) -> int:
        return self.batch * self.out_channels * self.positions_per_map

    @property
    def dilated_kernel_size(self) -> tuple[int, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def grouped(self) -> GroupedShape:
        """(N, G, C_in/G, C_out/G, P): the shapes of the per-group matrix products."""
        return GroupedShape(self.batch, self.groups, self.in_per_group, self.out_per_group, self.positions_per_map)

    def group_of(self, c_out: int) -> int:
        return c_out // self.out_per_group

    def input_channels_of(self, c_out: int) -> range:
        """Input channels filter c_out reads."""
        start = self.group_of(c_out) * self.in_per_group
        return range(start, start + self.in_per_group)

    def window_start(self, position: tuple[int, ...]) -> tuple[int, ...]:
        """A_prev coordinates of the first tap of the window at an output position.

        Negative inside the leading padding; the window covers start + dilation * i.
        """
        return tuple(p * s - b for p, s, (b, _) in zip(position, self.stride, self.padding))

    def covered(self) -> tuple[tuple[bool, ...], ...]:
        """Per spatial dim, for each A_prev index, whether any window tap reaches it.

        Tap i of the window at output position p reaches x = p*s - b + d*i. The taps
        whose start d*i - b has the same remainder modulo s reach one arithmetic
        progression x = r + s*j, each over a run of consecutive j: a difference array
        over j marks the runs, so the work is O(n + k), not O(outputs x taps).
        """
        import numpy as np

        result = []
        for n, k, s, d, (b, _), o in zip(
            self.input_size, self.kernel_size, self.stride, self.dilation, self.padding, self.output_size
        ):
            hit = np.zeros(n, dtype=bool)
            runs: dict[int, tuple[list[int], list[int]]] = {}  # remainder r: first and last j of each tap
            for i in range(k if o > 0 else 0):
                start = d * i - b  # x of tap i at p = 0; Python ints, so no size overflows
                r = start % s
                if r >= n:
                    continue
                count = (n - r + s - 1) // s  # the j with 0 <= r + s*j < n
                first, last = max((start - r) // s, 0), min((start - r) // s + o - 1, count - 1)
                if first <= last:
                    runs.setdefault(r, ([], []))[0].append(first)
                    runs[r][1].append(last)
            for r, (firsts, lasts) in runs.items():
                count = (n - r + s - 1) // s
                diff = np.zeros(count + 1, dtype=np.int64)
                np.add.at(diff, np.array(firsts, dtype=np.int64), 1)
                np.add.at(diff, np.array(lasts, dtype=np.int64) + 1, -1)
                hit[r::s] = np.cumsum(diff[:count]) > 0
            result.append(tuple(hit.tolist()))
        return tuple(result)


def flip_taps(array: np.ndarray, dims: int) -> np.ndarray:
    """``array`` (..., *k) reversed along its last ``dims`` axes (a view): the 180° rotation.

    Used on W (C_out, C_in/G, *k), one filter or window (C_in/G, *k), or dZ (N, C, *out).
    """
    return array[(Ellipsis,) + (slice(None, None, -1),) * dims]


def applied_kernel(W: np.ndarray, geom: Geometry) -> np.ndarray:
    """W (C_out, C_in/G, *k) or one filter (C_in/G, *k) as slid over the input.

    Flipped along every spatial axis in convolution mode, as given in
    cross-correlation mode. Its own inverse: it also maps a gradient with
    respect to the applied kernel back onto W as given.
    """
    return flip_taps(W, geom.dims) if geom.flip else W


def applied_tap(tap: tuple[int, ...], geom: Geometry) -> tuple[int, ...]:
    """The index into W's taps (*k) of the weight met at window tap ``tap``; its own inverse.

    The index form of ``applied_kernel``: k-1-t per axis in convolution mode.
    """
    return tuple(k - 1 - t for t, k in zip(tap, geom.kernel_size)) if geom.flip else tap
