"""gradcheck: backward's gradients against central finite differences of the forward pass."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import typer

from ..errors import UsageError
from ..limits import Limits
from ..options import DEFAULT_STEP, GradcheckOptions, OutputOptions, ProblemOptions
from .common import gather_fields, json_format, stdout_console, write_json


def run(options: ProblemOptions, output: OutputOptions, check: GradcheckOptions, limits: Limits) -> None:
    """Finite differences against backward's gradients; exit 1 when any quantity fails."""
    from ..gradcheck import check_step, gradcheck
    from ..numbers import ExactDomain, parse_number_text
    from ..problem import build_problem
    from ..render.gradcheckview import gradcheck_object, gradcheck_renderables

    fmt = json_format(output)
    fields = gather_fields(options, limits)
    if "layers" in fields:  # a chain of layers: the loss against every layer's gradients
        from .chaintools import run_gradcheck

        run_gradcheck(fields, output, check, limits)
        return
    if fields.get("symbolic"):
        raise UsageError("gradcheck compares numbers: give numbers, not names")
    exact = bool(fields.pop("exact", False)) or check.exact
    # float64 always: float32 rounding would swamp any difference quotient, and it checks the maths.
    problem = build_problem(fields, need_dZ=True, domain=ExactDomain() if exact else None, float64=True, limits=limits)
    step: Any = Fraction(DEFAULT_STEP) if exact else float(DEFAULT_STEP)
    if check.step is not None:
        step = parse_number_text(check.step, "--step")
        if step is None or step <= 0:
            raise UsageError(f"--step must be a positive number such as 1e-3 or 1/1000, got {check.step!r}")
        step = check_step(step, exact)
    if check.answer is not None and check.show is not None:
        raise UsageError("--answer and --show are separate aids: give one of them")
    if check.show is not None:
        show_entry(problem, check.show, step, fmt, exact)
        return
    if check.answer is not None:
        check_answer_file(problem, check.answer, step, check.rtol, fmt, exact, limits)
        return
    rows = gradcheck(problem, step=step, max_entries=check.max_entries, rtol=check.rtol)
    for row in rows:
        if row.skipped:
            from .common import note

            note(
                f"{row.skipped} {row.quantity} entr{'ies' if row.skipped != 1 else 'y'} skipped: within the step "
                f"{step} of {getattr(problem.kind, 'kink_name', 'a kink')} of {problem.layer}, where a difference "
                "quotient measures neither side"
            )
    passed = all(r.passed for r in rows)
    if fmt == "json":
        write_json(gradcheck_object(rows, check.rtol, passed))
    else:
        console = stdout_console()
        for renderable in gradcheck_renderables(
            rows, exact=exact, step=step, rtol=check.rtol, passed=passed, layer=problem.layer
        ):
            console.print(renderable)
    if not passed:
        raise typer.Exit(code=1)


def parse_entry(text: str, problem: Any) -> tuple[str, tuple[int, ...]]:
    """'W[0,1]', 'dW[0,1]', 'dA_prev[2]', 'b', 'db[1]' -> (W | A_prev | b, index in the user's form)."""
    import re

    from ..gradcheck import ENTRY_ARRAYS

    m = re.fullmatch(r"\s*(dA_prev|A_prev|dW|W|db|b)\s*(?:\[([\d,\s]*)\])?\s*", text)
    if not m:
        raise UsageError(f"--show {text!r} is not an entry such as W[0,1], dA_prev[2] or db[0]")
    array = ENTRY_ARRAYS[m.group(1)]
    digits = m.group(2) or ""
    index = tuple(int(part) for part in digits.split(",") if part.strip())
    shape = tuple(problem.user_shapes[array])
    if len(index) != len(shape):
        raise UsageError(
            f"--show {text!r}: {array} has shape {shape}, so an entry needs {len(shape)} "
            f"index{'es' if len(shape) != 1 else ''}"
        )
    if any(not 0 <= i < n for i, n in zip(index, shape)):
        raise UsageError(f"--show {text!r} is outside {array}, whose shape is {shape} (indices count from 0)")
    return array, index


def show_entry(problem: Any, text: str, step: Any, fmt: str, exact: bool) -> None:
    """The difference quotient for one entry, every number written out."""
    from ..gradcheck import central_difference
    from ..render.gradcheckview import difference_object, difference_renderables

    array, index = parse_entry(text, problem)
    difference = central_difference(problem, array, index, step)
    if fmt == "json":
        write_json(difference_object(difference))
        return
    console = stdout_console()
    for renderable in difference_renderables(difference, exact=exact):
        console.print(renderable)


def check_answer_file(problem: Any, path: str, step: Any, rtol: float, fmt: str, exact: bool, limits: Limits) -> None:
    """A student's dW, db, dA_prev against central differences, entry by entry; exit 1 when any disagrees."""
    from ..check import parse_answer
    from ..errors import InputError
    from ..gradcheck import check_answer
    from ..reader import read_problem_document
    from ..render.gradcheckview import answer_object, answer_renderables
    from .common import note

    document = read_problem_document(path, "answer object with dW, db, dA_prev", limits, what="the answer file")
    answer = parse_answer(document, path)
    if "Z" in answer:
        note("Z in the answer file is not a gradient: gradcheck --answer checks dW, db and dA_prev; use check for Z")
    if not any(q in answer for q in ("dW", "db", "dA_prev")):
        raise InputError(f"{path} gives none of dW, db, dA_prev: nothing for gradcheck to check")
    rows = check_answer(problem, answer, step=step, rtol=rtol)
    passed = all(row.passed for row in rows)
    if fmt == "json":
        write_json(answer_object(rows, rtol, passed))
    else:
        console = stdout_console()
        for renderable in answer_renderables(rows, exact=exact, step=step, rtol=rtol, passed=passed):
            console.print(renderable)
    if not passed:
        raise typer.Exit(code=1)
