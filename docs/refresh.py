"""Rewrite the shown output of every documentation page's examples with what the tool prints now.

The pages are README.md, CONTRIBUTING.md and docs/*.md. In every ```console block, each
`$ convgrad ...` line is run from the repository root (80 columns, no color) and its output
replaces what follows it; an example whose shown output ends in "..." keeps only that many
lines. The bad-input table (the "## Bad input" section of the page that has one) is re-run
too. tests/test_docs.py runs the same examples and fails, naming page and example, when a
page and the tool disagree.

    python docs/refresh.py
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
CONSOLE_BLOCK = re.compile(r"(```console\n)(.*?)(```)", re.DOTALL)
BAD_INPUT_START = "## Bad input"
BAD_INPUT_END = "Limits are checked"


def pages() -> list[Path]:
    """Every page whose examples are kept true: the README, CONTRIBUTING and docs/*.md."""
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [page for page in found if page.exists()]


def examples(text: str) -> list[tuple[str, str]]:
    """(command after "$ ", shown output) for every example in a page's console blocks."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
        for part in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, shown = part.partition("\n")
            found.append((command, shown))
    return found


def bad_input_rows(text: str) -> list[str]:
    """The bad-input table's rows (empty when the page has no such section)."""
    if BAD_INPUT_START not in text:
        return []
    start = text.index(BAD_INPUT_START)
    section = text[start : text.index(BAD_INPUT_END, start)]
    return [line for line in section.splitlines() if _is_bad_input_row(line)]


def _is_bad_input_row(line: str) -> bool:
    return line.startswith("| ") and "`" in line and not line.startswith("| bad input")


def split_row(row: str) -> list[str]:
    """A table row's cells (a `\\|` inside a cell is not a separator)."""
    return re.split(r"(?<!\\)\|", row)[1:-1]


def bad_input_argv(sent: str) -> tuple[list[str], str]:
    """From the 'sent to' cell: the argv after `convgrad` and the text sent on stdin."""
    quoted = re.match(r"\s*`(.*?)`", sent)
    if quoted is None:
        raise ValueError(f"a bad-input row's second cell must start with `the text sent`: {sent!r}")
    stdin = quoted.group(1)
    flags = re.search(r"with `(.*)`", sent)
    argv = ["backward", "-"] + (flags.group(1).split() if flags else [])
    return argv, "" if stdin == "(nothing)" else stdin


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "convgrad", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=False,
    )


def refresh_block(block: str) -> str:
    parts = re.split(r"^(\$ .*)$", block, flags=re.MULTILINE)
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        command, shown = parts[i], parts[i + 1]
        old = shown.strip("\n").splitlines()
        printed = [line.rstrip() for line in run(shlex.split(command[2:])[1:]).stdout.splitlines()]
        if old and old[-1].strip() == "...":
            printed = printed[: len(old) - 1] + ["..."]
        out.append(command + "\n" + "\n".join(printed) + "\n")
    return "".join(out)


def refresh_table(text: str) -> str:
    if BAD_INPUT_START not in text:
        return text
    start = text.index(BAD_INPUT_START)
    end = text.index(BAD_INPUT_END, start)
    lines = text[start:end].split("\n")
    for k, line in enumerate(lines):
        if not _is_bad_input_row(line):
            continue
        cells = split_row(line)
        argv, stdin = bad_input_argv(cells[1])
        cells[2] = " " + run(argv, stdin).stderr.strip().replace("|", "\\|") + " "
        lines[k] = "|" + "|".join(cells) + "|"
    return text[:start] + "\n".join(lines) + text[end:]


def refresh(text: str) -> str:
    text = CONSOLE_BLOCK.sub(lambda m: m.group(1) + refresh_block(m.group(2)) + m.group(3), text)
    return refresh_table(text)


def main() -> None:
    for page in pages():
        text = page.read_text()
        new = refresh(text)
        if new != text:
            page.write_text(new)
            print(f"refreshed {page.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
