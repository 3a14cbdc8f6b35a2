"""The float32/float64 totals: im2col and one BLAS GEMM per tile of samples and group.

layers/conv.py's forward/backward send float arrays here; every other entry
type takes its tap-by-tap path, and tests check this module against it and
against plain loops. Shapes are canonical (see layers/base.py).

Pure in what it computes, but it keeps two kinds of state for speed: the
layout of a layer is cached per geometry, and scratch arrays are kept per
thread between calls (see _scratch_array), because on a virtual machine the
first touch of fresh pages costs more than the arithmetic done on them. A
large layer's samples are split between threads (see _in_parallel), which
sets numpy's BLAS to one thread for the call (through threadpoolctl, imported
only then) and restores its count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from math import gcd, prod
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import Geometry, applied_kernel

_T = TypeVar("_T")

# How it works.
#
# The padded input is laid out so that every window tap reads a run of
# consecutive elements. With stride s the padded input is split into its s
# phases per axis (phase r holds the positions r, r+s, r+2s, ...), each a grid
# of Q = ceil(padded / s) positions per axis (B = prod(Q) of them); tap t then
# reads phase (t*d) mod s shifted by (t*d) div s, and output position o sits at
# o in the phase grid. A tile of m samples is held as A_cat (C_in, phases, m, B),
# so the input under tap t at every output position of the tile is the run
# A_cat[:, off_t + j], j in [0, M) with M = (m-1)*B + L (L: one sample's run),
# and output o of sample n sits at j = n*B + o.Q (Q-strides). The rest of the
# run (past the right edge of a phase row, across a sample boundary) is wasted
# work: its dZ is zero. With stride 1 there is one phase: the padded input
# itself. So, per group,
#   X      (Ci*T, M)  rows (ci, t), the runs (im2col)
#   Z      = W @ X                      (Co, Ci*T) @ (Ci*T, M)
#   dW    += dZ @ X^T                   (Co, M) @ (M, Ci*T)
#   dX     = W^T @ dZ, and A_cat's gradient at off_t + j += dX[(ci, t), j]  (col2im)
# Compared with one product per tap this copies the input once per tap too,
# but along long contiguous runs rather than short rows, and runs one GEMM of
# inner size Ci*T instead of T GEMMs of inner size Ci and T sums over Z (the
# gain is largest when C_in is small).


@dataclass(frozen=True)
class _Layout:
    """The phase layout of one layer's padded input and where its windows sit in it.

    stride: phases per axis; grid: (*Q) positions of one phase; block: B, positions
    of one phase; length: L, one sample's run; outputs: (*out) strides of the output
    positions in a run; taps: (T) (phase, shift) of each kernel tap in C order, its
    run starting at shift in the phase; classes: the taps in groups whose runs step
    evenly through one phase, one copy each: (tap index per axis, phase, shift of
    the first, counts, steps).
    """

    stride: tuple[int, ...]
    grid: tuple[int, ...]
    block: int
    length: int
    outputs: tuple[int, ...]
    taps: tuple[tuple[int, int], ...]
    classes: tuple[tuple[tuple[slice, ...], int, int, tuple[int, ...], tuple[int, ...]], ...]

    @classmethod
    @lru_cache(maxsize=64)  # a layer is usually run many times: forward, backward, again
    def of(cls, geom: Geometry) -> _Layout:
        stride = geom.stride
        grid = tuple(-(-p // s) for p, s in zip(geom.padded_size, stride))
        strides = tuple(prod(grid[i + 1 :]) for i in range(geom.dims))

        def place(tap: tuple[int, ...]) -> tuple[int, int]:
            """(phase, shift in it) of the inputs tap ``tap`` meets beyond the window start."""
            reach = tuple(t * d for t, d in zip(tap, geom.dilation))
            phase = int(np.ravel_multi_index(tuple(x % s for x, s in zip(reach, stride)), stride))
            return phase, sum(x // s * q for x, s, q in zip(reach, stride, strides))

        taps = tuple(place(tap) for tap in np.ndindex(*geom.kernel_size))
        # Along an axis the taps c, c + s/g, c + 2s/g, ... (g = gcd(d, s)) share a
        # phase and step d/g positions in it.
        steps = [s // gcd(d, s) for s, d in zip(stride, geom.dilation)]
        jumps = tuple(d // gcd(d, s) * q for d, s, q in zip(geom.dilation, stride, strides))
        classes = []
        for first in np.ndindex(*(min(k, step) for k, step in zip(geom.kernel_size, steps))):
            index = tuple(slice(c, None, step) for c, step in zip(first, steps))
            counts = tuple(len(range(c, k, step)) for c, k, step in zip(first, geom.kernel_size, steps))
            classes.append((index,) + place(first) + (counts, jumps))
        length = sum((o - 1) * q for o, q in zip(geom.output_size, strides)) + 1
        return cls(stride, grid, prod(grid), length, strides, taps, tuple(classes))

    @property
    def phases(self) -> int:
        return prod(self.stride)

    def runs(self, m: int) -> int:
        """M: the run length of a tile of m samples."""
        return (m - 1) * self.block + self.length

    def offset(self, phase: int, shift: int, m: int) -> int:
        """Where a run starts in a tile of m samples, flattened per channel."""
        return phase * m * self.block + shift

    def phase_copies(
        self, lo: tuple[int, ...], hi: tuple[int, ...]
    ) -> list[tuple[tuple[slice, ...], int, tuple[slice, ...]]]:
        """(box index, phase, grid index) triples covering the padded box [lo, hi) per axis.

        box index: spatial index into an array holding the box; grid index: the
        same positions in the phase's grid (*Q).
        """
        pairs = []
        for phase in np.ndindex(*self.stride):
            box, grid = [], []
            for r, s, a, b in zip(phase, self.stride, lo, hi):
                first, stop = max(-(-(a - r) // s), 0), -(-(b - r) // s)  # q with a <= r + s*q < b
                if stop <= first:
                    break
                start = r + s * first - a
                box.append(slice(start, start + s * (stop - first - 1) + 1, s))
                grid.append(slice(first, stop))
            else:
                pairs.append((tuple(box), int(np.ravel_multi_index(phase, self.stride)), tuple(grid)))
        return pairs


# Bytes of one tile's stacked windows (X) when it holds several samples: small
# enough that X, copied just before its GEMM, is still in cache when the GEMM
# packs it (and dX when the scatter-back reads it). A sample whose X alone is
# larger is a tile by itself, its run cut in parts only above _RUN_BYTES (parts
# cost more than the cache saves).
_TILE_BYTES = 4 << 20
_RUN_BYTES = 32 << 20


def _tiles(geom: Geometry, layout: _Layout, itemsize: int, samples: int) -> tuple[int, int]:
    """(samples per tile, run columns per GEMM) for ``samples`` samples.

    Several whole samples per tile (X of about _TILE_BYTES), one sample per tile, or
    one sample and its run in parts of about _RUN_BYTES.
    """
    per_column = geom.in_channels * prod(geom.kernel_size) * itemsize
    columns = max(1, _TILE_BYTES // per_column)
    if columns >= layout.length:
        m = min(samples, 1 + (columns - layout.length) // layout.block)
        return m, layout.runs(m)
    return 1, min(layout.length, max(1, _RUN_BYTES // per_column))


# Scratch arrays are kept per thread between calls: a fresh page costs a fault
# on first touch (on a virtual machine, more than the arithmetic done on it),
# and zeros left by the previous call with the same layout need no refill.
# Arrays above the limit are not kept.
_SCRATCH_LIMIT = 64 << 20
_scratch = threading.local()


def _scratch_array(name: str, shape: tuple[int, ...], dtype: np.dtype, key: object = None) -> tuple[np.ndarray, bool]:
    """(array, kept): an array of ``shape`` in this thread's memory called ``name``.

    kept: the memory was last handed out under the same ``key`` (not None), so
    it holds what that caller left; otherwise its content is arbitrary.
    """
    nbytes = prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_LIMIT:
        return np.empty(shape, dtype=dtype), False
    pool = _scratch.__dict__.setdefault("pool", {})
    memory, last = pool.get(name, (None, None))
    if memory is None or memory.nbytes < nbytes:
        memory, last = np.empty(max(nbytes, 1), dtype=np.uint8), None
    kept = key is not None and last == (key, shape, dtype)
    pool[name] = (memory, (key, shape, dtype))
    return memory[:nbytes].view(dtype).reshape(shape), kept


# Threads. numpy releases the GIL in its copies, sums and GEMMs, so a layer's
# samples can be split between threads, each running the whole tile pipeline
# (copies, GEMMs, scatter-back) on its part with its own scratch; BLAS is set
# to one thread meanwhile, so that the threads are the parallelism (as many as
# BLAS had: OPENBLAS_NUM_THREADS and the like are obeyed). threadpoolctl reads
# and sets BLAS's thread count (OpenBLAS, MKL, BLIS, FlexiBLAS; on every
# platform). Without it, or when it finds no BLAS it can set, one thread runs
# everything and BLAS alone is threaded, as it always is for small layers.
# Z and dA are the same sums either way, but a part's products are narrower
# and BLAS may round a narrower product otherwise (small-matrix and
# matrix-vector kernels): they agree to rounding; dW is summed per part, then
# the parts are added.

# Multiply-adds of one pass (forward or backward) below which splitting costs more than it gains.
_SPLIT_WORK = 1 << 22


class _Blas:
    """numpy's BLAS as threadpoolctl controls it; found once, lazily (only a large layer
    imports threadpoolctl, whose scan of the loaded libraries costs a few milliseconds).

    controller: a threadpoolctl ThreadpoolController holding numpy's BLAS, or None (no
    threadpoolctl, or no BLAS whose thread count it can set).
    """

    _found: _Blas | None = None
    _finding = threading.Lock()

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one split at a time sets the count
        self.controller: Any = None
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return
        found = ThreadpoolController().select(user_api="blas")
        # Another BLAS may be loaded too (scipy's, say): numpy's is the one in numpy's own
        # wheel when it brings one (numpy.libs, or numpy/.dylibs), else any.
        home = Path(np.__file__).resolve().parent
        own = [
            lib.filepath
            for lib in found.lib_controllers
            if {home, home.parent / "numpy.libs"} & set(Path(lib.filepath).resolve().parents)
        ]
        if own:
            found = found.select(filepath=own)
        if found.lib_controllers:
            self.controller = found

    @classmethod
    def found(cls) -> _Blas:
        with cls._finding:
            if cls._found is None:
                cls._found = cls()
        return cls._found

    def threads(self) -> int:
        """numpy's BLAS thread count now (1 when it cannot be set)."""
        if self.controller is None:
            return 1
        counts = [lib.num_threads for lib in self.controller.lib_controllers]
        return max(1, min((c for c in counts if c is not None), default=1))

    def one_thread(self) -> AbstractContextManager[object]:
        """BLAS on one thread until the block ends, then back to its count, even on failure.

        threadpoolctl sets the count of the calling thread where BLAS keeps one per thread
        (OpenMP), else the process's: every thread of a split enters it.
        """
        assert self.controller is not None
        return self.controller.limit(limits=1, user_api="blas")


def split_threads() -> int:
    """How many threads a split uses: as many as BLAS has (1: no split)."""
    return _Blas.found().threads()


def _parts(geom: Geometry) -> list[range]:
    """The samples of each thread: one range (no split) for a small layer, or one BLAS cannot be set."""
    work = geom.batch * geom.out_channels * geom.in_per_group * prod(geom.kernel_size) * geom.positions_per_map
    if work < _SPLIT_WORK or geom.batch < 2:
        return [range(geom.batch)]
    count = min(split_threads(), geom.batch)
    return [range(geom.batch * i // count, geom.batch * (i + 1) // count) for i in range(count)]


_pool: tuple[ThreadPoolExecutor, int] | None = None  # the helper threads and how many


def _in_parallel(work: Callable[[range], _T], parts: list[range]) -> list[_T]:
    """[work(part) for part in parts], the parts on as many threads, BLAS on one thread meanwhile."""
    global _pool
    if len(parts) == 1:
        return [work(parts[0])]
    blas = _Blas.found()

    def helper(part: range) -> _T:
        with blas.one_thread():
            return work(part)

    with blas.lock, blas.one_thread():
        if _pool is None or _pool[1] < len(parts) - 1:
            if _pool is not None:
                _pool[0].shutdown(wait=False)
            _pool = ThreadPoolExecutor(len(parts) - 1, thread_name_prefix="convgrad-blas"), len(parts) - 1
        others = [_pool[0].submit(helper, part) for part in parts[1:]]
        try:
            first = work(parts[0])  # the calling thread takes a part too
        finally:
            wait(others)  # none outlives the call, even when this part fails
        return [first] + [future.result() for future in others]


def _input_tiles(
    A_prev: np.ndarray, geom: Geometry, layout: _Layout, samples: range, chunk: int, dtype: np.dtype
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(n0, m, A_cat (C_in, phases * m * B)): the samples n0 : n0 + m (of ``samples``) in the phase layout.

    The padding positions are zero and never written: the scratch is zeroed only
    when it was last laid out otherwise.
    """
    C = geom.in_channels
    lo = tuple(b for b, _ in geom.padding)
    copies = layout.phase_copies(lo, tuple(b + n for b, n in zip(lo, geom.input_size)))
    for n0 in range(samples.start, samples.stop, chunk):
        part = A_prev[n0 : min(n0 + chunk, samples.stop)]
        m = part.shape[0]
        tile, kept = _scratch_array("input", (C, layout.phases, m) + layout.grid, dtype, key=geom)
        if not kept:
            tile.fill(0)
        for box, phase, grid in copies:
            tile[(slice(None), phase, slice(None)) + grid] = np.moveaxis(part[(slice(None), slice(None)) + box], 0, 1)
        yield n0, m, tile.reshape(C, -1)


def _stack_runs(
    A_cat: np.ndarray, m: int, geom: Geometry, layout: _Layout, start: int, width: int, buffer: np.ndarray
) -> np.ndarray:
    """X (G, Ci*T, width): columns [start, start + width) of every tap's run, copied into ``buffer``."""
    C = geom.in_channels
    X = buffer[: C * prod(geom.kernel_size) * width].reshape((C,) + geom.kernel_size + (width,))
    s_c, item = A_cat.strides[0], A_cat.itemsize
    for index, phase, shift, counts, jumps in layout.classes:
        first = layout.offset(phase, shift, m) + start
        X[(slice(None),) + index] = as_strided(
            A_cat[:, first:],
            (C,) + counts + (width,),
            (s_c,) + tuple(item * j for j in jumps) + (item,),
            writeable=False,
        )
    return X.reshape(geom.groups, -1, width)


def _stacked_kernels(W: np.ndarray, geom: Geometry, dtype: np.dtype) -> np.ndarray:
    """(G, Co, Ci*T) the applied kernel, contiguous, columns in the order of X's rows."""
    return np.ascontiguousarray(applied_kernel(W, geom), dtype=dtype).reshape(geom.groups, geom.out_per_group, -1)


def _outputs(runs: np.ndarray, m: int, geom: Geometry, layout: _Layout) -> np.ndarray:
    """(C, m, *out) view of the output positions in runs (C, >= M)."""
    item = runs.itemsize
    return as_strided(
        runs,
        (runs.shape[0], m) + geom.output_size,
        (runs.strides[0], item * layout.block) + tuple(item * q for q in layout.outputs),
    )


def forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, geom: Geometry, dtype: np.dtype) -> np.ndarray:
    """Z (N, C_out, *out), plus b if given: per tile, copy the runs once, then one GEMM per group.

    Large layers split their samples between threads (see _in_parallel).
    """
    layout = _Layout.of(geom)
    kernels = _stacked_kernels(W, geom, dtype)
    Z = np.empty((geom.batch, geom.out_channels) + geom.output_size, dtype=dtype)
    bias = None if b is None else b.reshape((-1,) + (1,) * (1 + geom.dims))

    def part(samples: range) -> None:
        _forward_samples(A_prev, kernels, bias, geom, layout, samples, dtype, Z)

    _in_parallel(part, _parts(geom))
    return Z


def _forward_samples(
    A_prev: np.ndarray,
    kernels: np.ndarray,
    bias: np.ndarray | None,
    geom: Geometry,
    layout: _Layout,
    samples: range,
    dtype: np.dtype,
    Z: np.ndarray,
) -> None:
    """Z[samples] of forward, written in place; kernels (G, Co, Ci*T), bias (C_out, 1, ...) or None."""
    G, Co = geom.groups, geom.out_per_group
    chunk, width = _tiles(geom, layout, dtype.itemsize, len(samples))
    buffer, _ = _scratch_array("runs", (geom.in_channels * prod(geom.kernel_size) * width,), dtype)
    Z_cat, _ = _scratch_array("outputs", (G, Co, layout.runs(chunk)), dtype)
    for n0, m, A_cat in _input_tiles(A_prev, geom, layout, samples, chunk, dtype):
        M = layout.runs(m)
        for start in range(0, M, width):
            w = min(width, M - start)
            np.matmul(
                kernels, _stack_runs(A_cat, m, geom, layout, start, w, buffer), out=Z_cat[:, :, start : start + w]
            )
        found = _outputs(Z_cat.reshape(geom.out_channels, -1), m, geom, layout)
        if bias is None:
            np.moveaxis(Z[n0 : n0 + m], 1, 0)[...] = found
        else:
            np.add(found, bias, out=np.moveaxis(Z[n0 : n0 + m], 1, 0))


class AppliedGradients(NamedTuple):
    """dW_applied (G, Co, Ci*T): the gradient of the applied (possibly flipped) kernel, taps
    in C order; dA: dA_prev (N, C_in, *spatial), or (N, C_in, *padded) with keep_padding."""

    dW_applied: np.ndarray
    dA: np.ndarray


def backward(
    A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry, dtype: np.dtype, keep_padding: bool
) -> AppliedGradients:
    """(dW_applied, dA) by im2col / col2im, tile by tile; see AppliedGradients for shapes.

    Large layers split their samples between threads (see _in_parallel); each part sums its
    own dW, and the parts' sums are added in sample order.
    """
    C = geom.in_channels
    layout = _Layout.of(geom)
    kernels_T = _stacked_kernels(W, geom, dtype).transpose(0, 2, 1)
    lo, hi = (0,) * geom.dims, geom.padded_size
    if not keep_padding:
        lo = tuple(b for b, _ in geom.padding)
        hi = tuple(b + n for b, n in zip(lo, geom.input_size))
    back = layout.phase_copies(lo, hi)
    dA = np.empty((geom.batch, C) + tuple(b - a for a, b in zip(lo, hi)), dtype=dtype)

    def part(samples: range) -> np.ndarray:
        return _backward_samples(A_prev, kernels_T, dZ, geom, layout, samples, dtype, back, dA)

    dW, *others = _in_parallel(part, _parts(geom))
    for other in others:
        dW += other
    return AppliedGradients(dW_applied=dW if geom.out_per_group >= 32 else dW.transpose(0, 2, 1), dA=dA)


def _backward_samples(
    A_prev: np.ndarray,
    kernels_T: np.ndarray,
    dZ: np.ndarray,
    geom: Geometry,
    layout: _Layout,
    samples: range,
    dtype: np.dtype,
    back: list[tuple[tuple[slice, ...], int, tuple[slice, ...]]],
    dA: np.ndarray,
) -> np.ndarray:
    """dA[samples] of backward, written in place, and these samples' dW_applied: (G, Co, Ci*T)
    when Co >= 32, else (G, Ci*T, Co). kernels_T (G, Ci*T, Co); back: dA's phase_copies."""
    G, Co, C = geom.groups, geom.out_per_group, geom.in_channels
    chunk, width = _tiles(geom, layout, dtype.itemsize, len(samples))
    buffer, _ = _scratch_array("runs", (C * prod(geom.kernel_size) * width,), dtype)
    dZ_cat, kept = _scratch_array("output gradients", (G, Co, layout.runs(chunk)), dtype, key=geom)
    if not kept:
        dZ_cat.fill(0)  # zero where no output, so that work adds nothing; outputs alone are written
    # BLAS runs the long inner sum faster with the wider operand first.
    dW = np.zeros((G, Co, kernels_T.shape[1]) if Co >= 32 else (G, kernels_T.shape[1], Co), dtype=dtype)
    for n0, m, A_cat in _input_tiles(A_prev, geom, layout, samples, chunk, dtype):
        M = layout.runs(m)
        _outputs(dZ_cat.reshape(geom.out_channels, -1), m, geom, layout)[...] = np.moveaxis(dZ[n0 : n0 + m], 1, 0)
        dA_tile, _ = _scratch_array("gradient", (C, layout.phases, m) + layout.grid, dtype)
        dA_tile.fill(0)
        dA_cat = dA_tile.reshape(C, -1)
        for start in range(0, M, width):
            w = min(width, M - start)
            X = _stack_runs(A_cat, m, geom, layout, start, w, buffer)
            dZ_t = dZ_cat[:, :, start : start + w]
            if Co >= 32:
                dW += dZ_t @ X.transpose(0, 2, 1)
            else:
                dW += X @ dZ_t.transpose(0, 2, 1)
            if Co == 1:  # depthwise-like: an outer product per group
                dX = np.multiply(kernels_T, dZ_t, out=X)
            else:
                dX = np.matmul(kernels_T, dZ_t, out=X)  # the runs are spent: reuse their buffer
            dX = dX.reshape(C, -1, w)
            for t, (phase, shift) in enumerate(layout.taps):
                at = layout.offset(phase, shift, m) + start
                dA_cat[:, at : at + w] += dX[:, t]
        for box, phase, grid in back:
            gradient = dA_tile[(slice(None), phase, slice(None)) + grid]
            dA[(slice(n0, n0 + m), slice(None)) + box] = np.moveaxis(gradient, 0, 1)
    return dW
