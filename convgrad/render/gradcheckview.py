"""gradcheck's table view: the heading saying how it was computed, the table, the pass rule and the verdict."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..gradcheck import GradcheckRow


def gradcheck_renderables(
    rows: list[GradcheckRow], *, exact: bool, step: Any, rtol: float, passed: bool, layer: str = "conv"
) -> list[RenderableType]:
    """What the terminal shows, in order. step: the step used (a Fraction when exact, else a float)."""
    how = f"exact rationals, step {step}" if exact else f"float64, step {step}"
    shown: list[RenderableType] = [
        Text(f"gradcheck: L = sum(Z · dZ), central differences ({how})", style="bold"),
        gradcheck_table(rows, exact),
    ]
    if not exact:
        shown.append(
            f"An entry passes when |error| <= {rtol:g} · |gradient| + {rows[0].noise:.2g}, the "
            f"rounding the difference quotient itself carries (about 1e-14 · sum|Z·dZ| / step)."
        )
    if exact:
        verdict = (
            (
                "The difference quotients equal the gradients exactly (a convolution is linear in W, b and A_prev)."
                if layer == "conv"
                else f"The difference quotients equal the gradients exactly ({layer} is linear in W, b and A_prev)."
                if any(row.quantity == "dW" for row in rows)
                else f"The difference quotients equal the gradients exactly ({layer} is linear on each side of its kink)."
            )
            if passed
            else "Some difference quotients differ from the gradients."
        )
    else:
        verdict = "Passed." if passed else "FAILED: an error is above the tolerance."
    shown.append(Text(verdict, style="bold green" if passed else "bold red"))
    return shown


def gradcheck_table(rows: list[GradcheckRow], exact: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for title in ("quantity", "entries", "max abs error", "max rel error"):
        table.add_column(title, justify="right" if title != "quantity" else "left", no_wrap=True)
    if exact:
        table.add_column("quotient = gradient", no_wrap=True)
    for row in rows:
        checked = f"{row.checked}" if row.checked == row.total else f"{row.checked} of {row.total}"
        cells = [row.quantity, checked, f"{row.max_abs:.3g}", f"{row.max_rel:.3g}"]
        if exact:
            cells.append("exactly equal" if row.exactly_equal else "NOT equal")
        table.add_row(*cells)
    return table


def gradcheck_object(rows: list[GradcheckRow], rtol: float, passed: bool) -> dict[str, Any]:
    return {
        "passed": passed,
        "rtol": rtol,
        "quantities": {
            row.quantity: {
                "checked": row.checked,
                "entries": row.total,
                "max_abs_error": row.max_abs,
                "max_rel_error": row.max_rel,
                "exactly_equal": row.exactly_equal,
                "passed": row.passed,
                "noise_floor": row.noise,
            }
            for row in rows
        },
    }
