"""The likely mistakes added in 0.2.0, each recognised from a wrong answer built here with plain loops.

averaged_not_summed, overlap_not_summed, unpadded_input, dZ_transposed: every wrong
answer is computed below from the definitions (or reference.py), never with
convgrad's variant code; the right answer to the same problem names no mistake.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
from reference import reference_backward
from test_check import _as_text, _canonical_problem, _diagnose, _reference, _write


def _right_names_no_mistake(cli, tmp_path, problem, c, batched=False):
    _, dW, db, dA = _reference(c)
    pick = (lambda a: a) if batched else (lambda a: a[0, 0])
    answer = {"dW": _as_text(pick(dW)), "db": _as_text(db if batched else db[0]), "dA_prev": _as_text(pick(dA))}
    p = _write(tmp_path / "p.json", problem)
    result = cli("check", p, "--answer", _write(tmp_path / "right.json", answer), "--json")
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert all("mistakes" not in q for q in doc["quantities"].values())


def _forms(cli, tmp_path, problem, answer):
    p = _write(tmp_path / "p.json", problem)
    doc = json.loads(cli("check", p, "--answer", _write(tmp_path / "a.json", answer), "--json").stdout)
    return {(q, m["mistake"], m["form"]) for q, obj in doc["quantities"].items() for m in obj.get("mistakes", [])}


def test_averaged_over_the_overlays(cli, tmp_path):
    problem, c = _canonical_problem(21, batch=2, padding=((1, 1), (1, 1)), size=(4, 4))
    _, dW, db, _ = _reference(c)
    positions = c["dZ"].shape[2] * c["dZ"].shape[3]  # 5 x 5 output positions
    overlays = 2 * positions  # per filter: batch x positions
    mean = {"dW": _as_text(dW / overlays), "db": _as_text(db / overlays)}
    found = _diagnose(cli, tmp_path, problem, mean)
    assert {("dW", "averaged_not_summed"), ("db", "averaged_not_summed")} <= found
    assert ("dW", "averaged_not_summed", "overlays") in _forms(cli, tmp_path, problem, mean)
    per_position = {"dW": _as_text(dW / positions), "db": _as_text(db / positions)}
    assert ("db", "averaged_not_summed", "positions") in _forms(cli, tmp_path, problem, per_position)
    text = cli("check", _write(tmp_path / "p.json", problem), "--answer", _write(tmp_path / "a.json", mean)).stdout
    assert "the mean over the 50 overlays of each filter (2 samples × 25 positions)" in " ".join(text.split())
    _right_names_no_mistake(cli, tmp_path, problem, c, batched=True)


def test_averaged_over_the_positions_of_one_sample(cli, tmp_path):
    problem, c = _canonical_problem(22)
    _, dW, db, _ = _reference(c)
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW[0, 0] / 16), "db": _as_text(db[0] / 16)})
    assert {("dW", "averaged_not_summed"), ("db", "averaged_not_summed")} <= found


def test_dA_prev_without_the_overlap(cli, tmp_path):
    problem, c = _canonical_problem(23, size=(5, 5), kernel=(3, 3))
    A, W, dZ = c["A"][0, 0], c["W"][0, 0], c["dZ"][0, 0]
    dA = np.full(A.shape, Fraction(0), dtype=object)
    seen = np.zeros(A.shape, dtype=bool)
    for i in range(dZ.shape[0]):  # windows in order; each entry keeps the first share it gets
        for j in range(dZ.shape[1]):
            for a in range(3):
                for b in range(3):
                    if not seen[i + a, j + b]:
                        dA[i + a, j + b] = dZ[i, j] * W[a, b]
                        seen[i + a, j + b] = True
    found = _diagnose(cli, tmp_path, problem, {"dA_prev": _as_text(dA)})
    assert ("dA_prev", "overlap_not_summed") in found
    _right_names_no_mistake(cli, tmp_path, problem, c)


def test_dW_from_A_prev_instead_of_the_padded_input(cli, tmp_path):
    problem, c = _canonical_problem(24, padding=((1, 1), (1, 1)), size=(4, 4), kernel=(3, 3))
    A, dZ = c["A"][0, 0], c["dZ"][0, 0]  # dZ is 4 x 4 (padding 1, 3x3 kernel)
    dW = np.full((3, 3), Fraction(0), dtype=object)
    for i in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            for a in range(3):
                for b in range(3):
                    if i + a < 4 and j + b < 4:  # A_prev[i + a, j + b], not the padded input's
                        dW[a, b] += dZ[i, j] * A[i + a, j + b]
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW)})
    assert ("dW", "unpadded_input") in found
    _right_names_no_mistake(cli, tmp_path, problem, c)


def test_dZ_transposed(cli, tmp_path):
    problem, c = _canonical_problem(25, size=(4, 4), kernel=(2, 2))
    transposed = np.ascontiguousarray(c["dZ"].transpose(0, 1, 3, 2))
    dW, _, dA = reference_backward(c["A"], c["W"], transposed, (1, 1), (1, 1), c["padding"], zero=Fraction(0))
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW[0, 0]), "dA_prev": _as_text(dA[0, 0])})
    assert {("dW", "dZ_transposed"), ("dA_prev", "dZ_transposed")} <= found
    _right_names_no_mistake(cli, tmp_path, problem, c)
