"""The documentation's promises: every page's examples print what they show, the README's
Quickstart and .ci/run agree, the bad-input table is what the tool says, every command is shown.

The pages and the parsing of their examples come from docs/refresh.py, the script that rewrites
the shown outputs (`python docs/refresh.py`), so the test and the refresher read pages one way.
"""

from __future__ import annotations

import importlib.util
import re
import shlex

import pytest
from conftest import ROOT

from convgrad.cli import app

_spec = importlib.util.spec_from_file_location("docs_refresh", ROOT / "docs" / "refresh.py")
refresh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refresh)

PAGES = refresh.pages()
EXAMPLES = [
    (page.relative_to(ROOT).as_posix(), command, shown)
    for page in PAGES
    for command, shown in refresh.examples(page.read_text())
]
# Pages for contributors, about code rather than commands: no `$ convgrad` example needed.
CONTRIBUTOR_PAGES = {"docs/adding-a-layer-kind.md"}


def _quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Quickstart") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands():
    install_and_run, install_and_test = _quickstart_commands()
    assert "convgrad backward --input samples/seed_1d.json" in install_and_run
    assert "pytest" in install_and_test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = _quickstart_commands()[1]
    pip, _pytest = test_command.split(" && ")
    assert pip.replace("pip install", "pip install --quiet") in ci
    assert "pytest" in ci


def test_readme_is_a_short_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_readme_seed_output_is_what_the_tool_prints(cli):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("$ convgrad backward --input samples/seed_1d.json\n", 1)[1].split("```", 1)[0]
    printed = cli("backward", "--input", ROOT / "samples" / "seed_1d.json", env={"COLUMNS": "80"}).stdout
    assert [line.rstrip() for line in printed.splitlines()] == shown.rstrip("\n").splitlines()


@pytest.mark.parametrize(
    ("page", "command", "shown"), EXAMPLES, ids=[f"{page}: {command}" for page, command, _ in EXAMPLES]
)
def test_example_prints_what_its_page_shows(cli, monkeypatch, page, command, shown):
    monkeypatch.chdir(ROOT)  # the examples use paths relative to the repository
    args = shlex.split(command)
    assert args[0] == "convgrad", f"{page}: an example that is not a convgrad command: {command}"
    printed = cli(*args[1:], env={"COLUMNS": "80"}).stdout
    lines = [line.rstrip() for line in printed.splitlines()]
    expected = shown.rstrip("\n").splitlines()
    if expected and expected[-1].strip() == "...":  # an example cut short on purpose
        expected = expected[:-1]
        lines = lines[: len(expected)]
    assert lines == expected, f"{page}: `$ {command}` prints something else (python docs/refresh.py)"


def test_examples_cover_every_page_and_command():
    assert len(EXAMPLES) >= 20
    pages_with_examples = {page for page, _, _ in EXAMPLES}
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        if name.startswith("docs/") and name not in CONTRIBUTOR_PAGES:
            assert name in pages_with_examples, f"{name} has no `$ convgrad` example"
    shown_commands = {shlex.split(command)[1] for _, command, _ in EXAMPLES}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert name in shown_commands, f"no page shows `$ convgrad {name}`"


def test_examples_use_files_that_ship():
    for page, command, _ in EXAMPLES:
        for arg in shlex.split(command)[1:]:
            if re.fullmatch(r"[\w./-]+\.(json|npz|npy)|[\w.-]+/[\w./-]*", arg):
                assert (ROOT / arg).exists(), f"{page}: `$ {command}` uses {arg}, which is not in the repository"


def test_links_between_pages_lead_somewhere():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_bad_input_table_is_what_the_tool_says(cli):
    rows = [row for page in PAGES for row in refresh.bad_input_rows(page.read_text())]
    assert len(rows) >= 30
    for row in rows:
        what, sent, said = (cell.strip() for cell in refresh.split_row(row))
        argv, stdin = refresh.bad_input_argv(sent)
        result = cli(*argv, input=stdin)
        assert result.exit_code == 2, what
        assert result.stdout == ""
        assert result.stderr.strip() == said.replace("\\|", "|"), what


def test_readme_python_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Python\n\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md (Python example)", "exec"), namespace)
    assert "(0,) 1.3" in capsys.readouterr().out
