"""PyTorch autograd (float64) as the oracle, over a sweep of every option, through the JSON output.

Each case is written as a problem JSON, run through ``convgrad backward --json``
(stdin), and compared with torch.nn.functional.conv{1,2,3}d + autograd on the
same arrays. Layout and padding conversions on the torch side are written here
from their definitions, not taken from convgrad.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cases import SWEEP, make_case
from conftest import torch_or_skip

RTOL = 1e-10


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
