"""Shared test helpers: the CLI runner, sample paths, the torch oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad.cli import app

ROOT = Path(__file__).resolve().parent.parent
#: Chains of layers ("layers"): read by forward and backward (tests/test_chain.py), not by the one-layer tests.
CHAIN_SAMPLES = sorted(p for p in (ROOT / "samples").glob("*.json") if '"layers"' in p.read_text())
SAMPLES = sorted(p for p in (ROOT / "samples").glob("*.json") if p not in CHAIN_SAMPLES)
#: Samples of a kind exact rationals cannot compute (sigmoid, tanh: not rational).
NOT_RATIONAL = {p for p in SAMPLES if '"layer": "sigmoid"' in p.read_text() or '"layer": "tanh"' in p.read_text()}
#: Samples of kinds without weights (W and b refused).
WITHOUT_WEIGHTS = {p for p in SAMPLES if '"layer": "' in p.read_text() and '"W"' not in p.read_text()}
SEED = ROOT / "samples" / "seed_1d.json"


def make_runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@pytest.fixture
def cli():
    """cli(*args, input=None) -> typer Result with .exit_code, .stdout, .stderr."""
    runner = make_runner()

    def invoke(*args: str, input: str | None = None, env: dict | None = None):
        result = runner.invoke(app, [str(a) for a in args], input=input, env=env)
        check_schema_of_output([str(a) for a in args], result)
        return result

    return invoke


def check_schema_of_output(args: list[str], result) -> None:
    """Every JSON a test makes the CLI print is checked against the schema the CLI publishes."""
    if result.exit_code not in (0, 1) or not result.stdout.strip() or not args:
        return
    command = args[0]
    fmt = (
        args[args.index("--format") + 1] if "--format" in args else args[args.index("-f") + 1] if "-f" in args else None
    )
    if command == "generate" and "--output" not in args:
        validate(json.loads(result.stdout), "input")
    elif fmt == "jsonl":
        for line in result.stdout.splitlines():
            validate(json.loads(line), "jsonl")
    elif "--json" in args or fmt == "json":
        doc = json.loads(result.stdout)
        validate(doc, schema_for(command, doc))


@pytest.fixture
def cli_json(cli):
    """Run a command that must succeed and print one JSON document; return it parsed,
    after checking it against the command's published schema."""

    def invoke(*args: str, input: str | None = None):
        result = cli(*args, "--json", input=input)
        assert result.exit_code == 0, result.stderr
        doc = json.loads(result.stdout)
        validate(doc, schema_for(str(args[0]), doc))
        return doc

    return invoke


def schema_for(command: str, doc: dict) -> str:
    if command == "check":
        return "grade" if "answers" in doc else "check"
    return command


_VALIDATORS: dict = {}


def validate(doc, name: str) -> None:
    """Validate against convgrad's own schema (from the package), skipping if jsonschema is missing."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates the published schemas")
    if name not in _VALIDATORS:
        from importlib import resources

        schema = json.loads(resources.files("convgrad").joinpath("schemas", f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        _VALIDATORS[name] = jsonschema.Draft202012Validator(schema)
    errors = sorted(_VALIDATORS[name].iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, f"{name} schema: {errors[0].message} at {list(errors[0].path)}"


def torch_or_skip():
    """The torch module, or a visible skip saying how to get it."""
    return pytest.importorskip(
        "torch", reason="PyTorch is the autograd oracle: pip install torch==2.13.0 (the CPU build) to run these"
    )


def shown(result, *present: str, code: int = 0) -> str:
    """The stdout of a run that must exit with ``code`` and print every text in ``present``.

    Tests that assert something is absent from the output call this first, so that an empty
    output, a crash or an error cannot pass them."""
    assert result.exit_code == code, f"exit {result.exit_code}: {result.stderr}"
    for text in present:
        assert text in result.stdout, f"{text!r} not in the output:\n{result.stdout[:2000]}"
    return result.stdout
