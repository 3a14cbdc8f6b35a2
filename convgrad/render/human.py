"""The human view, in print order: the header naming the problem, the overlays (the table view, or
the --explain narrative), the totals, then the audits that apply.

Functions return rich renderables; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from ..api import Result
from ..forms import BARE
from .auditview import audit_renderables
from .explain import narrative
from .table import overlay_section, totals
from .text import make_style, padding_text, per_dim_text, shape_text


def header(result: Result, command: str, wrap: bool = True) -> Text:
    """Two lines naming the problem: the pass, then shapes and configuration (``wrap``: at the width)."""
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    count = g.overlay_count
    first = [f"{command}", f"{g.dims}-D {p.mode_name}", f"{count} overlay{'s' if count != 1 else ''}"]
    if p.form.kind != BARE:
        first.append(f"{p.form.layout}")
    second = [
        f"A_prev {shape_text(shapes['A_prev'])}",
        f"W {shape_text(shapes['W'])}",
        f"stride {per_dim_text(g.stride)}",
        f"padding {padding_text(g)}",
    ]
    if any(d != 1 for d in g.dilation):
        second.append(f"dilation {per_dim_text(g.dilation)}")
    if g.groups != 1:
        second.append(f"groups {g.groups}")
    text = Text(" · ".join(first), style="bold")
    text.append("\n" + " · ".join(second) + f" → Z {shape_text(shapes['Z'])}")
    if not wrap:  # read by a program or a pager: one line each, whatever the width
        text.no_wrap, text.overflow = True, "ignore"
    return text


def render(
    result: Result,
    indices: Iterable[int],
    console: Console,
    *,
    precision: int | None = None,
    view: str = "auto",
    command: str = "backward",
    explain: bool = False,
    cell: str | None = None,
) -> Iterator[RenderableType]:
    """Renderables for the human view, in print order: header, overlays (or the --explain
    narrative), totals, then the audits that apply."""
    style = make_style(result, precision, console.width)
    if result.problem.kind is not None:  # a kind that declares its columns: the generic view
        from . import columns

        yield from columns.render(result, indices, style, command, explain)
        if cell is not None:
            yield from audit_renderables(result, style, cell)
        return
    # in a Group: print() would merge a bare Text with its neighbours and drop its no_wrap
    yield Group(header(result, command, wrap=console.is_terminal))
    form = result.problem.form
    if form.channels_last and form.kind != BARE:
        yield Text(f"Arrays are drawn channel by channel; --json gives them in {form.layout} order.", style="italic")
    if explain:
        yield from narrative(result, indices, style)
    else:
        yield from overlay_section(result, indices, console, style, view)
    yield Text("")
    yield Rule("Totals" if result.is_backward else "Result", align="left", style="dim")
    yield totals(result, style)
    yield from audit_renderables(result, style, cell)
