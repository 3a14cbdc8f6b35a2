"""check, gradcheck, shape and generate of a chain of layers.

The wrong answers that name a join mistake are built here with plain loops from the course's
definitions (CS231n's conv / relu / max-pool backward), not with convgrad's own mistake code; the
gradient checks are run on chains whose answers are known, and made to fail on purpose.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
from conftest import ROOT

from convgrad.api import Result
from convgrad.chains import build_chain, chain_fields, solve_chain
from convgrad.chains.check import ChainChecker
from convgrad.chains.gradcheck import gradcheck_chain
from convgrad.chains.shape import chain_shapes
from convgrad.errors import InputError

SANDWICH = ROOT / "samples" / "chain_sandwich.json"

TINY_CNN = {
    "A_prev": [
        [[[1.5, -2, 0.25, 3], [2, 1.25, -1, 0.5], [0.75, 3, 2.5, -2], [-1, 0.5, 1, 2.25]]],
        [[[0.5, 1, 2.25, -1], [-3, 2.5, 0.75, 1], [1.25, -1, 3, 0.25], [2, 0.5, -2, 1.5]]],
    ],
    "layers": [
        {"layer": "conv", "W": [[[[1, 0.5], [-1, 2]]], [[[0.25, 1], [1, -1]]]], "b": [0.5, -0.5]},
        {"layer": "relu"},
        {"layer": "max-pool", "size": 2, "stride": 1},
        {"layer": "flatten"},
        {
            "layer": "dense",
            "W": [
                [1, 0, -1, 0.5, 0, 1, -1, 0],
                [0, 1, 1, -0.5, 1, 0, 0, 1],
                [-1, 0.5, 0, 1, 0, -1, 1, 0],
            ],
            "b": [0, 0.5, -0.5],
        },
    ],
    "loss": {"kind": "softmax-cross-entropy", "labels": [2, 0]},
}


def _fields(document):
    return chain_fields(json.loads(json.dumps(document)))


def _write(tmp_path, name, document):
    from convgrad.render.jsonout import document as to_text

    path = tmp_path / name
    path.write_text(to_text(document) if not isinstance(document, str) else document)
    return path


# -- plain loops: CS231n's definitions ---------------------------------------------------------------


def conv_forward(x, w, b, pad):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = H + 2 * pad - HH + 1, W + 2 * pad - WW + 1
    out = np.zeros((N, F, Ho, Wo), dtype=object)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = (xp[n, :, i : i + HH, j : j + WW] * w[f]).sum() + b[f]
    return out


def conv_backward_dw(x, w, dout, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dw = np.zeros(w.shape, dtype=object)
    N, F, Ho, Wo = dout.shape
    HH, WW = w.shape[2:]
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[f] += xp[n, :, i : i + HH, j : j + WW] * dout[n, f, i, j]
    return dw


def pool_backward_to_first(x, dout, size, stride):
    """The mistake: each window's gradient to the window's first entry, not its maximum."""
    dx = np.zeros(x.shape, dtype=object)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    dx[n, c, i * stride, j * stride] += dout[n, c, i, j]
    return dx


def sandwich_arrays():
    doc = json.loads(SANDWICH.read_text())
    frac = np.vectorize(Fraction, otypes=[object])
    conv = doc["layers"][0]
    x, w, b = frac(np.array(doc["A_prev"])), frac(np.array(conv["W"])), frac(np.array(conv["b"]))
    return doc, x, w, b, frac(np.array(doc["dZ"]))


# -- check ---------------------------------------------------------------------------------------------


def test_check_names_pooling_gradient_sent_to_the_first_entry(cli, tmp_path):
    _, x, w, b, dout = sandwich_arrays()
    conv = conv_forward(x, w, b, 1)
    relu = np.vectorize(lambda v: v if v > 0 else v * 0, otypes=[object])(conv)
    d_relu_out = pool_backward_to_first(relu, dout, 2, 2)  # the mistake, at layer 3
    d_conv = np.where(conv > 0, d_relu_out, 0)  # relu backward, done right
    wrong_dW = conv_backward_dw(x, w, d_conv, 1)
    answer = _write(tmp_path, "a.json", {"layers": [{"dW": wrong_dW.tolist()}, None, None]})
    result = cli("check", SANDWICH, "--answer", answer, "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    dW = report["layers"][0]["quantities"]["dW"]
    assert dW["status"] == "wrong"
    assert [m["mistake"] for m in dW["mistakes"]] == ["pool-gradient-to-first-entry"]
    assert dW["mistakes"][0]["explains"] == dW["mistakes"][0]["of"] == dW["wrong"]
    assert report["layers"][1] is None and report["layers"][2] is None
    text = " ".join(cli("check", SANDWICH, "--answer", answer).stdout.split())
    assert "Layer 1 of 3: conv" in text
    assert "layer 3 (max-pool) sent each window's gradient to the window's first entry" in text


def test_check_of_right_answers_keyed_by_layer_number_exits_0(cli, tmp_path):
    r = solve_chain(build_chain({**_fields(json.loads(SANDWICH.read_text())), "exact": True}, need_dZ=True))
    answer = {"1": {"dW": r.layers[0].dW, "db": r.layers[0].db}, "layers": {"3": {"dA_prev": r.layers[2].dA_prev}}}
    path = _write(tmp_path, "a.json", answer)
    result = cli("check", SANDWICH, "--answer", path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "All right: 2 layers." in result.stdout
    assert "Layer 2 of 3" not in result.stdout


def test_check_names_the_relu_mask_taken_from_dZ(tmp_path):
    doc = sandwich_arrays()[0]
    checker = ChainChecker(_fields(doc))
    d_relu_out = np.asarray(checker.result.layers[2].dA_prev, dtype=object)  # max-pool's dA_prev, right
    wrong = np.where(d_relu_out > 0, d_relu_out, 0)  # the mask from the gradient itself
    as_text = np.vectorize(str, otypes=[object])(wrong).tolist()  # exact answers as "p/q" texts
    report = checker.check({"layers": [None, {"dA_prev": as_text}, None]}, "the answer")
    (diagnosis,) = report.layers[1].quantities["dA_prev"].diagnoses
    assert diagnosis.mistake == "relu-mask-from-dZ" and diagnosis.complete


def test_check_names_softmax_without_1_over_N_and_flatten_order(tmp_path):
    fields = _fields(TINY_CNN)
    checker = ChainChecker(fields)
    r = checker.result
    assert any("not rational" in note for note in checker.notes)
    Z_last = np.asarray(r.forward_layers[-1].Z, dtype=float)
    e = np.exp(Z_last - Z_last.max(axis=1, keepdims=True))
    softmax = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(3)[[2, 0]]
    no_mean = softmax - onehot  # the mistake: not divided by N = 2
    A_dense = np.asarray(r.forward_layers[4].problem.A_prev, dtype=float)
    wrong_dW = no_mean.T @ A_dense
    dZ_flat = np.asarray(r.layers[3].problem.dZ, dtype=float)  # flatten's dZ (2, 8), right
    swapped = dZ_flat.reshape(2, 2, 2, 2).transpose(0, 3, 1, 2)  # unflattened as (H, W, C): the wrong order
    report = checker.check(
        {"layers": {"5": {"dW": wrong_dW.tolist()}, "4": {"dA_prev": swapped.tolist()}}, "loss": float(r.loss)},
        "the answer",
    )
    assert [d.mistake for d in report.layers[4].quantities["dW"].diagnoses] == ["softmax-gradient-without-1/N"]
    # at the flatten itself the one-layer check names it; the chain's mistake is named where it carries back
    assert [d.mistake for d in report.layers[3].quantities["dA_prev"].diagnoses] == ["flatten_other_order"]
    assert report.loss is not None and report.loss.right and not report.all_right


def test_check_names_the_flatten_order_swapped_in_the_forward_pass():
    fields = _fields(TINY_CNN)
    checker = ChainChecker(fields)
    A_flat = np.asarray(checker.result.forward_layers[2].Z, dtype=float)  # max-pool's Z (2, 2, 2, 2)
    keras_rows = A_flat.transpose(0, 2, 3, 1).reshape(2, -1)  # flattened channels-last by mistake
    W = np.array(TINY_CNN["layers"][4]["W"], dtype=float)
    wrong_Z = keras_rows @ W.T + np.array([0, 0.5, -0.5])
    report = checker.check({"layers": {"5": {"Z": wrong_Z.tolist()}}}, "the answer")
    assert [d.mistake for d in report.layers[4].quantities["Z"].diagnoses] == ["flatten-order-swapped-forward"]


def test_check_refuses_bad_chain_answers(tmp_path):
    checker = ChainChecker(_fields(json.loads(SANDWICH.read_text())))
    with pytest.raises(InputError, match='"layers" in a has 2 entries but the chain has 3 layers'):
        checker.check({"layers": [None, None]}, "a")
    with pytest.raises(InputError, match="'7' in a is not a layer number: the chain has layers 1 to 3"):
        checker.check({"layers": {"7": {"Z": 1}}}, "a")
    with pytest.raises(InputError, match="a gives a loss, but the chain ends in a given dZ"):
        checker.check({"loss": 1.5}, "a")
    with pytest.raises(InputError, match="'dW' in a is not a chain answer"):
        checker.check({"dW": [1]}, "a")
    with pytest.raises(InputError, match=r"layer 2 \(relu\): the answer gives dW, but relu has no weights"):
        checker.check({"layers": [None, {"dW": [1]}, None]}, "a")


# -- gradcheck -----------------------------------------------------------------------------------------


def test_gradcheck_of_a_chain_passes_in_floats_and_exactly(cli):
    result = cli("gradcheck", SANDWICH, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["passed"] and [(r["layer"], r["quantity"]) for r in doc["layers"]] == [
        (1, "dW"),
        (1, "db"),
        (1, "dA_prev"),
    ]
    exact = cli("gradcheck", SANDWICH, "--exact")
    assert exact.exit_code == 0 and "equal the gradients exactly" in exact.stdout


def test_gradcheck_of_a_chain_with_a_loss_checks_every_layer_with_weights():
    r = solve_chain(build_chain(_fields(TINY_CNN), need_dZ=True, float64=True))
    rows = gradcheck_chain(r)
    assert [(row.layer, row.quantity) for row in rows] == [(1, "dW"), (1, "db"), (5, "dW"), (5, "db"), (1, "dA_prev")]
    assert all(row.passed for row in rows), rows
    assert sum(row.checked for row in rows) > 30


def test_gradcheck_of_a_chain_can_fail():
    """A dW from a wrong dZ (doubled) fails: the comparison can tell."""
    r = solve_chain(build_chain(_fields(TINY_CNN), need_dZ=True, float64=True))
    dense = r.layers[4]
    wrong = Result(dataclasses.replace(dense.problem, dZ=dense.problem.dZ * 2))
    broken = dataclasses.replace(r, layers=(*r.layers[:4], wrong))
    rows = gradcheck_chain(broken)
    assert [row.passed for row in rows if row.layer == 5] == [False, False]


# -- shape ---------------------------------------------------------------------------------------------


def test_shape_of_a_chain_lists_every_layer_and_the_parameters(cli, tmp_path):
    rows = chain_shapes(_fields(TINY_CNN))
    assert [(r.kind, r.A_prev, r.Z) for r in rows] == [
        ("conv", (2, 1, 4, 4), (2, 2, 3, 3)),
        ("relu", (2, 2, 3, 3), (2, 2, 3, 3)),
        ("max-pool", (2, 2, 3, 3), (2, 2, 2, 2)),
        ("flatten", (2, 2, 2, 2), (2, 8)),
        ("dense", (2, 8), (2, 3)),
    ]
    assert [r.parameters for r in rows] == [8 + 2, 0, 0, 0, 24 + 3]
    path = _write(tmp_path, "cnn.json", TINY_CNN)
    doc = json.loads(cli("shape", path, "--json").stdout)
    assert doc["parameters"] == 37 and doc["weights"] == 32 and doc["biases"] == 5
    text = " ".join(cli("shape", path).stdout.split())
    assert "In total: 32 weights and 5 biases, 37 parameters." in text


def test_shape_of_a_chain_given_by_shapes_only(cli, tmp_path):
    doc = {
        "A_prev": {"shape": [8, 3, 32, 32]},
        "layers": [
            {"layer": "conv", "W": {"shape": [16, 3, 3, 3]}, "b": {"shape": [16]}, "padding": 1},
            {"layer": "relu"},
            {"layer": "max-pool", "size": 2},
            {"layer": "flatten"},
            {"layer": "dense", "W": {"shape": [10, 4096]}, "b": {"shape": [10]}},
        ],
    }
    result = cli("shape", _write(tmp_path, "big.json", doc), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [layer["Z"] for layer in out["layers"]][-2:] == [[8, 4096], [8, 10]]
    assert out["parameters"] == 16 * 27 + 16 + 10 * 4096 + 10


def test_shape_names_the_join_that_does_not_fit(cli, tmp_path):
    bad = json.loads(json.dumps(TINY_CNN))
    bad["layers"][4]["W"] = [[1] * 7] * 3
    result = cli("shape", _write(tmp_path, "bad.json", bad))
    assert result.exit_code == 2
    assert "layer 5 (dense)" in result.stderr and "8 features per sample but W (3, 7) expects 7" in result.stderr


# -- generate --------------------------------------------------------------------------------------------


def test_generate_a_chain_and_its_key_checks_right(cli, tmp_path):
    key = tmp_path / "key"
    problem = tmp_path / "p.json"
    result = cli(
        "generate",
        "--chain",
        "conv,relu,max-pool,flatten,dense",
        "--loss",
        "softmax-cross-entropy",
        "--seed",
        "4",
        "--output",
        problem,
        "--key",
        key,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(problem.read_text())
    assert [layer["layer"] for layer in doc["layers"]] == ["conv", "relu", "max-pool", "flatten", "dense"]
    assert doc["loss"]["kind"] == "softmax-cross-entropy" and len(doc["loss"]["labels"]) == 2
    again = cli("generate", "--chain", "conv,relu,max-pool,flatten,dense", "--seed", "4")
    assert json.loads(again.stdout) == doc  # the seed decides everything; the default loss after dense
    checked = cli("check", problem, "--answer", f"{key}.json")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert "All right: 5 layers and the loss." in checked.stdout
    backward = cli("backward", problem, "--overlays", "none")
    assert backward.exit_code == 0, backward.stderr


@pytest.mark.parametrize("loss", ["mse", "sum", "none"])
def test_generate_other_ends_and_an_exact_key(cli, tmp_path, loss):
    key = tmp_path / "key"
    result = cli("generate", "--chain", "conv,relu,avg-pool", "--loss", loss, "--seed", "2", "--key", key)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert ("dZ" in doc) == (loss == "none")
    key_doc = json.loads((tmp_path / "key.json").read_text())
    assert len(key_doc["layers"]) == 3 and ("loss" in key_doc) == (loss != "none")
    problem = _write(tmp_path, "p.json", result.stdout)
    assert cli("check", problem, "--answer", f"{key}.json").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain", "conv,dense"], "layer 2 (dense) needs (N, features): put flatten before it"),
        (["--chain", "conv,pool"], "'pool' is not a layer kind"),
        (["--chain", "conv,relu", "--loss", "softmax-cross-entropy"], "needs the chain to end in (N, classes)"),
        (["--chain", "conv", "--stride", "2"], "--stride is for one layer, not --chain"),
        (["--loss", "mse"], "--loss and --classes go with --chain"),
        (["--chain", "conv,max-pool,max-pool,max-pool"], "would pool a 1x1 input with a 2x2 window"),
    ],
)
def test_generate_chain_errors(cli, args, message):
    result = cli("generate", *args, "--seed", "1")
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr


def test_check_names_the_flatten_order_where_it_carries_back_to_the_convolution():
    """db of the convolution built by hand with the flatten's dZ reshaped back in Keras' order."""
    checker = ChainChecker(_fields(TINY_CNN))
    r = checker.result
    d_flat = np.asarray(r.layers[3].problem.dZ, dtype=float)  # the dense layer's dA_prev (2, 8), right
    d_pool_out = d_flat.reshape(2, 2, 2, 2).transpose(0, 3, 1, 2)  # (N, H, W, C) read back: the mistake
    relu_out = np.asarray(r.forward_layers[1].Z, dtype=float)  # max-pool's input (2, 2, 3, 3)
    d_relu_out = np.zeros(relu_out.shape)
    for n, c, i, j in np.ndindex(*d_pool_out.shape):  # 2x2 windows, stride 1: the first maximum gets it
        window = relu_out[n, c, i : i + 2, j : j + 2]
        a, b = np.unravel_index(int(np.argmax(window)), (2, 2))
        d_relu_out[n, c, i + a, j + b] += d_pool_out[n, c, i, j]
    conv_out = np.asarray(r.forward_layers[0].Z, dtype=float)
    d_conv = np.where(conv_out > 0, d_relu_out, 0.0)
    wrong_db = d_conv.sum(axis=(0, 2, 3))
    report = checker.check({"layers": {"1": {"db": wrong_db.tolist()}}}, "the answer")
    (diagnosis,) = report.layers[0].quantities["db"].diagnoses
    assert diagnosis.mistake == "flatten-order-swapped" and diagnosis.complete
    assert "carries back to layer 1" in diagnosis.sentence
