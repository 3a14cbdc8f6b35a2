"""Shared test helpers: the CLI runner, sample paths, the torch oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.json"))
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
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


@pytest.fixture
def cli_json(cli):
    """Run a command that must succeed and print one JSON document; return it parsed."""

    def invoke(*args: str, input: str | None = None):
        result = cli(*args, "--json", input=input)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return invoke


def torch_or_skip():
    """The torch module, or a visible skip saying how to get it."""
    return pytest.importorskip(
        "torch", reason="PyTorch is the autograd oracle: pip install torch==2.13.0 (the CPU build) to run these"
    )
