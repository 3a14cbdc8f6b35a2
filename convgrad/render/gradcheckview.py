"""gradcheck's table view: the heading saying how it was computed, the table, the pass rule and the verdict."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from ..gradcheck import GradcheckRow
from .checkview import gradcheck_table


def gradcheck_renderables(rows: list[GradcheckRow], *, exact: bool, step: Any, rtol: float,
                          passed: bool) -> list[RenderableType]:
    """What the terminal shows, in order. step: the step used (a Fraction when exact, else a float)."""
    how = f"exact rationals, step {step}" if exact else f"float64, step {step}"
    shown: list[RenderableType] = [
        Text(f"gradcheck: L = sum(Z · dZ), central differences ({how})", style="bold"),
        gradcheck_table(rows, exact),
    ]
    if not exact:
        shown.append(f"An entry passes when |error| <= {rtol:g} · |gradient| + {rows[0].noise:.2g}, the "
                     f"rounding the difference quotient itself carries (about 1e-14 · sum|Z·dZ| / step).")
    if exact:
        verdict = ("The difference quotients equal the gradients exactly (a convolution is linear in "
                   "W, b and A_prev)." if passed else "Some difference quotients differ from the gradients.")
    else:
        verdict = "Passed." if passed else "FAILED: an error is above the tolerance."
    shown.append(Text(verdict, style="bold green" if passed else "bold red"))
    return shown
