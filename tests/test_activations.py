"""Activations (relu, leaky-relu, sigmoid, tanh): PyTorch float64 autograd, the overlay sums,
exact rationals, central differences, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from fractions import Fraction

import numpy as np
import pytest
from conftest import ROOT

import convgrad
from convgrad.errors import InputError

KINDS = ("relu", "leaky-relu", "sigmoid", "tanh")
SWEEP = 200  # random problems per kind


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - the shared venv has torch
        pytest.skip("torch is not installed: the PyTorch oracle cannot run")
    return torch


def torch_reference(kind: str, A: np.ndarray, dZ: np.ndarray, slope: float):
    torch = _torch()
    import torch.nn.functional as F

    x = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    f = {
        "relu": F.relu,
        "leaky-relu": lambda t: F.leaky_relu(t, negative_slope=slope),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }[kind]
    z = f(x)
    z.backward(torch.tensor(dZ, dtype=torch.float64))
    return z.detach().numpy(), x.grad.numpy()


def close(a, b, rtol=1e-10, floor=None):
    """Within rtol of each other; ``floor`` (per entry) allows for PyTorch's own rounding where it cancels."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    atol = 1e-300 if floor is None else floor
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rtol * np.abs(b) + atol))


def random_problem(rng, kind):
    """A random shape (bare 1-2 D, channels, batch, 1-3 spatial dims), layout, values; some zeros."""
    dims = int(rng.integers(1, 4))
    size = tuple(int(rng.integers(1, 4)) for _ in range(dims))
    batch, channels = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    channels_last = bool(rng.integers(0, 2))
    form = rng.choice(["bare", "batched"]) if dims <= 2 else "batched"
    A = rng.normal(scale=2.0, size=(batch, channels) + size)
    A[rng.random(A.shape) < 0.1] = 0.0  # the kink itself, where PyTorch's convention decides
    dZ = rng.normal(size=A.shape)
    slope = float(rng.uniform(0.001, 0.5))
    if form == "bare":
        A_user, dZ_user = A[0, 0], dZ[0, 0]
    elif channels_last:
        A_user, dZ_user = np.moveaxis(A, 1, -1), np.moveaxis(dZ, 1, -1)
    else:
        A_user, dZ_user = A, dZ
    config = {"layer": kind, "dims": dims}
    if form != "bare":
        config["layout"] = "NHWC" if channels_last else "NCHW"
    if kind == "leaky-relu":
        config["slope"] = slope
    return A_user, dZ_user, slope, config


@pytest.mark.parametrize("kind", KINDS)
def test_the_sweep_agrees_with_pytorch_through_the_api_json_and_the_overlay_sums(kind):
    rng = np.random.default_rng(zlib.crc32(kind.encode()))  # the same sweep every run
    for _ in range(SWEEP):
        A, dZ, slope, config = random_problem(rng, kind)
        Z_ref, dA_ref = torch_reference(kind, A, dZ, slope)
        result = convgrad.backward(A, dZ=dZ, **config)
        # PyTorch's sigmoid and tanh backward compute y(1 - y) and 1 - y² from the output y, which
        # cancels where |A_prev| is large: its own result is then only good to about 1e-16·|dZ|
        # absolutely. convgrad computes s(a)s(-a) and sech²(a) without the cancellation.
        floor = 4e-16 * np.abs(dZ) if kind in ("sigmoid", "tanh") else None
        assert close(result.Z, Z_ref) and close(result.dA_prev, dA_ref, floor=floor), (kind, config)
        assert result.dW is None and result.db is None
        # the JSON document, read back
        from convgrad.render.jsonout import document_chunks

        doc = json.loads("".join(document_chunks(result, range(result.overlay_count))))
        assert "dW" not in doc and "db" not in doc
        assert close(doc["Z"], Z_ref) and close(doc["dA_prev"], dA_ref, floor=floor)
        # the overlay sums: each overlay writes its entry's Z and dA_prev share
        Z_sum = np.zeros(result.problem.A_prev.shape)
        dA_sum = np.zeros(result.problem.A_prev.shape)
        for record in result.records():
            (entry,) = record.writes
            Z_sum[entry] += record.values["Z"]
            dA_sum[entry] += record.values["dA_prev"]
            assert record.values["dA_prev"] == record.values["dZ"] * record.values["derivative"]
        canonical = result.canonical_totals
        assert close(Z_sum, canonical.Z) and close(dA_sum, canonical.dA_prev)
        assert len(doc["overlays"]) == result.problem.A_prev.size


def test_relu_derivative_at_zero_is_zero_and_leaky_is_its_slope_as_pytorch():
    r = convgrad.backward([0.0, -1.0, 2.0], dZ=[5.0, 5.0, 5.0], layer="relu")
    assert r.dA_prev.tolist() == [0.0, 0.0, 5.0]
    _, dA_ref = torch_reference("leaky-relu", np.array([0.0]), np.array([5.0]), 0.25)
    r = convgrad.backward([0.0], dZ=[5.0], layer="leaky-relu", slope=0.25)
    assert r.dA_prev.tolist() == dA_ref.tolist() == [1.25]


@pytest.mark.parametrize("kind", ("relu", "leaky-relu"))
def test_exact_rationals_match_plain_loops(kind):
    A = [["1/3", "-2/7", 0], ["-5", "3/2", "-1/9"]]
    dZ = [["2", "-1/2", "7"], ["1/3", "-4", "5/6"]]
    slope = Fraction(1, 100)
    config = {"slope": "1/100"} if kind == "leaky-relu" else {}
    r = convgrad.backward(A, dZ=dZ, layer=kind, exact=True, **config)
    for i in range(2):
        for j in range(3):
            a, g = Fraction(A[i][j]), Fraction(dZ[i][j])
            neg = slope if kind == "leaky-relu" else Fraction(0)
            assert r.Z[i, j] == (a if a > 0 else neg * a)
            assert r.dA_prev[i, j] == g * (1 if a > 0 else neg)
            assert isinstance(r.dA_prev[i, j], Fraction)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_central_differences(kind):
    rng = np.random.default_rng(7)
    A = rng.normal(size=(2, 3, 4))
    A[np.abs(A) < 1e-3] = 0.5  # away from the kink: a difference quotient across it means nothing
    dZ = rng.normal(size=A.shape)
    h = 1e-6
    r = convgrad.backward(A, dZ=dZ, layer=kind, dims=1, layout="NCW")
    for index in np.ndindex(*A.shape):
        up, down = A.copy(), A.copy()
        up[index] += h
        down[index] -= h
        L = [float((convgrad.forward(x, layer=kind, dims=1).Z * dZ).sum()) for x in (up, down)]
        assert abs((L[0] - L[1]) / (2 * h) - r.dA_prev[index]) < 1e-6


def test_sigmoid_and_tanh_give_formulas_under_symbolic():
    r = convgrad.backward({"shape": [2]}, layer="sigmoid", symbolic=True)
    assert "exp(-x1)" in str(r.Z[0]) and "dz1" in str(r.dA_prev[0])
    r = convgrad.backward([0, 1], dZ=["g", "h"], layer="tanh", symbolic=True)
    assert str(r.dA_prev[1]) in ("-h*tanh(1)**2 + h", "h - h*tanh(1)**2")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: convgrad.forward([1, 2], W=[1], layer="relu"), "relu takes no W"),
        (lambda: convgrad.forward([1, 2], b=1, layer="tanh"), "tanh takes no b"),
        (lambda: convgrad.forward([1, 2], layer="softmax"), "conv, relu, leaky-relu, sigmoid, tanh"),
        (lambda: convgrad.forward([1, 2], layer="relu", slope=0.1), "slope is for leaky-relu, not relu"),
        (lambda: convgrad.forward([1, 2], layer="sigmoid", exact=True), "sigmoid is not rational"),
        (
            lambda: convgrad.forward([1, 2], layer="relu", stride=2),
            "stride is for conv, conv-transpose, max-pool and avg-pool, not relu",
        ),
        (lambda: convgrad.forward({"shape": [2]}, layer="relu", symbolic=True), "relu needs numbers"),
        (lambda: convgrad.forward([1, 2], [1], slope=0.1), "slope is for leaky-relu, not conv"),
    ],
)
def test_bad_input_gets_one_clear_line(call, message):
    with pytest.raises(InputError) as caught:
        call()
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_cli_refuses_in_one_line_with_exit_2():
    run = subprocess.run(
        [sys.executable, "-m", "convgrad", "forward", "-x", "1 2", "--layer", "sigmoid", "--exact"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1


def test_convolution_is_still_the_default_and_named_conv():
    plain = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
    named = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], layer="conv")
    assert np.array_equal(plain.dA_prev, named.dA_prev) and plain.problem.layer == "conv"


@pytest.mark.parametrize("kind", ["relu", "leaky-relu", "sigmoid", "tanh"])
def test_nan_and_infinities_go_where_pytorch_sends_them(kind):
    A = np.array([np.nan, np.inf, -np.inf, 1.0, -1.0, 0.0])
    dZ = np.full(A.shape, 2.0)
    Z_ref, dA_ref = torch_reference(kind, A, dZ, 0.01)
    r = convgrad.backward(A, dZ=dZ, layer=kind, allow_nonfinite=True)
    assert np.allclose(r.Z, Z_ref, equal_nan=True, rtol=1e-12), (r.Z, Z_ref)
    assert np.allclose(r.dA_prev, dA_ref, equal_nan=True, rtol=1e-12), (r.dA_prev, dA_ref)
    by_overlay = [record.values["dA_prev"] for record in r.records()]
    assert np.allclose(by_overlay, dA_ref, equal_nan=True, rtol=1e-12)
