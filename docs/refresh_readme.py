"""Rewrite the README's examples with what the tool prints now.

Every ```console block's `$ convgrad ...` lines are run (from the repository
root, 80 columns) and their output replaces what follows them; a block that
ends in "..." keeps only that many lines. The bad-input table's last column is
re-run too. tests/test_docs.py checks that the README and the tool agree.

    python docs/refresh_readme.py
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


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convgrad", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=ENV)


def refresh_block(block: str) -> str:
    parts = re.split(r"^(\$ .*)$", block, flags=re.M)
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
    start = text.index("## Bad input")
    end = text.index("Limits are checked", start)
    lines = text[start:end].split("\n")
    for k, line in enumerate(lines):
        if not (line.startswith("| ") and "`" in line and not line.startswith("| bad input")):
            continue
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        sent = cells[1]
        stdin = re.match(r"\s*`(.*?)`", sent).group(1)
        flags = re.search(r"with `(.*)`", sent)
        result = run(["backward", "-"] + (flags.group(1).split() if flags else []),
                     "" if stdin == "(nothing)" else stdin)
        cells[2] = " " + result.stderr.strip().replace("|", "\\|") + " "
        lines[k] = "|" + "|".join(cells) + "|"
    return text[:start] + "\n".join(lines) + text[end:]


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    text = re.sub(r"(```console\n)(.*?)(```)", lambda m: m.group(1) + refresh_block(m.group(2)) + m.group(3),
                  text, flags=re.S)
    readme.write_text(refresh_table(text))


if __name__ == "__main__":
    main()
