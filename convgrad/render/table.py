"""The table view: one row per overlay in a forward table (and after a backward pass a dW/db table
and a dA_prev table), or one block per overlay when a table is too wide; then the totals.

Functions return rich renderables. Arrays are drawn per sample and channel as
spatial grids, whatever layout they came in. Each table and block is declared once (TableSpec,
BlockSpec) and drawn either by rich, styled, or by the layout engine (render/layout.py), plain:
the same characters either way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..api import Result
from ..forms import BARE
from ..layers.base import Overlay
from ..layers.conv import RunningTotals, interior, window_taps
from ..problem import entry_names
from . import layout
from .grids import (
    Picture,
    activation_picture,
    activation_text,
    cells_of,
    grid,
    is_small,
    output_picture,
    window_array_picture,
    window_picture,
)
from .text import Formatter, Style, position_text, shape_text, window_words, z_expression


@dataclass
class OverlayRow:
    """Everything shown for one overlay: its words and numbers as text, its arrays as Pictures
    (drawn styled for rich or plain for the layout engine, from the same cells)."""

    number: int
    n: int
    c_out: int
    position: str
    window: Picture | str  # the padded input with the window marked (small problems), else its words
    where: str
    A_slice: Picture
    kernel: Picture
    Z: str
    dZ: str | None = None
    dW: Picture | None = None
    dW_so_far: Picture | None = None
    db: str | None = None
    db_so_far: str | None = None
    dA: Picture | None = None
    dA_so_far: Picture | None = None
    discarded: bool = False
    output: Picture | None = None


def overlay_row(
    overlay: Overlay,
    running: RunningTotals | None,
    result: Result,
    style: Style,
    shared: dict[tuple[Any, ...], Picture] | None = None,
) -> OverlayRow:
    """One overlay's row. ``shared`` keeps the pictures that overlays have in common between calls:
    a filter's kernel (the same in every overlay of that filter) and a window's A_slice (the same
    for every filter that reads that window)."""
    p = result.problem
    g, fmt = p.geom, style.fmt
    small = is_small(result)
    where = window_words(overlay, g)
    first = overlay.channels.start
    shared = {} if shared is None else shared

    def kept(key: tuple[Any, ...], array: np.ndarray) -> Picture:
        if key not in shared:
            shared[key] = window_array_picture(array, g, fmt, first_channel=first)
        return shared[key]

    A_slice = kept(("A_slice", overlay.n, first, overlay.window_start), overlay.A_slice)
    kernel = kept(("kernel", overlay.c_out, first), overlay.kernel)
    shown = None if kernel.texts is None or A_slice.texts is None else (kernel.texts, A_slice.texts)
    row = OverlayRow(
        number=overlay.index + 1,
        n=overlay.n,
        c_out=overlay.c_out,
        position=position_text(overlay.position),
        window=window_picture(overlay, result, style) if small else where,
        where=where,
        A_slice=A_slice,
        kernel=kernel,
        Z=z_expression(overlay, fmt, style.symbolic, shown),
    )
    if small and g.dims <= 2 and not style.symbolic:  # formulas are too long for a grid of outputs
        row.output = output_picture(result, overlay, style)
    if overlay.dW is None or overlay.dA_prev is None or running is None:
        return row
    finalize = p.domain.finalize
    scales = result.scales
    _, dW_scale, db_scale, dA_scale = scales if scales is not None else (None,) * 4
    c = overlay.c_out
    row.dZ = fmt(overlay.dZ)
    row.dW = window_array_picture(overlay.dW, g, fmt)
    row.dW_so_far = window_array_picture(
        finalize(running.dW[c]), g, fmt, scales=None if dW_scale is None else dW_scale[c]
    )
    row.db = fmt(overlay.db)
    row.db_so_far = fmt(finalize(np.asarray(running.db[c]))[()], None if db_scale is None else db_scale[c])
    row.discarded = not overlay.in_input.all()
    row.dA = window_array_picture(overlay.dA_prev, g, fmt, overlay.in_input, first)
    channels = slice(overlay.channels.start, overlay.channels.stop)
    if small:
        dA_inner = None if dA_scale is None else dA_scale[interior(g)][overlay.n]
        row.dA_so_far = activation_picture(finalize(running.dA_prev[overlay.n]), g, fmt, ("c",), scales=dA_inner)
    else:
        taps = (overlay.n, channels) + window_taps(overlay.window_start, g)
        row.dA_so_far = window_array_picture(
            finalize(running.dA_padded[taps]),
            g,
            fmt,
            overlay.in_input,
            first,
            scales=None if dA_scale is None else dA_scale[taps],
        )
    return row


# -- tables and blocks, declared once and drawn by rich (styled) or by the layout engine (plain) ---

#: A cell of an overlay table or block: words, or a Picture of an array.
Shown = Picture | str


@dataclass
class TableColumn:
    """One column of an overlay table: its header, alignment, and the row's value it shows."""

    header: str
    value: Callable[[OverlayRow], Shown]
    justify: str = "left"
    no_wrap: bool = True
    overflow: str = "ellipsis"


@dataclass
class TableSpec:
    title: str
    columns: list[TableColumn]


def _id_columns(result: Result) -> list[TableColumn]:
    g = result.problem.geom
    columns = [TableColumn("#", lambda r: str(r.number), "right")]
    if g.batch > 1:
        columns.append(TableColumn("n", lambda r: str(r.n), "right"))
    if g.out_channels > 1:
        columns.append(TableColumn("c_out", lambda r: str(r.c_out), "right"))
    columns.append(TableColumn("position", lambda r: r.position))
    return columns


def kernel_title(result: Result) -> str:
    g = result.problem.geom
    return ("W flipped" if g.flip else "W") + ("[c_out]" if g.out_channels > 1 else "")


def _given(value: Shown | None) -> Shown:
    assert value is not None  # a backward row has every share
    return value


def table_specs(result: Result) -> list[TableSpec]:
    """Forward table, then (backward) a dW/db table and a dA_prev table: one row per overlay.

    Headers and titles are plain text ("W[c_out]" shows as written, never read as markup).
    """
    p = result.problem
    show_kernel = p.geom.flip or p.geom.out_channels > 1
    forward = _id_columns(result) + [
        TableColumn("window on A_prev", lambda r: r.window),
        TableColumn("A_slice", lambda r: r.A_slice, "right"),
    ]
    if show_kernel:
        forward.append(TableColumn(kernel_title(result), lambda r: r.kernel, "right"))
    forward.append(TableColumn("Z", lambda r: r.Z, no_wrap=False))  # wraps between terms; a cut number shows "…"
    tables = [TableSpec("Forward: Z = sum of W·A_slice over the window" + (" + b" if p.b is not None else ""), forward)]
    if not result.is_backward:
        return tables
    per_filter = "[c_out]" if p.geom.out_channels > 1 else ""
    weights = _id_columns(result) + [
        TableColumn("dZ", lambda r: _given(r.dZ), "right"),
        TableColumn("dW += dZ·A_slice", lambda r: _given(r.dW), "right"),
        TableColumn(f"dW{per_filter} so far", lambda r: _given(r.dW_so_far), "right"),
        TableColumn("db += dZ", lambda r: _given(r.db), "right"),
        TableColumn(f"db{per_filter} so far", lambda r: _given(r.db_so_far), "right"),
    ]
    so_far = "dA_prev so far" + (" (sample n)" if p.geom.batch > 1 else "")
    if not is_small(result):
        so_far += " on the window"
    inputs = _id_columns(result) + [
        TableColumn("dZ", lambda r: _given(r.dZ), "right"),
        TableColumn(f"dA_prev += dZ·{kernel_title(result)}", lambda r: _given(r.dA), "right"),
        TableColumn("lands on A_prev", lambda r: r.where),
        TableColumn(so_far, lambda r: _given(r.dA_so_far), "right"),
    ]
    tables.append(TableSpec("Backward: dW and db, each overlay's share summed", weights))
    tables.append(TableSpec("Backward: dA_prev, each overlay's share summed", inputs))
    return tables


def _rich(value: Shown) -> RenderableType:
    return value.text() if isinstance(value, Picture) else value


def _lines(value: Shown) -> str | list[str]:
    return value.lines() if isinstance(value, Picture) else value


def rich_table(spec: TableSpec, rows: list[OverlayRow]) -> Table:
    """The table as a rich Table (styled)."""
    table = Table(
        title=escape(spec.title),
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    for column in spec.columns:
        overflow: Any = column.overflow
        table.add_column(escape(column.header), justify=column.justify, no_wrap=column.no_wrap, overflow=overflow)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(_rich(column.value(row)) for column in spec.columns))
    return table


def plain_table(spec: TableSpec, rows: list[OverlayRow], console: Console) -> layout.Table:
    """The table for the layout engine (plain), headers and title as written."""
    columns = [layout.Column(c.header, c.justify, c.no_wrap, c.overflow) for c in spec.columns]
    cells = []
    for row in rows:
        values = [column.value(row) for column in spec.columns]
        for value in values:  # words rich would read as markup or emoji codes: left to rich
            if isinstance(value, str) and ("[" in value or ":" in value) and value is not row.Z:
                raise layout.Unsupported(value)
        cells.append([_lines(v) for v in values])
    return layout.Table(spec.title, columns, cells)


def overlay_tables(rows: list[OverlayRow], result: Result) -> list[Table]:
    """Forward table, then (backward) a dW/db table and a dA_prev table: one row per overlay."""
    return [rich_table(spec, rows) for spec in table_specs(result)]


@dataclass
class BlockSpec:
    """One overlay as a block: a title line, its inputs side by side, Z's sum, and (backward) the
    dZ line and its shares side by side."""

    title: str
    inputs: list[tuple[str, Shown]]
    Z: str
    dZ: tuple[str, str, str] | None = None
    shares: list[tuple[str, Shown]] | None = None


def block_spec(row: OverlayRow, result: Result) -> BlockSpec:
    g = result.problem.geom
    title = [f"overlay {row.number} of {g.overlay_count}"]
    if g.batch > 1:
        title.append(f"n {row.n}")
    if g.out_channels > 1:
        title.append(f"c_out {row.c_out}")
    title += [f"position {row.position}", f"window {row.where}"]
    inputs: list[tuple[str, Shown]] = [("A_slice", row.A_slice), (kernel_title(result), row.kernel)]
    if is_small(result):
        inputs.insert(0, ("on A_prev", row.window))
        if row.output is not None:
            inputs.append(("Z, this output in [ ]", row.output))
    spec = BlockSpec("── " + " · ".join(title), inputs, row.Z)
    if row.dZ is not None:
        spec.dZ = (row.dZ, _given(row.db), _given(row.db_so_far))  # type: ignore[assignment]
        so_far = "dA_prev so far" + ("" if is_small(result) else " on the window")
        spec.shares = [
            ("dW += dZ·A_slice", _given(row.dW)),
            ("dW so far", _given(row.dW_so_far)),
            (f"dA_prev += dZ·{kernel_title(result)}", _given(row.dA)),
            (so_far, _given(row.dA_so_far)),
        ]
    return spec


#: The words before each number of a block's dZ line.
DZ_LINE = ("dZ = ", "    db += dZ = ", "    db so far ")


def overlay_block(row: OverlayRow, result: Result) -> RenderableType:
    """One overlay as a titled block of side-by-side grids, for problems whose table is too wide."""
    spec = block_spec(row, result)
    parts: list[RenderableType] = [
        Text(spec.title, style="bold"),  # wraps rather than cut, unlike a Rule title
        _side_by_side([(label, _rich(body)) for label, body in spec.inputs]),
        Text("Z = ", style="bold") + Text(spec.Z),
    ]
    if spec.dZ is not None and spec.shares is not None:
        line = Text(DZ_LINE[0], style="bold") + Text(spec.dZ[0])
        for words, number in zip(DZ_LINE[1:], spec.dZ[1:]):
            line += Text(words, style="bold") + Text(number)
        parts.append(line)
        parts.append(_side_by_side([(label, _rich(body)) for label, body in spec.shares]))
    return Group(*parts)


def block_lines(row: OverlayRow, result: Result, width: int) -> list[str]:
    """The block of ``overlay_block`` laid out as plain lines at ``width``."""
    spec = block_spec(row, result)
    lines = layout.wrap(spec.title, width)
    lines += layout.side_by_side([[label, *_picture_lines(body)] for label, body in spec.inputs], width)
    lines += layout.wrap("Z = " + spec.Z, width)
    if spec.dZ is not None and spec.shares is not None:
        lines += layout.wrap("".join(words + number for words, number in zip(DZ_LINE, spec.dZ)), width)
        lines += layout.side_by_side([[label, *_picture_lines(body)] for label, body in spec.shares], width)
    return lines


def block_styled(row: OverlayRow, result: Result, width: int) -> list[layout.StyledLine]:
    """The block of ``overlay_block`` laid out as styled lines at ``width``: the runs rich would
    print as segments, for a terminal with colour."""
    spec = block_spec(row, result)

    def items(parts: list[tuple[str, Shown]]) -> list[list[tuple[layout.StyledLine, str]]]:
        return [[([(label, "bold")], "bold"), *_picture_styled(body)] for label, body in parts]

    lines = layout.wrap_styled([(spec.title, "bold")], width)
    lines += layout.side_by_side_styled(items(spec.inputs), width)
    lines += layout.wrap_styled([("Z = " + spec.Z, "bold")], width)
    if spec.dZ is not None and spec.shares is not None:
        runs = [(words + number, "bold") for words, number in zip(DZ_LINE, spec.dZ)]
        lines += layout.wrap_styled(runs, width)
        lines += layout.side_by_side_styled(items(spec.shares), width)
    return lines


def _picture_styled(value: Shown) -> list[tuple[layout.StyledLine, str]]:
    if isinstance(value, Picture):
        return value.styled_lines()
    return [([(line, "")] if line else [], "") for line in value.split("\n")]


def _picture_lines(value: Shown) -> list[str]:
    return value.lines() if isinstance(value, Picture) else value.split("\n")


def _side_by_side(items: list[tuple[str, Any]]) -> Columns:
    """Labelled grids in a row, wrapping onto further rows when the width runs out."""
    return Columns([Group(Text(label, style="bold"), body) for label, body in items], padding=(0, 4))


class Wide:
    """A renderable drawn at its natural width, past the console's (print it with crop=False)."""

    #: The widest it is drawn.
    MOST = 10_000

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: Any) -> Any:
        wide = options.update(max_width=self.MOST)
        width = Measurement.get(console, wide, self.renderable).maximum
        yield from console.render(self.renderable, options.update(width=width, max_width=width))


def fits(renderable: RenderableType, width: int) -> bool:
    """Whether it prints at ``width`` with nothing cut (rich marks a cut cell with "…")."""
    probe = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    probe.print(renderable)
    text = probe.file.getvalue()  # type: ignore[attr-defined]
    return "…" not in text


# -- totals --------------------------------------------------------------------------------


def formula_lines(label: str, array: Any, fmt: Formatter) -> Text:
    """One line per entry, "dW12 = ...", indices 1-based as the symbolic names are."""
    values = np.asarray(array, dtype=object)
    names = entry_names(label, values.shape)
    return Text("\n".join(f"{names[i]} = {fmt(v)}" for i, v in np.ndenumerate(values)))


def totals(result: Result, style: Style) -> Table | Text:
    """The summed totals: Z, and after a backward pass dW, db, dA_prev."""
    if style.symbolic:  # formulas read best one per line, named like the inputs
        parts = [formula_lines("Z", result.Z, style.fmt)]
        if result.is_backward:
            parts += [formula_lines(name, getattr(result, name), style.fmt) for name in ("dW", "db", "dA_prev")]
        return Text("\n\n").join(parts)
    p = result.problem
    g, fmt = p.geom, style.fmt
    Z, dW, db, dA = result.canonical_totals
    scales = result.scales or (None, None, None, None)
    Z_scale, dW_scale, db_scale, dA_scale = scales
    if dA_scale is not None:
        dA_scale = dA_scale[interior(g)]
    bare = p.form.kind == BARE
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    room = max(style.width - 10, 20)

    def draw(array: np.ndarray, scale: np.ndarray | None, names: tuple[str, str]) -> Text:
        if bare:
            return activation_text(array[0, 0], g, fmt, (), room, None if scale is None else scale[0, 0])
        return activation_text(array, g, fmt, names, room, scale)

    table.add_row("Z", draw(Z, Z_scale, ("n", "c_out")))
    if dW is not None:
        table.add_row("dW", draw(dW, dW_scale, ("c_out", "c_in")))
        if bare:
            table.add_row("db", Text(fmt(db[0], None if db_scale is None else db_scale[0])))
        else:
            db_text = grid(cells_of(db, fmt, db_scale), room)
            if p.form.bias_shape is not None:  # b was given as (1, 1, 1, C_out) or the like: db is too
                db_text += Text(f"  shape {shape_text(p.form.bias_shape)}", style="dim")
            table.add_row("db", db_text)
        table.add_row("dA_prev", draw(dA, dA_scale, ("n", "c")))
    return table


def overlay_section(
    result: Result, indices: Iterable[int], console: Console, style: Style, view: str
) -> Iterator[RenderableType]:
    """The overlays as tables when they fit (or view="table"), else one block per overlay.

    Whether the tables fit is decided from the layout engine's column widths, without drawing them
    with rich. Without colour (a pipe, a file, a dumb terminal) the layout engine draws everything;
    with colour it lays out the blocks as styled runs that rich styles, and rich draws the tables.
    Either way the characters (and with colour the escape codes) are what rich alone would print.
    """
    pairs: Iterable[tuple[Overlay, RunningTotals | None]]
    if result.is_backward:
        pairs = result.walk(indices)
    else:
        pairs = ((o, None) for o in result.canonical_overlays(indices))
    shared: dict[tuple[Any, ...], Picture] = {}
    rows = [overlay_row(o, running, result, style, shared) for o, running in pairs]
    if not rows:
        return
    width = console.width
    # Laid out here: without colour as plain lines, with colour as styled runs (rich styles them);
    # rich draws what it records (--svg, --html-record) and an ASCII-only terminal.
    laid_out = not console.record and not console.options.ascii_only
    plain = console.color_system is None and laid_out
    tables = _table_lines(rows, result, console, view) if view != "blocks" else []
    if tables is None:  # something the layout engine leaves to rich: rich draws and measures it
        yield from _rich_tables(rows, result, console, view)
    elif view == "table" or (view == "auto" and all(fits for _, fits in tables)):
        if plain:
            for lines, _ in tables:
                yield layout.Drawn(["", *lines])
        else:
            # Asked for the table even where it is too wide: print it whole, wider than the terminal.
            for table, (_, fits) in zip(overlay_tables(rows, result), tables):
                yield Text("")
                yield table if fits else Wide(table)
    else:
        yield from _blocks(rows, result, width, "plain" if plain else "styled" if laid_out else "rich")
    if any(r.discarded for r in rows):
        yield Text("(x): lands in the padding and is discarded from dA_prev", style="italic")


#: Overlay blocks drawn at a time by the layout engine (one print each).
BLOCKS_PER_PRINT = 64


def _table_lines(
    rows: list[OverlayRow], result: Result, console: Console, view: str
) -> list[tuple[list[str], bool]] | None:
    """Each table's lines as printed (at the width, or whole when it is too wide and asked for) and
    whether it fits the width; None where the layout engine leaves the tables to rich. In the auto
    view one table that does not fit decides for blocks: no line is laid out then."""
    tables: list[layout.Table] = []
    verdicts: list[bool | None] = []
    try:
        for spec in table_specs(result):
            tables.append(plain_table(spec, rows, console))
            try:
                verdicts.append(tables[-1].fits(console.width))
            except layout.Unsupported:
                verdicts.append(None)
            if view == "auto" and verdicts[-1] is False:  # blocks: no other table matters
                return [([], False)]
    except layout.Unsupported:
        return None
    if None in verdicts:
        return None
    out = []
    try:
        for table, fits in zip(tables, verdicts):
            lines = table.lines(console.width if fits else None)
            if not fits and layout.text_width(lines) > Wide.MOST:
                return None
            out.append((lines, bool(fits)))
    except layout.Unsupported:
        return None
    return out


def _rich_tables(rows: list[OverlayRow], result: Result, console: Console, view: str) -> Iterator[RenderableType]:
    """The tables drawn and measured by rich (what the layout engine leaves to it), or the blocks."""
    tables = overlay_tables(rows, result)
    fitting = [fits(t, console.width) for t in tables]
    if view == "table" or all(fitting):
        for table, fit in zip(tables, fitting):
            yield Text("")
            yield table if fit else Wide(table)
    else:
        yield from _blocks(rows, result, console.width, "rich")


def _blocks(rows: list[OverlayRow], result: Result, width: int, how: str) -> Iterator[RenderableType]:
    """One block per overlay, each after a blank line, drawn ``how``: "plain" or "styled" by the
    layout engine (a few at a time), or "rich" (also what the layout engine leaves to rich)."""
    drawn: list[str | layout.StyledLine] = []
    for row in rows:
        if how != "rich":
            try:
                block = block_lines(row, result, width) if how == "plain" else block_styled(row, result, width)
                drawn += ["", *block]
                if len(drawn) > BLOCKS_PER_PRINT * 40:
                    yield layout.Drawn(drawn)
                    drawn = []
                continue
            except layout.Unsupported:
                pass
        if drawn:
            yield layout.Drawn(drawn)
            drawn = []
        yield Text("")
        yield overlay_block(row, result)
    if drawn:
        yield layout.Drawn(drawn)
