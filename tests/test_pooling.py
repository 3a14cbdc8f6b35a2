"""Max and average pooling: PyTorch float64 autograd on a random sweep over every option and both
layouts (through the API, the JSON document and the overlay sums), plain loops with exact
rationals, published cases (the Coursera notebook, TensorFlow's MaxPoolGrad and SAME average),
central differences, the named mistakes, and one clear line for bad input."""

from __future__ import annotations

import json
import zlib
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from conftest import ROOT, shown

import convgrad
from convgrad.errors import InputError
from convgrad.render.jsonout import document_chunks

SWEEP = 150  # random problems per kind (and again with ties for max-pool)
MAX_SAMPLE = ROOT / "samples" / "max_pool.json"
AVG_SAMPLE = ROOT / "samples" / "avg_pool.json"


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - the shared venv has torch
        pytest.skip("torch is not installed: the PyTorch oracle cannot run")
    return torch


def torch_pool(kind, A, dZ, size, stride, padding, dilation, ceil_mode, count_padding):
    """PyTorch's F.max_poolNd / F.avg_poolNd in float64 autograd on canonical (N, C, *spatial) arrays."""
    torch = _torch()
    import torch.nn.functional as F

    dims = A.ndim - 2
    x = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    if kind == "max-pool":
        f = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[dims]
        z = f(x, size, stride, padding, dilation, ceil_mode=ceil_mode)
    else:
        f = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[dims]
        z = f(x, size, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_padding)
    if dZ is None:
        return z.detach().numpy(), None
    z.backward(torch.tensor(dZ, dtype=torch.float64))
    return z.detach().numpy(), x.grad.numpy()


def close(a, b, rtol=1e-10):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rtol * np.abs(b) + 1e-300))


def to_user(array, form):
    """A canonical (N, C, *spatial) array in the user's form: bare, NCHW or NHWC."""
    if form == "bare":
        return array[0, 0]
    return np.moveaxis(array, 1, -1) if form == "last" else array


def random_options(rng, kind, dims, sizes):
    """PyTorch-valid options: symmetric padding at most half the window."""
    k = tuple(int(rng.integers(1, min(4, n + 1) + 1)) for n in sizes)
    d = tuple(int(rng.integers(1, 3)) for _ in sizes) if kind == "max-pool" else (1,) * dims
    k = tuple(kk if dd * (kk - 1) + 1 <= n else 1 for kk, dd, n in zip(k, d, sizes))
    s = tuple(int(rng.integers(1, 4)) for _ in sizes)
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)  # PyTorch: at most half the window
    return k, s, p, d, bool(rng.integers(0, 2)), bool(rng.integers(0, 2))


def sweep_case(rng, kind, ties):
    dims = int(rng.integers(1, 4))
    sizes = tuple(int(rng.integers(2, 7 if dims < 3 else 5)) for _ in range(dims))
    batch, channels = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    form = rng.choice(["bare", "first", "last"]) if dims <= 2 else rng.choice(["first", "last"])
    if form == "bare":
        batch = channels = 1
    shape = (batch, channels) + sizes
    A = rng.integers(-2, 3, size=shape).astype(float) if ties else rng.normal(scale=2.0, size=shape)
    return A, form, dims, random_options(rng, kind, dims, sizes)


@pytest.mark.parametrize(("kind", "ties"), [("max-pool", False), ("max-pool", True), ("avg-pool", False)])
def test_the_sweep_agrees_with_pytorch_through_the_api_json_and_the_overlay_sums(kind, ties):
    """Random layers over every option and both layouts; with ties, PyTorch's rule is ties first."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}{ties}".encode()))  # the same sweep every run
    seen_ties = 0
    for _ in range(SWEEP):
        A, form, dims, (k, s, p, d, ceil_mode, count_padding) = sweep_case(rng, kind, ties)
        Z_ref, _ = torch_pool(kind, A, None, k, s, p, d, ceil_mode, count_padding)
        dZ = rng.normal(size=Z_ref.shape)
        Z_ref, dA_ref = torch_pool(kind, A, dZ, k, s, p, d, ceil_mode, count_padding)
        config = {"layer": kind, "size": list(k), "stride": list(s), "padding": list(p), "ceil_mode": ceil_mode}
        spatial = {1: "W", 2: "HW", 3: "DHW"}[dims]
        layout = f"NC{spatial}" if form == "first" else f"N{spatial}C"
        config.update({"dims": dims} if form == "bare" else {"dims": dims, "layout": layout})
        if kind == "max-pool":
            config["dilation"] = list(d)
        else:
            config["count_padding"] = count_padding
        result = convgrad.backward(to_user(A, form), dZ=to_user(dZ, form), **config)
        case = (kind, form, A.shape, config)
        assert close(result.Z, to_user(Z_ref, form)) and close(result.dA_prev, to_user(dA_ref, form)), case
        # the JSON document, read back
        doc = json.loads("".join(document_chunks(result, range(result.overlay_count))))
        assert "dW" not in doc and "db" not in doc and len(doc["overlays"]) == Z_ref.size
        assert close(doc["Z"], to_user(Z_ref, form)) and close(doc["dA_prev"], to_user(dA_ref, form)), case
        # the overlay sums: each overlay writes its Z and adds its dA_prev share onto its window
        Z_sum, dA_sum = np.zeros(Z_ref.shape), np.zeros(A.shape)
        for record in result.records():
            (entry,) = record.writes
            Z_sum[entry] += float(record.values["Z"])
            for x, share, running in zip(record.reads, record.values["dA_prev"], record.values["running"]):
                dA_sum[x] += float(share)
                assert abs(dA_sum[x] - float(running)) <= 1e-12 * max(1.0, abs(dA_sum[x]))  # the running total
            if kind == "max-pool":
                seen_ties += sum(1 for v in record.values["window"] if v == record.values["Z"]) > 1
        assert close(Z_sum, Z_ref) and close(dA_sum, dA_ref), case
    assert not ties or seen_ties > 100  # the tie sweep did meet ties


def test_asymmetric_and_same_padding_agree_with_pytorch_on_a_padded_input():
    """'same' (TensorFlow's split, the extra after) and [before, after] pairs: PyTorch pools an input
    padded by F.pad with minus infinity (max) or 0 (avg, count_padding true)."""
    torch = _torch()
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    for kind, padding, pad in [
        ("max-pool", "same", (0, 1, 0, 1)),  # 5x5, size 2, stride 2: out 3x3, one row/column after
        ("max-pool", [[1, 0], [0, 2]], (0, 2, 1, 0)),
        ("avg-pool", "same", (1, 1, 1, 1)),  # size 3, stride 2 on 5: total 2, one each side
        ("avg-pool", [[1, 0], [1, 1]], (1, 1, 1, 0)),
    ]:
        size = 2 if padding != "same" or kind == "max-pool" else 3
        A = rng.normal(size=(2, 3, 5, 5))
        x = torch.tensor(A, requires_grad=True)
        padded = F.pad(x, pad, value=-np.inf if kind == "max-pool" else 0.0)
        f = F.max_pool2d if kind == "max-pool" else F.avg_pool2d
        z = f(padded, size, 2)
        dZ = rng.normal(size=tuple(z.shape))
        z.backward(torch.tensor(dZ))
        r = convgrad.backward(A, dZ=dZ, layer=kind, size=size, stride=2, padding=padding)
        assert close(r.Z, z.detach().numpy()) and close(r.dA_prev, x.grad.numpy()), (kind, padding)


# -- plain loops, exact rationals ------------------------------------------------------------


def plain_pool_2d(A, dZ, k, s, pad, kind, ties="first", count_padding=True):
    """A deliberately plain 2-D pooling in Fractions: every window, every tap, with +=."""
    H, Wd = len(A), len(A[0])
    oh, ow = (H + 2 * pad - k) // s + 1, (Wd + 2 * pad - k) // s + 1
    Z = [[None] * ow for _ in range(oh)]
    dA = [[Fraction(0)] * Wd for _ in range(H)]
    for i in range(oh):
        for j in range(ow):
            taps = [(i * s - pad + a, j * s - pad + b) for a in range(k) for b in range(k)]
            inside = [(r, c) for r, c in taps if 0 <= r < H and 0 <= c < Wd]
            vals = [A[r][c] for r, c in inside]
            if kind == "max-pool":
                top = max(vals)
                Z[i][j] = top
                winners = [t for t, v in zip(inside, vals) if v == top]
                if ties == "first":
                    winners = winners[:1]
                for r, c in winners:
                    dA[r][c] += dZ[i][j] / (len(winners) if ties == "split" else 1)
            else:
                count = k * k if count_padding else len(inside)
                Z[i][j] = sum(vals, Fraction(0)) / count
                for r, c in inside:
                    dA[r][c] += dZ[i][j] / count
    return Z, dA


@pytest.mark.parametrize(
    ("kind", "option"),
    [("max-pool", "first"), ("max-pool", "all"), ("max-pool", "split"), ("avg-pool", True), ("avg-pool", False)],
)
def test_exact_rationals_match_plain_loops_exactly(kind, option):
    rng = np.random.default_rng(11)
    for k, s, pad in [(2, 1, 0), (3, 2, 1), (2, 2, 1), (3, 1, 1)]:
        A = [[Fraction(int(v), 3) for v in row] for row in rng.integers(-3, 4, size=(5, 4))]
        oh, ow = (5 + 2 * pad - k) // s + 1, (4 + 2 * pad - k) // s + 1
        dZ = [[Fraction(int(v), 7) for v in row] for row in rng.integers(-5, 6, size=(oh, ow))]
        key = "ties" if kind == "max-pool" else "count_padding"
        Z, dA = plain_pool_2d(A, dZ, k, s, pad, kind, **{key: option})
        as_text = [[str(v) for v in row] for row in A]
        r = convgrad.backward(
            as_text,
            dZ=[[str(v) for v in row] for row in dZ],
            layer=kind,
            size=k,
            stride=s,
            padding=pad,
            exact=True,
            **{key: option},
        )
        assert r.Z.tolist() == Z and r.dA_prev.tolist() == dA, (k, s, pad)
        assert all(isinstance(v, Fraction) for v in r.dA_prev.reshape(-1))


def test_avg_pool_gives_formulas_and_max_pool_refuses_a_name():
    r = convgrad.backward({"shape": [2, 2]}, layer="avg-pool", size=2, symbolic=True)
    assert str(r.Z[0, 0]).replace(" ", "") in ("x11/4+x12/4+x21/4+x22/4",)
    assert str(r.dA_prev[1, 0]) == "dz11/4"
    # max pooling decides a branch: numbers in A_prev, names in dZ are fine
    r = convgrad.backward([[1, 3], [2, 0]], dZ=[["g"]], layer="max-pool", size=2, symbolic=True)
    assert [str(v) for v in r.dA_prev.reshape(-1)] == ["0", "g", "0", "0"]
    with pytest.raises(InputError) as caught:
        convgrad.backward({"shape": [2, 2]}, layer="max-pool", size=2, symbolic=True)
    message = str(caught.value)
    assert "max-pool needs numbers" in message and "A_prev[0][0] is the name x11" in message and "\n" not in message


# -- published cases -------------------------------------------------------------------------


def test_coursera_pool_backward_mask_and_distribute_value():
    """deeplearning.ai, Convolutional Neural Networks, week 1, "Convolution model - Step by Step"
    (pool_forward / pool_backward): max mode builds ``create_mask_from_window(x) = (x == np.max(x))``
    and adds ``mask * dA[i, h, w, c]`` to the window (``+=``), which gives every tied maximum the
    whole gradient (our ties "all"); average mode adds ``distribute_value(dz, shape) =
    dz / (n_H * n_W) * ones(shape)``, the window size (our count_padding, no padding there). Both use
    ``vert_start = h * stride`` with no padding. A hand-checked example in the notebook's NHWC form:

        A_prev (1 sample, 3x3, 1 channel), f = 2, stride = 1, so four overlapping windows
            1 4 2
            4 3 4          windows: [1 4; 4 3] max 4 (tied at (0,1) and (1,0))
            0 2 1                   [4 2; 3 4] max 4 (tied at (0,1) and (1,2))
                                    [4 3; 0 2] max 4 at (1,0)
                                    [3 4; 2 1] max 4 at (1,2)
        dA (the upstream gradient) = [1 2; 3 4]
        max, mask x == max:  (0,1) gets 1 + 2 = 3, (1,0) gets 1 + 3 = 4, (1,2) gets 2 + 4 = 6
            dA_prev = [0 3 0; 4 0 6; 0 0 0]
        average, dz/4 per tap:  corner entries one window, edges two, the centre four
            dA_prev = [1/4, 3/4, 2/4; 4/4, 10/4, 6/4; 3/4, 7/4, 4/4]
        pool_forward max: Z = [4 4; 4 4]; average: Z = [12/4, 13/4; 9/4, 10/4]
    """
    A = [[[[1], [4], [2]], [[4], [3], [4]], [[0], [2], [1]]]]  # (m, n_H, n_W, n_C)
    dA = [[[[1], [2]], [[3], [4]]]]
    r = convgrad.backward(A, dZ=dA, layer="max-pool", size=2, stride=1, ties="all", layout="NHWC", exact=True)
    assert r.Z[0, :, :, 0].tolist() == [[4, 4], [4, 4]]
    assert r.dA_prev[0, :, :, 0].tolist() == [[0, 3, 0], [4, 0, 6], [0, 0, 0]]
    r = convgrad.backward(A, dZ=dA, layer="avg-pool", f=2, stride=1, layout="NHWC", exact=True)
    assert r.Z[0, :, :, 0].tolist() == [[Fraction(12, 4), Fraction(13, 4)], [Fraction(9, 4), Fraction(10, 4)]]
    quarters = [[1, 3, 2], [4, 10, 6], [3, 7, 4]]
    assert r.dA_prev[0, :, :, 0].tolist() == [[Fraction(q, 4) for q in row] for row in quarters]
    # under ties "first" (PyTorch's rule) the tied windows give their gradient to the first maximum only
    r = convgrad.backward(A, dZ=dA, layer="max-pool", size=2, stride=1, layout="NHWC", exact=True)
    # (windows 1 and 2 pick (0,1), window 3 picks (1,0), window 4 picks (1,2))
    assert r.dA_prev[0, :, :, 0].tolist() == [[0, 3, 0], [3, 0, 4], [0, 0, 0]]


def test_tensorflow_max_pool_grad_valid_and_same():
    """TensorFlow's MaxPool / MaxPoolGrad (tf.nn.max_pool2d; tensorflow/core/kernels/maxpooling_op.cc,
    tested in tensorflow/python/kernel_tests/nn_ops/pooling_ops_test.py): the gradient of each
    output goes to the maximum of its window (the first in row-major order on a tie); 'VALID' keeps
    whole windows only; 'SAME' makes the output ceil(n / stride) long and pads total =
    (out - 1)*stride + ksize - n, the smaller half before, the padding never the maximum.
    Numbers worked by hand from those definitions (NHWC, one sample, one channel):

        input 3x4          ksize 2, stride 2
            1  5  2  0
            3  4  8  6
            7  1  0  9

        VALID: out 1x2, windows rows 0-1: [1 5; 3 4] max 5 at (0,1); [2 0; 8 6] max 8 at (1,2)
            Z = [5 8];  grad [10, 20]  ->  dA = [0 10 0 0; 0 0 20 0; 0 0 0 0]
        SAME: out ceil(3/2) x ceil(4/2) = 2x2; rows total (2-1)*2 + 2 - 3 = 1 -> (0, 1); columns 0
            row 2 windows: [7 1] max 7 at (2,0); [0 9] max 9 at (2,3)
            Z = [5 8; 7 9];  grad [10 20; 30 40]  ->  dA = [0 10 0 0; 0 0 20 0; 30 0 0 40]
        a tie, SAME, input [[2 2 1], [0 2 3]], ksize 2, stride 2: out 1x2, columns padded (0, 1)
            windows [2 2; 0 2] max 2, first at (0,0); [1; 3] max 3 at (1,2)
            grad [4 5]  ->  dA = [4 0 0; 0 0 5]
    """
    A = [[[[1], [5], [2], [0]], [[3], [4], [8], [6]], [[7], [1], [0], [9]]]]
    r = convgrad.backward(A, dZ=[[[[10], [20]]]], layer="max-pool", ksize=2, strides=2, padding="valid", layout="NHWC")
    assert r.Z[0, :, :, 0].tolist() == [[5, 8]]
    assert r.dA_prev[0, :, :, 0].tolist() == [[0, 10, 0, 0], [0, 0, 20, 0], [0, 0, 0, 0]]
    dZ = [[[[10], [20]], [[30], [40]]]]
    r = convgrad.backward(A, dZ=dZ, layer="max-pool", ksize=2, strides=2, padding="same", layout="NHWC")
    assert r.Z[0, :, :, 0].tolist() == [[5, 8], [7, 9]]
    assert r.dA_prev[0, :, :, 0].tolist() == [[0, 10, 0, 0], [0, 0, 20, 0], [30, 0, 0, 40]]
    tie = [[[[2], [2], [1]], [[0], [2], [3]]]]
    r = convgrad.backward(tie, dZ=[[[[4], [5]]]], layer="max-pool", ksize=2, strides=2, padding="same", layout="NHWC")
    assert r.dA_prev[0, :, :, 0].tolist() == [[4, 0, 0], [0, 0, 5]]


def test_tensorflow_same_average_divides_by_the_taps_inside():
    """tf.nn.avg_pool2d with padding 'SAME' averages over the taps inside the input only (the padding
    is not counted): our count_padding false. By hand, input [[1 2 3], [4 5 6], [7 8 9]], ksize 2,
    stride 2: out 2x2, padding (0, 1) per axis; windows [1 2; 4 5] -> 12/4 = 3, [3; 6] -> 9/2,
    [7 8] -> 15/2, [9] -> 9. With count_padding true (PyTorch's default) the last three divide by 4.
    Gradient 1 everywhere: dA = [1/4 1/4 1/2; 1/4 1/4 1/2; 1/2 1/2 1]."""
    A = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    r = convgrad.backward(A, dZ=1, layer="avg-pool", pool_size=2, padding="same", count_padding=False, exact=True)
    assert r.Z.tolist() == [[3, Fraction(9, 2)], [Fraction(15, 2), 9]]
    h, q = Fraction(1, 2), Fraction(1, 4)
    assert r.dA_prev.tolist() == [[q, q, h], [q, q, h], [h, h, 1]]
    r = convgrad.backward(A, dZ=1, layer="avg-pool", pool_size=2, padding="same", exact=True)
    assert r.Z.tolist() == [[3, Fraction(9, 4)], [Fraction(15, 4), Fraction(9, 4)]]


# -- central differences, the totals, the CLI ------------------------------------------------


@pytest.mark.parametrize("kind", ["max-pool", "avg-pool"])
def test_gradients_match_central_differences(kind):
    rng = np.random.default_rng(5)
    A = rng.normal(size=(2, 2, 5, 4))  # continuous values: no ties
    options = {"size": 3, "stride": [2, 1], "padding": 1, "ceil_mode": True}
    r = convgrad.backward(
        A, dZ=rng.normal(size=convgrad.forward(A, layer=kind, **options).Z.shape), layer=kind, **options
    )
    dZ = r.problem.dZ
    h = 1e-6
    for index in np.ndindex(*A.shape):
        up, down = A.copy(), A.copy()
        up[index] += h
        down[index] -= h
        L = [float((convgrad.forward(x, layer=kind, **options).Z * dZ).sum()) for x in (up, down)]
        assert abs((L[0] - L[1]) / (2 * h) - r.dA_prev[index]) < 1e-6


def test_entry_terms_add_up_to_the_totals():
    rng = np.random.default_rng(9)
    for kind, extra in [("max-pool", {"ties": "split"}), ("avg-pool", {"count_padding": False})]:
        A = [[str(int(v)) for v in row] for row in rng.integers(-2, 3, size=(5, 5))]
        r = convgrad.backward(
            A,
            dZ=[[str(int(v)) for v in row] for row in rng.integers(-3, 4, size=(3, 3))],
            layer=kind,
            size=3,
            stride=2,
            padding=1,
            exact=True,
            **extra,
        )
        p = r.problem
        totals = r.canonical_totals
        for quantity in ("Z", "dA_prev"):
            array = getattr(totals, quantity)
            for index in np.ndindex(*array.shape):
                terms = p.kind.entry_terms(quantity, index, p.A_prev, None, None, p.dZ, p.geom, p.params)
                assert sum((t.value for t in terms), Fraction(0)) == array[index], (kind, quantity, index)


def test_the_samples_windows_overlap_and_add_up(cli):
    out = shown(cli("backward", MAX_SAMPLE), "one per window", "so")
    assert "2.5" in out  # [1, 1] collects dZ 2 (via the tie's first maximum) ... and 0.5
    doc = json.loads(cli("backward", MAX_SAMPLE, "--json").stdout)
    assert doc["dA_prev"] == [[0, 0, 0, 0], [0, 2.5, 3, 0], [0, 0, 0, 2]]
    doc = json.loads(cli("backward", AVG_SAMPLE, "--json").stdout)
    # windows of 4, 6, 6 and 9 taps inside A_prev (count_padding false); dZ/count = 2, -1, 2, 1
    assert doc["Z"] == [[3, 2], [2, 3]]
    assert doc["dA_prev"] == [[2, 1, -1, -1], [4, 4, 0, 0], [2, 3, 1, 1], [2, 3, 1, 1]]


def test_shape_shows_the_output_size_formula(cli):
    out = shown(cli("shape", MAX_SAMPLE), "axis 0: floor((3 + 0 + 0 - 1·(2 - 1) - 1) / 1) + 1 = 2", "one per window")
    assert "axis 1: floor((4 + 0 + 0 - 1·(2 - 1) - 1) / 1) + 1 = 3" in out
    doc = json.loads(cli("shape", MAX_SAMPLE, "--json").stdout)
    assert doc["output_size"] == [2, 3] and doc["formulas"][0].startswith("axis 0: floor(")


def test_gradcheck_skips_entries_within_the_step_of_a_tie(cli):
    result = cli("gradcheck", MAX_SAMPLE)
    assert result.exit_code == 0
    assert "2 dA_prev entries skipped: within the step 0.001 of a tie of max-pool" in result.stderr


def test_ceil_mode_drops_a_window_that_would_start_in_the_trailing_padding():
    # PyTorch: 5 long, size 2, stride 2, padding 1: ceil((5 + 2 - 2) / 2) + 1 = 4, and the fourth
    # window would start at 6 - 1 = 5 >= 5 + 0: three windows, as floor gives
    r = convgrad.forward([1, 2, 3, 4, 5], layer="max-pool", size=2, padding=1, ceil_mode=True)
    assert r.Z.tolist() == [1, 3, 5]
    r = convgrad.forward([1, 2, 3, 4, 5, 6], layer="avg-pool", size=4, stride=2, ceil_mode=True)
    assert r.Z.tolist() == [2.5, 4.5]  # the last window reads 5 and 6 and divides by 2 (past the input)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: convgrad.forward([1, 2], W=[1], layer="max-pool", size=2), "max-pool takes no W"),
        (lambda: convgrad.forward([1, 2], b=1, layer="avg-pool", size=2), "avg-pool takes no b"),
        (lambda: convgrad.forward([1, 2, 3], layer="max-pool", size=4), "window does not fit along spatial axis 0"),
        (lambda: convgrad.forward([1, 2], layer="avg-pool", size=2, ties="all"), "ties is for max-pool, not avg-pool"),
        (
            lambda: convgrad.forward([1, 2], layer="max-pool", size=2, count_padding=False),
            "count_padding is for avg-pool, not max-pool",
        ),
        (
            lambda: convgrad.forward([1, 2], layer="avg-pool", size=2, dilation=2),
            "dilation is for conv, conv-transpose and max-pool",
        ),
        (lambda: convgrad.forward([1, 2], layer="max-pool"), "max-pool needs size"),
        (lambda: convgrad.forward([1, 2], layer="max-pool", size=2, ties="last"), "ties must be one of first"),
        (lambda: convgrad.forward([[1, 2]], layer="max-pool", size=[1, 2, 3]), "size has 3 entries"),
        (
            lambda: convgrad.forward([1, 2, 3], layer="avg-pool", size=2, padding=[0, 3]),
            "covers only padding",
        ),
    ],
)
def test_bad_input_gets_one_clear_line(call, message):
    with pytest.raises(InputError) as caught:
        call()
    assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_every_window_order_is_row_major():
    """reads list a window's entries row-major, the order ties first follows."""
    r = convgrad.backward(np.ones((1, 1, 3, 3)), dZ=np.ones((1, 1, 1, 1)), layer="max-pool", size=3)
    (record,) = list(r.records())
    assert list(record.reads) == [(0, 0, i, j) for i, j in product(range(3), range(3))]
    assert list(record.values["mask"]) == [1] + [0] * 8


# -- named mistakes, each wrong answer built here with plain loops -----------------------------


def _sample(path):
    problem = json.loads(path.read_text())
    A = [[Fraction(str(v)) for v in row] for row in problem["A_prev"]]
    dZ = [[Fraction(str(v)) for v in row] for row in problem["dZ"]]
    return problem, A, dZ


def _windows(H, Wd, k, s, pad):
    """Each output position's in-input taps, row-major, for a square k window."""
    oh, ow = (H + 2 * pad - k) // s + 1, (Wd + 2 * pad - k) // s + 1
    for i in range(oh):
        for j in range(ow):
            taps = [(i * s - pad + a, j * s - pad + b) for a in range(k) for b in range(k)]
            yield i, j, [(r, c) for r, c in taps if 0 <= r < H and 0 <= c < Wd]


def _as_json(array):
    return [[str(v) for v in row] for row in array]


def _mistake(cli, tmp_path, sample, answer):
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    result = cli("check", sample, "--answer", path, "--json")
    assert result.exit_code == 1, result.stdout
    verdict = json.loads(result.stdout)
    return [m["mistake"] for q in verdict["quantities"].values() for m in q.get("mistakes", [])]


def test_check_names_max_pool_gradient_to_the_whole_window(cli, tmp_path):
    _, _, dZ = _sample(MAX_SAMPLE)
    dA = [[Fraction(0)] * 4 for _ in range(3)]
    for i, j, taps in _windows(3, 4, 2, 1, 0):
        for r, c in taps:
            dA[r][c] += dZ[i][j]  # every entry of the window, not the maximum only
    assert "gradient_to_whole_window" in _mistake(cli, tmp_path, MAX_SAMPLE, {"dA_prev": _as_json(dA)})


def test_check_names_max_pool_every_tied_maximum_under_ties_first(cli, tmp_path):
    _, A, dZ = _sample(MAX_SAMPLE)
    dA = [[Fraction(0)] * 4 for _ in range(3)]
    for i, j, taps in _windows(3, 4, 2, 1, 0):
        top = max(A[r][c] for r, c in taps)
        for r, c in taps:
            if A[r][c] == top:  # the x == max mask: both 6s of a window get dZ
                dA[r][c] += dZ[i][j]
    assert "wrong_tie_rule" in _mistake(cli, tmp_path, MAX_SAMPLE, {"dA_prev": _as_json(dA)})


def test_check_names_only_one_maximum_under_ties_all(cli, tmp_path):
    problem, A, dZ = _sample(MAX_SAMPLE)
    sample = tmp_path / "all.json"
    sample.write_text(json.dumps({**problem, "ties": "all"}))
    dA = [[Fraction(0)] * 4 for _ in range(3)]
    for i, j, taps in _windows(3, 4, 2, 1, 0):
        values = [A[r][c] for r, c in taps]
        r, c = taps[values.index(max(values))]  # the first maximum only
        dA[r][c] += dZ[i][j]
    assert "wrong_tie_rule" in _mistake(cli, tmp_path, sample, {"dA_prev": _as_json(dA)})


def test_check_names_overlapping_windows_not_accumulated(cli, tmp_path):
    _, A, dZ = _sample(MAX_SAMPLE)
    dA = [[Fraction(0)] * 4 for _ in range(3)]
    for i, j, taps in _windows(3, 4, 2, 1, 0):
        values = [A[r][c] for r, c in taps]
        first = values.index(max(values))
        for t, (r, c) in enumerate(taps):
            dA[r][c] = dZ[i][j] if t == first else Fraction(0)  # = instead of +=
    assert "overlaps_not_accumulated" in _mistake(cli, tmp_path, MAX_SAMPLE, {"dA_prev": _as_json(dA)})
    _, A, dZ = _sample(AVG_SAMPLE)
    dA = [[Fraction(0)] * 4 for _ in range(4)]
    for i, j, taps in _windows(4, 4, 3, 2, 1):
        for r, c in taps:
            dA[r][c] = dZ[i][j] / len(taps)  # count_padding false in the sample
    assert "overlaps_not_accumulated" in _mistake(cli, tmp_path, AVG_SAMPLE, {"dA_prev": _as_json(dA)})


def test_check_names_avg_pool_not_divided_by_the_window_size(cli, tmp_path):
    _, A, dZ = _sample(AVG_SAMPLE)
    Z = [[Fraction(0)] * 2 for _ in range(2)]
    dA = [[Fraction(0)] * 4 for _ in range(4)]
    for i, j, taps in _windows(4, 4, 3, 2, 1):
        Z[i][j] = sum((A[r][c] for r, c in taps), Fraction(0))  # the sum, not divided
        for r, c in taps:
            dA[r][c] += dZ[i][j]
    assert _mistake(cli, tmp_path, AVG_SAMPLE, {"Z": _as_json(Z)}) == ["not_divided_by_count"]
    assert "not_divided_by_count" in _mistake(cli, tmp_path, AVG_SAMPLE, {"dA_prev": _as_json(dA)})


def test_check_names_avg_pool_divided_by_the_wrong_count_at_the_padding(cli, tmp_path):
    _, A, dZ = _sample(AVG_SAMPLE)  # count_padding false: the right divisor is the taps inside
    Z = [[Fraction(0)] * 2 for _ in range(2)]
    dA = [[Fraction(0)] * 4 for _ in range(4)]
    for i, j, taps in _windows(4, 4, 3, 2, 1):
        Z[i][j] = sum((A[r][c] for r, c in taps), Fraction(0)) / 9  # divided by the full 3x3 window
        for r, c in taps:
            dA[r][c] += dZ[i][j] / 9
    assert "wrong_count_at_padding" in _mistake(cli, tmp_path, AVG_SAMPLE, {"Z": _as_json(Z), "dA_prev": _as_json(dA)})


@pytest.mark.parametrize("kind", ["max-pool", "avg-pool"])
def test_nan_and_infinities_go_where_pytorch_sends_them(kind):
    """With --allow-nonfinite: a NaN is the maximum of its window and takes the gradient; a window
    of -inf sends its gradient to its first entry inside A_prev, never into the padding."""
    A = np.array([[[[np.nan, 1.0, 2.0], [-np.inf, -np.inf, 3.0], [np.inf, 0.0, -1.0]]]])
    for padding in (0, 1):
        Z_ref, _ = torch_pool(kind, A, None, 2, 1, padding, 1, False, True)
        dZ = np.arange(1.0, Z_ref.size + 1).reshape(Z_ref.shape)
        Z_ref, dA_ref = torch_pool(kind, A, dZ, 2, 1, padding, 1, False, True)
        r = convgrad.backward(A, dZ=dZ, layer=kind, size=2, stride=1, padding=padding, allow_nonfinite=True)
        assert np.array_equal(r.Z, Z_ref, equal_nan=True), (padding, r.Z, Z_ref)
        assert np.array_equal(r.dA_prev, dA_ref, equal_nan=True), (padding, r.dA_prev, dA_ref)
        shares = np.zeros(A.shape)
        for record in r.records():
            for x, share in zip(record.reads, record.values["dA_prev"]):
                shares[x] += share
        assert np.array_equal(shares, dA_ref, equal_nan=True)
    lone = np.full((1, 1, 2, 2), -np.inf)  # the window's first entry inside gets it, as PyTorch
    r = convgrad.backward(
        lone, dZ=np.ones((1, 1, 3, 3)), layer="max-pool", size=2, stride=1, padding=1, allow_nonfinite=True
    )
    _, dA_ref = torch_pool("max-pool", lone, np.ones((1, 1, 3, 3)), 2, 1, 1, 1, False, True)
    assert np.array_equal(r.dA_prev, dA_ref)


@pytest.mark.parametrize("kind", ["max-pool", "avg-pool"])
def test_exact_overlay_sums_equal_the_totals_on_random_layers(kind):
    """Fractions, every option (ties, count_padding, ceil_mode, dilation, [before, after] padding,
    1-3 D): the overlays' Z and dA_prev shares add up to the totals exactly, and the running column
    is the sum so far."""
    rng = np.random.default_rng(zlib.crc32(kind.encode()) + 1)
    computed = 0
    for _ in range(40):
        dims = int(rng.integers(1, 4))
        sizes = [int(rng.integers(2, 6 if dims < 3 else 4)) for _ in range(dims)]
        k = [int(rng.integers(1, n + 1)) for n in sizes]
        d = [
            int(rng.integers(1, 3)) if kind == "max-pool" and (2 * (kk - 1) + 1) <= n else 1 for kk, n in zip(k, sizes)
        ]
        pad = [[int(rng.integers(0, kk)), int(rng.integers(0, kk))] for kk in k]
        options = {"size": k, "stride": [int(rng.integers(1, 4)) for _ in k], "ceil_mode": bool(rng.integers(0, 2))}
        options.update({"padding": pad, "dims": dims})
        if kind == "max-pool":
            options.update(dilation=d, ties=str(rng.choice(["first", "all", "split"])))
        else:
            options["count_padding"] = bool(rng.integers(0, 2))
        A = [str(Fraction(int(v), 2)) for v in rng.integers(-3, 4, size=(2, *sizes)).reshape(-1)]
        A_array = np.array(A, dtype=object).reshape((1, 2, *sizes))
        try:
            shape = convgrad.forward(A_array, layer=kind, layout="NC" + "DHW"[3 - dims :], **options).Z.shape
        except InputError as refused:  # a window wholly in the padding: refused, fine
            assert "covers only padding" in str(refused) or "does not fit" in str(refused)
            continue
        dZ = np.array([str(Fraction(int(v), 3)) for v in rng.integers(-4, 5, size=int(np.prod(shape)))], dtype=object)
        r = convgrad.backward(
            A_array, dZ=dZ.reshape(shape), layer=kind, layout="NC" + "DHW"[3 - dims :], exact=True, **options
        )
        totals = r.canonical_totals
        Z_sum = np.full(totals.Z.shape, None, dtype=object)
        dA_sum = np.full(totals.dA_prev.shape, Fraction(0), dtype=object)
        for record in r.records():
            (entry,) = record.writes
            Z_sum[entry] = record.values["Z"]
            for x, share, running in zip(record.reads, record.values["dA_prev"], record.values["running"]):
                dA_sum[x] += share
                assert dA_sum[x] == running
        assert (Z_sum == totals.Z).all() and (dA_sum == totals.dA_prev).all(), options
        computed += 1
    assert computed >= 30  # most random layers are valid
