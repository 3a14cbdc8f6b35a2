"""The table view of a kind that declares its overlay's columns (every kind but convolution):
one row per overlay with the kind's columns in the kind's order, then the totals.

Nothing here names a kind: the columns, their titles and the values come from
``kind.columns`` and each ``Record.values``. Functions return rich renderables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..api import Result
from ..forms import BARE
from ..numbers import index_label
from ..problem import entry_names
from .text import Style, shape_text


def header(result: Result, command: str) -> Text:
    """Two lines naming the problem: the pass and kind, then the shapes."""
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    count = g.overlay_count
    first = [
        command,
        f"{p.layer}",
        f"{count} overlay{'s' if count != 1 else ''} ({getattr(p.kind, 'overlay_unit', 'one per entry')})",
    ]
    if p.form.kind != BARE:
        first.append(p.form.layout)
    second = [f"A_prev {shape_text(shapes['A_prev'])}"]
    second += [f"{key} {_param_text(value, result)}" for key, value in p.params.items()]
    text = Text(" · ".join(first), style="bold")
    text.append("\n" + " · ".join(second) + f" → Z {shape_text(shapes['Z'])}")
    return text


def _param_text(value: Any, result: Result) -> str:
    if isinstance(value, bool):  # a flag such as pooling's ceil_mode
        return str(value).lower()
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):  # a setting per spatial dim (conv-transpose's stride, padding)
        return "[" + ", ".join(_param_text(v, result) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return result.problem.domain.format(value) if result.problem.domain.dtype == object else f"{value:g}"


def where_text(result: Result, canonical: tuple[int, ...]) -> str:
    """An entry's index in the user's form: [1, 0] for a bare 2-D input."""
    return index_label("", result.problem.form.activation_index(canonical)).strip()


def _value_text(value: Any, style: Style) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # a kind's words, such as where conv-transpose's scatter lands
        return value
    array = np.asarray(value, dtype=object)
    if array.ndim == 0:
        return style.fmt(array[()])
    return " ".join(style.fmt(v) for v in array.reshape(-1))


def overlay_table(result: Result, indices: Iterable[int], style: Style) -> Table:
    """One row per overlay: its number, where it reads (in the user's indices), then the kind's columns."""
    kind = result.problem.kind
    assert kind is not None
    columns = [c for c in kind.columns if result.is_backward or not c.backward]
    title = getattr(kind, "title", None)  # a kind whose rule is not Z = f(A_prev) names its own
    table = Table(
        title=(
            title
            if title is not None
            else f"Z = {kind.name}(A_prev)"
            + (
                f", {getattr(kind, 'backward_rule', f'dA_prev = dZ·{kind.name}' + chr(39) + '(A_prev)')}"
                if result.is_backward
                else ""
            )
        )
        + f"\n{kind.sentence}",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("entry", no_wrap=True)
    for column in columns:
        table.add_column(column.title, justify="right", overflow="fold")
    for record in result.records(indices):
        where = _reads_text(result, record.reads)
        cells = [str(record.index + 1), where] + [_value_text(record.values[c.key], style) for c in columns]
        table.add_row(*cells)
    return table


def _reads_text(result: Result, reads: tuple[tuple[int, ...], ...]) -> str:
    """The entries an overlay reads: each of one or two, else the first to the last (a window)."""
    if len(reads) > 2:
        return f"{where_text(result, reads[0])} to {where_text(result, reads[-1])}"
    return ", ".join(where_text(result, index) for index in reads)


def totals(result: Result, style: Style) -> Table | Text:
    """Z and, after a backward pass, the gradients the kind has, each in the user's form."""
    names = [name for name in ("Z", "dW", "db", "dA_prev") if result.shown(name) is not None]
    if style.symbolic:  # one line per entry, named like the inputs: Z11 = ...
        blocks = []
        for name in names:
            values = np.asarray(result.shown(name), dtype=object)
            labels = entry_names(name, values.shape)
            blocks.append("\n".join(f"{labels[i]} = {style.fmt(v)}" for i, v in np.ndenumerate(values)))
        return Text("\n\n".join(blocks))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    for name in names:
        table.add_row(name, Text(_grid_text(np.asarray(result.shown(name), dtype=object), style)))
    return table


def _grid_text(array: np.ndarray, style: Style) -> str:
    """Rows of the last axis, right-aligned; leading axes as [i, j] headings."""
    if array.ndim <= 1:
        return "  ".join(style.fmt(v) for v in array.reshape(-1))
    cells = np.vectorize(style.fmt, otypes=[object])(array)
    width = max(len(c) for c in cells.reshape(-1))
    lines = []
    for lead in np.ndindex(*array.shape[:-2]):
        if lead:
            lines.append(f"[{', '.join(map(str, lead))}]")
        for row in cells[lead]:
            lines.append("  ".join(c.rjust(width) for c in row))
    return "\n".join(lines)


def narrative(result: Result, indices: Iterable[int], style: Style) -> Iterator[RenderableType]:
    """--explain: the rule once, then each overlay in one sentence built from its declared columns."""
    kind = result.problem.kind
    assert kind is not None
    yield Text(f"{kind.sentence}.")
    note = getattr(kind, "overlay_note", None)  # a kind whose overlays are not entry for entry says how
    story = getattr(kind, "overlay_story", None)  # a kind whose overlays are windows says what one is
    if note is not None:
        yield Text(note)
    elif story is not None:
        yield Text(story + (" and adds its dA_prev share onto the window's entries." if result.is_backward else "."))
    else:
        yield Text(
            "Each overlay is one entry: it reads that entry of A_prev and writes the same entry of Z"
            + (
                " and of dA_prev; nothing else adds to them, so the totals are the overlays side by side."
                if result.is_backward
                else "."
            )
        )
    columns = [c for c in kind.columns if result.is_backward or not c.backward]
    for record in result.records(indices):
        where = ", ".join(where_text(result, index) for index in record.reads)
        parts = [f"{c.title} = {_value_text(record.values[c.key], style)}" for c in columns]
        yield Text(
            f"Overlay {record.index + 1} (entr{'y' if len(record.reads) == 1 else 'ies'} {where}): "
            + ", ".join(parts)
            + "."
        )
    yield from _identities(result, style)


def _identities(result: Result, style: Style) -> Iterator[RenderableType]:
    """The identities a kind states about itself (conv-transpose), each side computed on its own."""
    p = result.problem
    check = getattr(p.kind, "identities", None)
    if check is None:
        return
    for identity in check(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params):
        verdict = "holds" if identity.agrees else "DOES NOT HOLD"
        yield Text("")
        yield Text(f"Identity: {identity.statement}: {verdict}.", style="bold" if identity.agrees else "bold red")
        right = p.domain.finalize(identity.right) if p.domain.dtype == object else identity.right
        yield Text(_grid_text(np.asarray(p.form.activation_from_canonical(right), dtype=object), style))


def render(
    result: Result, indices: Iterable[int], style: Style, command: str, explain: bool = False
) -> Iterator[RenderableType]:
    """Header, the overlay table (or the --explain sentences), the totals."""
    yield header(result, command)
    rows = list(indices)
    if rows:
        yield Text("")
        if explain:
            yield from narrative(result, rows, style)
        else:
            yield overlay_table(result, rows, style)
    yield Text("")
    yield Text("Totals" if result.is_backward else "Result", style="bold dim")
    yield totals(result, style)
