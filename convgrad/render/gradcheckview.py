"""gradcheck's table view: the heading saying how it was computed, the table, the pass rule and the verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..gradcheck import GRADIENT_OF, AnswerRow, CentralDifference, GradcheckRow


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


# -- lecture aids --------------------------------------------------------------------------------


def _num(value: Any) -> str:
    """A number as the lecture shows it: a Fraction as a/b (or its finite decimal), a float in full."""
    from fractions import Fraction

    from ..numbers import finite_decimal_text

    if isinstance(value, Fraction):
        text = finite_decimal_text(value)
        return text if text is not None else f"{value.numerator}/{value.denominator}"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _short(value: Any) -> str:
    """A quotient in a list of wrong entries: ten significant digits are plenty to see the error."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return _num(value)


def _index(index: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]" if index else ""


def difference_renderables(d: CentralDifference, *, exact: bool) -> list[RenderableType]:
    """One entry's central difference, written out as on a blackboard."""
    grad = GRADIENT_OF[d.array]
    entry = f"{d.array}{_index(d.index)}"
    two_h = 2 * d.h
    how = "exact rationals" if exact else "float64"
    diff = d.quotient - d.analytic
    lines: list[RenderableType] = [
        Text(f"{entry}: central difference of L = sum(Z · dZ), {how}, h = {_num(d.h)}", style="bold"),
        f"  x = {entry} = {_num(d.value)}",
        f"  f(x+h) = L with {entry} = {_num(d.value + d.h)}: {_num(d.plus)}",
        f"  f(x-h) = L with {entry} = {_num(d.value - d.h)}: {_num(d.minus)}",
        f"  (f(x+h) - f(x-h)) / 2h = ({_num(d.plus)} - {_num(d.minus)}) / {_num(two_h)}",
        f"                         = {_num(d.plus - d.minus)} / {_num(two_h)} = {_num(d.quotient)}",
        f"  analytic {grad}{_index(d.index)} (backward) = {_num(d.analytic)}",
    ]
    if exact:
        verdict = "equal exactly" if d.quotient == d.analytic else f"NOT equal: they differ by {_num(diff)}"
    else:
        verdict = f"{abs(float(diff)):.3g} (rounding only: L is linear in {d.array})"
    lines.append(f"  quotient - analytic: {verdict}")
    return lines


def difference_object(d: CentralDifference) -> dict[str, Any]:
    return {
        "entry": f"{d.array}{_index(d.index)}",
        "gradient": GRADIENT_OF[d.array],
        "index": list(d.index),
        "x": d.value,
        "h": d.h,
        "f_plus": d.plus,
        "f_minus": d.minus,
        "quotient": d.quotient,
        "analytic": d.analytic,
    }


#: Wrong entries listed per quantity before "... and N more".
SHOWN_WRONG = 10


def answer_renderables(
    rows: list[AnswerRow], *, exact: bool, step: Any, rtol: float, passed: bool
) -> list[RenderableType]:
    """A student's gradient against central differences: a row per quantity, then the entries that disagree."""
    how = f"exact rationals, step {step}" if exact else f"float64, step {step}"
    shown: list[RenderableType] = [Text(f"The given gradients against central differences ({how})", style="bold")]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for title in ("quantity", "entries", "agree", "disagree"):
        table.add_column(title, justify="right" if title != "quantity" else "left", no_wrap=True)
    for row in rows:
        if row.given_shape != row.shape:
            table.add_row(row.quantity, "-", "-", f"shape {tuple(row.given_shape)}, expected {tuple(row.shape)}")
        else:
            table.add_row(row.quantity, str(row.checked), str(row.checked - len(row.wrong)), str(len(row.wrong)))
    shown.append(table)
    for row in rows:
        for entry in row.wrong[:SHOWN_WRONG]:
            shown.append(
                f"  {row.quantity}{_index(entry.index)}: given {_num(entry.given)}, "
                f"central difference {_short(entry.numeric)}"
            )
        if len(row.wrong) > SHOWN_WRONG:
            shown.append(f"  ... and {len(row.wrong) - SHOWN_WRONG} more wrong entries of {row.quantity}")
    if not exact:
        shown.append(f"An entry agrees when |given - quotient| <= {rtol:g} · |value| + rounding noise.")
    verdict = "Every given entry agrees." if passed else "Some given entries disagree with the central differences."
    shown.append(Text(verdict, style="bold green" if passed else "bold red"))
    return shown


def answer_object(rows: list[AnswerRow], rtol: float, passed: bool) -> dict[str, Any]:
    return {
        "passed": passed,
        "rtol": rtol,
        "answer": {
            row.quantity: {
                "shape": list(row.shape),
                "given_shape": list(row.given_shape),
                "checked": row.checked,
                "passed": row.passed,
                "wrong": [{"index": list(e.index), "given": e.given, "numeric": e.numeric} for e in row.wrong],
            }
            for row in rows
        },
    }
