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


def _console_blocks():
    """(command, printed text) for every `$ convgrad ...` example in the README."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```console\n(.*?)```", readme, re.S):
        parts = re.split(r"^\$ ", block, flags=re.M)
        for part in parts[1:]:
            command, _, shown = part.partition("\n")
            yield command, shown


def test_readme_examples_print_what_they_show(cli, monkeypatch):
    import shlex

    monkeypatch.chdir(ROOT)  # the examples use paths relative to the repository
    checked = 0
    for command, shown in _console_blocks():
        args = shlex.split(command)
        assert args[0] == "convgrad"
        printed = cli(*args[1:], env={"COLUMNS": "80"}).stdout
        lines = [line.rstrip() for line in printed.splitlines()]
        expected = [line for line in shown.rstrip("\n").splitlines()]
        if expected and expected[-1].strip() == "...":  # an example cut short on purpose
            expected = expected[:-1]
            lines = lines[: len(expected)]
        assert lines == expected, command
        checked += 1
    assert checked >= 8


def test_readme_bad_input_table_is_what_the_tool_says(cli):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Bad input"):readme.index("Limits are checked")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line
            and not line.startswith("| bad input")]
    assert len(rows) >= 30
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        what, sent, said = cells
        text = re.match(r"`(.*?)`", sent).group(1)
        flags = re.search(r"with `(.*)`", sent)
        args = ["backward", "-"] + (flags.group(1).split() if flags else [])
        result = cli(*args, input="" if text == "(nothing)" else text)
        assert result.exit_code == 2, what
        assert result.stdout == ""
        assert result.stderr.strip() == said.replace("\\|", "|"), what
