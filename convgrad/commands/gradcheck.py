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
