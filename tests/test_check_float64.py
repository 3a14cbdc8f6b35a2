"""check on a problem too large for exact rationals: verdicts against float64 results, wrong entries included.

Before 0.2.0 a wrong entry on such a problem ended in an internal error (exit 70): the
views formatted the float64 expected values and terms as if they were fractions.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from reference import reference_backward
from rich.console import Console

from convgrad.check import Checker, parse_answer
from convgrad.numbers import FloatDomain
from convgrad.problem import build_problem, canonical_fields
from convgrad.render.checkview import report_object, report_renderables


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def _shown(checker, report):
    console = Console(width=120, file=io.StringIO())
    for renderable in report_renderables(checker, report):
        console.print(renderable)
    return console.file.getvalue()


def _big_problem(tmp_path):
    """N1 C8 64x64, eight 3x3 filters, padding 1: past the exact-rational limit."""
    rng = np.random.default_rng(11)
    A = rng.integers(0, 4, (1, 8, 64, 64))
    W = rng.integers(-5, 6, (8, 8, 3, 3)) / 10
    dZ = rng.integers(-5, 6, (1, 8, 64, 64)) / 10
    path = _write(tmp_path / "big.json", {"A_prev": A.tolist(), "W": W.tolist(), "dZ": dZ.tolist(), "padding": 1})
    return path, A, W, dZ


@pytest.mark.slow
def test_wrong_entries_of_a_float64_check_are_reported(cli, tmp_path):
    path, A, W, dZ = _big_problem(tmp_path)
    # the right answers from plain numpy (padded input, loops over the 3x3 taps)
    padded = np.pad(A[0].astype(float), ((0, 0), (1, 1), (1, 1)))
    dW = np.zeros(W.shape)
    for i in range(3):
        for j in range(3):
            dW[:, :, i, j] = np.einsum("ohw,chw->oc", dZ[0], padded[:, i : i + 64, j : j + 64])
    dA = np.zeros((8, 66, 66))
    for i in range(3):
        for j in range(3):
            dA[:, i : i + 64, j : j + 64] += np.einsum("ohw,oc->chw", dZ[0], W[:, :, i, j])
    dA = dA[:, 1:65, 1:65]
    wrong_dW, wrong_dA = np.round(dW, 6), np.round(dA, 6)
    wrong_dW[0, 0, 0, 0] += 1
    wrong_dA[3, 5, 7] -= 0.25
    answer = _write(tmp_path / "a.json", {"dW": wrong_dW.tolist(), "dA_prev": [wrong_dA.tolist()]})

    result = cli("check", path, "--answer", answer)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "checking against float64 results" in result.stderr
    out = result.stdout
    assert "dW: 1 of 576 entries wrong ✗" in out
    assert "dA_prev: 1 of 32768 entries wrong ✗" in out
    expected_dW = dW[0, 0, 0, 0]
    assert f"dW[0,0,0,0] should be {expected_dW:.12g}, the sum over overlays" in out
    assert "dA_prev[0,3,5,7] should be" in out and "dZ[0,0,4,6]·W[0,3,2,2] + " in out

    result = cli("check", path, "--answer", answer, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    (bad_dW,) = [e for e in doc["quantities"]["dW"]["entries"] if not e["right"]]
    assert bad_dW["index"] == [0, 0, 0, 0] and abs(bad_dW["expected"] - expected_dW) < 1e-9
    (bad_dA,) = [e for e in doc["quantities"]["dA_prev"]["entries"] if not e["right"]]
    assert bad_dA["index"] == [0, 3, 5, 7] and abs(bad_dA["expected"] - dA[3, 5, 7]) < 1e-9
    assert bad_dA["working"].startswith("dZ[0,0,4,6]·W[0,3,2,2] + ")


def test_float_domain_checker_renders_wrong_entries():
    """The same path in small: a Checker over a float64 problem, with wrong and rounded entries."""
    fields = canonical_fields({"A_prev": [1, 2, 3], "W": ["1/3", "2/3"], "dZ": [-0.1, 0.2]})
    problem = build_problem(fields, need_dZ=True, domain=FloatDomain())
    checker = Checker(problem)
    A, W, dZ = (np.array(x, dtype=object).reshape(1, 1, -1) for x in ([1, 2, 3], [1 / 3, 2 / 3], [-0.1, 0.2]))
    dW, _, dA = reference_backward(A, W, dZ, (1,), (1,), ((0, 0),))
    report = checker.check(parse_answer({"dW": [0.3, 0.5], "dA_prev": ["-0.03", 0, 0.13]}, "test"))
    verdicts = {q: [e.right for e in v.entries] for q, v in report.quantities.items() if v.entries}
    assert verdicts == {"dW": [True, False], "dA_prev": [True, True, True]}
    assert abs(float(dW[0, 0, 1]) - 0.4) < 1e-12 and abs(float(dA[0, 0, 2]) - 2 / 15) < 1e-12

    text = _shown(checker, report)
    assert "0.5 ✗ 0.4" in text
    assert "dW[1] should be 0.4, the sum over overlays 1-2 of" in text
    assert "= (-0.1)·2 + 0.2·3" in text
    obj = report_object(report, checker)
    assert obj["quantities"]["dW"]["entries"][1]["working"] == "dZ[0]·A_prev[1] + dZ[1]·A_prev[2] = (-0.1)·2 + 0.2·3"
    # a float64 expected value with more digits than the student wrote is also shown rounded like theirs
    report = checker.check(parse_answer({"dA_prev": [-0.03, 0, 0.14]}, "test"))
    assert "0.14 ✗ 0.13 (0.133333333333)" in _shown(checker, report)
