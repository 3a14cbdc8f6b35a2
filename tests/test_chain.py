"""Chains of layers: the CS231n conv-relu-pool sandwich against plain loops written from the course's
definitions, the API, the CLI's views and JSON, and the one-line errors at the joins."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from conftest import ROOT, torch_or_skip

import convgrad
from convgrad.chains import build_chain, chain_fields, select_layers, solve_chain
from convgrad.errors import InputError, UsageError

SANDWICH = ROOT / "samples" / "chain_sandwich.json"


# -- CS231n's layers, as the assignment defines them (layers.py: *_forward_naive / *_backward_naive) ------


def conv_forward_naive(x, w, b, stride, pad):
    """out[n, f, i, j] = sum over c, di, dj of x_padded[n, c, i*stride + di, j*stride + dj] * w[f, c, di, dj] + b[f]."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xp[:, :, pad : pad + H, pad : pad + W] = x
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for di in range(HH):
                            for dj in range(WW):
                                total = total + xp[n, c, i * stride + di, j * stride + dj] * w[f, c, di, dj]
                    out[n, f, i, j] = total
    return out


def conv_backward_naive(dout, x, w, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xp[:, :, pad : pad + H, pad : pad + W] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(F, dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] = db[f] + g
                    for c in range(C):
                        for di in range(HH):
                            for dj in range(WW):
                                dw[f, c, di, dj] = dw[f, c, di, dj] + g * xp[n, c, i * stride + di, j * stride + dj]
                                dxp[n, c, i * stride + di, j * stride + dj] = (
                                    dxp[n, c, i * stride + di, j * stride + dj] + g * w[f, c, di, dj]
                                )
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, db


def relu_forward(x):
    out = np.empty_like(x)
    for index, v in np.ndenumerate(x):
        out[index] = v if v > 0 else v * 0
    return out


def relu_backward(dout, x):
    dx = np.empty_like(dout)
    for index, v in np.ndenumerate(x):
        dx[index] = dout[index] if v > 0 else dout[index] * 0
    return dx


def max_pool_forward_naive(x, size, stride):
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - size) // stride, 1 + (W - size) // stride
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride : i * stride + size, j * stride : j * stride + size]
                    out[n, c, i, j] = max(window.reshape(-1))
    return out


def max_pool_backward_naive(dout, x, size, stride):
    """The gradient goes to the (first) maximum of each window."""
    dx = np.zeros_like(x) * 0
    N, C, H_out, W_out = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride : i * stride + size, j * stride : j * stride + size]
                    flat = list(window.reshape(-1))
                    k = flat.index(max(flat))
                    di, dj = divmod(k, size)
                    dx[n, c, i * stride + di, j * stride + dj] += dout[n, c, i, j]
    return dx


def conv_relu_pool_naive(x, w, b, dout, stride, pad, size, pool_stride):
    """conv_relu_pool_forward and conv_relu_pool_backward: every intermediate, like the course's caches."""
    a = conv_forward_naive(x, w, b, stride, pad)
    s = relu_forward(a)
    out = max_pool_forward_naive(s, size, pool_stride)
    ds = max_pool_backward_naive(dout, s, size, pool_stride)
    da = relu_backward(ds, a)
    dx, dw, db = conv_backward_naive(da, x, w, stride, pad)
    return {"a": a, "s": s, "out": out, "ds": ds, "da": da, "dx": dx, "dw": dw, "db": db}


def sandwich(x, w, b, dout, stride=1, pad=1, size=2, pool_stride=2, **config):
    layers = [
        {"layer": "conv", "W": w, "b": b, "stride": stride, "padding": pad},
        {"layer": "relu"},
        {"layer": "max-pool", "size": size, "stride": pool_stride},
    ]
    return convgrad.chain(x, layers=layers, dZ=dout, **config)


def _compare(r, ref, exact=False):
    conv, relu, pool = r.layers
    pairs = [
        (conv.Z, ref["a"]),
        (relu.Z, ref["s"]),
        (pool.Z, ref["out"]),
        (pool.dA_prev, ref["ds"]),
        (relu.dA_prev, ref["da"]),
        (conv.dA_prev, ref["dx"]),
        (conv.dW, ref["dw"]),
        (conv.db, ref["db"]),
    ]
    for ours, theirs in pairs:
        if exact:
            assert np.asarray(ours, dtype=object).tolist() == np.asarray(theirs, dtype=object).tolist()
        else:
            np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=1e-12, atol=1e-12)


def test_the_sandwich_sample_matches_cs231n_loops_exactly():
    doc = json.loads(SANDWICH.read_text())
    conv = doc["layers"][0]
    to_q = np.vectorize(Fraction, otypes=[object])
    x, w, b, dout = (to_q(np.array(doc[k] if k in doc else conv[k])) for k in ("A_prev", "W", "b", "dZ"))
    ref = conv_relu_pool_naive(x, w, b, dout, conv["stride"], conv["padding"], 2, 2)
    r = sandwich(doc["A_prev"], conv["W"], conv["b"], doc["dZ"], exact=True)
    _compare(r, ref, exact=True)


@pytest.mark.parametrize("seed", range(8))
def test_random_sandwiches_match_cs231n_loops(seed):
    rng = np.random.default_rng(seed)
    N, C, F = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    H = W = int(rng.choice([4, 6, 8]))
    stride, pad = (1, 1) if seed % 2 == 0 else (1, 0)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, 3, 3))
    b = rng.standard_normal(F)
    Ho = 1 + (H + 2 * pad - 3) // stride
    dout = rng.standard_normal((N, F, Ho // 2, Ho // 2))
    ref = conv_relu_pool_naive(x, w, b, dout, stride, pad, 2, 2)
    _compare(sandwich(x, w, b, dout, stride, pad), ref)


def test_a_channels_last_sandwich_is_the_same_numbers_moved():
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    dout = rng.standard_normal((2, 4, 3, 3))
    first = sandwich(x, w, b, dout)
    last = sandwich(np.moveaxis(x, 1, -1), w.transpose(2, 3, 1, 0), b, np.moveaxis(dout, 1, -1), layout="NHWC")
    for a, c in zip(first.layers, last.layers):
        np.testing.assert_allclose(np.moveaxis(c.Z, -1, 1), a.Z, rtol=1e-12)
        np.testing.assert_allclose(np.moveaxis(c.dA_prev, -1, 1), a.dA_prev, rtol=1e-12)
    np.testing.assert_allclose(last.layers[0].dW.transpose(3, 2, 0, 1), first.layers[0].dW, rtol=1e-12)


# -- the API ---------------------------------------------------------------------------------------------


def test_the_api_result_has_every_layers_fields_and_the_joins():
    doc = json.loads(SANDWICH.read_text())
    r = convgrad.chain(doc["A_prev"], layers=doc["layers"], dZ=doc["dZ"])
    assert isinstance(r, convgrad.ChainResult)
    assert r.kinds == ("conv", "relu", "max-pool") and r.is_backward and r.loss is None
    assert [j.sentence(r.kinds) for j in r.joins] == [
        "dZ of layer 1 (conv) = dA_prev of layer 2 (relu), shape (1, 2, 4, 4)",
        "dZ of layer 2 (relu) = dA_prev of layer 3 (max-pool), shape (1, 2, 4, 4)",
        "dZ of layer 3 (max-pool) = the dZ given, shape (1, 2, 2, 2)",
    ]
    conv, relu, pool = r.layers
    assert conv.dW.shape == (2, 2, 3, 3) and relu.dW is None and pool.db is None
    # each join: a layer's Z is the next one's input, the next one's dA_prev is its dZ
    assert np.array_equal(conv.Z, relu.problem.A_prev) and np.array_equal(relu.dA_prev, conv.problem.dZ)
    assert np.array_equal(pool.dA_prev, relu.problem.dZ)
    d = r.to_dict()
    assert d["loss"] is None and [layer["kind"] for layer in d["layers"]] == ["conv", "relu", "max-pool"]
    assert set(d["layers"][0]) == {"layer", "kind", "Z", "dW", "db", "dA_prev", "dZ_from", "config", "overlays"}
    assert d["layers"][1]["dZ_from"] == {
        "source": "layer",
        "layer": 3,
        "kind": "max-pool",
        "shape": [1, 2, 4, 4],
        "reshaped_from": None,
    }
    # every single-layer view works on a layer's Result: its overlays too
    assert len(list(relu.records())) == 32 and len(list(conv.overlays("1-3"))) == 3


def test_a_forward_chain_has_no_gradients():
    doc = json.loads(SANDWICH.read_text())
    r = convgrad.chain(doc["A_prev"], layers=doc["layers"])
    assert not r.is_backward and r.layers[0].dW is None and r.layers[-1].Z.shape == (1, 2, 2, 2)
    assert "dA_prev" not in r.to_dict()["layers"][0]


def test_exact_runs_through_every_rational_layer_and_a_sigmoid_makes_it_float():
    layers = [{"layer": "conv", "W": [[0.1, 0.2]], "b": 0.2}, {"layer": "leaky-relu", "slope": "1/10"}]
    r = convgrad.chain([[1, -2, 3]], layers=layers, dZ=[[1, 1]], exact=True)
    assert r.chain.domain.name == "exact" and not r.notes
    assert [str(v) for v in np.ravel(r.layers[0].Z)] == ["-1/10", "3/5"]
    # Z[0] < 0 passes 1/10 of its gradient back: dW[k] = (1/10)·A[k] + 1·A[k + 1]
    assert [str(v) for v in np.ravel(r.layers[0].dW)] == ["-19/10", "14/5"]
    r = convgrad.chain([[1, -2, 3]], layers=[*layers, {"layer": "sigmoid"}], dZ=[[1, 1]], exact=True)
    assert r.chain.domain.name == "float"
    assert r.notes == ("layer 3 (sigmoid) is not rational, so the chain is computed in floats, not --exact",)


def test_symbolic_layers_get_their_own_names():
    layers = [{"layer": "conv", "W": {"shape": [2]}}, {"layer": "conv", "W": {"shape": [1]}}]
    r = convgrad.chain({"shape": [3]}, layers=layers, symbolic=True)
    assert str(r.layers[1].Z[0]) == "b1*w2_1 + b2 + w1_1*w2_1*x1 + w1_2*w2_1*x2"
    assert str(r.layers[0].db) == "dz1*w2_1 + dz2*w2_1"
    with pytest.raises(InputError, match=r"^layer 2 \(relu\) on the Z of layer 1 \(conv\)"):
        convgrad.chain({"shape": [3]}, layers=[layers[0], {"layer": "relu"}], symbolic=True)


def test_the_api_copies_its_arrays():
    x = np.array([[1.0, 2.0, 3.0]])
    r = convgrad.chain(x, layers=[{"layer": "relu"}, {"layer": "tanh"}], dZ=np.ones((1, 3)))
    x[0, 0] = -5
    assert r.layers[0].Z[0, 0] == 1.0


# -- one line at the join ---------------------------------------------------------------------------------


def _error(fields, need_dZ=True):
    with pytest.raises(InputError) as caught:
        solve_chain(build_chain(chain_fields(fields), need_dZ=need_dZ))
    return caught.value.message


def test_errors_name_the_layer_its_kind_and_the_shapes_at_the_join():
    doc = json.loads(SANDWICH.read_text())
    too_big = {**doc, "layers": [*doc["layers"][:2], {"layer": "max-pool", "size": 5}]}
    assert _error(too_big) == (
        "layer 3 (max-pool) on the Z of layer 2 (relu), shape (1, 2, 4, 4): the max-pool window does not fit "
        "along spatial axis 0: size 5 but A_prev is 4 long there (4 + padding 0+0 = 4)"
    )
    wrong_channels = {**doc, "layers": [doc["layers"][0], {"layer": "conv", "W": np.ones((1, 3, 2, 2)).tolist()}]}
    assert _error(wrong_channels).startswith(
        "layer 2 (conv) on the Z of layer 1 (conv), shape (1, 2, 4, 4): W has shape (1, 3, 2, 2), 3 input channels"
    )
    assert _error({**doc, "dZ": [1, 2]}) == (
        "dZ has shape (2,) but the chain's output, Z of layer 3 (max-pool), has shape (1, 2, 2, 2)"
    )
    assert _error({**doc, "layers": [{"layer": "relu", "A_prev": [1]}]}) == (
        "layer 1 (relu): A_prev is the chain's, given once at the top: a layer's input is the previous layer's output"
    )
    assert _error({**doc, "layers": [{"W": [1]}]}).startswith('layer 1 has no "layer" key')
    assert _error({**doc, "layers": []}).startswith('"layers" must be a list of layer objects')
    assert _error({"A_prev": [1], "layers": [{"layer": "relu"}]}).startswith("the chain has no end")
    assert _error({"A_prev": [1], "layers": [{"layer": "relu"}], "dZ": [1], "loss": "sum"}).startswith(
        "give the chain's end once"
    )
    assert _error({"A_prev": [1], "stride": 2, "layers": [{"layer": "relu"}], "dZ": [1]}).startswith(
        "stride is a layer's setting, not the chain's"
    )
    assert _error({"A_prev": [1], "layers": [{"layer": "softmax"}], "dZ": [1]}).startswith(
        "layer 'softmax' is not a kind convgrad knows"
    )


def test_select_layers():
    kinds = ("conv", "relu", "max-pool", "conv")
    assert select_layers("1", kinds) == [0]
    assert select_layers("1,3", kinds) == [0, 2]
    assert select_layers("2-4", kinds) == [1, 2, 3]
    assert select_layers("conv", kinds) == [0, 3]
    assert select_layers("relu, 4", kinds) == [1, 3]
    for bad, message in (
        ("5", "the chain has layers 1-4"),
        ("tanh", "the chain has no tanh layer"),
        ("x", "neither a layer number nor a kind"),
        ("", "--layers is empty"),
    ):
        with pytest.raises(UsageError, match=message):
            select_layers(bad, kinds)


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_json_is_the_apis_numbers(cli_json):
    doc = cli_json("backward", SANDWICH)
    problem = json.loads(SANDWICH.read_text())
    r = convgrad.chain(problem["A_prev"], layers=problem["layers"], dZ=problem["dZ"])
    assert doc["loss"] is None and doc["config"]["kinds"] == ["conv", "relu", "max-pool"]
    for entry, result in zip(doc["layers"], r.layers):
        for key in ("Z", "dA_prev"):
            assert np.array_equal(np.array(entry[key]), getattr(result, key))
    assert doc["layers"][0]["dW"] == r.layers[0].dW.tolist()
    assert [len(layer["overlays"]) for layer in doc["layers"]] == [32, 32, 8]


def test_cli_layers_and_overlays_choose_what_is_shown(cli):
    table = cli("backward", SANDWICH, "--layers", "relu", "--overlays", "none")
    assert table.exit_code == 0, table.stderr
    assert "Layer 2 of 3: relu" in table.stdout and "Layer 1 of 3" not in table.stdout
    assert "Summary" in table.stdout and "max-pool" in table.stdout  # every layer computed, in the summary
    doc = json.loads(cli("backward", SANDWICH, "--json", "--layers", "3", "--overlays", "1").stdout)
    assert [len(layer["overlays"]) for layer in doc["layers"]] == [0, 0, 1]
    lines = [
        json.loads(line)
        for line in cli("backward", SANDWICH, "--format", "jsonl", "--layers", "1,3").stdout.split("\n")
        if line
    ]
    assert [line.get("layer") for line in lines[:1]] == [1]
    assert sorted({line["layer"] for line in lines if "layer" in line}) == [1, 3]
    assert set(lines[-1]) == {"loss", "config"}


def test_cli_refusals_are_one_line(cli, tmp_path):
    for args, message in (
        (["--format", "markdown"], "a chain prints as a table, --json or --format jsonl"),
        (["--format", "torch"], "--format torch is for one layer so far"),
        (["--format", "numpy"], "--format numpy is for one layer so far"),
        (["--cell", "W[0,0,0,0]"], "--cell names an entry of one layer"),
        (["--html", str(tmp_path / "p.html")], "--html draws convolution layers only so far, not chains"),
        (["--layers", "7"], "--layers '7': the chain has layers 1-3"),
        (["--stride", "2"], "stride is a layer's setting"),
    ):
        result = cli("backward", SANDWICH, *args)
        assert result.exit_code == 2, args
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    one = cli("backward", ROOT / "samples" / "relu.json", "--layers", "1")
    assert one.exit_code == 2 and "--layers picks layers of a chain" in one.stderr


def test_cli_reads_a_chain_from_stdin_and_says_when_exact_becomes_float(cli):
    problem = {"A_prev": [1, -2, 3], "layers": [{"layer": "relu"}, {"layer": "tanh"}], "dZ": [1, 1, 1]}
    result = cli("backward", "-", "--exact", "--overlays", "none", input=json.dumps(problem))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "note: layer 2 (tanh) is not rational, so the chain is computed in floats, not --exact\n"
    assert "dZ of layer 1 (relu) = dA_prev of layer 2 (tanh), shape (3,)" in result.stdout


def test_the_other_commands_read_chains_too(cli):
    # check, gradcheck, shape and generate of chains are tested in tests/test_chain_tools.py
    result = cli("gradcheck", SANDWICH)
    assert result.exit_code == 0 and "gradcheck of a chain" in result.stdout


# -- the tiny CNN: flatten, dense and a loss ------------------------------------------------------------------

TINY = ROOT / "samples" / "tiny_cnn.json"


def test_the_tiny_cnn_starts_its_backward_walk_at_the_loss(cli):
    out = cli("backward", TINY, "--overlays", "none")
    assert out.exit_code == 0, out.stderr
    text = out.stdout
    assert "Loss: softmax-cross-entropy (mean)" in text
    flowing = " ".join(text.split())  # the sentence wraps at the terminal's width
    assert "L = (1/N)·Σ_n -log softmax(Z_n)[label_n], dL/dZ = (softmax(Z) - one-hot)/N (N the batch)" in flowing
    assert "dZ of layer 5 (dense) = the loss's gradient dL/dZ, shape (2, 3)" in flowing
    assert "dZ of layer 3 (max-pool) = dA_prev of layer 4 (flatten), reshaped (2, 2, 1, 2) from (2, 4)" in flowing
    assert text.index("Loss: softmax") < text.index("Layer 5 of 5: dense", text.index("Backward, last to first"))
    doc = json.loads(cli("backward", TINY, "--json", "--overlays", "none").stdout)
    assert doc["loss"]["kind"] == "softmax-cross-entropy" and doc["loss"]["reduction"] == "mean"
    assert doc["layers"][2]["dZ_from"]["reshaped_from"] == [2, 4]
    # the loss's gradient is the dense layer's dZ, and it sums to 0 per sample (softmax minus one-hot)
    gradient = np.array(doc["loss"]["gradient"])
    assert np.allclose(gradient.sum(axis=1), 0) and gradient.shape == (2, 3)


def test_the_tiny_cnn_loss_and_first_dW_against_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    doc = json.loads(TINY.read_text())
    conv, _, _, _, dense = doc["layers"]
    x = torch.tensor(doc["A_prev"], dtype=torch.float64)
    W1 = torch.tensor(conv["W"], dtype=torch.float64, requires_grad=True)
    W5 = torch.tensor(dense["W"], dtype=torch.float64, requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(x, W1, torch.tensor(conv["b"], dtype=torch.float64))), 2, 1)
    logits = h.flatten(1) @ W5.T + torch.tensor(dense["b"], dtype=torch.float64)
    loss = F.cross_entropy(logits, torch.tensor(doc["loss"]["labels"]))
    loss.backward()
    r = convgrad.chain(doc["A_prev"], layers=doc["layers"], loss=doc["loss"])
    assert r.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(r.layers[0].dW, W1.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.layers[4].dW, W5.grad.numpy(), rtol=1e-12)


def test_an_exact_chain_with_a_rational_loss_stays_exact():
    doc = json.loads(TINY.read_text())
    r = convgrad.chain(doc["A_prev"], layers=doc["layers"], loss="sum", exact=True)
    assert not r.notes and r.loss == Fraction(-43, 5)
    assert r.layers[0].dW.ravel().tolist() == [
        Fraction(v) for v in ("-3/5", "-39/10", "37/10", "7/5", "-61/10", "-2/5", "-5/2", "5")
    ]
    r = convgrad.chain(doc["A_prev"], layers=doc["layers"], loss=doc["loss"], exact=True)
    assert r.notes == (
        "the loss softmax-cross-entropy is not rational, so the chain is computed in floats, not --exact",
    )


def test_errors_at_the_closing_layers_and_the_loss():
    doc = json.loads(TINY.read_text())

    def with_(change):
        bad = json.loads(json.dumps(doc))
        change(bad)
        return _error(bad)

    assert with_(lambda d: d["layers"][4].update(W=[[1, 2, 3]] * 3)) == (
        "layer 5 (dense) on the Z of layer 4 (flatten), shape (2, 4): dense: A_prev has 4 features per sample "
        "but W (3, 3) expects 3 (in), W being (out, in) as PyTorch's nn.Linear"
    )
    assert with_(lambda d: d["loss"].update(labels=[0, 3])) == (
        "loss after layer 5 (dense, Z (2, 3)): labels[1] is 3, out of range: Z has 3 classes (0 to 2)"
    )
    assert with_(lambda d: d.update(loss={"kind": "mse", "target": [[1, 2], [3, 4]]})) == (
        "loss after layer 5 (dense, Z (2, 3)): the mse target has shape (2, 2) but Z has shape (2, 3): "
        "the target must be shaped like Z"
    )
    assert with_(lambda d: d.update(layers=d["layers"][:3])).startswith(
        "loss after layer 3 (max-pool, Z (2, 2, 1, 2)): softmax-cross-entropy needs Z of shape (N, classes)"
    )


# -- hostile chains: exit 0, 1 or 2 with one line, never a traceback ------------------------------------------


def _mutations(rng):
    """A chain sample with one value swapped for junk, a layer dropped, doubled or made junk, and so on."""
    import random

    from fuzzing import JUNK

    for sample in (SANDWICH, TINY):
        doc = json.loads(sample.read_text())
        for _ in range(40):
            bad = json.loads(json.dumps(doc))
            op = rng.choice(["value", "layer", "top", "drop", "double", "loss"])
            junk = rng.choice(JUNK)
            if op == "value":
                layer = rng.choice(bad["layers"])
                layer[rng.choice([*layer, "stride", "size", "order"])] = junk
            elif op == "layer":
                bad["layers"][rng.randrange(len(bad["layers"]))] = junk
            elif op == "top":
                bad[rng.choice(["A_prev", "dZ", "loss", "layers", "layout", "dims", "exact", "W"])] = junk
            elif op == "drop":
                del bad["layers"][rng.randrange(len(bad["layers"]))]
            elif op == "double":
                i = rng.randrange(len(bad["layers"]))
                bad["layers"].insert(i, bad["layers"][i])
            else:
                bad["loss"] = {"kind": rng.choice(["sum", "mse", "softmax-cross-entropy", junk]), "labels": junk}
                bad.pop("dZ", None)
            yield json.dumps(bad, ensure_ascii=False), rng.choice([[], ["--json"], ["--exact"], ["--symbolic"]])
    assert isinstance(rng, random.Random)


def test_hostile_chains_are_refused_in_one_line():
    import random

    from conftest import make_runner
    from fuzzing import run_case

    from convgrad.cli import app

    runner = make_runner()
    verdicts = []
    for text, flags in _mutations(random.Random(13)):
        outcome = run_case(runner, app, text, ["backward", "-", "--overlays", "none", *flags])
        assert outcome.verdict in ("ok", "refused"), (text[:300], flags, outcome.stderr[-500:])
        verdicts.append(outcome.verdict)
    assert "refused" in verdicts and "ok" in verdicts
    assert "more than the 100 a chain may have" in _error({"A_prev": [1], "layers": [{"layer": "relu"}] * 101})


@pytest.mark.parametrize("layers", ["relu", [None], [1, 2], {"layer": "relu"}, None, [{"layer": "relu"}, "tanh"]])
def test_the_api_refuses_layers_that_are_not_layer_objects_in_one_line(layers):
    with pytest.raises(convgrad.InputError) as raised:
        convgrad.chain([1, 2, 3], layers=layers, loss="sum")
    assert "layer" in str(raised.value) and "\n" not in str(raised.value)


def test_the_api_takes_tensors_everywhere_labels_included():
    torch = torch_or_skip()
    import torch.nn.functional as F

    torch.manual_seed(0)
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    conv = torch.nn.Conv2d(1, 2, 3, padding=1, dtype=torch.float64)
    linear = torch.nn.Linear(8, 3, dtype=torch.float64)
    labels = torch.tensor([0, 2])
    layers = [
        {"layer": "conv", "W": conv.weight, "b": conv.bias, "padding": 1},
        {"layer": "relu"},
        {"layer": "max-pool", "size": 2},
        {"layer": "flatten"},
        {"layer": "dense", "W": linear.weight, "b": linear.bias},
    ]
    r = convgrad.chain(x, layers=layers, loss={"kind": "softmax-cross-entropy", "labels": labels})
    loss = F.cross_entropy(linear(F.max_pool2d(F.relu(conv(x)), 2).flatten(1)), labels)
    loss.backward()
    assert np.isclose(float(r.loss), loss.item(), rtol=1e-12)
    assert np.allclose(r.layers[0].dW, conv.weight.grad.numpy(), rtol=1e-9, atol=1e-15)
    assert np.allclose(r.layers[4].dW, linear.weight.grad.numpy(), rtol=1e-9, atol=1e-15)
    assert np.allclose(r.layers[0].dA_prev, x.grad.numpy(), rtol=1e-9, atol=1e-15)
