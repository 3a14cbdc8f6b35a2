"""gradcheck's lecture aids: --show ENTRY writes one central difference out, --answer FILE checks a
student's gradient numerically, entry by entry."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, SEED

# The seed problem: A_prev [1, 2, 3], W [0.3, 0.5], dZ [-0.1, 0.2]; L = sum(Z · dZ).
# W[0] = 0.301: Z = [1.301, 2.102], L = -0.1301 + 0.4204 = 0.2903; W[0] = 0.299: Z = [1.299, 2.098], L = 0.2897.


def test_show_writes_out_every_number_exactly(cli):
    result = cli("gradcheck", SEED, "--exact", "--show", "W[0]")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "x = W[0] = 0.3" in out
    assert "f(x+h) = L with W[0] = 0.301: 0.2903" in out
    assert "f(x-h) = L with W[0] = 0.299: 0.2897" in out
    assert "(f(x+h) - f(x-h)) / 2h = (0.2903 - 0.2897) / 0.002" in out
    assert "= 0.0006 / 0.002 = 0.3" in out
    assert "analytic dW[0] (backward) = 0.3" in out
    assert "equal exactly" in out


def test_show_json_and_the_gradient_name_as_entry(cli_json):
    doc = cli_json("gradcheck", SEED, "--exact", "--show", "dA_prev[2]")
    # A_prev[2] = 3 only meets W[1] in the last window: dA_prev[2] = dZ[1] · W[1] = 0.2 · 0.5
    assert doc["entry"] == "A_prev[2]" and doc["gradient"] == "dA_prev"
    assert doc["quotient"] == doc["analytic"] == 0.1
    assert doc["f_plus"] - doc["f_minus"] == pytest.approx(0.0002)


def test_show_in_floats_reports_the_rounding(cli):
    out = cli("gradcheck", ROOT / "samples" / "basic_2d.json", "--show", "W[0,1]").stdout
    assert "analytic dW[0,1] (backward) = 13.5" in out and "rounding only" in out


def test_show_uses_the_users_layout(cli_json):
    """In an NHWC problem W[i,j,c_in,c_out] is indexed as the file gives it (HWIO), not canonically."""
    import numpy as np

    nhwc = ROOT / "samples" / "nhwc.json"
    shapes = cli_json("shape", nhwc)["config"]["shapes"]
    dW = np.array(cli_json("backward", nhwc, "--exact")["dW"], dtype=float)
    for index in [tuple(s - 1 for s in shapes["W"]), (0,) * len(shapes["W"])]:
        doc = cli_json("gradcheck", nhwc, "--exact", "--show", f"W[{','.join(map(str, index))}]")
        assert doc["quotient"] == doc["analytic"] == pytest.approx(dW[index])


@pytest.mark.parametrize(
    "entry,message",
    [
        ("Q[1]", "is not an entry such as W[0,1]"),
        ("W[0,1]", "W has shape (2,), so an entry needs 1 index"),
        ("A_prev[3]", "is outside A_prev, whose shape is (3,)"),
    ],
)
def test_bad_show_entries(cli, entry, message):
    result = cli("gradcheck", SEED, "--show", entry)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def _answer(tmp_path, **arrays) -> str:
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(arrays))
    return str(path)


def test_answer_right_passes(cli, tmp_path):
    path = _answer(tmp_path, dW=[0.3, 0.4], db=0.1, dA_prev=[-0.03, 0.01, 0.1])
    result = cli("gradcheck", SEED, "--answer", path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Every given entry agrees." in result.stdout


def test_answer_wrong_entries_named(cli, tmp_path):
    path = _answer(tmp_path, dW=[0.3, 0.5], dA_prev=[-0.03, 0.01, 0.1])
    result = cli("gradcheck", SEED, "--answer", path)
    assert result.exit_code == 1
    assert "dW[1]: given 0.5, central difference 0.4" in result.stdout
    assert "dW[0]" not in result.stdout


def test_answer_json_exact(cli_json, cli, tmp_path):
    path = _answer(tmp_path, dW=[0.3, 0.5])
    result = cli("gradcheck", SEED, "--exact", "--answer", path, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["passed"] is False
    assert doc["answer"]["dW"]["wrong"] == [{"index": [1], "given": 0.5, "numeric": 0.4}]


def test_answer_wrong_shape(cli, tmp_path):
    result = cli("gradcheck", SEED, "--answer", _answer(tmp_path, dA_prev=[1, 2]))
    assert result.exit_code == 1 and "shape (2,), expected (3,)" in result.stdout


def test_answer_with_only_z_is_refused(cli, tmp_path):
    result = cli("gradcheck", SEED, "--answer", _answer(tmp_path, Z=[1.3, 2.1]))
    assert result.exit_code == 2 and "gives none of dW, db, dA_prev" in result.stderr


def test_answer_and_show_together_refused(cli, tmp_path):
    result = cli("gradcheck", SEED, "--answer", _answer(tmp_path, dW=[0.3, 0.4]), "--show", "W[0]")
    assert result.exit_code == 2
