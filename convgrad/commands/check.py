"""check: one answer against a problem, or a folder (or glob) of answers graded in one table."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import ConvgradError, InputError, UsageError
from .common import gather_fields, json_format, limits_of, note, stdout_console, write_json


def answer_files(spec: str) -> list[Path] | None:
    """The files a DIR or GLOB names (sorted), or None for a single answer file."""
    path = Path(spec)
    if spec != "-" and path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
    return None


def build_checker(options: dict[str, Any]) -> Any:
    """The problem solved exactly when that takes seconds at most, else in float64 (said on stderr)."""
    from ..check import Checker, Tolerance
    from ..limits import exact_terms
    from ..numbers import check_option_number

    check_option_number(options.get("rtol"), "--rtol", 0, 1)
    check_option_number(options.get("atol"), "--atol", 0, 1e300)
    from ..numbers import ExactDomain
    from ..problem import build_problem

    fields = gather_fields(options)
    if fields.get("symbolic"):
        raise InputError("check compares numbers: a symbolic problem has formulas, not numeric answers")
    fields.pop("exact", None)
    limits = limits_of(options)
    problem = build_problem(fields, need_dZ=False, float64=True, limits=limits)  # validates, cheaply
    if exact_terms(problem) <= limits.max_exact_terms:
        problem = build_problem(fields, need_dZ=False, domain=ExactDomain(), limits=limits)
    else:
        note(f"this problem is too large to solve in exact rationals ({exact_terms(problem):,} multiply-adds); "
             "checking against float64 results")
    return Checker(problem, Tolerance.of(options.get("rtol"), options.get("atol")))


def read_answer(path: str, limits: Any = None) -> dict[str, Any]:
    """An answer file, read under the same --max-input-mb limit as the problem."""
    from ..check import parse_answer
    from ..limits import DEFAULT
    from ..reader import read_problem_document

    source = "stdin" if path == "-" else path
    document = read_problem_document(path, "object with any of Z, dW, db, dA_prev", limits=limits or DEFAULT)
    return parse_answer(document, source)


def run(options: dict[str, Any]) -> None:
    spec = options["answer"]
    if spec == "-" and "-" in (options.get("input"), options.get("file")):
        raise UsageError("the problem and the answer cannot both come from stdin")
    fmt = json_format(options)
    checker = build_checker(options)
    checker.limits = limits_of(options)  # answer files are read under the same input limit
    files = answer_files(spec)
    if files is None:
        _one(checker, spec, fmt)
    else:
        _many(checker, spec, files, fmt)


def _one(checker: Any, path: str, fmt: str) -> None:
    from ..render.checkview import report_object, report_renderables

    report = checker.check(read_answer(path, checker.limits))
    if fmt == "json":
        write_json(report_object(report, checker))
    else:
        console = stdout_console()
        for renderable in report_renderables(checker, report):
            console.print(renderable)
    if not report.all_right:
        raise typer.Exit(code=1)


def _many(checker: Any, spec: str, files: list[Path], fmt: str) -> None:
    from ..render.checkview import diagnosis_object, grading_table, report_object

    if not files:
        raise UsageError(f"no answer files (*.json) found in {spec!r}")
    rows = []
    for path in files:
        try:
            rows.append((str(path), checker.check(read_answer(str(path), checker.limits)), None))
        except ConvgradError as err:  # a bad file is reported on its row; the others go on
            rows.append((str(path), None, str(err)))
    # In the table, names relative to the folder they share; JSON keeps the paths as found.
    base = Path(os.path.commonpath([str(p.parent) for p in files]) or ".")
    right = sum(1 for _, report, _ in rows if report is not None and report.all_right)
    errors = sum(1 for _, report, _ in rows if report is None)
    if fmt == "json":
        answers = []
        for name, report, error in rows:
            entry: dict[str, Any] = {"file": name, "correct": bool(report and report.all_right), "error": error}
            if report is not None:
                obj = report_object(report)
                entry["quantities"] = {q: {k: v for k, v in o.items() if k != "entries"}
                                       for q, o in obj["quantities"].items()}
                entry["mistakes"] = [diagnosis_object(d) for d in report.mistakes]
            answers.append(entry)
        write_json({"answers": answers, "summary": {"files": len(rows), "correct": right,
                                                    "wrong": len(rows) - right - errors, "errors": errors}})
    else:
        console = stdout_console()
        shown = []
        for name, report, error in rows:
            relative = os.path.relpath(name, base)
            shown.append((relative, report, None if error is None else error.replace(name, relative)))
        console.print(f"answers in {base}", highlight=False, soft_wrap=True)
        console.print(grading_table(shown))
        print(f"{right} of {len(rows)} answers right, {len(rows) - right - errors} wrong, "
              f"{errors} unreadable", file=sys.stderr)
    if right != len(rows):
        raise typer.Exit(code=1)
