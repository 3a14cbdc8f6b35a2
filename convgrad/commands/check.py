"""check: one answer against a problem, or a folder (or glob) of answers graded in one table."""

from __future__ import annotations

import glob
import os
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import typer

from ..errors import ConvgradError, InputError, UsageError
from ..limits import Limits
from ..options import CheckOptions, OutputOptions, ProblemOptions
from .common import (
    check_writable,
    gather_fields,
    json_format,
    note,
    stdout_console,
    write_file_atomically,
    write_json,
)


def answer_files(spec: str, pattern: str | None = None) -> list[Path] | None:
    """The files a DIR or GLOB names (sorted; in a DIR every file, or those whose name matches
    ``pattern``), or None for a single answer file. Symbolic links are listed too (not followed
    here): each is graded only when it points inside its own folder (see grade_file)."""
    path = Path(spec)
    if spec != "-" and path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if (p.is_symlink() or p.is_file()) and (pattern is None or fnmatch(p.name, pattern))
        )
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_symlink() or Path(p).is_file())
    return None


#: Seconds one answer file of a folder may take to read and check before its row says so.
ANSWER_SECONDS = 10.0
#: Characters of a submitted value a message quotes; the rest is cut to "...".
QUOTED_PREFIX = 60


class _TooSlow(BaseException):
    """The per-file alarm: a BaseException so that nothing inside the check swallows it."""


def _quoted_prefixes(message: str) -> str:
    """A message with every long quoted value cut to its first QUOTED_PREFIX characters."""
    import re

    def cut(match: re.Match[str]) -> str:
        quote, body = match.group(1), match.group(2)
        return f"{quote}{body[:QUOTED_PREFIX]}...{quote}" if len(body) > QUOTED_PREFIX else match.group(0)

    message = re.sub(r"(['\"])([^'\"\n]*)\1", cut, message)
    return message if len(message) <= 500 else message[:500] + "..."


def is_answer_file(path: Path, pattern: str | None) -> bool:
    """Whether a listed file is read as an answer: it matches --pattern, else it ends in .json (any case)."""
    return pattern is not None or path.suffix.lower() == ".json"


def build_checker(
    options: ProblemOptions, check: CheckOptions, limits: Limits, fields: dict[str, Any] | None = None
) -> Any:
    """The problem solved exactly when that takes seconds at most, else in float64 (said on stderr);
    ``fields`` as ``gather_fields`` read them (None: read them here)."""
    from ..check import Checker, Tolerance
    from ..limits import exact_terms
    from ..numbers import ExactDomain, check_option_number
    from ..problem import build_problem

    check_option_number(check.rtol, "--rtol", 0, 1)
    check_option_number(check.atol, "--atol", 0, 1e300)

    fields = dict(gather_fields(options, limits) if fields is None else fields)
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


def build_policy(check: CheckOptions) -> Any:
    """The grading policy: the --policy file's, each flag given overriding its key."""
    import dataclasses

    from ..grading import Policy, parse_layouts, parse_require, parse_weights, policy_fields
    from ..reader import read_problem_document

    fields: dict[str, Any] = {}
    if check.policy is not None:
        document = read_problem_document(check.policy, "grading policy object", what="the policy file")
        fields = policy_fields(document, check.policy)
    if check.require is not None:
        fields["require"] = parse_require(check.require)
    if check.weights is not None:
        fields["weights"] = parse_weights(check.weights)
    if check.layouts is not None:
        fields["layouts"] = parse_layouts(check.layouts)
    if check.decimals is not None:
        fields["decimals"] = check.decimals
    if check.pattern is not None:
        fields["pattern"] = check.pattern
    return dataclasses.replace(Policy(), **fields)


def check_document(checker: Any, document: Any, source: str, policy: Any, unknown: list[str] | None = None) -> Any:
    """An answer object's report under the policy (its decimals win over the file's own "decimals").

    ``unknown`` a list (grading a folder): a key like a misspelt answer is added to it, not refused.
    """
    from ..check import answer_decimals, answer_layout, parse_answer

    answer = parse_answer(document, source, unknown)
    return checker.check(
        answer,
        decimals=answer_decimals(document, source) if policy.decimals is None else policy.decimals,
        required=policy.require,
        channels_last=answer_layout(document, source),
        any_layout=policy.any_layout,
    )


def grade_file(checker: Any, path: str, policy: Any, limits: Any = None) -> Any:
    """One answer file of a folder graded under the policy: a Graded row. Never raises for a bad file:
    whatever goes wrong (a link out of the folder, an unreadable or hostile file, more than
    ANSWER_SECONDS of work) is said on its row, and the other files are graded."""
    import signal
    import time

    from ..check import ANSWER_META, ignored_keys
    from ..grading import Graded, score, student_of
    from ..limits import DEFAULT
    from ..reader import read_problem_document

    row = Graded(path, Path(path).stem)
    link = Path(path)
    if link.is_symlink():
        real, folder = Path(os.path.realpath(link)), Path(os.path.realpath(link.parent))
        if folder not in real.parents:
            row.error = "a symbolic link to a file outside its folder, not followed"
            return row
        if not real.is_file():
            row.error = "a symbolic link to something that is not a file, not followed"
            return row

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
    unknown: list[str] = []
    try:
        document = read_problem_document(
            path, "object with any of Z, dW, db, dA_prev", limits=limits or DEFAULT, what="the answer file"
        )
        row.student = student_of(document, row.student)
        report = check_document(checker, document, path, policy, unknown)
    except _TooSlow:
        row.error = f"took more than {ANSWER_SECONDS:g} s to check, so it was skipped"
    except ConvgradError as err:
        row.error = _quoted_prefixes(str(err))
    except MemoryError:
        row.error = "too large to check in the memory available"
    except RecursionError:
        row.error = "nested too deeply to read"
    except Exception as err:  # one odd file never stops the class: it gets its own row
        row.error = f"cannot be checked ({type(err).__name__}: {_quoted_prefixes(str(err))[:200]})"
    else:
        row.ignored = ignored_keys(document)
        row.warnings = [_cut(w) for w in unknown] + [
            f"key {_cut(key)!r} ignored" for key in row.ignored if key not in ANSWER_META
        ]
        row.report, row.score = report, score(report, policy)
    finally:
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer:  # the caller's alarm goes on with what was left of it
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.001))
    return row


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
    fields = gather_fields(options, limits)  # read once: the problem may come from stdin
    if "layers" in fields:  # a chain of layers: answers per layer and the loss
        from .chaintools import run_check

        run_check(fields, output, check, limits, folder=answer_files(check.answer) is not None)
        return
    fmt = json_format(output)
    policy = build_policy(check)
    files = answer_files(spec, policy.pattern)
    if files is None:
        if check.gradebook is not None or check.feedback_dir is not None:
            raise UsageError("--gradebook and --feedback-dir grade a folder or glob: give one to --answer")
    else:
        if check.gradebook is not None:
            check_writable(check.gradebook, "--gradebook")
        if check.feedback_dir is not None:
            _check_feedback_dir(check.feedback_dir)
    checker = build_checker(options, check, limits, fields)
    if files is None:
        _one(checker, spec, fmt, policy, explicit=_explicit(check), limits=limits)
    else:
        _many(checker, spec, files, fmt, policy, check, limits)


def _explicit(check: CheckOptions) -> bool:
    """Whether a grading policy was asked for (then a single answer's score is shown)."""
    return any(v is not None for v in (check.policy, check.require, check.weights))


def _one(checker: Any, path: str, fmt: str, policy: Any, explicit: bool, limits: Limits) -> None:
    from ..check import ignored_keys
    from ..grading import score
    from ..reader import read_problem_document
    from ..render.checkview import report_object, report_renderables, score_line

    source = "stdin" if path == "-" else path
    document = read_problem_document(
        path, "object with any of Z, dW, db, dA_prev", limits=limits, what="the answer file"
    )
    report = check_document(checker, document, source, policy)
    ignored = ignored_keys(document)
    if ignored:
        note(f"ignored the keys that are not answers: {_keys_text(ignored)}")
    for message in report.notes:
        note(message)
    points = score(report, policy)
    if fmt == "json":
        obj = report_object(report, checker)
        if explicit:
            obj["score"] = _score_object(points)
        write_json(obj)
    else:
        console = stdout_console()
        for renderable in report_renderables(checker, report):
            # every line is laid out within the width already: rich need not measure it to crop it
            console.print(renderable, crop=False)
        if explicit:
            console.print(score_line(points), highlight=False)
    if not report.all_right:
        raise typer.Exit(code=1)


def _score_object(score: Any) -> dict[str, Any]:
    return {"points": score.points, "total": score.total, "max": score.max}


def _check_feedback_dir(directory: str) -> None:
    """Refuse a feedback folder that is a file, or whose parent folder does not exist."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InputError(f"--feedback-dir {directory!r} is a file, not a folder")
    if not target.exists() and not target.resolve().parent.is_dir():
        raise InputError(f"--feedback-dir {directory!r}: the folder {str(target.parent)!r} does not exist")


def feedback_names(rows: list[Any], inputs: list[Path], directory: Path) -> list[Path | None]:
    """One feedback path per row (None for a skipped file): the answer's stem + .md in ``directory``,
    numbered (-2, -3, ...) when two answers share a stem or the name is one of the input files."""
    taken = {p.resolve() for p in inputs}
    names: list[Path | None] = []
    for row in rows:
        if row.skipped:
            names.append(None)
            continue
        stem, k = Path(row.file).stem, 1
        while True:
            candidate = directory / (f"{stem}.md" if k == 1 else f"{stem}-{k}.md")
            if candidate.resolve() not in taken:
                break
            k += 1
        taken.add(candidate.resolve())
        names.append(candidate)
    return names


def _many(
    checker: Any, spec: str, files: list[Path], fmt: str, policy: Any, check: CheckOptions, limits: Limits
) -> None:
    from ..grading import Graded, class_summary, gradebook_csv
    from ..render.checkview import (
        class_lines,
        feedback_markdown,
        grade_counts,
        grade_heading,
        grade_object,
        grade_summary,
        grade_table,
    )

    if not files:
        raise UsageError(f"no answer files found in {spec!r}")
    rows = []
    for path in files:
        if is_answer_file(path, policy.pattern):
            rows.append(grade_file(checker, str(path), policy, limits))
        else:
            rows.append(Graded(str(path), path.stem, error="not a JSON file, skipped", skipped=True))
    ignored: dict[str, int] = {}  # key -> files that had it
    for row in rows:
        for key in row.ignored:
            ignored[key] = ignored.get(key, 0) + 1
    if ignored:
        counts = [f"{_cut(key)} ({n} file{'s' if n != 1 else ''})" for key, n in ignored.items()]
        note(f"ignored the keys that are not answers: {', '.join(counts)}")
    summary = class_summary(rows)
    if check.gradebook is not None:
        if Path(check.gradebook).resolve() in {p.resolve() for p in files}:
            raise InputError(f"--gradebook {check.gradebook!r} is one of the answer files: choose another name")
        write_file_atomically(check.gradebook, gradebook_csv(rows, tuple(checker.quantities())))
    if check.feedback_dir is not None:
        directory = Path(check.feedback_dir)
        try:
            directory.mkdir(exist_ok=True)
        except OSError as err:
            raise InputError(
                f"cannot make the folder {check.feedback_dir!r} (--feedback-dir): {err.strerror}"
            ) from None
        for row, target in zip(rows, feedback_names(rows, files, directory)):
            if target is not None:
                write_file_atomically(str(target), feedback_markdown(checker, row))
    if fmt == "json":
        write_json(grade_object(rows, summary))
    else:
        console = stdout_console()
        console.print(grade_heading(rows), highlight=False, soft_wrap=True)
        console.print(grade_table(rows))
        for line in class_lines(summary):
            console.print(line, highlight=False, soft_wrap=True)
        print(grade_summary(rows), file=sys.stderr)
    right, _, _, _ = grade_counts(rows)
    if right != sum(not row.skipped for row in rows):
        raise typer.Exit(code=1)
