"""The table never shows a wrong value: every number a view shows for a total is the exact value of
the arithmetic on the numbers as typed, rounded to the significant digits shown. The old noise rule
zeroed real values whenever terms cancelled (1e10 - 1e10 + 0.001 showed as 0)."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest

from convgrad.numbers import format_float


def exact_totals(cli, problem: dict, command: str) -> dict:
    doc = json.loads(cli(command, "-", "--exact", "--json", "--overlays", "none", input=json.dumps(problem)).stdout)
    names = ("Z", "dW", "db", "dA_prev") if command == "backward" else ("Z",)
    return {name: [Fraction(str(v)) for v in np.ravel(np.asarray(doc[name], dtype=object))] for name in names}


def shown(q: Fraction, digits: int = 12) -> str:
    return format_float(float(q), digits)


def table_totals(text: str) -> dict[str, list[str]]:
    section = text[text.index("Totals" if "Totals ─" in text else "Result ─") :]
    out = {}
    for line in section.splitlines()[1:]:
        m = re.match(r"(Z|dW|db|dA_prev)\s+(.*)$", line)
        if m:
            out[m.group(1)] = re.findall(r"-?[\d.]+(?:e-?\d+)?", m.group(2))
    return out


def markdown_totals(text: str) -> dict[str, list[str]]:
    section = text[text.index("## Totals" if "## Totals" in text else "## Result") :]
    out = {}
    for name, body in re.findall(r"\*\*(Z|dW|db|dA_prev)\*\*\n\n(.*?)(?=\n\n\*\*|\Z)", section, re.S):
        if body.startswith("`"):
            out[name] = [body.strip("`\n ")]
        else:
            rows = [r for r in body.splitlines() if r.startswith("|") and "---" not in r][1:]
            out[name] = [c.strip() for r in rows for c in r.strip("|").split("|")[1:]]
    return out


def latex_totals(text: str) -> dict[str, list[str]]:
    """The totals section: each quantity either on one line ("Z = \\begin{bmatrix}...") or named on its own
    line followed by one line per labelled slice; values in row-major order."""
    section = text[text.index(r"\subsection*{Totals}" if "{Totals}" in text else r"\subsection*{Result}") :]
    out: dict[str, list[str]] = {}
    current = None
    for line in section.splitlines()[1:]:
        named = re.fullmatch(r"\\noindent \$(Z|dW|db|dA_\{prev\})\$\\par", line)
        inline = re.search(r"\\displaystyle (Z|dW|db|dA_\{prev\}) = (.*)\$\}\\par", line)
        body = None
        scalar = re.fullmatch(r"\\noindent \$(Z|dW|db|dA_\{prev\}) = (.*)\$\\par", line)
        if scalar:
            out[scalar.group(1).replace("_{prev}", "_prev")] = [scalar.group(2).replace("\\cdot 10^{", "e").rstrip("}")]
            continue
        if named:
            current = named.group(1)
            continue
        if inline:
            current, body = inline.group(1), inline.group(2)
        elif current and "bmatrix" in line:
            body = line[line.index(r"\begin{bmatrix}") :]
        if body is None or current is None:
            continue
        cells = re.sub(r"\\(begin|end)\{bmatrix\}|\$\}\\par", "", body)
        values = [c.strip() for c in re.split(r"&|\\\\", cells) if c.strip()]
        name = current.replace("_{prev}", "_prev")
        out.setdefault(name, []).extend(v.replace("\\cdot 10^{", "e").rstrip("}") for v in values)
    return out


#: Problems whose terms cancel: every kind of near-zero that a magnitude rule would have hidden.
CANCELLING = [
    {"A_prev": ["1e10", "-1e10", "0.001"], "W": [1, 1, 1]},  # the reproducer: 0.001 shown as 0
    {"A_prev": [1, -1, "1.5e-13"], "W": [1, 1, 1]},  # the second reproducer
    {"A_prev": [0.1, -0.3, 0.2, 1e10], "W": [1, 1, 1], "dZ": [1, 1]},  # float noise that is truly 0
    {"A_prev": [0.1, 0.2], "W": [1, 1]},  # 0.3, not 0.30000000000000004
    {"A_prev": ["1e15", "-1e15", "1e-5", "3"], "W": [1, 1, 1], "dZ": [1, "-1e-7"]},
    {"A_prev": [[1e8, 2], [-1e8, "1e-9"]], "W": [[1, 1], [1, 1]], "b": "-2"},
    {"A_prev": [1e300, -1e300, 1e-300], "W": [1, 1, 1], "dZ": [1]},
    {"A_prev": [0.7, -0.6, -0.1, 5e-17], "W": [1, 1, 1, 1]},
]


def random_cancelling(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    big = float(10.0 ** rng.integers(3, 15))
    small = [float(f"{v:.3g}") for v in rng.uniform(-1, 1, 3) * 10.0 ** rng.integers(-14, 0, 3)]
    a = [big, -big, *small, round(float(rng.uniform(-9, 9)), 1)]
    rng.shuffle(a)
    w = [1.0] * 3
    return {"A_prev": a, "W": w, "dZ": [round(float(v), 2) for v in rng.uniform(-2, 2, len(a) - 2)]}


PROBLEMS = CANCELLING + [random_cancelling(s) for s in range(12)]


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_every_displayed_total_is_the_exact_value(cli, index):
    problem = PROBLEMS[index]
    command = "backward" if "dZ" in problem else "forward"
    exact = exact_totals(cli, problem, command)
    text_input = json.dumps(problem)
    views = {
        "table": table_totals(cli(command, "-", "--overlays", "all", input=text_input).stdout),
        "markdown": markdown_totals(cli(command, "-", "--format", "markdown", input=text_input).stdout),
        "latex": latex_totals(cli(command, "-", "--format", "latex", input=text_input).stdout),
    }
    for view, totals in views.items():
        for name, values in exact.items():
            assert totals.get(name) == [shown(q) for q in values], (view, name, totals.get(name), values)


def test_the_reproducer_shows_0001(cli):
    out = cli("forward", "-x", "1e10 -1e10 0.001", "-w", "1 1 1").stdout
    assert "= 0.001" in out and "[0.001]" in out
    assert "= 0\n" not in out
    md = cli("forward", "-x", "1 -1 1.5e-13", "-w", "1 1 1", "--format", "markdown").stdout
    assert "1.5e-13" in md


def test_precision_rounds_the_exact_value(cli):
    out = cli("forward", "-x", "1 2", "-w", "0.3333333", "--precision", "3", "--format", "markdown").stdout
    assert "| 0.333 | 0.667 |" in out


def test_float32_arrays_show_float32_digits(tmp_path, cli):
    np.save(tmp_path / "a.npy", np.array([0.1, 0.2, -0.3], dtype=np.float32))
    np.save(tmp_path / "w.npy", np.array([1, 1], dtype=np.float32))
    (tmp_path / "p.json").write_text('{"A_prev": "a.npy", "W": "w.npy"}')
    out = cli("forward", tmp_path / "p.json", "--format", "markdown").stdout
    assert "| 0.3 | -0.1 |" in out


def test_large_problems_show_rounded_floats_never_zeroed(cli):
    """Past the exact budget the floats are shown rounded, and a cancellation shows its float, not 0."""
    n = 60_000
    a = [0.0] * n
    a[:3] = [1e10, -1e10, 0.001]
    problem = json.dumps({"A_prev": a, "W": [1, 1, 1]})
    out = cli(
        "forward", "-", "--format", "markdown", "--overlays", "none", "--max-output-mb", "100", input=problem
    ).stdout
    first = out[out.index("## Result") :].split("|  |")[1].split("|")[0].strip()
    assert first == "0.001"


def test_json_stays_faithful(cli):
    doc = json.loads(cli("forward", "-x", "0.1 0.2", "-w", "1 1", "--json").stdout)
    assert doc["Z"] == [0.30000000000000004]


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_every_overlay_value_shown_is_exact(cli, index):
    """Each overlay's Z in the Markdown working and the table is the exact sum of its products."""
    problem = PROBLEMS[index]
    command = "backward" if "dZ" in problem else "forward"
    doc = json.loads(cli(command, "-", "--exact", "--json", input=json.dumps(problem)).stdout)
    expected = [shown(Fraction(str(o["Z"]))) for o in doc["overlays"]]
    md = cli(command, "-", "--format", "markdown", input=json.dumps(problem)).stdout
    assert [line.rsplit(" = ", 1)[1] for line in md.splitlines() if line.startswith("- Z = ")] == expected
    table = cli(command, "-", "--overlays", "all", "--view", "blocks", input=json.dumps(problem)).stdout
    assert [line.rsplit(" = ", 1)[1].strip() for line in table.splitlines() if line.startswith("Z = ")] == expected
