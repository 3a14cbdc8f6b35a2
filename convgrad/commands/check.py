"""check: one answer against a problem, or a folder (or glob) of answers graded in one table."""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import ConvgradError, InputError, UsageError
from ..limits import Limits
from ..options import CheckOptions, OutputOptions, ProblemOptions
from .common import gather_fields, json_format, note, stdout_console, write_json


def answer_files(spec: str) -> list[Path] | None:
    """The files a DIR or GLOB names (sorted), or None for a single answer file."""
    path = Path(spec)
    if spec != "-" and path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
    return None


def build_checker(options: ProblemOptions, check: CheckOptions, limits: Limits) -> Any:
    """The problem solved exactly when that takes seconds at most, else in float64 (said on stderr)."""
    from ..check import Checker, Tolerance
    from ..limits import exact_terms
    from ..numbers import ExactDomain
    from ..problem import build_problem

    fields = gather_fields(options, limits)
    if fields.get("symbolic"):
        raise InputError("check compares numbers: a symbolic problem has formulas, not numeric answers")
    fields.pop("exact", None)
    problem = build_problem(fields, need_dZ=False, float64=True, limits=limits)  # validates, cheaply
    if problem.kind is not None and not problem.kind.rational:
        pass  # sigmoid, tanh: not rational, so the float64 problem is the reference
    elif exact_terms(problem) <= limits.max_exact_terms:
        problem = build_problem(fields, need_dZ=False, domain=ExactDomain(), limits=limits)
    else:
        note(
            f"this problem is too large to solve in exact rationals ({exact_terms(problem):,} multiply-adds); "
            "checking against float64 results"
        )
    return Checker(problem, Tolerance.of(check.rtol, check.atol))


def read_answer(path: str) -> dict[str, Any]:
    from ..check import parse_answer
    from ..reader import read_problem_document

    source = "stdin" if path == "-" else path
    return parse_answer(read_problem_document(path, "object with any of Z, dW, db, dA_prev"), source)


def run(options: ProblemOptions, output: OutputOptions, check: CheckOptions, limits: Limits) -> None:
    """Check one answer file, or grade every answer a folder or glob names; exit 1 when any is wrong."""
    spec = check.answer
    if spec == "-" and "-" in (options.input, options.file):
        raise UsageError("the problem and the answer cannot both come from stdin")
    fmt = json_format(output)
    checker = build_checker(options, check, limits)
    files = answer_files(spec)
    if files is None:
        _one(checker, spec, fmt)
    else:
        _many(checker, spec, files, fmt)


def _one(checker: Any, path: str, fmt: str) -> None:
    from ..render.checkview import report_object, report_renderables

    report = checker.check(read_answer(path))
    if fmt == "json":
        write_json(report_object(report, checker))
    else:
        console = stdout_console()
        for renderable in report_renderables(checker, report):
            console.print(renderable)
    if not report.all_right:
        raise typer.Exit(code=1)


def _many(checker: Any, spec: str, files: list[Path], fmt: str) -> None:
    from ..render.checkview import grade_counts, grade_heading, grade_object, grade_summary, grade_table

    if not files:
        raise UsageError(f"no answer files (*.json) found in {spec!r}")
    rows: list[tuple[str, Any, str | None]] = []
    for path in files:
        try:
            rows.append((str(path), checker.check(read_answer(str(path))), None))
        except ConvgradError as err:  # a bad file is reported on its row; the others go on
            rows.append((str(path), None, str(err)))
    if fmt == "json":
        write_json(grade_object(rows))
    else:
        console = stdout_console()
        console.print(grade_heading(rows), highlight=False, soft_wrap=True)
        console.print(grade_table(rows))
        print(grade_summary(rows), file=sys.stderr)
    right, _, _ = grade_counts(rows)
    if right != len(rows):
        raise typer.Exit(code=1)
