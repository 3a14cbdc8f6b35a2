"""check: one answer against a problem, or a folder (or glob) of answers graded in one table."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import ConvgradError, InputError, UsageError
from ..limits import Limits
from ..options import CheckOptions, OutputOptions, ProblemOptions
from .common import gather_fields, json_format, note, stdout_console, write_json


def answer_files(spec: str) -> list[Path] | None:
    """The files a DIR or GLOB names (sorted), or None for a single answer file.

    Symbolic links are listed too (not followed here): each is graded only when it points
    inside its own folder, and otherwise gets a row saying why not (see _many).
    """
    path = Path(spec)
    if spec != "-" and path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".json" and (p.is_symlink() or p.is_file()))
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_symlink() or Path(p).is_file())
    return None


#: Seconds one answer file of a folder may take to read and check before its row says so.
ANSWER_SECONDS = 10.0
#: Characters of a submitted value a message quotes; the rest is cut to "...".
QUOTED_PREFIX = 60


class _TooSlow(BaseException):
    """The per-file alarm: a BaseException so that nothing inside the check swallows it."""


def _grade_one(checker: Any, path: Path, limits: Any, decimals: int | None) -> tuple[Any, str | None, list[str]]:
    """(report, None, ignored keys) or (None, the reason this file has no grade, []): never raises for a
    bad file."""
    import signal

    if path.is_symlink():
        real, folder = Path(os.path.realpath(path)), Path(os.path.realpath(path.parent))
        if folder not in real.parents:
            return None, "a symbolic link to a file outside its folder, not followed", []
        if not real.is_file():
            return None, "a symbolic link to something that is not a file, not followed", []

    import time

    def alarm(signum: int, frame: Any) -> None:
        if outer and time.monotonic() - start >= outer - 0.01 and callable(previous):
            previous(signum, frame)  # the caller's own alarm came first: it is the caller's to handle
        raise _TooSlow

    start, outer = time.monotonic(), 0.0
    try:
        previous = signal.signal(signal.SIGALRM, alarm)
        outer, _ = signal.setitimer(signal.ITIMER_REAL, ANSWER_SECONDS)  # an alarm already set (a caller's)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, min(outer, ANSWER_SECONDS))
    except ValueError:  # not the main thread: no alarm, the file is graded without a time bound
        previous = None
    try:
        report, ignored = check_answer(checker, str(path), decimals, limits)
        return report, None, ignored
    except _TooSlow:
        return None, f"took more than {ANSWER_SECONDS:g} s to check, so it was skipped", []
    except ConvgradError as err:
        return None, _quoted_prefixes(str(err)), []
    except MemoryError:
        return None, "too large to check in the memory available", []
    except RecursionError:
        return None, "nested too deeply to read", []
    except Exception as err:
        return None, f"cannot be checked ({type(err).__name__}: {_quoted_prefixes(str(err))[:200]})", []
    finally:
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer:  # the caller's alarm goes on with what was left of it
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.001))


def _quoted_prefixes(message: str) -> str:
    """A message with every long quoted value cut to its first QUOTED_PREFIX characters."""
    import re

    def cut(match: re.Match[str]) -> str:
        quote, body = match.group(1), match.group(2)
        return f"{quote}{body[:QUOTED_PREFIX]}...{quote}" if len(body) > QUOTED_PREFIX else match.group(0)

    message = re.sub(r"(['\"])([^'\"\n]*)\1", cut, message)
    return message if len(message) <= 500 else message[:500] + "..."


def build_checker(options: ProblemOptions, check: CheckOptions, limits: Limits) -> Any:
    """The problem solved exactly when that takes seconds at most, else in float64 (said on stderr)."""
    from ..check import Checker, Tolerance
    from ..limits import exact_terms
    from ..numbers import ExactDomain, check_option_number
    from ..problem import build_problem

    check_option_number(check.rtol, "--rtol", 0, 1)
    check_option_number(check.atol, "--atol", 0, 1e300)

    fields = gather_fields(options, limits)
    if fields.get("symbolic"):
        raise InputError("check compares numbers: a symbolic problem has formulas, not numeric answers")
    fields.pop("exact", None)
    problem = build_problem(fields, need_dZ=False, float64=True, limits=limits)  # validates, cheaply
    tolerance = Tolerance.of(check.rtol, check.atol)
    if problem.kind is not None and not problem.kind.rational:
        return Checker(problem, tolerance)  # sigmoid, tanh: not rational, so the float64 problem is the reference
    terms = exact_terms(problem)
    if terms > limits.max_exact_terms:
        note(
            f"this problem is too large to solve in exact rationals ({terms:,} multiply-adds); "
            "checking against float64 results"
        )
        return Checker(problem, tolerance)
    exact = build_problem(fields, need_dZ=False, domain=ExactDomain(), limits=limits)
    if terms * VARIANT_SOLVES > limits.max_exact_terms:
        return _float_variants(exact, tolerance, problem)
    return Checker(exact, tolerance)


#: About how many solutions the mistake variants cost together (each variant is a solve).
VARIANT_SOLVES = 12


def _float_variants(exact: Any, tolerance: Any, float_problem: Any) -> Any:
    """A checker of exact answers whose likely mistakes are computed in float64: in exact rationals
    they would cost a dozen exact solutions of a problem that is already large."""
    from ..check import Checker
    from ..variants import variants_for

    class FloatVariantsChecker(Checker):
        def variants(self) -> dict[str, dict[str, list[tuple[str, Any]]]]:
            if self._variants is None:
                self._variants = {v.key: v.compute(float_problem) for v in variants_for(float_problem)}
            return self._variants

    return FloatVariantsChecker(exact, tolerance)


def read_answer(path: str, limits: Any = None) -> tuple[dict[str, Any], list[str], int | None]:
    """The answers in an answer file, its keys that are not answers (ignored), and the decimals it
    requires ("decimals": N; None when it does not say). Read within --max-input-mb."""
    from ..check import answer_decimals, ignored_keys, parse_answer
    from ..limits import DEFAULT
    from ..reader import read_problem_document

    source = "stdin" if path == "-" else path
    document = read_problem_document(
        path, "object with any of Z, dW, db, dA_prev", limits=limits or DEFAULT, what="the answer file"
    )
    return parse_answer(document, source), ignored_keys(document), answer_decimals(document, source)


def check_answer(checker: Any, path: str, decimals: int | None, limits: Any = None) -> tuple[Any, list[str]]:
    """One answer file's report and its ignored keys; --decimals (``decimals``) wins over the file's own
    "decimals"."""
    answer, ignored, required = read_answer(path, limits)
    return checker.check(answer, decimals=required if decimals is None else decimals), ignored


def _cut(text: str) -> str:
    """A submitted text cut to its first QUOTED_PREFIX characters (submissions are untrusted)."""
    return text if len(text) <= QUOTED_PREFIX else text[:QUOTED_PREFIX] + "..."


def _keys_text(keys: list[str]) -> str:
    return ", ".join(map(_cut, keys))


def run(options: ProblemOptions, output: OutputOptions, check: CheckOptions, limits: Limits) -> None:
    """Check one answer file, or grade every answer a folder or glob names; exit 1 when any is wrong."""
    spec = check.answer
    if spec == "-" and "-" in (options.input, options.file):
        raise UsageError("the problem and the answer cannot both come from stdin")
    fmt = json_format(output)
    checker = build_checker(options, check, limits)
    files = answer_files(spec)
    if files is None:
        _one(checker, spec, fmt, check.decimals, limits)
    else:
        _many(checker, spec, files, fmt, check.decimals, limits)


def _one(checker: Any, path: str, fmt: str, decimals: int | None, limits: Limits) -> None:
    from ..render.checkview import report_object, report_renderables

    report, ignored = check_answer(checker, path, decimals, limits)
    if ignored:
        note(f"ignored the keys that are not answers: {_keys_text(ignored)}")
    if fmt == "json":
        write_json(report_object(report, checker))
    else:
        console = stdout_console()
        for renderable in report_renderables(checker, report):
            console.print(renderable)
    if not report.all_right:
        raise typer.Exit(code=1)


def _many(checker: Any, spec: str, files: list[Path], fmt: str, decimals: int | None, limits: Limits) -> None:
    from ..render.checkview import grade_counts, grade_heading, grade_object, grade_summary, grade_table

    if not files:
        raise UsageError(f"no answer files (*.json) found in {spec!r}")
    rows: list[tuple[str, Any, str | None]] = []
    ignored: dict[str, int] = {}  # key -> files that had it
    for path in files:  # a bad file is reported on its row, whatever went wrong; the others go on
        report, error, extra = _grade_one(checker, path, limits, decimals)
        rows.append((str(path), report, error))
        for key in extra:
            ignored[key] = ignored.get(key, 0) + 1
    if ignored:
        counts = [f"{_cut(key)} ({n} file{'s' if n != 1 else ''})" for key, n in ignored.items()]
        note(f"ignored the keys that are not answers: {', '.join(counts)}")
    if fmt == "json":
        write_json(grade_object(rows))
    else:
        console = stdout_console()
        console.print(grade_heading(rows), highlight=False, soft_wrap=True)
        console.print(grade_table(rows))
        print(grade_summary(rows), file=sys.stderr)
    right, _, _, _ = grade_counts(rows)
    if right != len(rows):
        raise typer.Exit(code=1)
