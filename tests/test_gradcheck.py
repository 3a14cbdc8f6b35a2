"""gradcheck: finite differences agree with backward on every sample and a sweep; exact mode is exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cases import SWEEP, make_case
from conftest import NOT_RATIONAL, SAMPLES, SEED

BASIC = next(p for p in SAMPLES if p.stem == "basic_2d")  # a convolution sample


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_passes(cli, sample):
    result = cli("gradcheck", sample)
    assert result.exit_code == 0, result.stdout
    assert "Passed." in result.stdout
    if sample in NOT_RATIONAL:  # sigmoid, tanh: --exact is refused in one line
        assert cli("gradcheck", sample, "--exact").exit_code == 2
        return
    exact = cli("gradcheck", sample, "--exact", "--json")
    doc = json.loads(exact.stdout)
    assert exact.exit_code == 0 and doc["passed"]
    assert all(q["exactly_equal"] and q["max_abs_error"] == 0 for q in doc["quantities"].values())


@pytest.mark.parametrize("index", range(0, len(SWEEP), 2))
def test_sweep_passes(cli, index):
    rng = np.random.default_rng(5000 + index)
    problem, _, _ = make_case(rng, **SWEEP[index])
    result = cli("gradcheck", "-", "--json", input=json.dumps(problem))
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert all(q["max_rel_error"] < 1e-6 for q in doc["quantities"].values())


def test_exact_table_says_equal(cli):
    out = cli("gradcheck", BASIC, "--exact").stdout
    assert "exactly equal" in out and "equal the gradients exactly" in out


def test_a_wrong_backward_fails(cli, monkeypatch):
    """The check can fail: break the analytic gradient and it says so, exit 1."""
    from convgrad.layers import conv

    real = conv.backward

    def broken(*args, **kwargs):
        dW, db, dA = real(*args, **kwargs)
        return dW * 1.01, db, dA

    monkeypatch.setattr(conv, "backward", broken)
    result = cli("gradcheck", BASIC, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["passed"] is False and doc["quantities"]["dW"]["max_rel_error"] > 1e-3
    assert doc["quantities"]["db"]["max_rel_error"] < 1e-9


def test_sampling_large_quantities(cli):
    problem = {
        "A_prev": np.ones((1, 2, 30, 30)).tolist(),
        "W": np.ones((2, 2, 3, 3)).tolist(),
        "dZ": np.ones((1, 2, 28, 28)).tolist(),
    }
    doc = json.loads(cli("gradcheck", "-", "--json", "--max-entries", "25", input=json.dumps(problem)).stdout)
    assert doc["quantities"]["dA_prev"]["checked"] == 25 and doc["quantities"]["dA_prev"]["entries"] == 1800


def test_step_option(cli):
    assert cli("gradcheck", BASIC, "--step", "0.5").exit_code == 0
    assert cli("gradcheck", BASIC, "--exact", "--step", "1/3").exit_code == 0
    bad = cli("gradcheck", BASIC, "--step", "-1")
    assert bad.exit_code == 2 and "--step must be a positive number" in bad.stderr


def test_float32_input_is_checked_in_float64(cli, tmp_path):
    rng = np.random.default_rng(3)
    np.savez(
        tmp_path / "p32.npz",
        A_prev=rng.standard_normal((1, 3, 6, 6)).astype(np.float32),
        W=rng.standard_normal((2, 3, 3, 3)).astype(np.float32),
        dZ=rng.standard_normal((1, 2, 3, 3)).astype(np.float32),
        stride=np.array(2),
        padding=np.array("same"),
    )
    assert cli("gradcheck", tmp_path / "p32.npz").exit_code == 0


def test_rtol_zero_is_zero(cli):
    doc = json.loads(cli("gradcheck", SEED, "--rtol", "0", "--json").stdout)
    assert doc["rtol"] == 0
