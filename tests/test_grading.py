"""Grading a folder: the policy, the gradebook CSV, the class summary and the feedback files,
checked against a simulated class whose answers were built here (tests/grading_class.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from grading_class import problem, right_answer, write_class

POLICY = ["--require", "Z,dW,db,dA_prev", "--weights", "Z=2,dW=3,db=1,dA_prev=4", "--decimals", "2"]


@pytest.fixture
def course(tmp_path):
    p = problem()
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(p))
    answers = tmp_path / "answers"
    expected = write_class(answers, p)
    return path, answers, expected


def test_the_simulated_class_gradebook_summary_and_feedback(cli, course, tmp_path):
    path, answers, expected = course
    book, feedback = tmp_path / "book.csv", tmp_path / "feedback"
    result = cli("check", path, "--answer", answers, *POLICY, "--gradebook", book, "--feedback-dir", feedback)
    assert result.exit_code == 1, result.stderr

    # The gradebook: a header, one row per file (the upper-case .JSON and notes.txt included).
    raw = book.read_bytes()
    assert raw.decode("utf-8").count("\r\n") == len(expected) + 1
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert [r["file"] for r in table] == sorted(expected)
    assert list(table[0]) == ["file", "student", "Z", "dW", "db", "dA_prev", "total", "max", "likely mistakes", "notes"]
    rows = {r["file"]: r for r in table}
    for name, expect in expected.items():
        row = rows[name]
        if expect.get("skipped"):
            assert row["notes"] == "not a JSON file, skipped" and row["total"] == ""
            continue
        if "error" in expect:
            assert expect["error"] in row["notes"] and row["total"] == "" and row["student"] == "s010"
            continue
        assert row["max"] == "10", name  # every quantity required: 2 + 3 + 1 + 4
        if "score" in expect:
            assert float(row["total"]) == expect["score"], name
        assert (
            row["likely mistakes"] == "; ".join(m.replace("_", " ") for m in expect["mistakes"])
            if "mistakes" in expect
            else True
        )
        for q in expect.get("wrong", []):
            assert float(row[q]) < {"Z": 2, "dW": 3, "db": 1, "dA_prev": 4}[q], (name, q)
        for q in expect.get("missing", []):
            assert row[q] == "0" and f"{q} missing (required)" in row["notes"], (name, q)
        for word in expect.get("warnings", []):
            assert word in row["notes"], name
    assert rows["s001.json"]["student"] == "Right Rita"
    assert rows["s002.json"]["student"] == "Rounded Ron"  # "name"
    assert rows["s004.JSON"]["student"] == "4004"  # "id"
    assert rows["s003.json"]["total"] == "5"  # Z and dW right: 2 + 3 of 10
    # dA_prev to 1 decimal: only its entries that have 1 decimal are right.
    assert 0 < float(rows["s002.json"]["dA_prev"]) < 4 and float(rows["s002.json"]["Z"]) == 2

    # The class summary, in --json: every planted mistake counted once.
    doc = json.loads(cli("check", path, "--answer", answers, *POLICY, "--json").stdout)
    summary = doc["class"]
    planted = [m for e in expected.values() for m in e.get("mistakes", [])]
    assert summary["mistakes"] == {m: planted.count(m) for m in planted}
    assert sum(b["count"] for b in summary["histogram"]) == summary["graded"] == 11
    assert summary["histogram"][-1]["count"] == 4  # s001, s004, s011, s012
    assert summary["skipped"] == 1 and summary["errors"] == 1
    assert doc["summary"]["files"] == len(expected)
    students = {a["file"].rsplit("/", 1)[-1]: a["student"] for a in doc["answers"]}
    assert students["s001.json"] == "Right Rita" and students["notes.txt"] == "notes"
    # The table view prints it too.
    for line in ("class: 11 answers graded", "names swapped: 1", "layout transposed: 1", "averaged not summed: 1"):
        assert line in result.stdout
    assert "s004.JSON" in result.stdout and "not a JSON" in result.stdout

    # Feedback: one file per answer file (not notes.txt), the mistake first, no trailing spaces.
    written = sorted(p.name for p in feedback.iterdir())
    assert written == sorted(f"{n.rsplit('.', 1)[0]}.md" for n in expected if n != "notes.txt")
    for name, expect in expected.items():
        if expect.get("skipped"):
            continue
        text = (feedback / f"{name.rsplit('.', 1)[0]}.md").read_text(encoding="utf-8")
        assert all(line == line.rstrip() for line in text.splitlines()), name
        if "error" in expect:
            assert "could not be graded" in text and expect["error"] in text
            continue
        total = rows[name]["total"]
        assert f"Score: {total} of 10 points" in text, name
        if expect.get("mistakes"):
            head = text.index("## Likely mistake")
            assert head < text.index("## To correct") and all(
                f"- {q}:" in text[head : text.index("## To correct")] for q in expect["wrong"]
            ), name
        else:
            assert "## Likely mistake" not in text
        for q in expect.get("missing", []):
            assert f"{q}: not given, but required ✗" in text
        if name in ("s001.json", "s004.JSON", "s011.json", "s012.json"):
            assert "## To correct" not in text and "Every quantity is right." in text


def test_feedback_is_what_check_prints_for_one_answer(cli, course, tmp_path):
    path, answers, _ = course
    feedback = tmp_path / "fb"
    cli("check", path, "--answer", answers, "--decimals", "2", "--feedback-dir", feedback)
    for name in ("s008.json", "s002.json", "s009.json"):
        single = cli("check", path, "--answer", answers / name, "--decimals", "2").stdout
        single_lines = {line.rstrip() for line in single.splitlines()}
        text = (feedback / name.replace(".json", ".md")).read_text()
        block = text.split("## To correct", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
        for line in block.splitlines():
            if not line.startswith("Entries marked"):  # a paragraph, wrapped differently
                assert line in single_lines, (name, line)
        for line in text.split("## Likely mistake", 1)[-1].split("##", 1)[0].splitlines():
            if line.startswith("- "):  # the sentence, unwrapped: its words are check's
                assert line.split(": ", 1)[1][:40] in single.replace("\n  ", " ")


def test_feedback_never_overwrites_an_input_file(cli, course):
    path, answers, _ = course
    (answers / "s001.md").write_text("a student's own notes")
    result = cli("check", path, "--answer", answers, "--feedback-dir", answers)
    assert result.exit_code == 1
    assert (answers / "s001.md").read_text() == "a student's own notes"
    assert "Right Rita" in (answers / "s001-2.md").read_text()
    assert (answers / "s002.md").exists()


def test_two_answers_with_one_stem_get_two_feedback_files(cli, tmp_path, course):
    path, _, _ = course
    folder = tmp_path / "two"
    folder.mkdir()
    right = right_answer(problem())
    (folder / "x.json").write_text(json.dumps(right))
    (folder / "x.JSON").write_text(json.dumps({"Z": right["Z"]}))
    cli("check", path, "--answer", folder, "--feedback-dir", tmp_path / "fb")
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == ["x-2.md", "x.md"]


def test_a_policy_file_and_flags_over_it(cli, course, tmp_path):
    path, answers, _ = course
    policy = tmp_path / "grading.json"
    policy.write_text(
        json.dumps(
            {
                "require": ["Z", "dW", "db", "dA_prev"],
                "weights": {"Z": 2, "dW": 3, "db": 1, "dA_prev": 4},
                "decimals": 2,
            }
        )
    )
    by_file = json.loads(cli("check", path, "--answer", answers, "--policy", policy, "--json").stdout)
    by_flags = json.loads(cli("check", path, "--answer", answers, *POLICY, "--json").stdout)
    assert by_file == by_flags
    # A flag wins over the file's key: dA_prev weighs 0 now.
    lighter = json.loads(
        cli("check", path, "--answer", answers, "--policy", policy, "--weights", "dA_prev=0", "--json").stdout
    )
    rita = next(a for a in lighter["answers"] if a["student"] == "Right Rita")
    # The flag's weights replace the file's: Z, dW, db weigh 1 each (the default), dA_prev 0.
    assert rita["score"] == {"points": {"Z": 1, "dW": 1, "db": 1, "dA_prev": 0}, "total": 3, "max": 3}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"require": "Z,dQ"}, "require in {path}: 'dQ' is not a quantity (one of Z, dW, db, dA_prev)"),
        ({"weights": {"Z": -1}}, "weights in {path} Z is -1: expected a number from 0 up"),
        ({"weights": "Z:2"}, "weights in {path}: 'Z:2' is not QUANTITY=WEIGHT (e.g. Z=2,dW=3)"),
        ({"decimals": 2.5}, "decimals in {path} is 2.5: expected a whole number of decimals from 0 to 30"),
        ({"layouts": "all"}, 'layouts in {path} is \'all\': expected "same" or "any"'),
        ({"imprecise_credit": 2}, "imprecise_credit in {path} is 2: expected a number from 0 to 1"),
        ({"weight": {"Z": 2}}, "unknown key 'weight' in {path}: a policy has require, weights, decimals"),
    ],
)
def test_policy_file_keys_are_checked_one_line_each(cli, course, tmp_path, content, message):
    path, answers, _ = course
    policy = tmp_path / "grading.json"
    policy.write_text(json.dumps(content))
    result = cli("check", path, "--answer", answers, "--policy", policy)
    assert result.exit_code == 2
    assert message.format(path=policy) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_require_makes_an_incomplete_answer_wrong(cli, course):
    path, answers, _ = course
    assert cli("check", path, "--answer", answers / "s003.json").exit_code == 0  # as before: given parts right
    result = cli("check", path, "--answer", answers / "s003.json", "--require", "Z,dW,db,dA_prev")
    assert result.exit_code == 1
    assert "db: not given, but required ✗" in result.stdout
    assert "required but not given: db, dA_prev" in result.stdout
    assert "Score: 2 of 4 points (50%)." in result.stdout
    doc = json.loads(
        cli("check", path, "--answer", answers / "s003.json", "--require", "Z,dW,db,dA_prev", "--json").stdout
    )
    assert doc["correct"] is False and doc["score"] == {
        "points": {"Z": 1, "dW": 1, "db": 0, "dA_prev": 0},
        "total": 2,
        "max": 4,
    }


def test_partial_credit_and_imprecise_credit(tmp_path, course):
    """points(q) = weight(q) × (right + credit × imprecise) / entries."""
    from convgrad.check import Checker
    from convgrad.grading import Policy, score
    from convgrad.numbers import ExactDomain
    from convgrad.problem import build_problem
    from convgrad.reader import read_problem_document

    path, answers, _ = course
    from convgrad.check import parse_answer

    fields = read_problem_document(str(path), "problem", what="the problem")
    checker = Checker(build_problem(dict(fields), need_dZ=True, domain=ExactDomain()))
    rounded = json.loads((answers / "s002.json").read_text())
    report = checker.check(parse_answer(rounded, "s002"), decimals=2)
    dA = report.quantities["dA_prev"]
    n, bad = len(dA.entries), len(dA.imprecise)
    assert bad and not dA.wrong
    plain = score(report, Policy(weights={"dA_prev": 4}))
    assert plain.points["dA_prev"] == pytest.approx(4 * (n - bad) / n)
    half = score(report, Policy(weights={"dA_prev": 4}, imprecise_credit=0.5))
    assert half.points["dA_prev"] == pytest.approx(4 * (n - bad + 0.5 * bad) / n)
    assert half.max == 1 + 1 + 1 + 4 and half.total == pytest.approx(3 + half.points["dA_prev"])


def test_layouts_any_accepts_the_other_layout_with_a_note(cli, course):
    path, answers, _ = course
    strict = cli("check", path, "--answer", answers / "s007.json")
    assert strict.exit_code == 1
    assert "written in the NHWC layout: this problem is NCHW" in strict.stdout.replace("\n  ", " ")
    lenient = cli("check", path, "--answer", answers / "s007.json", "--layouts", "any")
    assert lenient.exit_code == 0, lenient.stdout
    assert "Z is in the NHWC layout: accepted (--layouts any)" in lenient.stderr
    declared = cli("check", path, "--answer", answers / "s012.json")
    assert declared.exit_code == 0 and "the answer says it is NHWC: read as such" in declared.stderr


def test_a_bad_layout_key_is_refused(cli, course, tmp_path):
    path, _, _ = course
    answer = tmp_path / "a.json"
    answer.write_text(json.dumps({"Z": [[[[1]]]], "layout": "sideways"}))
    result = cli("check", path, "--answer", answer)
    assert result.exit_code == 2
    assert "layout in" in result.stderr and "expected a layout such as NCHW or NHWC" in result.stderr


def test_a_misspelt_key_is_a_warning_in_a_folder_not_an_error(cli, course, tmp_path):
    path, _, _ = course
    folder = tmp_path / "typo"
    folder.mkdir()
    right = right_answer(problem())
    (folder / "t.json").write_text(json.dumps({**right, "dA_prevv": right.pop("dA_prev")}))
    doc = json.loads(cli("check", path, "--answer", folder, "--json").stdout)
    (row,) = doc["answers"]
    assert row["error"] is None and row["correct"] is True
    assert row["warnings"] == ["unknown key 'dA_prevv' (did you mean 'dA_prev'?) not graded"]
    assert cli("check", path, "--answer", folder / "t.json").exit_code == 2  # a single check still refuses it


def test_pattern_chooses_the_files(cli, course):
    path, answers, _ = course
    doc = json.loads(cli("check", path, "--answer", answers, "--pattern", "s00[1-3].json", "--json").stdout)
    assert [a["file"].rsplit("/", 1)[-1] for a in doc["answers"]] == ["s001.json", "s002.json", "s003.json"]


def test_gradebook_and_feedback_need_a_folder(cli, course, tmp_path):
    path, answers, _ = course
    result = cli("check", path, "--answer", answers / "s001.json", "--gradebook", tmp_path / "b.csv")
    assert result.exit_code == 2 and "grade a folder or glob" in result.stderr
    (tmp_path / "file").write_text("")
    result = cli("check", path, "--answer", answers, "--feedback-dir", tmp_path / "file")
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr


def test_gradebook_quotes_fields_rfc4180(tmp_path):
    from convgrad.grading import Graded, gradebook_csv

    rows = [Graded(str(tmp_path / "a.json"), 'Smith, "Jo"', error="bad, file")]
    text = gradebook_csv(rows, ("Z",))
    assert text.splitlines()[1] == 'a.json,"Smith, ""Jo""",,,,,"bad, file"'
    assert text.endswith("\r\n")


def test_an_nchw_answer_to_an_nhwc_problem_is_named(cli, tmp_path):
    """The reverse direction, on the Coursera-shaped sample: right values, transposed by numpy here."""
    import numpy as np

    sample = "samples/coursera_nhwc.json"
    right = json.loads(cli("backward", sample, "--json").stdout)
    nchw = {"Z": np.transpose(np.array(right["Z"], float), (0, 3, 1, 2)).tolist()}
    answer = tmp_path / "nchw.json"
    answer.write_text(json.dumps(nchw))
    doc = json.loads(cli("check", sample, "--answer", answer, "--json").stdout)
    assert [m["mistake"] for m in doc["quantities"]["Z"]["mistakes"]] == ["layout_transposed"]
    assert doc["quantities"]["Z"]["mistakes"][0]["form"] == "NCHW"
    assert cli("check", sample, "--answer", answer, "--layouts", "any").exit_code == 0


def test_stride_ignored_seen_in_z_alone_with_padding(cli, tmp_path):
    """A 5x5 input, 3x3 kernel, stride 2, padding 1: Z over the right 3x3 positions, windows one step apart."""
    import numpy as np

    p = json.loads(Path("samples/stride2_pad1.json").read_text())
    A, W = np.pad(np.array(p["A_prev"], float), 1), np.array(p["W"], float)
    Z = [[float(np.sum(A[i : i + 3, j : j + 3] * W)) for j in range(3)] for i in range(3)]
    answer = tmp_path / "z.json"
    answer.write_text(json.dumps({"Z": Z}))
    doc = json.loads(cli("check", "samples/stride2_pad1.json", "--answer", answer, "--json").stdout)
    assert [m["mistake"] for m in doc["quantities"]["Z"]["mistakes"]] == ["stride_ignored"]


def test_the_docs_show_the_sample_class_files_as_written(cli, tmp_path, monkeypatch):
    """docs/homework.md shows the policy file, the gradebook and a feedback file's start: they are what ships and what is written."""
    from conftest import ROOT

    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "homework.md").read_text()
    policy = page.split("course's policy:\n\n```json\n", 1)[1].split("```", 1)[0]
    assert policy == (ROOT / "samples" / "policy" / "grading.json").read_text()
    book, feedback = tmp_path / "week3.csv", tmp_path / "fb"
    args = ["samples/stride2_pad1.json", "--answer", "samples/class", "--policy", "samples/policy/grading.json"]
    cli("check", *args, "--gradebook", book, "--feedback-dir", feedback)
    shown = page.split("```csv\n", 1)[1].split("```", 1)[0]
    assert book.read_text(encoding="utf-8").replace("\r\n", "\n") == shown
    start = page.split("```markdown\n", 1)[1].split("```", 1)[0]
    assert (feedback / "dia.md").read_text().startswith(start)


def test_the_gradebook_never_replaces_a_submission(cli, course):
    path, answers, _ = course
    before = (answers / "s001.json").read_text()
    result = cli("check", path, "--answer", answers, "--gradebook", answers / "s001.json")
    assert result.exit_code == 2 and "is one of the answer files" in result.stderr
    assert (answers / "s001.json").read_text() == before
