"""The published JSON Schemas: well-formed, printed by `convgrad schema`, and true of inputs and outputs.

Every JSON output in the test suite is also validated as it is made (see conftest.cli).
"""

from __future__ import annotations

import json

import pytest
from conftest import NOT_RATIONAL, ROOT, SAMPLES, WITHOUT_WEIGHTS, validate

from convgrad.cli import SCHEMAS

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates the published schemas")


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_command_prints_a_valid_draft_2020_12_schema(cli, name):
    result = cli("schema", name)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_unknown_schema(cli):
    result = cli("schema", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no schema named 'nope': choose one of input, answer")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_is_a_valid_input(sample):
    validate(json.loads(sample.read_text()), "input")


def test_answers_and_keys_are_valid_answers(cli, tmp_path):
    for path in sorted((ROOT / "samples" / "answers").glob("*.json")):
        if path.stem == "cy":  # malformed on purpose, for the grading example
            continue
        validate(json.loads(path.read_text()), "answer")
    cli("generate", "--seed", "4", "--bias", "--output", tmp_path / "p.json", "--key", tmp_path / "k")
    validate(json.loads((tmp_path / "p.json").read_text()), "input")
    validate(json.loads((tmp_path / "k.json").read_text()), "answer")


def test_the_schemas_catch_a_wrong_document():
    with pytest.raises(AssertionError, match="backward schema"):
        validate({"Z": [1], "config": {}}, "backward")
    with pytest.raises(AssertionError, match="input schema"):
        validate({"A_prev": [1], "strid": 1}, "input")


@pytest.mark.parametrize(
    "args",
    [
        ["backward", "samples/stride2_pad1.json", "--json", "--cell", "W[0,0]"],
        ["backward", "samples/nhwc.json", "--json", "--exact"],
        ["backward", "--symbolic", "--A-prev-shape", "2x3", "--W-shape", "2x2", "--json"],
        ["forward", "samples/grouped.json", "--json"],
        ["backward", "samples/dilation.json", "--format", "jsonl"],
        ["gradcheck", "samples/basic_2d.json", "--json", "--exact"],
        ["shape", "samples/batch_channels.json", "--json"],
        ["check", "samples/seed_1d.json", "--answer", "samples/answers/dee.json", "--json"],
        ["check", "samples/seed_1d.json", "--answer", "samples/answers", "--json"],
    ],
)
def test_outputs_of_every_command_validate(cli, monkeypatch, args):
    monkeypatch.chdir(ROOT)
    result = cli(*args)  # the fixture validates what it prints
    assert result.exit_code in (0, 1), result.stderr


@pytest.mark.parametrize(
    "problem",
    [
        {"A_prev": [1, 2, 3], "W": [1], "mode": "Convolution", "padding": " same ", "dims": None, "b": None},
        {"x": [1, 2, 3], "kernel": [1], "data_format": "NCW", "strides": [1], "exact": True},
    ],
)
def test_what_the_tool_accepts_the_input_schema_accepts(cli, problem):
    assert cli("forward", "-", "--json", input=json.dumps(problem)).exit_code == 0
    validate(problem, "input")


# -- the committed files are the generator's output ------------------------------------------------

SCHEMA_DIR = ROOT / "convgrad" / "schemas"


@pytest.mark.parametrize("name", SCHEMAS)
def test_committed_schema_is_what_the_generator_writes(name):
    from convgrad.schemas import build, file_name

    committed = (SCHEMA_DIR / file_name(name)).read_text(encoding="utf-8")
    assert committed == build.text(name), (
        f"convgrad/schemas/{file_name(name)} differs from what convgrad/schemas/build.py makes: "
        "run python -m convgrad.schemas.build and commit the result"
    )


def test_every_schema_file_is_generated_and_listed():
    from convgrad.schemas import NAMES, file_name

    assert SCHEMAS == NAMES
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(file_name(n) for n in NAMES)


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_carries_exactly_the_definitions_it_reaches(name):
    """Computed here from the file's own text, independently of the generator."""
    import re

    text = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    defs = schema.pop("$defs", {})

    def pointed_at(node) -> set[str]:
        return set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(node)))

    reached, pending = set(), pointed_at(schema)
    while pending:
        target = pending.pop()
        assert target in defs, f"{name}: $ref to a missing definition {target!r}"
        if target not in reached:
            reached.add(target)
            pending |= pointed_at(defs[target])
    assert set(defs) == reached, f"{name} carries unused definitions {sorted(set(defs) - reached)}"
    assert text.count('"$defs"') <= 1  # definitions are not nested or pasted twice


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_command_prints_exactly_the_committed_file(cli, name):
    result = cli("schema", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert result.stderr == ""


def test_unknown_schema_is_one_line_and_exit_2(cli):
    result = cli("schema", "forwards")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert "no schema named 'forwards'" in result.stderr and "gradcheck, shape" in result.stderr


def test_the_schemas_follow_the_codes_own_field_names(monkeypatch):
    """A new alias in problem.py, a new answer alias or a new mistake makes the committed files stale."""
    from convgrad import check, problem, variants
    from convgrad.schemas import build

    monkeypatch.setitem(problem.ALIASES, "W", (*problem.ALIASES["W"], "kernels"))
    single = build.schema("input")["anyOf"][0]  # one layer; the other alternative is a chain ("layers")
    assert single["properties"]["kernels"] == single["properties"]["W"]
    monkeypatch.setitem(check.ANSWER_ALIASES, "grad_W", "dW")
    assert "grad_W" in build.schema("answer")["properties"]
    monkeypatch.setattr(build, "ALL_VARIANTS", (*variants.ALL_VARIANTS, variants.Variant("new_mistake", None, None)))
    assert "new_mistake" in build.schema("check")["$defs"]["mistake"]["properties"]["mistake"]["enum"]
    stale = build.differences(SCHEMA_DIR, build.build())
    assert [s.split()[0] for s in stale] == [
        "input.schema.json",
        "answer.schema.json",
        "check.schema.json",
        "grade.schema.json",
    ]


def test_check_mode_names_each_stale_file_in_one_line(tmp_path, capsys):
    from convgrad.schemas import build

    assert build.main([], directory=tmp_path) == 0  # writes every file into an empty folder
    capsys.readouterr()
    assert build.main(["--check"], directory=tmp_path) == 0
    assert capsys.readouterr().err == ""

    grade = tmp_path / "grade.schema.json"
    grade.write_text(grade.read_text().replace('"minimum": 0', '"minimum": 1', 1))
    (tmp_path / "shape.schema.json").unlink()
    (tmp_path / "old.schema.json").write_text("{}\n")
    assert build.main(["--check"], directory=tmp_path) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "grade.schema.json differs (+1 -1 lines)" in err
    assert "shape.schema.json missing" in err and "old.schema.json is not generated" in err
    assert "forward" not in err

    assert build.main([], directory=tmp_path) == 0  # rebuilding repairs all three
    assert build.main(["--check"], directory=tmp_path) == 0
    assert not (tmp_path / "old.schema.json").exists()
    assert build.main(["--chek"], directory=tmp_path) == 2


def test_check_mode_from_the_command_line_passes_on_the_committed_files():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "convgrad.schemas.build", "--check"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# -- every sample's outputs are true to the schemas --------------------------------------------------


def _first_entry_plus_one(value):
    if isinstance(value, list):
        return [_first_entry_plus_one(value[0]), *value[1:]]
    return value + 1


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_samples_json_outputs_validate(cli, sample, tmp_path):
    path = str(sample)

    def document(*args, schema):
        result = cli(*args)
        assert result.exit_code in (0, 1), result.stderr
        doc = json.loads(result.stdout)
        validate(doc, schema)
        return doc

    validate(json.loads(sample.read_text()), "input")
    document("forward", path, "--json", schema="forward")
    document("forward", path, "--json", "--overlays", "all", schema="forward")
    backward = document("backward", path, "--json", "--overlays", "all", schema="backward")
    if sample not in NOT_RATIONAL:
        document("backward", path, "--json", "--exact", schema="backward")
    array = "A_prev" if sample in WITHOUT_WEIGHTS else "W"
    rank = len(backward["config"]["shapes"][array])
    cell = document("backward", path, "--json", "--cell", f"{array}[{','.join('0' * rank)}]", schema="backward")
    assert cell["audits"]["cell"]["array"] == array
    for command in ("forward", "backward"):
        result = cli(command, path, "--format", "jsonl", "--overlays", "all")
        assert result.exit_code == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(lines) == backward["config"]["overlay_count"] + 1
        for line in lines:
            validate(line, "jsonl")
    document("gradcheck", path, "--json", schema="gradcheck")
    if sample not in NOT_RATIONAL:
        document("gradcheck", path, "--json", "--exact", schema="gradcheck")
    document("shape", path, "--json", schema="shape")

    answers = tmp_path / "answers"
    answers.mkdir()
    right = {q: backward[q] for q in ("Z", "dW", "db", "dA_prev") if q in backward}
    wrong = {**right, "Z": _first_entry_plus_one(right["Z"]), "student": "W. Rong"}
    for name, answer in (("right", right), ("wrong", wrong)):
        validate(answer, "answer")
        (answers / f"{name}.json").write_text(json.dumps(answer))
    (answers / "broken.json").write_text("{")
    assert document("check", path, "--answer", answers / "right.json", "--json", schema="check")["correct"]
    verdict = document("check", path, "--answer", answers / "wrong.json", "--json", schema="check")
    assert verdict["quantities"]["Z"]["status"] == "wrong"
    graded = document("check", path, "--answer", answers, "--json", schema="grade")
    assert graded["summary"] == {"files": 3, "correct": 1, "wrong": 1, "imprecise": 0, "errors": 1, "skipped": 0}


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "1"],
        ["--seed", "2", "--dims", "1", "--bias", "--values", "decimal"],
        ["--seed", "3", "--dims", "3", "--channels", "2", "--filters", "2", "--batch", "2", "--layout", "NDHWC"],
        [
            "--seed",
            "4",
            "--channels",
            "4",
            "--filters",
            "2",
            "--groups",
            "2",
            "--stride",
            "2",
            "--padding",
            "same",
            "--mode",
            "convolution",
        ],
    ],
)
def test_generated_problems_and_keys_validate(cli, tmp_path, args):
    result = cli("generate", *args)  # the fixture validates stdout against the input schema
    assert result.exit_code == 0, result.stderr
    validate(json.loads(result.stdout), "input")
    assert cli("generate", *args, "--output", tmp_path / "p.json", "--key", tmp_path / "k").exit_code == 0
    validate(json.loads((tmp_path / "p.json").read_text()), "input")
    validate(json.loads((tmp_path / "k.json").read_text()), "answer")


@pytest.mark.parametrize(
    ("doc", "name"),
    [
        (
            {"number": 1, "n": 0, "c_out": 0, "position": [0], "window_start": [0], "A_slice": [1], "Z": 1, "dZ": 1},
            "jsonl",
        ),  # a backward overlay without its shares
        (
            {
                "correct": False,
                "quantities": {
                    "Z": {
                        "status": "wrong",
                        "shape": [2],
                        "mistakes": [{"mistake": "guessed", "form": None, "sentence": "", "explains": 1, "of": 1}],
                    }
                },
            },
            "check",
        ),
        ({"correct": True, "quantities": {"dz": {"status": "right", "shape": [2]}}}, "check"),
        (
            {
                "output_size": [1],
                "formulas": [],
                "padding": [[0, 0]],
                "overlays": 1,
                "weights": {"conv": 1, "locally_connected": 1, "dense": 1},
                "biases": {"conv": 1, "dense": 1},
                "config": {},
            },
            "shape",
        ),
        ({"passed": True, "rtol": 1e-6, "quantities": {"Z": {}}}, "gradcheck"),
        ({"answers": [], "summary": {"files": 0, "correct": 0, "wrong": 0, "errors": -1}}, "grade"),
        ({"x": [1, 2], "kernel": [1], "strides": 0}, "input"),
        ({"x": [1, 2], "kernel": [1], "data_format": 1}, "input"),
        ({"x": [], "kernel": [1]}, "input"),
        ({"dx": [1], "dW": {"shape": [2]}}, "answer"),
        ({}, "answer"),
    ],
)
def test_the_schemas_refuse_what_convgrad_never_prints_or_reads(doc, name):
    with pytest.raises(AssertionError, match=f"{name} schema"):
        validate(doc, name)
