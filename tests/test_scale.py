"""Array files, float32, --save, JSON lines, quiet pipes, and a lean start-up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SEED

import convgrad


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    dZ = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    return tmp_path, A, W, dZ, b


def test_npz_problem_keeps_float32(cli_json, arrays):
    tmp, A, W, dZ, b = arrays
    np.savez(tmp / "p.npz", A_prev=A, W=W, dZ=dZ, b=b, padding=np.array(1), layout=np.array("NCHW"))
    doc = cli_json("backward", tmp / "p.npz", "--overlays", "none")
    reference = convgrad.backward(
        A.astype(np.float64), W.astype(np.float64), dZ.astype(np.float64), b.astype(np.float64), padding=1
    )
    np.testing.assert_allclose(np.array(doc["dW"]), reference.dW, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(doc["dA_prev"]), reference.dA_prev, rtol=1e-4, atol=1e-4)
    # float32 results are written as float32 (shortest text that reads back to the same float32)
    api = convgrad.backward(A, W, dZ, b, padding=1)
    assert api.dW.dtype == np.float32 and api.Z.dtype == np.float32
    assert np.float32(doc["dW"][0][0][0][0]) == api.dW[0, 0, 0, 0]
    wide = cli_json("backward", tmp / "p.npz", "--overlays", "none", "--float64")
    np.testing.assert_allclose(np.array(wide["dW"]), reference.dW, rtol=1e-12)


def test_json_may_name_npy_files(cli_json, arrays, tmp_path):
    tmp, A, W, dZ, _ = arrays
    (tmp / "data").mkdir()
    np.save(tmp / "data" / "a.npy", A.astype(np.float64))
    np.save(tmp / "data" / "w.npy", W.astype(np.float64))
    (tmp / "data" / "p.json").write_text(
        json.dumps({"A_prev": "a.npy", "W": "w.npy", "dZ": dZ.tolist(), "padding": "same"})
    )
    doc = cli_json("backward", tmp / "data" / "p.json", "--overlays", "none")
    reference = convgrad.backward(A.astype(np.float64), W.astype(np.float64), dZ, padding="same")
    np.testing.assert_allclose(np.array(doc["dW"]), reference.dW, rtol=1e-12)


@pytest.mark.parametrize(
    "content,message",
    [
        ({"A_prev": "missing.npy", "W": [1]}, "A_prev names the file '{dir}/missing.npy', which does not exist"),
    ],
)
def test_npy_errors(cli, tmp_path, content, message):
    (tmp_path / "p.json").write_text(json.dumps(content))
    result = cli("forward", tmp_path / "p.json")
    assert result.exit_code == 2
    assert result.stderr == f"error: {message.format(dir=tmp_path)}\n"


def test_pickled_arrays_are_refused(cli, tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "evil.npy", "W": [1]}))
    result = cli("forward", tmp_path / "p.json")
    assert result.exit_code == 2
    assert "it holds Python objects, which convgrad does not load" in result.stderr


def test_save_writes_npz(cli, tmp_path):
    out = tmp_path / "r.npz"
    result = cli("backward", ROOT / "samples" / "nhwc.json", "--save", out, "--overlays", "none")
    assert result.exit_code == 0
    saved = np.load(out)
    r = convgrad.backward(
        **{
            k: v
            for k, v in json.loads((ROOT / "samples" / "nhwc.json").read_text()).items()
            if k != "description" and k not in ("A_prev", "W", "dZ")
        },
        A_prev=json.loads((ROOT / "samples" / "nhwc.json").read_text())["A_prev"],
        W=json.loads((ROOT / "samples" / "nhwc.json").read_text())["W"],
        dZ=json.loads((ROOT / "samples" / "nhwc.json").read_text())["dZ"],
    )
    np.testing.assert_allclose(saved["dW"], r.dW)
    np.testing.assert_allclose(saved["dA_prev"], r.dA_prev)
    assert sorted(saved.files) == ["Z", "dA_prev", "dW", "db"]
    bad = cli("backward", SEED, "--exact", "--save", out)
    assert bad.exit_code == 2 and "--save writes numpy float arrays" in bad.stderr


def test_jsonl_streams_overlays_then_totals(cli):
    result = cli("backward", ROOT / "samples" / "batch_channels.json", "--format", "jsonl")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 17
    assert [line["number"] for line in lines[:-1]] == list(range(1, 17))
    assert set(lines[-1]) == {"totals", "config", "audits"}
    doc = json.loads(cli("backward", ROOT / "samples" / "batch_channels.json", "--json").stdout)
    assert lines[:-1] == doc["overlays"]
    assert lines[-1]["totals"] == {k: doc[k] for k in ("Z", "dW", "db", "dA_prev")}
    some = cli("backward", ROOT / "samples" / "batch_channels.json", "--format", "jsonl", "--overlays", "c_out=1")
    assert len(some.stdout.splitlines()) == 9


def _run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "convgrad", *map(str, args)], capture_output=True, **kwargs)


def test_a_closed_pipe_ends_quietly(tmp_path):
    big = {
        "A_prev": np.ones((1, 4, 40, 40)).tolist(),
        "W": np.ones((4, 4, 3, 3)).tolist(),
        "dZ": np.ones((1, 4, 38, 38)).tolist(),
    }
    (tmp_path / "big.json").write_text(json.dumps(big))
    producer = subprocess.Popen(
        [sys.executable, "-m", "convgrad", "backward", str(tmp_path / "big.json"), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = producer.stdout.readline()
    producer.stdout.close()  # the reader goes away, as `| head -1` does
    stderr = producer.stderr.read().decode()
    code = producer.wait(timeout=60)
    assert json.loads(first)["number"] == 1
    assert code == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_ctrl_c_ends_quietly(tmp_path):
    big = {
        "A_prev": np.ones((1, 4, 60, 60)).tolist(),
        "W": np.ones((4, 4, 3, 3)).tolist(),
        "dZ": np.ones((1, 4, 58, 58)).tolist(),
    }
    (tmp_path / "big.json").write_text(json.dumps(big))
    proc = subprocess.Popen(
        [sys.executable, "-m", "convgrad", "backward", str(tmp_path / "big.json"), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"Traceback" not in stderr and stderr.strip().endswith(b"interrupted")


def test_start_up_imports_only_what_is_used():
    """A small problem as JSON imports no sympy, no rich, nothing of the exports or the checker."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "convgrad", "backward", str(SEED), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    for heavy in (
        "sympy",
        "rich",
        "convgrad.render.human",
        "convgrad.render.exports",
        "convgrad.check",
        "convgrad.variants",
        "convgrad.render.explain",
        "pydantic",
        "torch",
        "scipy",
        "threadpoolctl",
    ):
        assert heavy not in imported, heavy
    assert json.loads(out.stdout)["db"] == pytest.approx(0.1)


def test_python_api_array_inputs_do_not_copy_needlessly():
    A = np.ones((1, 1, 5, 5))
    r = convgrad.forward(A, np.ones((1, 1, 3, 3)))
    assert r.problem.A_prev.dtype == np.float64 and r.Z.shape == (1, 1, 3, 3)
