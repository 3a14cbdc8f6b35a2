"""check with a folder or glob of answers: the grade as JSON, as a table, and its one-line summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.table import Table

from .checkview import diagnosis_object, grading_table, report_object

#: One graded file: its path as found, its report (None when unreadable), and the error if so.
GradeRow = tuple[str, Any, str | None]


def grade_counts(rows: list[GradeRow]) -> tuple[int, int, int]:
    """Files right, wrong and unreadable."""
    right = sum(1 for _, report, _ in rows if report is not None and report.all_right)
    errors = sum(1 for _, report, _ in rows if report is None)
    return right, len(rows) - right - errors, errors


def grade_object(rows: list[GradeRow]) -> dict[str, Any]:
    """The JSON form of a grading: per file its verdict per quantity and its mistakes, then a summary.
    Paths as found."""
    answers = []
    for name, report, error in rows:
        entry: dict[str, Any] = {"file": name, "correct": bool(report and report.all_right), "error": error}
        if report is not None:
            obj = report_object(report)
            entry["quantities"] = {q: {k: v for k, v in o.items() if k != "entries"}
                                   for q, o in obj["quantities"].items()}
            entry["mistakes"] = [diagnosis_object(d) for d in report.mistakes]
        answers.append(entry)
    right, wrong, errors = grade_counts(rows)
    return {"answers": answers, "summary": {"files": len(rows), "correct": right, "wrong": wrong, "errors": errors}}


def _base(rows: list[GradeRow]) -> Path:
    """The folder all the graded files share."""
    return Path(os.path.commonpath([str(Path(name).parent) for name, _, _ in rows]) or ".")


def grade_heading(rows: list[GradeRow]) -> str:
    """The line above the table: the folder the names in it are relative to."""
    return f"answers in {_base(rows)}"


def grade_table(rows: list[GradeRow]) -> Table:
    """The grading table, each file named relative to the folder all of them share."""
    base = _base(rows)
    shown = []
    for name, report, error in rows:
        relative = os.path.relpath(name, base)
        shown.append((relative, report, None if error is None else error.replace(name, relative)))
    return grading_table(shown)


def grade_summary(rows: list[GradeRow]) -> str:
    """One line for stderr: how many answers were right, wrong and unreadable."""
    right, wrong, errors = grade_counts(rows)
    return f"{right} of {len(rows)} answers right, {wrong} wrong, {errors} unreadable"
