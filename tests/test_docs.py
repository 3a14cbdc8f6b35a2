"""The README's promises: the Quickstart's two commands, and .ci/run running the test one."""

from __future__ import annotations

import re

from conftest import ROOT


def _quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Quickstart"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands():
    install_and_run, install_and_test = _quickstart_commands()
    assert "convgrad backward --input samples/seed_1d.json" in install_and_run
    assert "pytest" in install_and_test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = _quickstart_commands()[1]
    pip, pytest_part = test_command.split(" && ")
    assert pip.replace("pip install", "pip install --quiet") in ci
    assert "pytest" in ci


def test_readme_seed_output_is_what_the_tool_prints(cli):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("$ convgrad backward --input samples/seed_1d.json\n", 1)[1].split("```", 1)[0]
    printed = cli("backward", "--input", ROOT / "samples" / "seed_1d.json", env={"COLUMNS": "80"}).stdout
    assert [line.rstrip() for line in printed.splitlines()] == shown.rstrip("\n").splitlines()
