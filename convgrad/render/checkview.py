"""Showing check verdicts (one answer, or a folder of them) and gradient checks, for people and as JSON."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..check import IMPRECISE, QUANTITIES, Checker, CheckReport, QuantityVerdict, answer_shape_text
from ..grading import Graded
from ..layers.base import Term
from ..layers.conv import dA_terms, db_terms, dW_terms, z_terms
from ..numbers import DEFAULT_SIGNIFICANT_DIGITS, format_float, index_label
from ..numbers import format_fraction as _exact_text
from .grids import Cell, grid, grid_pieces
from .layout import Wrapped
from .text import factor_label, paren_negative, plural, ranges, slice_label

RIGHT, WRONG = "✓", "✗"
#: The mark of an entry right only to fewer decimals than required ("not precise enough").
ROUGH = "≈"
#: Wrong entries explained term by term, per quantity.
MAX_EXPLAINED = 6
#: Terms written out per explained entry.
MAX_TERMS = 12


def format_fraction(value: Any) -> str:
    """An exact value as a decimal or p/q; a float (sigmoid, tanh, a large problem) as a float."""
    return _exact_text(value) if isinstance(value, Fraction) else format_float(float(value))


def entry_terms(checker: Checker, name: str, user_index: tuple[int, ...]) -> list[Term]:
    """The overlay terms behind one entry (user index) of the exact solution."""
    p = checker.problem
    form = p.form
    if p.kind is not None:  # a kind that declares its own terms
        index = form.activation_index_to_canonical(user_index)
        return p.kind.entry_terms(name, index, p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
    if name in ("Z", "dA_prev"):
        index = form.activation_index_to_canonical(user_index)
        if name == "Z":
            return z_terms(p.A_prev, p.W, p.b, index, p.geom)
        return dA_terms(p.W, p.upstream, index, p.geom)
    if name == "dW":
        return list(dW_terms(p.A_prev, p.upstream, form.kernel_index_to_canonical(user_index), p.geom))
    c_out = user_index[0] if user_index else 0
    return list(db_terms(p.upstream, c_out, p.geom))


def value_text(checker: Checker, value: Any) -> str:
    """One value as the checker's problem writes it: exact (0.3, 5/3), or a float64 result
    (a problem too large for rationals) to 12 significant digits."""
    return checker.problem.domain.format(value)


def _sum_texts(checker: Checker, terms: list[Term]) -> tuple[str, str]:
    """A sum of terms by name and by value: "dZ[0]·A_prev[1] + ...", "(-0.1)·2 + ..."."""
    form = checker.problem.form
    symbols = " + ".join("·".join(factor_label(form, f.array, f.index) for f in t.factors) for t in terms)
    values = " + ".join("·".join(paren_negative(value_text(checker, f.value)) for f in t.factors) for t in terms)
    return symbols, values


def terms_text(checker: Checker, name: str, user_index: tuple[int, ...], expected: Any) -> RenderableType:
    """Why an entry has its value: the overlay terms, by name and by value.

    dW[1] should be 0.4, the sum over overlays 1-2 of
        dZ[0]·A_prev[1] + dZ[1]·A_prev[2]
      = (-0.1)·2 + 0.2·3
    """
    terms = entry_terms(checker, name, user_index)
    head = index_label(name, user_index, ",")
    if not terms:
        return Text(f"  {head} should be 0: no overlay reaches it (nothing is added to it)")
    shown = terms[:MAX_TERMS]
    more = f" + … {len(terms) - MAX_TERMS} more" if len(terms) > MAX_TERMS else ""
    symbols, values = _sum_texts(checker, shown)
    overlays = sorted({t.overlay + 1 for t in terms if t.overlay is not None})
    source = f"overlay{'s' if len(overlays) != 1 else ''} {ranges(overlays)}" if overlays else "the bias"
    return Group(
        Text(f"  {head} should be {value_text(checker, expected)}, the sum over {source} of"),
        Padding(Text(f"{symbols}{more}"), (0, 0, 0, 6)),
        Padding(Text(f"= {values}{more}"), (0, 0, 0, 4)),
    )


def _expected_text(checker: Checker, e: Any, decimals: int | None = None) -> str:
    """The right value; where it does not terminate (5/3, or a float64 result cut to 12 digits
    such as 0.133333333333), also rounded as the student rounded, or to the decimals required
    if more: 1.67 (5/3)."""
    text = value_text(checker, e.expected)
    digits = max(e.given.decimals or 0, decimals or 0)
    if digits and _cut(text):
        rounded = f"{float(Fraction(e.expected)):.{digits}f}"
        if rounded != text:
            return f"{rounded} ({text})"
    return text


def _cut(text: str) -> bool:
    """Whether a value's text is a fraction, or a float's text cut at its significant digits."""
    if "/" in text:
        return True
    mantissa = text.split("e")[0]
    return len(mantissa.lstrip("-").replace(".", "").lstrip("0")) >= DEFAULT_SIGNIFICANT_DIGITS


def _entry_cell(checker: Checker, e: Any, decimals: int | None) -> Cell:
    """2 ✓, 0.5 ✗ 0.4 (wrong: the right value beside it), or 1.7 ≈ 1.667 (5/3) (not precise enough)."""
    if e.right:
        return Cell(f"{e.given.text} {RIGHT}", "green")
    if e.mark == IMPRECISE:
        return Cell(f"{e.given.text} {ROUGH} {_expected_text(checker, e, decimals)}", "yellow")
    return Cell(f"{e.given.text} {WRONG} {_expected_text(checker, e, decimals)}", "bold red")


def _verdict_grid(checker: Checker, q: QuantityVerdict, decimals: int | None = None) -> RenderableType:
    """The answer as the student laid it out, each entry marked; arrays past 2-D in [i, j, :, :] slices.
    Laid out by the plain layout engine (rich only styles it), wrapped at the width it is printed at."""
    cells = np.empty(q.expected_shape, dtype=object)
    for e in q.entries:
        cells[e.index] = _entry_cell(checker, e, decimals)
    if cells.ndim == 0:
        return grid(cells)
    lead = max(0, cells.ndim - 2)
    if not lead:
        return Wrapped(grid_pieces(cells))
    pieces: list[tuple[str, str]] = []
    for k, index in enumerate(np.ndindex(*cells.shape[:lead])):
        if k:
            pieces.append(("\n", ""))
        pieces.append((slice_label(index, 2) + "\n", "italic"))
        pieces += grid_pieces(cells[index])
    return Wrapped(pieces)


def _decimals_text(decimals: int | None) -> str:
    return f"{decimals} decimal{'' if decimals == 1 else 's'}"


def quantity_heading(q: QuantityVerdict, decimals: int | None = None) -> Text:
    if q.status == "missing":
        return Text(f"{q.name}: not given", style="dim")
    if q.status == "shape":
        return Text(
            f"{q.name}: the answer has shape {answer_shape_text(q.given_shape or ())}, "
            f"but {q.name} has shape {answer_shape_text(q.expected_shape)}",
            style="bold red",
        )
    n = len(q.entries)
    if q.status == "right":
        return Text(f"{q.name}: right ({n} entr{'y' if n == 1 else 'ies'}) {RIGHT}", style="bold green")
    required = f" ({_decimals_text(decimals)} required)" if decimals is not None else ""
    if q.status == "imprecise":
        if n == 1:
            return Text(f"{q.name}: not precise enough{required} {ROUGH}", style="bold yellow")
        count = len(q.imprecise)
        return Text(f"{q.name}: {count} of {n} entries not precise enough{required} {ROUGH}", style="bold yellow")
    if n == 1:
        return Text(f"{q.name}: wrong {WRONG}", style="bold red")
    rough = f", {len(q.imprecise)} not precise enough{required}" if q.imprecise else ""
    return Text(f"{q.name}: {len(q.wrong)} of {n} entries wrong{rough} {WRONG}", style="bold red")


def quantity_renderables(checker: Checker, q: QuantityVerdict, report: CheckReport) -> Iterator[RenderableType]:
    """One quantity's verdict: its heading, its marked entries, the working of wrong ones, the likely mistake."""
    if q.status == "missing" and q.name in report.required:
        yield Text(f"{q.name}: not given, but required {WRONG}", style="bold red")
    else:
        yield quantity_heading(q, report.decimals)
    if q.entries:
        yield _verdict_grid(checker, q, report.decimals)
    if q.status == "wrong":
        for e in q.wrong[:MAX_EXPLAINED]:
            yield terms_text(checker, q.name, e.index, e.expected)
        if len(q.wrong) > MAX_EXPLAINED:
            more = plural(len(q.wrong) - MAX_EXPLAINED, "more wrong entry", "more wrong entries")
            yield Text(f"  … {more} (--json lists them all)")
    for d in q.diagnoses:
        yield Padding(Text(f"Likely mistake: {mistake_text(d)}.", style="yellow"), (0, 0, 0, 2))


def mistake_text(d: Any) -> str:
    share = "" if d.complete else f" (this explains {d.explained} of the {d.wrong} wrong entries)"
    return f"{d.sentence}{share}"


def report_renderables(checker: Checker, report: CheckReport) -> Iterator[RenderableType]:
    for q in report.quantities.values():
        yield from quantity_renderables(checker, q, report)
        yield Text("")
    if report.imprecise:
        yield Text(imprecise_text(report) + "\n", style="yellow")
    yield Text(verdict_text(report), style="bold green" if report.all_right else "bold red")


def imprecise_text(report: CheckReport) -> str:
    return (
        f"Entries marked {ROUGH} are the right value rounded to fewer decimals than the "
        f"{_decimals_text(report.decimals)} required: write at least {_decimals_text(report.decimals)} "
        "(or the exact value)."
    )


def verdict_text(report: CheckReport) -> str:
    given = report.given
    right = sum(q.status == "right" for q in given)
    rough = sum(q.status == "imprecise" for q in given)
    missing = report.missing_required
    if report.all_right:
        return "All given quantities are right."
    text = f"{right} of {len(given)} given quantities right" + (f", {rough} not precise enough" if rough else "")
    if missing:
        text += f"; required but not given: {', '.join(missing)}"
    return text + "."


def score_line(score: Any) -> str:
    from ..grading import points_text

    return f"Score: {points_text(score.total)} of {points_text(score.max)} points ({100 * score.share:.0f}%)."


#: A wrong entry's working is written into the JSON when it has at most this many terms.
JSON_TERMS = 256


def working_text(checker: Checker, name: str, user_index: tuple[int, ...]) -> str | None:
    """ "dZ[0]·A_prev[1] + dZ[1]·A_prev[2] = (-0.1)·2 + 0.2·3", or None when too long to write out."""
    terms = entry_terms(checker, name, user_index)
    if len(terms) > JSON_TERMS:
        return None
    if not terms:
        return "0 (no overlay reaches it)"
    symbols, values = _sum_texts(checker, terms)
    return f"{symbols} = {values}"


def report_object(report: CheckReport, checker: Checker | None = None) -> dict[str, Any]:
    """The JSON form of a verdict: per quantity and per entry (with the working of wrong ones)."""
    quantities: dict[str, Any] = {}
    for q in report.quantities.values():
        obj: dict[str, Any] = {"status": q.status, "shape": list(q.expected_shape)}
        if q.given_shape is not None:
            obj["given_shape"] = list(q.given_shape)
        if q.entries:
            obj["wrong"] = len(q.wrong)
            obj["imprecise"] = len(q.imprecise)
            obj["entries"] = []
            for e in q.entries:
                entry = {
                    "index": list(e.index),
                    "given": e.given.value,  # a number, as expected is ("p/q" only when no decimal ends it)
                    "given_text": e.given.text,
                    "expected": e.expected,
                    "right": e.right,
                    "mark": e.mark,
                }
                working = (
                    None
                    if e.right or e.mark == IMPRECISE or checker is None
                    else working_text(checker, q.name, e.index)
                )
                if working is not None:
                    entry["working"] = working
                obj["entries"].append(entry)
        if q.diagnoses:
            obj["mistakes"] = [diagnosis_object(d) for d in q.diagnoses]
        quantities[q.name] = obj
    return {"correct": report.all_right, "decimals": report.decimals, "quantities": quantities}


def diagnosis_object(d: Any) -> dict[str, Any]:
    return {
        "mistake": d.mistake,
        "form": d.form or None,
        "sentence": d.sentence,
        "explains": d.explained,
        "of": d.wrong,
    }


# -- grading many ---------------------------------------------------------------------------------


def grade_cell(q: QuantityVerdict | None, required: tuple[str, ...] = ()) -> Text:
    if q is None or q.status == "missing":
        if q is not None and q.name in required:
            return Text(f"{WRONG} —", style="red")
        return Text("—", style="dim")
    if q.status == "right":
        return Text(RIGHT, style="green")
    if q.status == "shape":
        return Text(f"{WRONG} shape", style="red")
    if q.status == "imprecise":
        return Text(f"{ROUGH} {len(q.imprecise)}/{len(q.entries)}", style="yellow")
    rough = f" {ROUGH}{len(q.imprecise)}" if q.imprecise else ""
    return Text(f"{WRONG} {len(q.wrong)}/{len(q.entries)}{rough}", style="red")


def row_note(row: Graded) -> Text:
    """The last column of a graded row: the likely mistakes, imprecision, notes and warnings; or why it was not graded."""
    if row.report is None:
        if row.skipped:
            return Text(row.error or "", style="dim")
        return Text(f"error: {row.error}", style="bold red")
    report = row.report
    mistakes = sorted({m.replace("_", " ") for m in row.mistakes})
    wrong = any(q.status in ("wrong", "shape") for q in report.given)
    if wrong and not mistakes:
        mistakes.append("not recognised")
    if report.imprecise:
        mistakes.append(f"not precise enough ({_decimals_text(report.decimals)} required)")
    text = Text(", ".join(mistakes))
    for extra in [*report.notes, *row.warnings]:
        text.append(("; " if text.plain else "") + extra, style="yellow")
    return text


def grading_table(rows: list[Graded]) -> Table:
    """One row per file: a mark per quantity, the score, the diagnosed mistake or the file's error."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("answer", overflow="fold", min_width=min(24, max((len(row.file) for row in rows), default=6)))
    for name in QUANTITIES:
        table.add_column(name, no_wrap=True)
    table.add_column("score", no_wrap=True, justify="right")
    table.add_column("likely mistake or problem", overflow="fold")
    for row in rows:
        if row.report is None:
            table.add_row(row.file, "", "", "", "", "", row_note(row))
            continue
        report = row.report
        cells = [grade_cell(report.quantities.get(q), report.required) for q in QUANTITIES]
        table.add_row(row.file, *cells, _score_cell(row.score), row_note(row))
    return table


def _score_cell(score: Any) -> str:
    from ..grading import points_text

    return "" if score is None else f"{points_text(score.total)}/{points_text(score.max)}"


# -- grading a folder: the grade as JSON, as a table, and its one-line summary ------------------------


def _imprecise_only(report: CheckReport) -> bool:
    """An answer with no wrong entry but some not precise enough."""
    return (
        not report.all_right
        and not report.missing_required
        and all(q.status in ("right", "imprecise") for q in report.given)
    )


def grade_counts(rows: list[Graded]) -> tuple[int, int, int, int]:
    """Answer files right, wrong, not precise enough (nothing wrong, but too few decimals somewhere) and
    unreadable; files skipped as not answers are in none of them."""
    graded = [row for row in rows if not row.skipped]
    right = sum(1 for row in graded if row.report is not None and row.report.all_right)
    imprecise = sum(1 for row in graded if row.report is not None and _imprecise_only(row.report))
    errors = sum(1 for row in graded if row.report is None)
    return right, len(graded) - right - imprecise - errors, imprecise, errors


def grade_object(rows: list[Graded], summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of a grading: per file its student, verdict per quantity, score, mistakes and
    warnings; then the counts and the class summary. Paths as found."""
    answers = []
    for row in rows:
        report = row.report
        entry: dict[str, Any] = {
            "file": row.file,
            "student": row.student,
            "correct": bool(report and report.all_right),
            "error": row.error,
            "skipped": row.skipped,
        }
        if report is not None and row.score is not None:
            obj = report_object(report)
            entry["decimals"] = report.decimals
            entry["quantities"] = {
                q: {k: v for k, v in o.items() if k != "entries"} for q, o in obj["quantities"].items()
            }
            entry["mistakes"] = [diagnosis_object(d) for d in report.mistakes]
            entry["score"] = {"points": row.score.points, "total": row.score.total, "max": row.score.max}
            entry["warnings"] = [*report.notes, *row.warnings]
            entry["missing_required"] = report.missing_required
        answers.append(entry)
    right, wrong, imprecise, errors = grade_counts(rows)
    counts = {
        "files": len(rows),
        "correct": right,
        "wrong": wrong,
        "imprecise": imprecise,
        "errors": errors,
        "skipped": sum(row.skipped for row in rows),
    }
    return {"answers": answers, "summary": counts, "class": summary}


def _base(rows: list[Graded]) -> Path:
    """The folder all the graded files share."""
    return Path(os.path.commonpath([str(Path(row.file).parent) for row in rows]) or ".")


def grade_heading(rows: list[Graded]) -> str:
    """The line above the table: the folder the names in it are relative to."""
    return f"answers in {_base(rows)}"


def grade_table(rows: list[Graded]) -> Table:
    """The grading table, each file named relative to the folder all of them share."""
    import dataclasses

    base = _base(rows)
    shown = []
    for row in rows:
        relative = os.path.relpath(row.file, base)
        error = None if row.error is None else row.error.replace(row.file, relative)
        shown.append(dataclasses.replace(row, file=relative, error=error))
    return grading_table(shown)


def grade_summary(rows: list[Graded]) -> str:
    """One line for stderr: how many answers were right, wrong, not precise enough (if any) and
    unreadable, and how many files were skipped (if any)."""
    right, wrong, imprecise, errors = grade_counts(rows)
    rough = f", {imprecise} not precise enough" if imprecise else ""
    skipped = sum(row.skipped for row in rows)
    graded = len(rows) - skipped
    tail = f"; {skipped} other file{'s' if skipped != 1 else ''} skipped" if skipped else ""
    return f"{right} of {graded} answers right, {wrong} wrong{rough}, {errors} unreadable{tail}"


def class_lines(summary: dict[str, Any]) -> list[str]:
    """The class summary for the terminal: the score histogram, the mistakes, the entries most often wrong."""
    lines = [
        "",
        f"class: {summary['graded']} answers graded"
        + (f", mean score {summary['mean']}%" if summary["mean"] is not None else ""),
    ]
    width = max((b["count"] for b in summary["histogram"]), default=0)
    lines.append("score      students")
    for b in summary["histogram"]:
        label = f"{b['from']}-{b['to']}%"
        bar = "█" * b["count"] if width <= 40 else "█" * round(40 * b["count"] / width)
        lines.append(f"{label:>8}   {b['count']:>3} {bar}".rstrip())
    if summary["mistakes"]:
        lines.append("likely mistakes (students):")
        lines += [f"  {key.replace('_', ' ')}: {n}" for key, n in summary["mistakes"].items()]
    if summary["wrong_entries"]:
        entries = ", ".join(f"{e['entry']} ({e['students']})" for e in summary["wrong_entries"])
        lines.append(f"entries most often wrong (students): {entries}")
    return lines


# -- feedback for one student -------------------------------------------------------------------------


def _plain(renderables: list[RenderableType], width: int = 80) -> str:
    """Renderables as plain text, no trailing spaces."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False, emoji=False)
    for renderable in renderables:
        console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def feedback_markdown(checker: Checker, row: Graded) -> str:
    """One student's feedback in Markdown: the score, the likely mistake first, then what to correct
    (the wrong entries with their working), then what was right. No trailing spaces."""
    from ..grading import points_text

    who = row.student if row.student == Path(row.file).stem else f"{row.student} ({Path(row.file).name})"
    lines = [f"# Feedback: {who}", ""]
    report = row.report
    if report is None or row.score is None:
        lines += [f"Your answer file could not be graded: {row.error}", ""]
        return "\n".join(lines)
    score = row.score
    lines += [f"Score: {points_text(score.total)} of {points_text(score.max)} points ({100 * score.share:.0f}%).", ""]
    if report.all_right:
        lines += ["Every quantity is right.", ""]
    mistakes = [(q.name, d) for q in report.quantities.values() for d in q.diagnoses]
    if mistakes:
        lines += ["## Likely mistake", ""]
        lines += [f"- {name}: {mistake_text(d)}." for name, d in mistakes]
        lines.append("")
    notes = [*report.notes, *row.warnings]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    wrong = [q for q in report.quantities.values() if q.status in ("wrong", "shape", "imprecise")]
    wrong += [q for q in report.quantities.values() if q.name in report.missing_required]
    if wrong:
        lines += ["## To correct", "", "```text"]
        for q in wrong:
            shown = [r for r in quantity_renderables(checker, q, report) if not _is_mistake(r)]
            lines += [_plain(shown), ""]
        if report.imprecise:
            lines.append(imprecise_text(report))
        while lines[-1] == "":
            lines.pop()
        lines += ["```", ""]
    right = [q for q in report.quantities.values() if q.status == "right"]
    if right:
        lines += ["## Right", "", "```text"]
        for q in right:
            lines += [_plain(list(quantity_renderables(checker, q, report))), ""]
        lines[-1] = "```"
        lines.append("")
    return "\n".join(lines)


def _is_mistake(renderable: RenderableType) -> bool:
    """Whether a renderable is a "Likely mistake" line (shown at the top of the feedback instead)."""
    return (
        isinstance(renderable, Padding)
        and isinstance(renderable.renderable, Text)
        and (renderable.renderable.plain.startswith("Likely mistake"))
    )
