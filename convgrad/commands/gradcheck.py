"""gradcheck: backward's gradients against central finite differences of the forward pass."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import UsageError
from .common import gather_fields, json_format, stdout_console, write_json


def run(options: dict[str, Any]) -> None:
    from ..gradcheck import gradcheck
    from ..numbers import ExactDomain, parse_number_text
    from ..problem import build_problem
    from ..render.checkview import gradcheck_object, gradcheck_table

    fmt = json_format(options)
    fields = gather_fields(options)
    if fields.get("symbolic"):
        raise UsageError("gradcheck compares numbers: give numbers, not names")
    exact = bool(fields.pop("exact", False)) or bool(options.get("exact"))
    problem = build_problem(fields, need_dZ=True, domain=ExactDomain() if exact else None)
    step: Any = None
    if options.get("step") is not None:
        step = parse_number_text(options["step"])
        if step is None or step <= 0:
            raise UsageError(f"--step must be a positive number such as 1e-3 or 1/1000, got {options['step']!r}")
        step = step if exact else float(step)
    rtol = options.get("rtol") or 1e-6
    rows = gradcheck(problem, step=step, max_entries=options.get("max_entries") or 400, rtol=rtol)
    passed = all(r.passed for r in rows)
    if fmt == "json":
        write_json(gradcheck_object(rows, rtol, passed))
    else:
        from rich.text import Text

        console = stdout_console()
        how = ("exact rationals, step " + str(step if step is not None else "1/1000")) if exact else (
            f"floats, step {step if step is not None else 1e-3}, tolerance {rtol:g} relative")
        console.print(Text(f"gradcheck: L = sum(Z · dZ), central differences ({how})", style="bold"))
        console.print(gradcheck_table(rows, exact))
        if exact:
            verdict = ("The difference quotients equal the gradients exactly (a convolution is linear in "
                       "W, b and A_prev)." if passed else "Some difference quotients differ from the gradients.")
        else:
            verdict = "Passed." if passed else "FAILED: an error is above the tolerance."
        console.print(Text(verdict, style="bold green" if passed else "bold red"))
    if not passed:
        raise typer.Exit(code=1)
