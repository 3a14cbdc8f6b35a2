"""The human view: overlay tables (or one block per overlay when a table is too wide) and totals.

Functions return rich renderables; the CLI prints them. Arrays are drawn per
sample and channel as spatial grids, whatever layout they came in.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..api import Result
from ..engine import Overlay, RunningTotals, interior, window_taps
from ..forms import BARE
from ..geometry import Geometry
from .grids import (
    DISCARDED_STYLE,
    PADDING_MARK,
    PADDING_STYLE,
    WINDOW_STYLE,
    Cell,
    Formatter,
    cells_of,
    grid,
    spatial_labels,
    stacked,
)

#: Inputs with up to this many padded entries per sample are drawn in full.
SMALL_INPUT = 144
#: Kernels with more taps than this show Z as a count of products, not every product.
MAX_TERMS_SHOWN = 32


@dataclass
class Style:
    """How values are drawn: the formatter (value, noise scale) and the width available."""

    fmt: Formatter
    width: int
    symbolic: bool = False


def make_style(result: Result, precision: int | None, width: int) -> Style:
    domain = result.problem.domain
    return Style(lambda x, scale=None: domain.format(x, precision, scale), width, domain.name == "symbolic")


# -- words ---------------------------------------------------------------------------------


def shape_text(shape: Iterable[int]) -> str:
    dims = list(shape)
    if not dims:
        return "scalar"
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def per_dim_text(values: Iterable[Any]) -> str:
    values = list(values)
    return str(values[0]) if len(set(map(str, values))) == 1 else "(" + ", ".join(map(str, values)) + ")"


def padding_text(geom: Geometry) -> str:
    pairs = geom.padding
    if all(b == a for b, a in pairs):
        return per_dim_text(b for b, _ in pairs)
    return "(" + ", ".join(f"{b}+{a}" for b, a in pairs) + ")"


def header(result: Result, command: str) -> Text:
    """Two lines naming the problem: the pass, then shapes and configuration."""
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    count = g.overlay_count
    first = [f"{command}", f"{g.dims}-D {p.mode_name}", f"{count} overlay{'s' if count != 1 else ''}"]
    if p.form.kind != BARE:
        first.append(f"{p.form.layout}")
    second = [f"A_prev {shape_text(shapes['A_prev'])}", f"W {shape_text(shapes['W'])}",
              f"stride {per_dim_text(g.stride)}", f"padding {padding_text(g)}"]
    if any(d != 1 for d in g.dilation):
        second.append(f"dilation {per_dim_text(g.dilation)}")
    if g.groups != 1:
        second.append(f"groups {g.groups}")
    text = Text(" · ".join(first), style="bold")
    text.append("\n" + " · ".join(second) + f" → Z {shape_text(shapes['Z'])}")
    return text


def axis_span(start: int, dilation: int, k: int) -> str:
    stop = start + dilation * (k - 1)
    text = f"{start}..{stop}" if stop != start else f"{start}"
    return text + (f" step {dilation}" if dilation != 1 and k > 1 else "")


def window_words(overlay: Overlay, geom: Geometry) -> str:
    """Where the window sits in A_prev: "rows 0..1, cols 1..2" (negative: in the padding)."""
    names = {1: ["positions"], 2: ["rows", "cols"], 3: ["depth", "rows", "cols"]}.get(
        geom.dims, [f"axis {i}" for i in range(geom.dims)]
    )
    return ", ".join(
        f"{name} {axis_span(s, d, k)}"
        for name, s, d, k in zip(names, overlay.window_start, geom.dilation, geom.kernel_size)
    )


def position_text(position: tuple[int, ...]) -> str:
    return str(position[0]) if len(position) == 1 else "(" + ", ".join(map(str, position)) + ")"


# -- per-overlay pieces --------------------------------------------------------------------


def _parenthesize_negative(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def z_expression(overlay: Overlay, fmt: Formatter, symbolic: bool = False) -> str:
    """Z as the sum of products plus bias: "0.3·1 + 0.5·2 = 1.3" (symbolic: the formula itself)."""
    if symbolic:
        return fmt(overlay.Z)
    kernel, A_slice = overlay.kernel.ravel(), overlay.A_slice.ravel()
    if kernel.size > MAX_TERMS_SHOWN:
        terms = f"sum of the {kernel.size} products W·A_slice"
    else:
        terms = " + ".join(
            f"{_parenthesize_negative(fmt(w))}·{_parenthesize_negative(fmt(a))}" for w, a in zip(kernel, A_slice)
        )
    bias_text = fmt(overlay.bias)
    if bias_text != "0":
        terms += f" + {_parenthesize_negative(bias_text)}"
    return f"{terms} = {fmt(overlay.Z)}"


def window_grid(overlay: Overlay, result: Result, style: Style) -> Text:
    """The padded input of this sample and group, the window's cells bracketed."""
    p = result.problem
    g = p.geom
    channels = overlay.channels
    A = p.A_prev[overlay.n, channels.start:channels.stop]
    shape = (len(channels),) + g.padded_size
    cells = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        cells[index] = Cell(PADDING_MARK, PADDING_STYLE)
    inner = (slice(None),) + interior(g)[2:]
    cells[inner] = cells_of(A, style.fmt)
    for c in range(len(channels)):
        for cell in cells[(c,) + window_taps(overlay.window_start, g)].flat:
            cell.bracket = True
            cell.style = WINDOW_STYLE
    labels = spatial_labels(["c"], [len(channels)], g.dims)
    return stacked(cells, labels, offsets=[channels.start])


def window_array(array: np.ndarray, geom: Geometry, fmt: Formatter, in_input: np.ndarray | None = None,
                 first_channel: int = 0, scales: np.ndarray | None = None) -> Text:
    """A (C_in/G, *k) window-shaped array; entries at taps outside the input in parentheses.

    Channels are labelled with A_prev's numbers, starting at ``first_channel``.
    """
    cells = cells_of(array, fmt, scales)
    if in_input is not None and not in_input.all():
        for index in np.ndindex(*array.shape):
            if not in_input[index[1:]]:
                cell = cells[index]
                cell.text = f"({cell.text})"
                cell.style = DISCARDED_STYLE
    labels = spatial_labels(["c"], [array.shape[0]], geom.dims)
    return stacked(cells, labels, offsets=[first_channel])


def activation_text(array: np.ndarray, geom: Geometry, fmt: Formatter, names: tuple[str, ...] = ("n", "c"),
                    width: int | None = None, scales: np.ndarray | None = None) -> Text:
    """An array whose last ``geom.dims`` axes are spatial, as labelled grids (leading axes ``names``)."""
    lead = array.ndim - geom.dims
    labels = spatial_labels(list(names)[len(names) - lead:] if lead else [], array.shape[:lead], geom.dims)
    return stacked(cells_of(array, fmt, scales), labels, width)


# -- rows ----------------------------------------------------------------------------------


@dataclass
class OverlayRow:
    """Everything shown for one overlay, already drawn."""

    number: int
    n: int
    c_out: int
    position: str
    window: Text
    where: str
    A_slice: Text
    kernel: Text
    Z: Text
    dZ: Text | None = None
    dW: Text | None = None
    dW_so_far: Text | None = None
    db: Text | None = None
    db_so_far: Text | None = None
    dA: Text | None = None
    dA_so_far: Text | None = None
    discarded: bool = False
    output: Text | None = None


def is_small(result: Result) -> bool:
    g = result.problem.geom
    return g.in_channels * int(np.prod(g.padded_size)) <= SMALL_INPUT


def overlay_row(overlay: Overlay, running: RunningTotals | None, result: Result, style: Style) -> OverlayRow:
    p = result.problem
    g, fmt = p.geom, style.fmt
    small = is_small(result)
    where = window_words(overlay, g)
    first = overlay.channels.start
    row = OverlayRow(
        number=overlay.index + 1,
        n=overlay.n,
        c_out=overlay.c_out,
        position=position_text(overlay.position),
        window=window_grid(overlay, result, style) if small else Text(where),
        where=where,
        A_slice=window_array(overlay.A_slice, g, fmt, first_channel=first),
        kernel=window_array(overlay.kernel, g, fmt, first_channel=first),
        Z=Text(z_expression(overlay, fmt, style.symbolic)),
    )
    if small and g.dims <= 2 and not style.symbolic:  # formulas are too long for a grid of outputs
        from .explain import output_grid

        row.output = output_grid(result, overlay, style)
    if overlay.dW is None or running is None:
        return row
    finalize = p.domain.finalize
    scales = result.scales
    _, dW_scale, db_scale, dA_scale = scales if scales is not None else (None,) * 4
    c = overlay.c_out
    row.dZ = Text(fmt(overlay.dZ))
    row.dW = window_array(overlay.dW, g, fmt)
    row.dW_so_far = window_array(finalize(running.dW[c]), g, fmt, scales=None if dW_scale is None else dW_scale[c])
    row.db = Text(fmt(overlay.db))
    row.db_so_far = Text(fmt(finalize(np.asarray(running.db[c]))[()], None if db_scale is None else db_scale[c]))
    row.discarded = not overlay.in_input.all()
    row.dA = window_array(overlay.dA_prev, g, fmt, overlay.in_input, first)
    channels = slice(overlay.channels.start, overlay.channels.stop)
    if small:
        dA_inner = None if dA_scale is None else dA_scale[interior(g)][overlay.n]
        row.dA_so_far = activation_text(finalize(running.dA_prev[overlay.n]), g, fmt, ("c",), scales=dA_inner)
    else:
        taps = (overlay.n, channels) + window_taps(overlay.window_start, g)
        row.dA_so_far = window_array(finalize(running.dA_padded[taps]), g, fmt, overlay.in_input, first,
                                     scales=None if dA_scale is None else dA_scale[taps])
    return row


# -- tables and blocks ---------------------------------------------------------------------


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 pad_edge=False, show_edge=False)


def _id_columns(table: Table, result: Result) -> list[str]:
    g = result.problem.geom
    table.add_column("#", justify="right", no_wrap=True)
    keys = []
    if g.batch > 1:
        table.add_column("n", justify="right", no_wrap=True)
        keys.append("n")
    if g.out_channels > 1:
        table.add_column("c_out", justify="right", no_wrap=True)
        keys.append("c_out")
    table.add_column("position", no_wrap=True)
    return keys


def _id_cells(row: OverlayRow, keys: list[str]) -> list[RenderableType]:
    return [str(row.number)] + [str(getattr(row, k)) for k in keys] + [row.position]


def kernel_title(result: Result) -> str:
    g = result.problem.geom
    return ("W flipped" if g.flip else "W") + ("[c_out]" if g.out_channels > 1 else "")


def overlay_tables(rows: list[OverlayRow], result: Result) -> list[Table]:
    """Forward table, then (backward) a dW/db table and a dA_prev table: one row per overlay."""
    p = result.problem
    show_kernel = p.geom.flip or p.geom.out_channels > 1
    forward = _table("Forward: Z = sum of W·A_slice over the window" + (" + b" if p.b is not None else ""))
    keys = _id_columns(forward, result)
    forward.add_column("window on A_prev", no_wrap=True)
    forward.add_column("A_slice", justify="right", no_wrap=True)
    if show_kernel:
        forward.add_column(kernel_title(result), justify="right", no_wrap=True)
    forward.add_column("Z", overflow="ellipsis")  # wraps between terms; a cut number would show "…"
    for row in rows:
        cells = _id_cells(row, keys) + [row.window, row.A_slice] + ([row.kernel] if show_kernel else [])
        forward.add_row(*cells, row.Z)
    if not result.is_backward:
        return [forward]
    per_filter = "[c_out]" if p.geom.out_channels > 1 else ""
    weights = _table("Backward: dW and db, each overlay's share summed")
    keys = _id_columns(weights, result)
    for title in ("dZ", "dW += dZ·A_slice", f"dW{per_filter} so far", "db += dZ", f"db{per_filter} so far"):
        weights.add_column(title, justify="right", no_wrap=True)
    for row in rows:
        weights.add_row(*_id_cells(row, keys), row.dZ, row.dW, row.dW_so_far, row.db, row.db_so_far)
    inputs = _table("Backward: dA_prev, each overlay's share summed")
    keys = _id_columns(inputs, result)
    inputs.add_column("dZ", justify="right", no_wrap=True)
    inputs.add_column(f"dA_prev += dZ·{kernel_title(result)}", justify="right", no_wrap=True)
    inputs.add_column("lands on A_prev", no_wrap=True)
    so_far = "dA_prev so far" + (" (sample n)" if p.geom.batch > 1 else "")
    if not is_small(result):
        so_far += " on the window"
    inputs.add_column(so_far, justify="right", no_wrap=True)
    for row in rows:
        inputs.add_row(*_id_cells(row, keys), row.dZ, row.dA, row.where, row.dA_so_far)
    return [forward, weights, inputs]


def overlay_block(row: OverlayRow, result: Result) -> RenderableType:
    """One overlay as a titled block of side-by-side grids, for problems whose table is too wide."""
    g = result.problem.geom
    title = [f"overlay {row.number} of {g.overlay_count}"]
    if g.batch > 1:
        title.append(f"n {row.n}")
    if g.out_channels > 1:
        title.append(f"c_out {row.c_out}")
    title += [f"position {row.position}", f"window {row.where}"]
    inputs = [("A_slice", row.A_slice), (kernel_title(result), row.kernel)]
    if is_small(result):
        inputs.insert(0, ("on A_prev", row.window))
        if row.output is not None:
            inputs.append(("Z, this output in [ ]", row.output))
    parts: list[RenderableType] = [
        Text("── " + " · ".join(title), style="bold"),  # wraps rather than cut, unlike a Rule title
        _side_by_side(inputs),
        Text("Z = ", style="bold") + row.Z,
    ]
    if row.dZ is not None:
        line = Text("dZ = ", style="bold") + row.dZ
        line += Text("    db += dZ = ", style="bold") + row.db
        line += Text("    db so far ", style="bold") + row.db_so_far  # type: ignore[operator]
        parts.append(line)
        so_far = "dA_prev so far" + ("" if is_small(result) else " on the window")
        parts.append(_side_by_side([
            ("dW += dZ·A_slice", row.dW), ("dW so far", row.dW_so_far),
            (f"dA_prev += dZ·{kernel_title(result)}", row.dA), (so_far, row.dA_so_far),
        ]))
    return Group(*parts)


def _side_by_side(items: list[tuple[str, Any]]) -> Columns:
    """Labelled grids in a row, wrapping onto further rows when the width runs out."""
    return Columns([Group(Text(label, style="bold"), body) for label, body in items], padding=(0, 4))


class Wide:
    """A renderable drawn at its natural width, past the console's (print it with crop=False)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: Any) -> Any:
        wide = options.update(max_width=10_000)
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
    from ..problem import entry_names

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
            table.add_row("db", grid(cells_of(db, fmt, db_scale), room))
        table.add_row("dA_prev", draw(dA, dA_scale, ("n", "c")))
    return table


def overlay_section(result: Result, indices: Iterable[int], console: Console, style: Style,
                    view: str) -> Iterator[RenderableType]:
    """The overlays as tables when they fit (or view="table"), else one block per overlay."""
    pairs: Iterable[tuple[Overlay, RunningTotals | None]]
    if result.is_backward:
        pairs = result.walk(indices)
    else:
        pairs = ((o, None) for o in result.canonical_overlays(indices))
    rows = [overlay_row(o, running, result, style) for o, running in pairs]
    if not rows:
        return
    tables = overlay_tables(rows, result) if view != "blocks" else []
    if view == "table" or (view == "auto" and all(fits(t, console.width) for t in tables)):
        for table in tables:
            yield Text("")
            # Asked for the table even where it is too wide: print it whole, wider than the terminal.
            yield table if fits(table, console.width) else Wide(table)
    else:
        for row in rows:
            yield Text("")
            yield overlay_block(row, result)
    if any(r.discarded for r in rows):
        yield Text("(x): lands in the padding and is discarded from dA_prev", style="italic")


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
    from .explain import audit_renderables, narrative

    style = make_style(result, precision, console.width)
    yield header(result, command)
    form = result.problem.form
    if form.channels_last and form.kind != BARE:
        yield Text(f"Arrays are drawn channel by channel; --json gives them in {form.layout} order.",
                   style="italic")
    if explain:
        yield from narrative(result, indices, style)
    else:
        yield from overlay_section(result, indices, console, style, view)
    yield Text("")
    yield Rule("Totals" if result.is_backward else "Result", align="left", style="dim")
    yield totals(result, style)
    yield from audit_renderables(result, style, cell)
