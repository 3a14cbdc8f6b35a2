"""PyTorch autograd (float64) as the oracle, over a sweep of every option, through the JSON output.

Each case is written as a problem JSON, run through ``convgrad backward --json``
(stdin), and compared with torch.nn.functional.conv{1,2,3}d + autograd on the
same arrays. Layout and padding conversions on the torch side are written here
from their definitions, not taken from convgrad.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import torch_or_skip

RTOL = 1e-10


def _pairs(padding, S, K, stride, dilation):
    """[before, after] per dim, from the definitions (TensorFlow's rule for "same")."""
    d = len(S)
    if padding == "valid":
        return [(0, 0)] * d
    if padding == "full":
        return [(dl * (k - 1), dl * (k - 1)) for k, dl in zip(K, dilation)]
    if padding == "same":
        pairs = []
        for n, k, s, dl in zip(S, K, stride, dilation):
            out = math.ceil(n / s)
            total = max((out - 1) * s + dl * (k - 1) + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        return pairs
    if isinstance(padding, int):
        return [(padding, padding)] * d
    if d == 1 and len(padding) == 2 and all(isinstance(p, int) for p in padding):
        return [tuple(padding)]
    return [tuple(p) if isinstance(p, list) else (p, p) for p in padding]


def _per_dim(value, d):
    return [value] * d if isinstance(value, int) else list(value)


def make_case(rng, *, dims, form, last, groups, stride, dilation, padding, bias, mode):
    """A problem dict plus the canonical arrays torch needs."""
    N = 2 if form == "batched" else 1
    c_in = 1 if form == "bare" else groups * int(rng.integers(1, 3))
    c_out = 1 if form == "bare" else groups * int(rng.integers(1, 3))
    K = tuple(int(k) for k in rng.integers(1, 4, size=dims))
    stride_l, dil_l = _per_dim(stride, dims), _per_dim(dilation, dims)
    S = tuple(int(dl * (k - 1) + 1 + rng.integers(0, 4)) for k, dl in zip(K, dil_l))
    A = rng.standard_normal((N, c_in) + S)
    W = rng.standard_normal((c_out, c_in // groups) + K)
    b = None if bias is None else (rng.standard_normal(c_out) if bias == "vector" else np.full(c_out, 0.75))
    pairs = _pairs(padding, S, K, stride_l, dil_l)
    O = tuple((n + p0 + p1 - dl * (k - 1) - 1) // s + 1 for n, k, s, dl, (p0, p1) in zip(S, K, stride_l, dil_l, pairs))
    dZ = rng.standard_normal((N, c_out) + O)

    def user_act(x):  # canonical (N, C, *S) -> the user's form
        if form == "bare":
            return x[0, 0]
        if last:
            x = np.moveaxis(x, 1, -1)
        return x[0] if form == "unbatched" else x

    def user_kernel(w):
        if form == "bare":
            return w[0, 0]
        return np.transpose(w, tuple(range(2, 2 + dims)) + (1, 0)) if last else w

    problem = {"A_prev": user_act(A).tolist(), "W": user_kernel(W).tolist(), "dZ": user_act(dZ).tolist(),
               "stride": stride, "dilation": dilation, "padding": padding, "mode": mode}
    if form != "bare":
        problem["groups"] = groups
        problem["layout"] = {1: "NWC", 2: "NHWC", 3: "channels_last"}[dims] if last else "NCHW"
    elif dims == 3:
        problem["dims"] = 3
    if bias == "scalar":
        problem["b"] = 0.75
    elif bias == "vector":
        problem["b"] = b.tolist() if form != "bare" else float(b[0])
    canonical = dict(A=A, W=W, b=b, dZ=dZ, stride=stride_l, dilation=dil_l, pairs=pairs, groups=groups,
                     flip=mode == "convolution")
    return problem, canonical, (user_act, user_kernel)


def torch_grads(c):
    torch = torch_or_skip()
    import torch.nn.functional as F

    A = torch.tensor(c["A"], requires_grad=True)
    W = torch.tensor(c["W"], requires_grad=True)
    b = None if c["b"] is None else torch.tensor(c["b"], requires_grad=True)
    d = A.dim() - 2
    flat = []
    for before, after in reversed(c["pairs"]):
        flat += [before, after]
    kernel = W.flip(list(range(2, 2 + d))) if c["flip"] else W
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
    Z = conv(F.pad(A, flat), kernel, b, stride=c["stride"], dilation=c["dilation"], groups=c["groups"])
    Z.backward(torch.tensor(c["dZ"]))
    db = None if b is None else b.grad.numpy()
    return Z.detach().numpy(), W.grad.numpy(), db, A.grad.numpy(), Z.detach().sum(dim=0)


def _close(ours, theirs, what):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    scale = max(np.abs(theirs).max(initial=0.0), 1e-300)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _sweep():
    cases = []
    # Every option on its own, then random combinations.
    base = dict(dims=2, form="batched", last=False, groups=1, stride=1, dilation=1, padding=0,
                bias="vector", mode="cross-correlation")
    variations = [
        {}, {"dims": 1}, {"dims": 3}, {"form": "bare"}, {"form": "bare", "dims": 1},
        {"form": "bare", "dims": 3}, {"form": "unbatched"}, {"last": True}, {"last": True, "dims": 1},
        {"last": True, "dims": 3}, {"last": True, "form": "unbatched"}, {"groups": 2}, {"groups": 3},
        {"stride": 2}, {"stride": [2, 1]}, {"dilation": 2}, {"dilation": [1, 2]}, {"padding": 1},
        {"padding": [1, 2]}, {"padding": [[1, 0], [0, 2]]}, {"padding": "valid"}, {"padding": "same"},
        {"padding": "same", "stride": 2}, {"padding": "full"}, {"bias": None}, {"bias": "scalar"},
        {"mode": "convolution"}, {"mode": "convolution", "form": "bare", "dims": 1},
        {"dims": 1, "padding": [2, 1]}, {"mode": "convolution", "last": True, "groups": 2, "padding": 1},
    ]
    for v in variations:
        cases.append({**base, **v})
    rng = np.random.default_rng(2026)
    for _ in range(40):
        dims = int(rng.integers(1, 4))
        form = str(rng.choice(["bare", "unbatched", "batched"]))
        case = dict(
            dims=dims, form=form, last=bool(rng.integers(0, 2)),
            groups=1 if form == "bare" else int(rng.choice([1, 2, 3])),
            stride=int(rng.integers(1, 4)) if rng.integers(0, 2) else [int(s) for s in rng.integers(1, 3, dims)],
            dilation=int(rng.integers(1, 3)),
            padding=[0, 1, 2, "valid", "same", "full", [[1, 2]] * dims][int(rng.integers(0, 7))],
            bias=[None, "scalar", "vector"][int(rng.integers(0, 3))],
            mode=str(rng.choice(["cross-correlation", "convolution"])),
        )
        cases.append(case)
    return cases


SWEEP = _sweep()


@pytest.mark.parametrize("index", range(len(SWEEP)))
def test_json_agrees_with_torch(index, cli):
    case = dict(SWEEP[index])
    rng = np.random.default_rng(index)
    problem, canonical, (user_act, user_kernel) = make_case(rng, **case)
    Z, dW, db, dA, _ = torch_grads(canonical)
    result = cli("backward", "--json", "--input", "-", input=json.dumps(problem))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    _close(doc["Z"], user_act(Z), "Z")
    _close(doc["dW"], user_kernel(dW), "dW")
    _close(doc["dA_prev"], user_act(dA), "dA_prev")
    expected_db = canonical["dZ"].sum(axis=tuple(i for i in range(canonical["dZ"].ndim) if i != 1))
    if db is not None:
        _close(expected_db, db, "db (torch vs the sum of dZ)")
    _close(doc["db"], expected_db[0] if case["form"] == "bare" else expected_db, "db")
    # The overlays' contributions sum to the totals.
    dW_sum = np.zeros_like(np.asarray(doc["dW"], dtype=float))
    for overlay in doc["overlays"]:
        c = overlay["c_out"]
        contribution = np.asarray(overlay["dW"], dtype=float)
        if case["form"] == "bare":
            dW_sum += contribution
        elif case["last"]:
            dW_sum[..., c] += contribution
        else:
            dW_sum[c] += contribution
    _close(dW_sum, doc["dW"], "sum of the overlays' dW")
    assert len(doc["overlays"]) == doc["config"]["overlay_count"]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_matches_torch_same():
    torch = torch_or_skip()
    import torch.nn.functional as F

    import convgrad

    rng = np.random.default_rng(7)
    for k in (1, 2, 3, 4):
        for dil in (1, 2):
            A = rng.standard_normal((1, 2, 9))
            W = rng.standard_normal((3, 2, k))
            ours = convgrad.forward(A, W, padding="same", dilation=dil).Z
            theirs = F.conv1d(torch.tensor(A), torch.tensor(W), padding="same", dilation=dil).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
