"""Transposed convolution (layer "conv-transpose") against independent references.

- PyTorch float64 autograd (F.conv_transpose1d/2d/3d) on a seeded random sweep over stride,
  padding (symmetric, per dim and [before, after] pairs), output_padding, dilation, groups, bias,
  both modes and both layouts, through the API, the JSON output and the overlay sums;
- a plain-loop reference written here from the definition, in floats and exact rationals;
- published cases: the d2l.ai "Transposed Convolution" chapter and a stride-2 example worked by
  hand as a homework solution would;
- central finite differences (convgrad's gradcheck), the identities --explain checks, and the
  named mistakes, each wrong answer built here with plain loops.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad
from convgrad.errors import InputError
from convgrad.gradcheck import gradcheck
from convgrad.layers import conv_transpose as ct
from convgrad.problem import build_problem, canonical_fields

# -- the plain-loop reference, from the definition ------------------------------------------------


def loops(A, W, b, dZ, stride, pairs, extra, dilation, groups, flip):
    """Canonical A (N, C_in, *n), W (C_in, C_out/G, *k): Z[n, c_out, o] = b[c_out] + sum of
    A[n, c_in, i] * K[c_in, j, t] over every (i, t) with o = i*s + d*t - p_before, K = W (flipped
    along every spatial axis in convolution mode). Returns Z, and dW, db, dA with dZ."""
    N, C_in, *size = A.shape
    _, cout_g, *kernel = W.shape
    cin_g = C_in // groups
    C_out = cout_g * groups
    out = [
        (n - 1) * s - pb - pa + d * (k - 1) + op + 1
        for n, k, s, d, (pb, pa), op in zip(size, kernel, stride, dilation, pairs, extra)
    ]
    zero = A.reshape(-1)[0] * 0
    Z = np.full([N, C_out] + out, zero, dtype=object)
    dW = np.full(W.shape, zero, dtype=object)
    dA = np.full(A.shape, zero, dtype=object)
    db = np.full(C_out, zero, dtype=object)
    for c in range(C_out):
        if b is not None:
            Z[:, c] += b[c]
    for n, c_in in itertools.product(range(N), range(C_in)):
        g = c_in // cin_g
        for i in itertools.product(*(range(m) for m in size)):
            for j in range(cout_g):
                for t in itertools.product(*(range(k) for k in kernel)):
                    o = tuple(ii * s + d * tt - pb for ii, tt, s, d, (pb, _) in zip(i, t, stride, dilation, pairs))
                    if not all(0 <= oo < L for oo, L in zip(o, out)):
                        continue
                    w_t = tuple(k - 1 - tt for tt, k in zip(t, kernel)) if flip else t
                    c_out = g * cout_g + j
                    Z[(n, c_out) + o] += A[(n, c_in) + i] * W[(c_in, j) + w_t]
                    if dZ is not None:
                        dW[(c_in, j) + w_t] += A[(n, c_in) + i] * dZ[(n, c_out) + o]
                        dA[(n, c_in) + i] += W[(c_in, j) + w_t] * dZ[(n, c_out) + o]
    if dZ is not None:
        for c in range(C_out):
            for v in dZ[:, c].reshape(-1):
                db[c] += v
    return Z, dW, db, dA


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - the shared venv has torch
        pytest.skip("torch is not installed: the PyTorch oracle cannot run")
    return torch


def torch_reference(A, W, b, dZ, stride, pairs, extra, dilation, groups, flip):
    """PyTorch float64 autograd, canonical arrays. PyTorch pads symmetrically only: it runs with no
    padding and the crop [p_before, full + output_padding - p_after) is taken here."""
    torch = _torch()
    import torch.nn.functional as F

    dims = A.ndim - 2
    x = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    bias = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    kernel = torch.flip(w, dims=list(range(2, 2 + dims))) if flip else w
    func = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[dims]
    full = func(x, kernel, bias, stride=stride, padding=0, output_padding=extra, groups=groups, dilation=dilation)
    crop = tuple(slice(pb, full.shape[2 + a] - pa) for a, (pb, pa) in enumerate(pairs))
    Z = full[(slice(None), slice(None)) + crop]
    Z.backward(torch.tensor(dZ, dtype=torch.float64))
    db = None if bias is None else bias.grad.numpy()
    return Z.detach().numpy(), w.grad.numpy(), db, x.grad.numpy()


# -- the random sweep -----------------------------------------------------------------------------


def random_case(rng: np.random.Generator):
    dims = int(rng.integers(1, 4))
    groups = int(rng.choice([1, 1, 2]))
    cin_g, cout_g = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    N = int(rng.integers(1, 3))
    stride = tuple(int(rng.integers(1, 4)) for _ in range(dims))
    dilation = tuple(int(rng.integers(1, 3)) for _ in range(dims))
    kernel = tuple(int(rng.integers(1, 4)) for _ in range(dims))
    size = tuple(int(rng.integers(1, 4 if dims == 3 else 5)) for _ in range(dims))
    extra = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    pairs = []
    for n, k, s, d, op in zip(size, kernel, stride, dilation, extra):
        full = (n - 1) * s + d * (k - 1) + 1 + op
        pb = int(rng.integers(0, min(3, full - 1) + 1))
        pa = int(rng.integers(0, min(3, full - pb - 1) + 1))
        pairs.append((pb, pa))
    padding_form = str(rng.choice(["int", "per-dim", "pairs"]))
    if padding_form != "pairs":
        pairs = [(p, p) for p, _ in pairs]
        if any(
            (n - 1) * s + d * (k - 1) + 1 + op - 2 * p < 1
            for n, k, s, d, op, (p, _) in zip(size, kernel, stride, dilation, extra, pairs)
        ):
            pairs = [(0, 0)] * dims
        if padding_form == "int":
            pairs = [pairs[0]] * dims
            if any(
                (n - 1) * s + d * (k - 1) + 1 + op - 2 * pairs[0][0] < 1
                for n, k, s, d, op in zip(size, kernel, stride, dilation, extra)
            ):
                pairs = [(0, 0)] * dims
    padding = pairs[0][0] if padding_form == "int" else [p for p, _ in pairs] if padding_form == "per-dim" else pairs
    A = rng.standard_normal((N, cin_g * groups) + size)
    W = rng.standard_normal((cin_g * groups, cout_g) + kernel)
    b = rng.standard_normal(cout_g * groups) if rng.random() < 0.7 else None
    flip = bool(rng.random() < 0.3)
    return {
        "A": A, "W": W, "b": b, "stride": stride, "pairs": tuple(pairs), "padding": padding, "extra": extra,
        "dilation": dilation, "groups": groups, "flip": flip, "channels_last": bool(rng.random() < 0.4),
    }  # fmt: skip


def z_shape(case):
    """(N, C_out, *out), out = (n - 1)*s - p_before - p_after + d*(k - 1) + output_padding + 1."""
    N, _, *size = case["A"].shape
    _, cout_g, *kernel = case["W"].shape
    out = [
        (n - 1) * s - pb - pa + d * (k - 1) + op + 1
        for n, k, s, d, (pb, pa), op in zip(
            size, kernel, case["stride"], case["dilation"], case["pairs"], case["extra"]
        )
    ]
    return (N, cout_g * case["groups"], *out)


def user_arrays(case, dZ):
    """The case's arrays in its layout: channels-last moves the channel axis last and gives W in
    TensorFlow's order (*k, C_out/G, C_in)."""
    A, W = case["A"], case["W"]
    if not case["channels_last"]:
        return A, W, dZ
    d = A.ndim - 2
    return np.moveaxis(A, 1, -1), W.transpose(tuple(range(2, 2 + d)) + (1, 0)), np.moveaxis(dZ, 1, -1)


def config(case):
    cfg = {
        "layer": "conv-transpose",
        "stride": list(case["stride"]),
        "padding": case["padding"],
        "output_padding": list(case["extra"]),
        "dilation": list(case["dilation"]),
        "groups": case["groups"],
        "mode": "convolution" if case["flip"] else "cross-correlation",
    }
    if case["channels_last"]:
        cfg["layout"] = "NHWC"
    return cfg


SWEEP = 60


def _close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-300)
    assert float(np.abs(got - want).max(initial=0.0)) <= 1e-10 * scale


@pytest.mark.parametrize("seed", range(SWEEP))
def test_sweep_against_pytorch_autograd(seed, cli, tmp_path):
    """API totals, the JSON output and the overlay sums against PyTorch, to 1e-10 relative."""
    rng = np.random.default_rng(1000 + seed)
    case = random_case(rng)
    args = (case["A"], case["W"], case["b"])
    geometry = (case["stride"], case["pairs"], case["extra"], case["dilation"], case["groups"], case["flip"])
    dZ = rng.standard_normal(z_shape(case))
    Z, dW, db, dA = torch_reference(*args, dZ, *geometry)
    A_user, W_user, dZ_user = user_arrays(case, dZ)
    r = convgrad.backward(A_user, W_user, dZ=dZ_user, b=case["b"], **config(case))
    back = (lambda x: np.moveaxis(x, -1, 1)) if case["channels_last"] else (lambda x: x)
    _close(back(r.Z), Z)
    _close(back(r.dA_prev), dA)
    w_back = r.problem.form.kernel_to_canonical(np.asarray(r.dW))
    _close(w_back, dW)
    if db is not None:
        _close(r.db, db)
    # the overlay sums: Z starts at b, each overlay scatters its share; dW and dA_prev add up too
    p = r.problem
    Z_sum = ct._start(p.A_prev, p.W, p.b, p.geom)
    dW_sum = np.zeros(p.W.shape)
    dA_sum = np.zeros(p.A_prev.shape)
    for record in ct.records(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params):
        share = record.values["share"]
        taps = itertools.product(*(range(k) for k in p.geom.kernel_size))
        for tap in taps:
            spot = ct.landing(record.position, tap, p.geom)
            if spot is not None:
                for j, c_out in enumerate(ct._out_channels(record.channel, p.geom)):
                    Z_sum[(record.n, c_out) + spot] += share[(j,) + tap]
        dW_sum[record.channel] += record.values["dW"]
        dA_sum[record.reads[0]] += record.values["dA_prev"]
    _close(Z_sum, Z)
    _close(dW_sum, dW)
    _close(dA_sum, dA)
    # through the JSON output of the CLI
    problem = {"A_prev": A_user.tolist(), "W": W_user.tolist(), "dZ": dZ_user.tolist(), **config(case)}
    if case["b"] is not None:
        problem["b"] = case["b"].tolist()
    path = tmp_path / "p.json"
    path.write_text(json.dumps(problem))
    out = cli("backward", str(path), "--json", "--overlays", "none")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    _close(back(np.array(doc["Z"])), Z)
    _close(back(np.array(doc["dA_prev"])), dA)
    _close(p.form.kernel_to_canonical(np.array(doc["dW"])), dW)


def test_the_sweep_covers_every_option():
    cases = [random_case(np.random.default_rng(1000 + seed)) for seed in range(SWEEP)]
    assert {c["A"].ndim - 2 for c in cases} == {1, 2, 3}
    assert any(c["groups"] > 1 for c in cases) and any(c["flip"] for c in cases)
    assert any(c["channels_last"] for c in cases) and any(not c["channels_last"] for c in cases)
    assert any(max(c["stride"]) > 1 for c in cases) and any(max(c["dilation"]) > 1 for c in cases)
    assert any(max(c["extra"]) > 0 for c in cases) and any(c["b"] is None for c in cases)
    assert any(pb != pa for c in cases for pb, pa in c["pairs"])
    assert any(pb > 0 for c in cases for pb, _ in c["pairs"])


# -- published cases --------------------------------------------------------------------------------


def test_d2l_basic_example():
    """d2l.ai, "Dive into Deep Learning", section 14.10 "Transposed Convolution", the basic
    operation (https://d2l.ai/chapter_computer-vision/transposed-conv.html): input [[0, 1], [2, 3]],
    kernel [[0, 1], [2, 3]], stride 1 -> [[0, 0, 1], [0, 4, 6], [4, 12, 9]]."""
    r = convgrad.forward([[0, 1], [2, 3]], [[0, 1], [2, 3]], layer="conv-transpose")
    assert r.Z.tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]


def test_d2l_stride_2_example():
    """The same chapter, "Padding, Strides, and Multiple Channels": stride 2 on the same input and
    kernel -> [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]; and padding 1 crops the
    first and last row and column of the stride-1 result, leaving [[4]]."""
    r = convgrad.forward([[0, 1], [2, 3]], [[0, 1], [2, 3]], layer="conv-transpose", stride=2)
    assert r.Z.tolist() == [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]
    r = convgrad.forward([[0, 1], [2, 3]], [[0, 1], [2, 3]], layer="conv-transpose", padding=1)
    assert r.Z.tolist() == [[4]]


def test_stride_2_worked_by_hand():
    """A homework-style solution, worked by hand (1-D, stride 2, kernel 3, padding 1, output_padding 1).

    x = [1, 2, 3], w = [1, -1, 2], s = 2, p = 1, output_padding = 1.
    Full output length (n - 1)*s + k = 2*2 + 3 = 7; each x[i] writes x[i]*w at 2i, 2i+1, 2i+2:
        x[0] = 1:  [1, -1, 2, 0, 0, 0, 0]
        x[1] = 2:  [0, 0, 2, -2, 4, 0, 0]
        x[2] = 3:  [0, 0, 0, 0, 3, -3, 6]
        sum:       [1, -1, 4, -2, 7, -3, 6]
    output_padding 1 adds one entry at the end (0): [1, -1, 4, -2, 7, -3, 6, 0];
    padding 1 crops one from each side: Z = [-1, 4, -2, 7, -3, 6],
    length (3 - 1)*2 - 2 + (3 - 1) + 1 + 1 = 6.
    Backward with dZ = [1, 0, 2, -1, 1, 1] (dZ sits at full positions 1..6):
        dA[i] = sum_t w[t] * dZ at 2i + t - 1:
        dA[0] = w0*(cropped) + w1*dZ[0] + w2*dZ[1] = -1*1 + 2*0 = -1
        dA[1] = w0*dZ[1] + w1*dZ[2] + w2*dZ[3] = 0 - 2 - 2 = -4
        dA[2] = w0*dZ[3] + w1*dZ[4] + w2*dZ[5] = -1 - 1 + 2 = 0
        dW[t] = sum_i x[i] * dZ at 2i + t - 1:
        dW[0] = x1*dZ[1] + x2*dZ[3] = 0 - 3 = -3
        dW[1] = x0*dZ[0] + x1*dZ[2] + x2*dZ[4] = 1 + 4 + 3 = 8
        dW[2] = x0*dZ[1] + x1*dZ[3] + x2*dZ[5] = 0 - 2 + 3 = 1
        db = sum dZ = 4
    """
    r = convgrad.backward(
        [1, 2, 3], [1, -1, 2], dZ=[1, 0, 2, -1, 1, 1], b=0, layer="conv-transpose",
        stride=2, padding=1, output_padding=1,
    )  # fmt: skip
    assert r.Z.tolist() == [-1, 4, -2, 7, -3, 6]
    assert r.dA_prev.tolist() == [-1, -4, 0]
    assert r.dW.tolist() == [-3, 8, 1]
    assert r.db == 4


# -- exact rationals, symbols, finite differences --------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_exact_rationals_match_plain_loops_exactly(seed):
    rng = np.random.default_rng(50 + seed)
    case = random_case(rng)
    frac = np.vectorize(lambda v: Fraction(round(v * 4), 4), otypes=[object])
    A, W = frac(case["A"]), frac(case["W"])
    b = None if case["b"] is None else frac(case["b"])
    geometry = (case["stride"], case["pairs"], case["extra"], case["dilation"], case["groups"], case["flip"])
    dZ = frac(rng.standard_normal(z_shape(case)))
    Z, dW, db, dA = loops(A, W, b, dZ, *geometry)
    A_user, W_user, dZ_user = user_arrays({**case, "A": A, "W": W}, dZ)
    r = convgrad.backward(A_user, W_user, dZ=dZ_user, b=b, exact=True, **config(case))
    p = r.problem
    totals = r.canonical_totals
    assert (totals.Z == Z).all() and (totals.dA_prev == dA).all() and (totals.dW == dW).all()
    assert (totals.db == db).all()
    assert all(isinstance(v, Fraction) for v in totals.Z.reshape(-1))
    # the terms of a few entries add up to them exactly
    for quantity, array in (("Z", Z), ("dW", dW), ("dA_prev", dA)):
        for index in list(np.ndindex(*array.shape))[:5]:
            terms = ct.entry_terms(quantity, index, p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
            assert sum((t.value for t in terms), start=Fraction(0)) == array[index]


def test_symbolic_gives_formulas():
    r = convgrad.backward(
        {"shape": [2]}, {"shape": [2]}, dZ={"shape": [3]}, b={"shape": []}, symbolic=True,
        layer="conv-transpose", stride=1,
    )  # fmt: skip
    texts = [str(v) for v in r.Z]
    assert texts[0].replace(" ", "") in ("b+w1*x1", "w1*x1+b")
    assert "w1*x2" in texts[1].replace(" ", "") and "w2*x1" in texts[1].replace(" ", "")
    assert str(r.dA_prev[0]).replace(" ", "") in ("dz1*w1+dz2*w2", "w1*dz1+w2*dz2")


@pytest.mark.parametrize("seed", range(8))
def test_gradients_match_central_differences(seed):
    rng = np.random.default_rng(300 + seed)
    case = random_case(rng)

    dZ = rng.standard_normal(z_shape(case))
    A_user, W_user, dZ_user = user_arrays(case, dZ)
    r = convgrad.backward(A_user, W_user, dZ=dZ_user, b=case["b"], **config(case))
    rows = gradcheck(r.problem)
    assert [row.quantity for row in rows] == ["dW", "db", "dA_prev"]
    assert all(row.passed for row in rows), rows


def test_gradcheck_can_fail():
    """A wrong dW makes gradcheck fail: the check can tell."""
    import dataclasses

    from convgrad import gradcheck as module

    r = convgrad.backward([1.0, 2.0], [1.0, -1.0], dZ=[1.0, 2.0, 3.0], layer="conv-transpose")
    wrong = dataclasses.replace(r.problem, dZ=r.problem.dZ * 2)
    rows = module.gradcheck(r.problem)
    assert all(row.passed for row in rows)
    analytic = convgrad.api.Result(wrong).canonical_totals
    assert not np.allclose(analytic.dW, convgrad.api.Result(r.problem).canonical_totals.dW)


# -- the identities --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_identities_hold(seed):
    """Z = stride-1 conv of the zero-inserted padded input with the flipped kernel; dA_prev = conv of
    dZ with W; both sides from convgrad's conv kind, and the left from conv-transpose's totals."""
    rng = np.random.default_rng(700 + seed)
    case = random_case(rng)

    dZ = rng.standard_normal(z_shape(case))
    A_user, W_user, dZ_user = user_arrays(case, dZ)
    p = convgrad.backward(A_user, W_user, dZ=dZ_user, b=case["b"], **config(case)).problem
    found = ct.identities(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
    assert len(found) == 2 and all(i.agrees for i in found)


def test_an_identity_that_fails_says_so():
    left = np.array([1.0, 2.0])
    assert not ct.Identity("x", left, left + 1e-6).agrees
    assert ct.Identity("x", left, left.copy()).agrees


# -- shapes, padding words and refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation"),
    [(3, 3, 2, 1), (4, 2, 2, 1), (5, 1, 3, 1), (3, 3, 1, 2), (2, 4, 3, 1), (4, 3, 4, 1)],
)
def test_same_and_valid_give_keras_output_sizes(size, kernel, stride, dilation):
    """Keras Conv1DTranspose: 'same' -> n*s; 'valid' -> n*s + max(k_dilated - s, 0)."""
    span = dilation * (kernel - 1) + 1
    x = list(range(1, size + 1))
    w = [1] * kernel
    for word, want in (("same", size * stride), ("valid", size * stride + max(span - stride, 0))):
        r = convgrad.forward(x, w, layer="conv-transpose", stride=stride, dilation=dilation, padding=word)
        assert len(r.Z) == want


def test_same_against_pytorch_crop():
    """'same' is the crop of PyTorch's full output: (k_dilated - s) split with the extra after."""
    x, w = [1.0, 2.0, 3.0], [1.0, 2.0, 4.0, 8.0]
    full = convgrad.forward(x, w, layer="conv-transpose", stride=2).Z.tolist()  # length 8
    same = convgrad.forward(x, w, layer="conv-transpose", stride=2, padding="same").Z.tolist()
    assert same == full[1:7]


def _refusal(**fields):
    fields.setdefault("layer", "conv-transpose")
    with pytest.raises(InputError) as error:
        build_problem(canonical_fields(fields), need_dZ=False)
    return str(error.value)


def test_output_padding_at_least_stride_is_refused_in_one_line():
    message = _refusal(A_prev=[1, 2], W=[1, 1], stride=2, output_padding=2)
    assert message == (
        "output_padding 2 along spatial axis 0 must be smaller than the stride (2) or the dilation (1): "
        "it only picks among the output sizes that stride leaves open"
    )
    assert "\n" not in message


def test_other_refusals():
    assert "W is (C_in, C_out/groups, *k)" in _refusal(A_prev=[[[1, 2]], [[3, 4]]], W=[[[1, 1]]] * 3, dims=1)
    assert "output_padding goes with explicit padding" in _refusal(
        A_prev=[1, 2], W=[1, 1], stride=2, output_padding=1, padding="same"
    )
    assert "crop is larger than the output" in _refusal(A_prev=[1, 2], W=[1, 1], padding=2)
    assert "output_padding is for conv-transpose, not conv" in _refusal(
        A_prev=[1, 2], W=[1, 1], output_padding=1, layer="conv"
    )


def test_output_padding_aliases_and_channels_last_weights():
    a = convgrad.forward([1.0, 2.0], [1.0, 2.0, 3.0], layer="conv-transpose", stride=2, out_padding=1)
    assert len(a.Z) == 6
    # TensorFlow order (*k, C_out, C_in): one 1-D sample with 2 channels in, 3 out
    rng = np.random.default_rng(5)
    A, W = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 3, 2))
    first = convgrad.forward(A, W, layer="conv-transpose")
    last = convgrad.forward(np.moveaxis(A, 1, -1), W.transpose(2, 1, 0), layer="conv-transpose", layout="NWC")
    assert np.allclose(np.moveaxis(last.Z, -1, 1), first.Z)


# -- check names the mistakes; each wrong answer built here with the plain loops -------------------

MISTAKE_CASE = {
    "A": np.array([[[1.0, -2.0, 3.0], [0.5, 1.0, -1.0]]]),  # (N=1, C_in=2, 3)
    "W": np.array([[[1.0, 2.0, -1.0], [0.0, 1.0, 3.0]], [[2.0, -1.0, 1.0], [1.0, 1.0, 0.0]]]),  # (2, 2, 3)
    "b": np.array([0.5, -1.0]),
    "stride": (2,),
    "pairs": ((1, 1),),
    "padding": 1,
    "extra": (1,),
    "dilation": (1,),
    "groups": 1,
    "flip": False,
    "channels_last": False,
}


def _mistake_files(tmp_path, answer):
    case = MISTAKE_CASE
    rng = np.random.default_rng(9)
    dZ = np.round(rng.standard_normal(z_shape(case)) * 4) / 4
    problem = {"A_prev": case["A"].tolist(), "W": case["W"].tolist(), "b": case["b"].tolist(), "dZ": dZ.tolist()}
    problem.update(config(case))
    path = tmp_path / "p.json"
    path.write_text(json.dumps(problem))
    key = tmp_path / "a.json"
    key.write_text(json.dumps({k: np.asarray(v, dtype=float).tolist() for k, v in answer(dZ).items()}))
    return path, key


def _geometry(**changes):
    case = {**MISTAKE_CASE, **changes}
    return case["stride"], case["pairs"], case["extra"], case["dilation"], case["groups"], case["flip"]


def _named(cli, path, key, quantity):
    out = cli("check", path, "--answer", key, "--json")
    assert out.exit_code == 1, out.stderr
    doc = json.loads(out.stdout)
    return [m["mistake"] for m in doc["quantities"][quantity]["mistakes"]]


def test_check_names_output_padding_ignored(cli, tmp_path):
    case = MISTAKE_CASE
    path, key = _mistake_files(
        tmp_path, lambda dZ: {"Z": loops(case["A"], case["W"], case["b"], None, *_geometry(extra=(0,)))[0]}
    )
    assert "output_padding_ignored" in _named(cli, path, key, "Z")


def test_check_names_the_channel_axes_swapped(cli, tmp_path):
    case = MISTAKE_CASE
    W_swapped = case["W"].transpose(1, 0, 2)

    def answer(dZ):
        Z, _, _, dA = loops(case["A"], W_swapped, case["b"], dZ, *_geometry())
        return {"Z": Z, "dA_prev": dA}

    path, key = _mistake_files(tmp_path, answer)
    assert "channel_axes_swapped" in _named(cli, path, key, "Z")
    assert "channel_axes_swapped" in _named(cli, path, key, "dA_prev")


def test_check_names_the_crop_taken_from_the_wrong_side(cli, tmp_path):
    case = MISTAKE_CASE

    def answer(dZ):  # the whole crop (2) taken from the end
        Z, dW, _, dA = loops(case["A"], case["W"], case["b"], dZ, *_geometry(pairs=((0, 2),)))
        return {"Z": Z, "dA_prev": dA, "dW": dW}

    path, key = _mistake_files(tmp_path, answer)
    for quantity in ("Z", "dA_prev", "dW"):
        assert "crop_wrong_side" in _named(cli, path, key, quantity)
    out = cli("check", path, "--answer", key)
    assert "all from the end" in out.stdout


def test_check_names_the_kernel_not_flipped(cli, tmp_path):
    """The zero-insertion view without the flip is a transposed convolution with the kernel rotated:
    the wrong answers here come from the plain loops with the kernel flipped."""
    case = MISTAKE_CASE

    def answer(dZ):
        Z, _, _, dA = loops(case["A"], case["W"], case["b"], dZ, *_geometry(flip=True))
        return {"Z": Z, "dA_prev": dA}

    path, key = _mistake_files(tmp_path, answer)
    assert "kernel_not_flipped" in _named(cli, path, key, "Z")
    assert "kernel_not_flipped" in _named(cli, path, key, "dA_prev")


def test_check_says_right_for_the_right_answer(cli, tmp_path):
    case = MISTAKE_CASE

    def answer(dZ):
        Z, dW, db, dA = loops(case["A"], case["W"], case["b"], dZ, *_geometry())
        return {"Z": Z, "dW": dW, "db": db, "dA_prev": dA}

    path, key = _mistake_files(tmp_path, answer)
    out = cli("check", path, "--answer", key)
    assert out.exit_code == 0, out.stdout + out.stderr


# -- the CLI views on the sample -------------------------------------------------------------------

SAMPLE = "samples/conv_transpose.json"


def test_shape_fills_in_the_formula_and_says_when_output_padding_is_needed(cli):
    out = cli("shape", SAMPLE)
    assert out.exit_code == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "(2 - 1)·2 - 1 - 1 + 1·(3 - 1) + 1 + 1 = 4" in text
    assert "maps each of the sizes 3, 4 onto 2" in text and "1 gives 4" in text
    doc = json.loads(cli("shape", SAMPLE, "--json").stdout)
    assert doc["output_size"] == [4, 4] and doc["weights"]["conv"] == 9 and doc["biases"]["conv"] == 1


def test_explain_states_and_checks_both_identities(cli):
    out = cli("backward", SAMPLE, "--explain")
    assert out.exit_code == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert text.count(": holds.") == 2 and "DOES NOT HOLD" not in text
    assert "zeros inserted between entries" in text and "convolution forward pass (cross-correlation) of dZ" in text
    assert "Overlay 4 (entry [1, 1])" in text


def test_table_shows_where_each_scatter_lands_and_z_so_far(cli):
    out = cli("backward", SAMPLE, "--overlays", "1")
    text = out.stdout
    assert "lands" in text and "Z so" in text and "dW share" in text
    doc = json.loads(cli("backward", SAMPLE, "--json", "--overlays", "all").stdout)
    first = doc["overlays"][0]
    assert first["lands"] == "[0,0] [0,1] [1,0] [1,1]"
    assert doc["overlays"][-1]["Z_so_far"][-1] == doc["Z"][3][3]  # the last overlay finishes Z


def test_cell_lists_the_terms_of_dW_and_dA_prev(cli):
    out = cli("backward", SAMPLE, "--cell", "W[1,1]", "--overlays", "none")
    assert "dW[1, 1] = sum of the 4 terms = 5" in out.stdout
    out = cli("backward", SAMPLE, "--cell", "A_prev[0,0]", "--overlays", "none")
    assert "dA_prev[0, 0] = sum of the 4 terms = 2" in out.stdout
    out = cli("backward", SAMPLE, "--cell", "b")
    assert out.exit_code == 2 and "belongs to no overlay" in out.stderr


def test_exports_and_gradcheck_on_the_sample(cli):
    for fmt in ("markdown", "latex", "csv", "jsonl"):
        out = cli("backward", SAMPLE, "-f", fmt, "--overlays", "all")
        assert out.exit_code == 0, (fmt, out.stderr)
    assert "**W**" in cli("backward", SAMPLE, "-f", "markdown").stdout
    out = cli("gradcheck", SAMPLE, "--exact")
    assert out.exit_code == 0 and "exactly equal" in out.stdout
    doc = json.loads(cli("gradcheck", SAMPLE, "--json").stdout)
    assert doc is not None


@pytest.mark.parametrize("layout", [None, "NHWC"])
def test_generate_makes_a_problem_and_a_key_that_checks_right(cli, tmp_path, layout):
    out, key = tmp_path / "p.json", tmp_path / "k"
    args = ["generate", "--layer", "conv-transpose", "--seed", "7", "--stride", "2", "--channels", "2"]
    args += ["--filters", "2", "--bias", "-o", out, "--key", key] + (["--layout", layout] if layout else [])
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    problem = json.loads(out.read_text())
    assert problem["layer"] == "conv-transpose"
    answers = json.loads((tmp_path / "k.json").read_text())
    assert set(answers) == {"Z", "dW", "db", "dA_prev"}
    checked = cli("check", out, "--answer", tmp_path / "k.json")
    assert checked.exit_code == 0 and "right" in checked.stdout


def test_conv_transpose_has_every_column_kind_member():
    from convgrad.layers import KINDS, ColumnKind

    assert KINDS["conv-transpose"] is ct
    members = [n for n in vars(ColumnKind) if not n.startswith("_")]
    for member in members:
        assert hasattr(ct, member), member
    assert ct.takes.weights and ct.takes.bias and "output_padding" in ct.takes.keys
    assert [c.key for c in ct.columns] == ["A_prev", "lands", "share", "Z_so_far", "dZ", "dW", "dA_prev"]


def test_overlay_selections_run_over_input_channels_and_positions(cli):
    """For conv-transpose, c_out= picks input channels and pos= input positions (its overlays')."""
    doc = json.loads(cli("backward", SAMPLE, "--json", "--overlays", "pos=1,*").stdout)
    assert [o["number"] for o in doc["overlays"]] == [3, 4]
    assert [o["position"] for o in doc["overlays"]] == [[1, 0], [1, 1]]
    doc = json.loads(cli("backward", SAMPLE, "--json", "--overlays", "n=0 c_out=0 pos=0,1").stdout)
    assert [o["number"] for o in doc["overlays"]] == [2]


def test_window_values_come_in_the_users_form():
    """share = A_prev entry times W[c_in] as the user laid W out: (*k) bare, (*k, C_out/G) channels-last."""
    rng = np.random.default_rng(11)
    A, W = rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((2, 2, 3, 3))  # NHWC; W (*k, C_out, C_in)
    r = convgrad.backward(A, W, dZ=np.ones((1, 3, 3, 3)), layer="conv-transpose", layout="NHWC")
    for record in r.records():
        n, c_in, (i, j) = record.n, record.channel, record.position
        assert np.allclose(record.values["share"], A[n, i, j, c_in] * W[..., c_in])
        assert record.values["dW"].shape == (2, 2, 3)
    bare = convgrad.forward([[1.0, 2.0]], [[1.0, -1.0], [0.5, 2.0]], layer="conv-transpose")
    assert next(iter(bare.records())).values["share"].tolist() == [[1.0, -1.0], [0.5, 2.0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_overlays_terms_and_totals_agree_with_the_plain_loops(seed):
    """Hypothesis over random layers: the vectorised totals equal the plain loops, the overlay sums
    equal the totals, and the terms of a random entry of each quantity add up to it."""
    rng = np.random.default_rng(seed)
    case = random_case(rng)
    geometry = (case["stride"], case["pairs"], case["extra"], case["dilation"], case["groups"], case["flip"])
    dZ = rng.standard_normal(z_shape(case))
    want = loops(case["A"], case["W"], case["b"], dZ, *geometry)
    p = convgrad.backward(case["A"], case["W"], dZ=dZ, b=case["b"], **{**config(case), "layout": None}).problem
    got = ct.totals(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
    for mine, theirs in zip((got.Z, got.dW, got.db, got.dA_prev), want):
        _close(mine, theirs)
    dA = np.zeros(p.A_prev.shape)
    for record in ct.records(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params):
        dA[record.reads[0]] = record.values["dA_prev"]
    _close(dA, want[3])
    for quantity, array in (("Z", got.Z), ("dW", got.dW), ("db", got.db), ("dA_prev", got.dA_prev)):
        index = tuple(int(rng.integers(0, n)) for n in array.shape)
        terms = ct.entry_terms(quantity, index, p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
        total = sum((t.value for t in terms), 0.0)
        assert abs(total - array[index]) <= 1e-10 * max(1.0, sum(abs(t.value) for t in terms))
