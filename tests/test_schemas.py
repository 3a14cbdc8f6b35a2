"""The published JSON Schemas: well-formed, printed by `convgrad schema`, and true of inputs and outputs.

Every JSON output in the test suite is also validated as it is made (see conftest.cli).
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, SAMPLES, validate
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


@pytest.mark.parametrize("args", [
    ["backward", "samples/stride2_pad1.json", "--json", "--cell", "W[0,0]"],
    ["backward", "samples/nhwc.json", "--json", "--exact"],
    ["backward", "--symbolic", "--A-prev-shape", "2x3", "--W-shape", "2x2", "--json"],
    ["forward", "samples/grouped.json", "--json"],
    ["backward", "samples/dilation.json", "--format", "jsonl"],
    ["gradcheck", "samples/basic_2d.json", "--json", "--exact"],
    ["shape", "samples/batch_channels.json", "--json"],
    ["check", "samples/seed_1d.json", "--answer", "samples/answers/dee.json", "--json"],
    ["check", "samples/seed_1d.json", "--answer", "samples/answers", "--json"],
])
def test_outputs_of_every_command_validate(cli, monkeypatch, args):
    monkeypatch.chdir(ROOT)
    result = cli(*args)  # the fixture validates what it prints
    assert result.exit_code in (0, 1), result.stderr


@pytest.mark.parametrize("problem", [
    {"A_prev": [1, 2, 3], "W": [1], "mode": "Convolution", "padding": " same ", "dims": None, "b": None},
    {"x": [1, 2, 3], "kernel": [1], "data_format": "NCW", "strides": [1], "exact": True},
])
def test_what_the_tool_accepts_the_input_schema_accepts(cli, problem):
    assert cli("forward", "-", "--json", input=json.dumps(problem)).exit_code == 0
    validate(problem, "input")
