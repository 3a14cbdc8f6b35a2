"""The float32/float64 fast path of conv.forward / conv.backward (im2col + BLAS) against plain
loops, exact rationals and the generic one-tap-at-a-time path, plus a smoke run of the benchmark
script. No timing assertions: speed is measured by benchmarks/bench_engine.py only."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import reference_backward, reference_forward

from convgrad import blas
from convgrad.geometry import Geometry, applied_kernel
from convgrad.layers import conv

ROOT = Path(__file__).resolve().parent.parent


@st.composite
def layers(draw, max_channels: int = 3):
    """A random valid layer (geometry, A, W, b, dZ) in float64: 1/2/3-D, groups (depthwise
    included), stride, dilation, asymmetric padding, flip."""
    d = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    depthwise = draw(st.booleans())
    c_in = groups * (1 if depthwise else draw(st.integers(1, max_channels)))
    c_out = groups * (1 if depthwise else draw(st.integers(1, max_channels)))
    batch = draw(st.integers(1, 3))
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=d, max_size=d)))
    dilation = tuple(draw(st.lists(st.integers(1, 3), min_size=d, max_size=d)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=d, max_size=d)))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(d))
    size = tuple(
        max(1, dl * (k - 1) + 1 - pb - pa + draw(st.integers(0, 6 if d == 1 else 3)))
        for k, dl, (pb, pa) in zip(kernel, dilation, padding)
    )
    flip = draw(st.booleans())
    geom = Geometry.build(
        batch=batch,
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        input_size=size,
        kernel_size=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        flip=flip,
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    A = rng.standard_normal((batch, c_in) + size)
    W = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out) if draw(st.booleans()) else None
    dZ = rng.standard_normal((batch, c_out) + geom.output_size)
    return geom, A, W, b, dZ


def _reference(geom, A, W, b, dZ, zero=0.0):
    args = (geom.stride, geom.dilation, geom.padding, geom.groups, geom.flip, zero)
    return (reference_forward(A, W, b, *args),) + reference_backward(A, W, dZ, *args)


def _totals(geom, A, W, b, dZ):
    return (conv.forward(A, W, b, geom),) + conv.backward(A, W, dZ, geom)


def _assert_close(ours, reference, rtol):
    for mine, theirs in zip(ours, reference):
        theirs = np.asarray(theirs, dtype=np.float64)
        scale = max(np.abs(theirs).max(initial=0.0), 1.0)
        np.testing.assert_allclose(np.asarray(mine, dtype=np.float64), theirs, rtol=rtol, atol=rtol * scale)


# Tile sizes: the default (whole samples per tile), a few samples per tile with a
# smaller last one, and tiles so small that one sample's run is cut in parts.
TILES = [(blas._TILE_BYTES, blas._RUN_BYTES), (4096, blas._RUN_BYTES), (64, 64)]


@pytest.fixture(params=TILES, ids=["default-tiles", "small-tiles", "split-runs"])
def tile_bytes(request, monkeypatch):
    monkeypatch.setattr(blas, "_TILE_BYTES", request.param[0])
    monkeypatch.setattr(blas, "_RUN_BYTES", request.param[1])
    return request.param


# The tile fixture sets one value for all examples: not resetting it between them is intended.
TILED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@TILED
@given(layer=layers())
def test_float64_matches_plain_loops(layer, tile_bytes):
    geom, A, W, b, dZ = layer
    ours = _totals(geom, A, W, b, dZ)
    assert all(x.dtype == np.float64 for x in ours)
    assert ours[0].shape == (geom.batch, geom.out_channels) + geom.output_size
    assert ours[1].shape == W.shape and ours[2].shape == (geom.out_channels,) and ours[3].shape == A.shape
    _assert_close(ours, _reference(geom, A, W, b, dZ), rtol=1e-12)


@TILED
@given(layer=layers())
def test_keep_padding_matches_the_generic_path(layer, tile_bytes):
    """The gradient of the padded input, padding included, equals the one-tap-at-a-time path's."""
    geom, A, W, _b, dZ = layer
    dW, _db, dA_pad = conv.backward(A, W, dZ, geom, keep_padding=True)
    assert dA_pad.shape == (geom.batch, geom.in_channels) + geom.padded_size
    dW_taps, dA_taps = conv._backward_taps(A, W, dZ, geom)
    np.testing.assert_allclose(dA_pad, dA_taps.reshape(dA_pad.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, applied_kernel(dW_taps.reshape(W.shape), geom), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(dA_pad[conv.interior(geom)], conv.backward(A, W, dZ, geom).dA_prev)


@settings(max_examples=60, deadline=None)
@given(layer=layers())
def test_float32_in_float32_out(layer):
    geom, A, W, b, dZ = layer
    cast = [None if x is None else x.astype(np.float32) for x in (A, W, b, dZ)]
    ours = _totals(geom, *cast)
    assert all(x.dtype == np.float32 for x in ours)
    _assert_close(ours, _reference(geom, A, W, b, dZ), rtol=1e-4)


def test_mixed_dtypes_promote_as_numpy_does():
    geom = Geometry.build(
        batch=2,
        in_channels=2,
        out_channels=4,
        groups=2,
        input_size=(6, 5),
        kernel_size=(3, 2),
        stride=(2, 1),
        dilation=(1, 2),
        padding=((1, 0), (2, 1)),
    )
    rng = np.random.default_rng(3)
    A = rng.integers(-3, 4, (2, 2, 6, 5))
    W = rng.standard_normal((4, 1, 3, 2)).astype(np.float32)
    b = rng.standard_normal(4)  # float64 bias over float32 products: Z is float64
    dZ = rng.standard_normal((2, 4) + geom.output_size).astype(np.float32)
    Z = conv.forward(A.astype(np.float32), W, b, geom)
    assert Z.dtype == np.float64
    assert conv.forward(A.astype(np.float32), W, b.astype(np.float32), geom).dtype == np.float32
    dW, db, dA = conv.backward(A, W, dZ, geom)  # int64 with float32: float64, as np.result_type says
    assert dW.dtype == dA.dtype == np.float64 and db.dtype == np.float32
    _assert_close((Z, dW, db, dA), _reference(geom, A.astype(float), W.astype(float), b, dZ.astype(float)), 1e-5)


@pytest.mark.parametrize(
    "batch, c_in, c_out, groups, size, kernel, stride, dilation, padding",
    [
        (2, 2, 32, 1, (5, 4), (2, 2), (1, 1), (1, 1), ((1, 0), (0, 1))),  # C_out/G >= 32: dW the other way round
        (1, 4, 4, 4, (7,), (3,), (2,), (2,), ((2, 1),)),  # depthwise: dX as an outer product
        (3, 4, 6, 2, (4, 3, 3), (2, 2, 2), (2, 1, 3), (1, 2, 1), ((1, 1), (0, 2), (1, 0))),
        (2, 3, 2, 1, (9, 8), (3, 2), (3, 2), (2, 3), ((2, 2), (1, 3))),  # gcd(d, s) > 1 and = 1
    ],
)
def test_branches_by_shape(batch, c_in, c_out, groups, size, kernel, stride, dilation, padding, tile_bytes):
    geom = Geometry.build(
        batch=batch,
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        input_size=size,
        kernel_size=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        flip=True,
    )
    rng = np.random.default_rng(sum(size))
    A = rng.standard_normal((batch, c_in) + size)
    W = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out)
    dZ = rng.standard_normal((batch, c_out) + geom.output_size)
    _assert_close(_totals(geom, A, W, b, dZ), _reference(geom, A, W, b, dZ), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(layer=layers())
def test_fractions_exact_and_float_path_agrees_exactly(layer):
    """Object arrays of Fractions take the generic path and equal the plain loops exactly; on the
    same dyadic values (multiples of 1/8, small: float64 sums are exact) the BLAS path gives the
    very same numbers."""
    geom, A, W, b, dZ = layer
    eighths = [None if x is None else np.round(x * 8) / 8 for x in (A, W, b, dZ)]
    to_q = np.vectorize(lambda x: Fraction(x).limit_denominator(8), otypes=[object])
    exact = [None if x is None else to_q(x) for x in eighths]
    ours = _totals(geom, *exact)
    reference = _reference(geom, *exact, zero=Fraction(0))
    for mine, theirs in zip(ours, reference):
        assert mine.dtype == object
        assert (mine == theirs).all()
    fast = _totals(geom, *eighths)
    for mine, theirs in zip(fast, ours):
        assert mine.dtype == np.float64
        np.testing.assert_array_equal(mine, theirs.astype(np.float64))


def test_scratch_reuse_between_layouts_and_threads():
    """Scratch memory is kept between calls (per thread): alternating layers, dtypes and threads
    must not see each other's leftovers."""
    configs = [
        {
            "batch": 3,
            "in_channels": 2,
            "out_channels": 3,
            "groups": 1,
            "input_size": (7, 6),
            "kernel_size": (3, 3),
            "stride": (1, 1),
            "dilation": (1, 1),
            "padding": ((1, 1), (1, 1)),
        },
        {
            "batch": 2,
            "in_channels": 4,
            "out_channels": 4,
            "groups": 2,
            "input_size": (9, 7),
            "kernel_size": (2, 3),
            "stride": (2, 2),
            "dilation": (2, 1),
            "padding": ((0, 2), (1, 0)),
        },
    ]
    rng = np.random.default_rng(11)
    cases = []
    for config in configs:
        geom = Geometry.build(**config)
        A = rng.standard_normal((geom.batch, geom.in_channels) + geom.input_size)
        W = rng.standard_normal((geom.out_channels, geom.in_per_group) + geom.kernel_size)
        dZ = rng.standard_normal((geom.batch, geom.out_channels) + geom.output_size)
        cases.append((geom, A, W, None, dZ, _reference(geom, A, W, None, dZ)))
    for geom, A, W, b, dZ, reference in cases * 3:
        _assert_close(_totals(geom, A, W, b, dZ), reference, rtol=1e-12)
        _assert_close(
            _totals(geom, A.astype(np.float32), W.astype(np.float32), b, dZ.astype(np.float32)), reference, rtol=1e-4
        )

    failures = []

    def worker(case):
        geom, A, W, b, dZ, reference = case
        try:
            for _ in range(20):
                _assert_close(_totals(geom, A, W, b, dZ), reference, rtol=1e-12)
        except AssertionError as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(case,)) for case in cases * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_benchmark_script_runs_quick():
    """benchmarks/bench_engine.py --quick exits 0 and prints ratios (so the script cannot rot)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"speed-up [\d,]+x; results agree", out), out
    assert "numpy BLAS" in out and "OPENBLAS_CORETYPE=" in out
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch is not installed" in out
    else:
        assert re.search(r"float64 forward\+backward ratios: \d+\.\d\d", out), out
        assert "DIFFER" not in out


def _settable_blas_or_skip():
    if blas._Blas.found().controller is None:
        pytest.skip("no threadpoolctl, or no BLAS whose thread count it can set: no split")


def _blas_threads_seen_by_threadpoolctl() -> list[int]:
    """numpy's BLAS thread count as a fresh threadpoolctl scan reports it, on the calling thread."""
    import threadpoolctl

    ours = {lib.filepath for lib in blas._Blas.found().controller.lib_controllers}
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["filepath"] in ours]


@pytest.fixture
def blas_threads():
    """numpy's BLAS thread count when the test starts (before any of its examples runs)."""
    _settable_blas_or_skip()
    return blas._Blas.found().threads()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layer=layers(), threads=st.integers(2, 3))
def test_samples_split_between_threads_give_the_same_totals(layer, threads, blas_threads, monkeypatch):
    """Split between threads, Z, dW, db and dA_prev agree with the unsplit ones to rounding (db, summed
    outside BLAS, exactly); BLAS's thread count is restored afterwards. Not entry for entry: a part's
    products are narrower, and BLAS may round a narrower product otherwise (its small-matrix and
    matrix-vector kernels)."""
    geom, A, W, b, dZ = layer
    monkeypatch.setattr(blas, "_SPLIT_WORK", 0)
    monkeypatch.setattr(blas, "split_threads", lambda: 1)
    assert len(blas._parts(geom)) == 1
    alone = _totals(geom, A, W, b, dZ)
    monkeypatch.setattr(blas, "split_threads", lambda: threads)
    assert len(blas._parts(geom)) == min(threads, geom.batch)
    split = _totals(geom, A, W, b, dZ)
    assert blas._Blas.found().threads() == blas_threads
    for ours, theirs in zip(split, alone):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * np.abs(theirs).max(initial=1.0))
    np.testing.assert_array_equal(split[2], alone[2])
    _assert_close(split, _reference(geom, A, W, b, dZ), rtol=1e-12)


LARGE = Geometry.build(
    batch=5, in_channels=64, out_channels=64, groups=1, input_size=(56, 56), kernel_size=(3, 3),
    stride=(1, 1), dilation=(1, 1), padding="same",
)  # fmt: skip


def test_parts_cover_the_batch_evenly_and_only_for_large_layers(monkeypatch):
    monkeypatch.setattr(blas, "split_threads", lambda: 2)
    small = Geometry.build(
        batch=8, in_channels=2, out_channels=2, groups=1, input_size=(6, 6), kernel_size=(3, 3),
        stride=(1, 1), dilation=(1, 1), padding="valid",
    )  # fmt: skip
    assert blas._parts(small) == [range(8)]
    assert blas._parts(LARGE) == [range(0, 2), range(2, 5)]
    monkeypatch.setattr(blas, "split_threads", lambda: 1)
    assert blas._parts(LARGE) == [range(5)]


def test_every_part_runs_on_its_own_thread_with_blas_on_one_thread():
    _settable_blas_or_skip()
    before = _blas_threads_seen_by_threadpoolctl()
    seen = []
    together = threading.Barrier(3, timeout=30)  # breaks unless the three parts run at once

    def work(part):
        together.wait()
        seen.append((part, threading.get_ident(), _blas_threads_seen_by_threadpoolctl()))
        return part.start

    assert blas._in_parallel(work, [range(0, 2), range(2, 3), range(3, 5)]) == [0, 2, 3]
    assert sorted(part.start for part, _, _ in seen) == [0, 2, 3]
    assert len({thread for _, thread, _ in seen}) == 3
    assert all(threads == [1] for _, _, threads in seen), seen
    assert _blas_threads_seen_by_threadpoolctl() == before


def test_a_failing_part_fails_the_call_after_every_part_ends_and_blas_gets_its_count_back():
    _settable_blas_or_skip()
    before = blas._Blas.found().threads()
    ended = []

    def work(part):
        if part.start == 0:
            raise ValueError("part 0")
        assert blas._Blas.found().threads() == 1
        ended.append(part)
        return part

    with pytest.raises(ValueError, match="part 0"):
        blas._in_parallel(work, [range(0, 1), range(1, 2), range(2, 3)])
    assert sorted(ended, key=lambda r: r.start) == [range(1, 2), range(2, 3)]
    assert blas._Blas.found().threads() == before
    assert _blas_threads_seen_by_threadpoolctl() == [before]


def test_a_split_has_as_many_threads_as_threadpoolctl_reports_for_numpys_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    _settable_blas_or_skip()
    assert [blas.split_threads()] == _blas_threads_seen_by_threadpoolctl()
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert blas.split_threads() == 1
        assert blas._parts(LARGE) == [range(5)]


class _NoBlas:
    """A threadpoolctl controller that found no BLAS."""

    lib_controllers = ()

    def select(self, **kwargs):
        return self


@pytest.mark.parametrize("why", ["threadpoolctl missing", "no BLAS found"])
def test_without_a_blas_threadpoolctl_can_set_nothing_is_split(why, monkeypatch):
    monkeypatch.setattr(blas._Blas, "_found", None)
    if why == "threadpoolctl missing":
        monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    else:
        threadpoolctl = pytest.importorskip("threadpoolctl")
        monkeypatch.setattr(threadpoolctl, "ThreadpoolController", _NoBlas)
    assert blas._Blas.found().controller is None
    assert blas.split_threads() == 1
    assert blas._parts(LARGE) == [range(5)]


def test_threadpoolctl_is_imported_only_when_a_layer_is_large_enough_to_split():
    pytest.importorskip("threadpoolctl")
    code = (
        "import sys\n"
        "from convgrad import blas\n"
        "from convgrad.geometry import Geometry\n"
        "small = Geometry.build(batch=8, in_channels=2, out_channels=2, groups=1, input_size=(6, 6),\n"
        "    kernel_size=(3, 3), stride=(1, 1), dilation=(1, 1), padding='valid')\n"
        "large = Geometry.build(batch=5, in_channels=64, out_channels=64, groups=1, input_size=(56, 56),\n"
        "    kernel_size=(3, 3), stride=(1, 1), dilation=(1, 1), padding='same')\n"
        "blas._parts(small)\n"
        "print('threadpoolctl' in sys.modules)\n"
        "blas._parts(large)\n"
        "print('threadpoolctl' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "True"]
