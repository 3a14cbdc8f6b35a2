"""gradcheck: backward's gradients against central finite differences of the forward pass."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import UsageError
from .common import gather_fields, json_format, limits_of, stdout_console, write_json


def run(options: dict[str, Any]) -> None:
    from ..gradcheck import check_step, gradcheck
    from ..numbers import ExactDomain, parse_number_text
    from ..problem import build_problem
    from ..render.checkview import gradcheck_object, gradcheck_table

    fmt = json_format(options)
    fields = gather_fields(options)
    if fields.get("symbolic"):
        raise UsageError("gradcheck compares numbers: give numbers, not names")
    exact = bool(fields.pop("exact", False)) or bool(options.get("exact"))
    # float64 always: float32 rounding would swamp any difference quotient, and it checks the maths.
    problem = build_problem(fields, need_dZ=True, domain=ExactDomain() if exact else None, float64=True,
                            limits=limits_of(options))
    step: Any = None
    if options.get("step") is not None:
        step = parse_number_text(options["step"], "--step")
        if step is None or step <= 0:
            raise UsageError(f"--step must be a positive number such as 1e-3 or 1/1000, got {options['step']!r}")
        step = check_step(step, exact)
    rtol = 1e-6 if options.get("rtol") is None else options["rtol"]
    rows = gradcheck(problem, step=step, max_entries=options.get("max_entries") or 400, rtol=rtol)
    passed = all(r.passed for r in rows)
    if fmt == "json":
        write_json(gradcheck_object(rows, rtol, passed))
    else:
        from rich.text import Text

        console = stdout_console()
        how = ("exact rationals, step " + str(step if step is not None else "1/1000")) if exact else (
            f"float64, step {step if step is not None else 1e-3}")
        console.print(Text(f"gradcheck: L = sum(Z · dZ), central differences ({how})", style="bold"))
        console.print(gradcheck_table(rows, exact))
        if not exact:
            console.print(f"An entry passes when |error| <= {rtol:g} · |gradient| + {rows[0].noise:.2g}, the "
                          f"rounding the difference quotient itself carries (about 1e-14 · sum|Z·dZ| / step).")
        if exact:
            verdict = ("The difference quotients equal the gradients exactly (a convolution is linear in "
                       "W, b and A_prev)." if passed else "Some difference quotients differ from the gradients.")
        else:
            verdict = "Passed." if passed else "FAILED: an error is above the tolerance."
        console.print(Text(verdict, style="bold green" if passed else "bold red"))
    if not passed:
        raise typer.Exit(code=1)
