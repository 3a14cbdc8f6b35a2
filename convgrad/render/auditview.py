"""The audits, for people: stride leftovers, the padding crop, and --cell (every term behind one
gradient entry). The table view and the --explain narrative both end with them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .. import audits
from ..api import Result
from ..layers.conv import overlay_index
from ..numbers import index_label
from .grids import DISCARDED_STYLE, cells_of, is_small, paragraph, spatial_labels, stacked
from .text import (
    Style,
    factor_label,
    leftover_reasons,
    output_formula,
    plural,
    position_text,
    ranges,
    window_words,
)

AXIS_NAMES = {1: ["position"], 2: ["row", "column"], 3: ["depth slice", "row", "column"]}


def audit_renderables(result: Result, style: Style, cell: str | None = None) -> Iterator[RenderableType]:
    """The audits that apply to this problem: stride leftovers, the padding crop, and --cell."""
    p = result.problem
    g, fmt = p.geom, style.fmt
    names = AXIS_NAMES.get(g.dims, [f"axis {i} index" for i in range(g.dims)])
    leftovers = audits.stride_leftovers(g)
    if leftovers:
        yield Text("")
        yield Rule("Stride leftovers", align="left", style="dim")
        for left in leftovers:
            listed = ", ".join(map(str, left.indices))
            many = len(left.indices) > 1
            noun = names[left.axis] + ("es" if many and names[left.axis].endswith("x") else "s" if many else "")
            yield paragraph(
                f"A_prev {noun} {listed} {'are' if many else 'is'} never under any "
                f"window: along this axis out = {output_formula(g, left.axis)}, and {leftover_reasons(left, g)}. "
                f"No Z depends on {'them' if many else 'it'}, so dA_prev there is exactly 0.",
                indent=0,
            )
    crop = audits.padding_crop(p) if result.is_backward else None
    if crop is not None:
        yield Text("")
        yield Rule("Padding crop", align="left", style="dim")
        amount = "" if p.domain.name == "symbolic" else f" (its magnitudes add up to {fmt(crop.discarded)})"
        yield paragraph(
            f"Backward first gives the gradient of the padded input ({'×'.join(map(str, g.padded_size))}); its "
            f"border is padding, not input, so that part is discarded{amount} and the inner "
            f"{'×'.join(map(str, g.input_size))} is dA_prev.",
            indent=0,
        )
        if is_small(result) and g.dims <= 2:
            cells = cells_of(crop.padded, fmt)
            for index in np.ndindex(*crop.padded.shape):
                if crop.in_padding[index[2:]]:
                    cells[index].text = f"({cells[index].text})"
                    cells[index].style = DISCARDED_STYLE
            labels = spatial_labels(["n", "c"], crop.padded.shape[:2], g.dims)
            yield Padding(
                Group(
                    Text("gradient of the padded input, (discarded) on the padding", style="italic"),
                    stacked(cells, labels),
                ),
                (0, 0, 0, 2),
            )
    if cell is not None:
        yield Text("")
        yield from cell_renderables(result, cell, style)


def cell_renderables(result: Result, cell: str, style: Style) -> Iterator[RenderableType]:
    """--cell: every overlay that touched one entry, with its factors, summed to the gradient."""
    p, fmt = result.problem, style.fmt
    view = audits.cell_view(p, cell)
    if view.array == "Z":
        yield from z_cell_renderables(result, view, style)
        return
    what = {"A_prev": "dA_prev", "W": "dW", "b": "db"}[view.array]
    label = index_label(view.array, view.user_index)
    yield Rule(f"Every overlay that touched {label}", align="left", style="dim")
    if not view.terms:
        yield paragraph(f"No overlay reaches {label}, so {index_label(what, view.user_index)} = 0.", indent=0)
        return
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    other_name = (
        "the local derivative"
        if p.kind is not None and not p.has_weights
        else {"A_prev": "the weight", "W": "the input", "b": ""}[view.array]
    )
    for title in ("overlay", "position", "dZ", other_name, "adds"):
        table.add_column(title, justify="right" if title != "position" else "left", no_wrap=True)
    form = p.form
    for term in view.terms:
        dz = term.factors[0]
        other = term.factors[1] if len(term.factors) > 1 else None
        _n, c_out, *position = dz.index
        table.add_row(
            str(term.number),
            position_text(tuple(position)),
            f"{factor_label(form, 'dZ', dz.index)} = {fmt(dz.value)}",
            "" if other is None else f"{factor_label(form, other.array, other.index)} = {fmt(other.value)}",
            fmt(term.value),
        )
    yield Padding(table, (0, 0, 0, 2))
    yield paragraph(
        f"{index_label(what, view.user_index)} = {_sum_of(len(view.terms), 'term')} = {fmt(view.gradient)}", indent=0
    )
    if view.array == "W" and p.kind is None:
        c_out = view.canonical[0]
        touched = {t.overlay for t in view.terms}
        idle = [
            overlay_index(n, c_out, pos, p.geom) + 1
            for n in range(p.geom.batch)
            for pos in np.ndindex(*p.geom.output_size)
            if overlay_index(n, c_out, pos, p.geom) not in touched
        ]
        if idle:
            yield paragraph(
                f"Overlay{'s' if len(idle) > 1 else ''} {ranges(sorted(idle))} put {label} on the padding "
                f"(which reads 0), so {'they add' if len(idle) > 1 else 'it adds'} nothing to it.",
                indent=0,
            )


def z_cell_renderables(result: Result, view: audits.CellView, style: Style) -> Iterator[RenderableType]:
    """--cell Z[...]: the one overlay that made this output, its products and bias, summed."""
    p, fmt = result.problem, style.fmt
    label = index_label("Z", view.user_index)
    assert view.overlay is not None
    (overlay,) = result.canonical_overlays([view.overlay])
    yield Rule(f"The overlay that made {label}: overlay {view.overlay + 1}", align="left", style="dim")
    yield paragraph(f"position {position_text(overlay.position)}, window {window_words(overlay, p.geom)}", indent=0)
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for title in ("weight", "input", "adds"):
        table.add_column(title, justify="right", no_wrap=True)
    form = p.form
    products = [t for t in view.terms if len(t.factors) == 2]
    for term in products:
        w, a = term.factors
        table.add_row(
            f"{factor_label(form, w.array, w.index)} = {fmt(w.value)}",
            f"{factor_label(form, a.array, a.index)} = {fmt(a.value)}",
            fmt(term.value),
        )
    for term in view.terms:
        if len(term.factors) == 1:
            (b,) = term.factors
            table.add_row(f"{factor_label(form, 'b', b.index)} = {fmt(b.value)}", "(bias)", fmt(term.value))
    yield Padding(table, (0, 0, 0, 2))
    count = len(products)
    bias = " plus the bias" if len(view.terms) > count else ""
    skipped = p.geom.in_per_group * int(np.prod(p.geom.kernel_size)) - count
    note = f"; {plural(skipped, 'tap')} on the padding read 0 and are left out" if skipped else ""
    yield paragraph(f"{label} = {_sum_of(count, 'product')}{bias} = {fmt(view.gradient)}{note}", indent=0)


def _sum_of(count: int, noun: str) -> str:
    """ "sum of the 4 terms", or "its one term"."""
    return f"sum of the {plural(count, noun)}" if count != 1 else f"its one {noun}"
