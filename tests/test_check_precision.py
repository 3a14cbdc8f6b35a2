"""check --decimals N and an answer file's "decimals": required precision, the "not precise enough" mark.

Answers 5/3 and 1/3 (A_prev [1, 2, 3], W [1/3, 2/3], dZ [1, -1]): without a requirement
1.7 and 0.3 are right (rounded to one decimal); with 3 decimals required they are
not precise enough, 1.667 and 0.333 are right, 1.666 is wrong.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

THIRDS = ROOT / "samples" / "answers" / "precision" / "thirds.json"
KEY = ROOT / "samples" / "answers" / "precision" / "key.json"
FAY = ROOT / "samples" / "answers" / "precision" / "fay.json"


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def _marks(cli, answer, *flags):
    result = cli("check", THIRDS, "--answer", answer, "--json", *flags)
    assert result.exit_code in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    marks = {q: [e["mark"] for e in o["entries"]] for q, o in doc["quantities"].items() if "entries" in o}
    return result.exit_code, marks, doc


def test_one_decimal_is_right_without_a_requirement(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"Z": [1.7, 2.7], "dA_prev": [0.3, 0.3, -0.7]})
    code, marks, doc = _marks(cli, answer)
    assert code == 0 and doc["decimals"] is None
    assert marks == {"Z": ["right", "right"], "dA_prev": ["right", "right", "right"]}


def test_too_few_decimals_are_not_precise_enough(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"Z": [1.7, 2.667], "dA_prev": [0.3, 0.333, -0.7]})
    code, marks, doc = _marks(cli, answer, "--decimals", "3")
    assert code == 1 and doc["correct"] is False and doc["decimals"] == 3
    assert marks == {"Z": ["imprecise", "right"], "dA_prev": ["imprecise", "right", "imprecise"]}
    z = doc["quantities"]["Z"]
    assert z["status"] == "imprecise" and z["wrong"] == 0 and z["imprecise"] == 1
    assert z["entries"][0]["right"] is False and "working" not in z["entries"][0]
    text = cli("check", THIRDS, "--answer", answer, "--decimals", "3")
    assert text.exit_code == 1
    assert "Z: 1 of 2 entries not precise enough (3 decimals required) ≈" in text.stdout
    assert "[1.7 ≈ 1.667 (5/3), 2.667 ✓]" in text.stdout
    assert "2 of 2 given quantities right" not in text.stdout
    assert "0 of 2 given quantities right, 2 not precise enough." in text.stdout


@pytest.mark.parametrize(
    "given,expected",
    [
        (1.667, "right"),  # 3 decimals, rounded right
        (1.6667, "right"),  # more decimals than required: rounded to the decimals shown
        (1.666, "wrong"),  # 3 decimals, rounded wrong
        (1.67, "imprecise"),  # right to 2 decimals
        (1.7, "imprecise"),
        (2, "imprecise"),  # an integer shows 0 decimals: 2 is 5/3 rounded to 0 decimals
        (1.6, "wrong"),  # wrong even at the one decimal shown
        (1, "wrong"),
        ("5/3", "right"),  # a fraction is exact
        ("4/3", "wrong"),
        ("1.670", "wrong"),  # 3 decimals shown (trailing zero), and 5/3 to 3 decimals is 1.667
    ],
)
def test_the_rule_entry_by_entry(cli, tmp_path, given, expected):
    answer = _write(tmp_path / "a.json", {"Z": [given, "8/3"]})
    (tmp_path / "a.json").write_text(json.dumps({"Z": [given, "8/3"]}).replace('"1.670"', "1.670"))
    _, marks, _ = _marks(cli, answer, "--decimals", "3")
    assert marks["Z"][0] == expected


def test_an_exact_value_is_right_however_few_decimals(cli, tmp_path):
    # dW is [-1, -1], db 0: integers are exact; 0.5 for 1/2 with 3 decimals required is right
    answer = _write(tmp_path / "a.json", {"dW": [-1, -1.0], "db": 0})
    code, marks, _ = _marks(cli, answer, "--decimals", "3")
    assert code == 0 and marks == {"dW": ["right", "right"], "db": ["right"]}
    half = _write(tmp_path / "p.json", {"A_prev": [1], "W": [0.5], "dZ": [1]})
    result = cli("check", half, "--answer", _write(tmp_path / "b.json", {"Z": [0.5], "dA_prev": [0.50]}))
    assert result.exit_code == 0
    result = cli("check", half, "--answer", _write(tmp_path / "b.json", {"Z": [0.5]}), "--decimals", "3")
    assert result.exit_code == 0, result.stdout


def test_an_integer_for_a_non_integer_value(cli, tmp_path):
    problem = _write(tmp_path / "p.json", {"A_prev": [1], "W": [3.4]})
    for z, decimals, code in (([3], None, 1), ([3], "2", 1), ([4], "2", 1), ([3.40], "2", 0), ([3], "0", 0)):
        flags = ["--decimals", decimals] if decimals else []
        result = cli("check", problem, "--answer", _write(tmp_path / "a.json", {"Z": z}), "--json", *flags)
        assert result.exit_code == code, (z, decimals)
        mark = json.loads(result.stdout)["quantities"]["Z"]["entries"][0]["mark"]
        assert mark == {(3, "2"): "imprecise", (4, "2"): "wrong"}.get((z[0], decimals), mark)


def test_the_answer_files_decimals_and_the_flag_wins(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"decimals": 3, "Z": [1.7, 2.667]})
    code, marks, doc = _marks(cli, answer)
    assert code == 1 and doc["decimals"] == 3 and marks["Z"] == ["imprecise", "right"]
    code, marks, doc = _marks(cli, answer, "--decimals", "1")
    assert code == 0 and doc["decimals"] == 1 and marks["Z"] == ["right", "right"]
    assert cli("check", THIRDS, "--answer", KEY).exit_code == 0  # the sample key honours its own 3 decimals


@pytest.mark.parametrize("value", [-1, 31, 2.5, "3", True])
def test_a_bad_decimals_key_is_refused(cli, tmp_path, value):
    result = cli("check", THIRDS, "--answer", _write(tmp_path / "a.json", {"decimals": value, "Z": [1.7, 2.7]}))
    assert result.exit_code == 2
    assert "decimals in " in result.stderr and "expected a whole number from 0 to 30" in result.stderr


def test_a_bad_decimals_flag_is_refused(cli):
    assert cli("check", THIRDS, "--answer", KEY, "--decimals", "-1").exit_code == 2


def test_grading_a_folder_counts_not_precise_enough(cli, tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    _write(folder / "a.json", {"Z": [1.667, 2.667]})
    _write(folder / "b.json", {"Z": [1.7, 2.667]})
    _write(folder / "c.json", {"Z": [1.7, 2.6]})
    result = cli("check", THIRDS, "--answer", folder, "--decimals", "3")
    assert result.exit_code == 1
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.endswith(")") or "json" in line}
    assert "≈ 1/2" in rows["b.json"] and "not precise enough (3 decimals" in rows["b.json"]
    assert "✗ 1/2 ≈1" in rows["c.json"]
    assert "1 of 3 answers right, 1 wrong, 1 not precise enough, 0 unreadable" in result.stderr
    doc = json.loads(cli("check", THIRDS, "--answer", folder, "--decimals", "3", "--json").stdout)
    assert doc["summary"] == {"files": 3, "correct": 1, "wrong": 1, "imprecise": 1, "errors": 0, "skipped": 0}
    assert [a["quantities"]["Z"]["status"] for a in doc["answers"]] == ["right", "imprecise", "wrong"]
    assert doc["answers"][1]["decimals"] == 3


def test_the_sample_students_answer(cli):
    result = cli("check", THIRDS, "--answer", FAY, "--decimals", "3")
    assert result.exit_code == 1
    assert "dA_prev: 1 of 3 entries wrong, 1 not precise enough (3 decimals required) ✗" in result.stdout
