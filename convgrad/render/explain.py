"""--explain: the overlay walk told in sentences with the numbers filled in, the identities, and
the audits (stride leftovers, padding crop, one cell's terms) that the table view prints too."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .. import audits
from ..api import Result
from ..engine import Overlay, RunningTotals
from ..forms import BARE
from .grids import DISCARDED_STYLE, WINDOW_STYLE, cells_of, stacked, spatial_labels
from .human import Style, activation_text, is_small, position_text, window_array, window_grid, window_words

#: Arrays up to this many entries are written out inline in sentences.
INLINE_LIMIT = 36


def inline(array: Any, fmt: Any) -> str:
    """A small array in one line of nested brackets: [[1, 2], [3, 4]]."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return fmt(array[()])
    return "[" + ", ".join(inline(a, fmt) for a in array) + "]"


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]" if index else ""


def _para(text: str, indent: int = 2) -> Padding:
    return Padding(Text(text), (0, 0, 0, indent))


def output_grid(result: Result, overlay: Overlay, style: Style) -> Text:
    """Z of this sample and filter, the overlay's own output cell bracketed."""
    Z = result.canonical_totals[0][overlay.n, overlay.c_out]
    cells = cells_of(Z, style.fmt)
    cell = cells[overlay.position]
    cell.bracket, cell.style = True, WINDOW_STYLE
    return stacked(cells, spatial_labels([], [], result.problem.geom.dims))


def overlay_story(overlay: Overlay, running: RunningTotals | None, result: Result, style: Style) -> Group:
    """One overlay: the pictures (small problems), then what it computes and adds, in sentences."""
    p, fmt = result.problem, style.fmt
    g, form = p.geom, p.form
    parts: list[RenderableType] = []
    who = f"filter {overlay.c_out}" if g.out_channels > 1 else "the kernel"
    sample = f" of sample {overlay.n}" if g.batch > 1 else ""
    parts.append(Text(f"Overlay {overlay.index + 1} of {g.overlay_count}: {who} at output position "
                      f"{position_text(overlay.position)}{sample}", style="bold"))
    if is_small(result) and g.dims <= 2:
        pictures = [("A_prev, window in [ ]", window_grid(overlay, result, style)),
                    ("W" + (" flipped" if g.flip else ""), window_array(overlay.kernel, g, fmt,
                                                                        first_channel=overlay.channels.start))]
        if not style.symbolic:  # formulas are too long for a grid of outputs
            pictures.append(("Z, this output in [ ]", output_grid(result, overlay, style)))
        parts.append(Padding(Columns([Group(Text(t, style="italic"), body) for t, body in pictures],
                                     padding=(0, 4)), (0, 0, 0, 2)))
    window = form.window_from_canonical
    where = window_words(overlay, g)
    hangs = "" if overlay.in_input.all() else " (part of it hangs in the padding, which reads 0)"
    z_index = _index_text(form.activation_index((overlay.n, overlay.c_out) + overlay.position))
    from .human import z_expression

    parts.append(_para(f"The kernel covers A_prev {where}{hangs}: the slice {inline(window(overlay.A_slice), fmt)}. "
                       f"Z{z_index} = {z_expression(overlay, fmt, style.symbolic)}."))
    if overlay.dW is None or running is None:
        return Group(*parts)
    finalize = p.domain.finalize
    c = overlay.c_out
    dW_now = form.window_from_canonical(finalize(running.dW[c]))
    db_now = finalize(np.asarray(running.db[c]))[()]
    dz = fmt(overlay.dZ)
    filt = f"[{c}]" if g.out_channels > 1 else ""
    sentence = (f"dZ{z_index} = {dz}, so this overlay adds dZ·A_slice = {inline(window(overlay.dW), fmt)} to "
                f"dW{filt}, which becomes {inline(dW_now, fmt)}; adds {dz} to db{filt}, which becomes "
                f"{fmt(db_now)}; and adds dZ·W = {inline(window(overlay.dA_prev), fmt)} to dA_prev at {where}")
    if not overlay.in_input.all():
        kept = np.where(np.broadcast_to(overlay.in_input, overlay.dA_prev.shape), "kept", "lost")
        lost = [fmt(v) for v, k in zip(np.ravel(overlay.dA_prev), np.ravel(kept)) if k == "lost"]
        sentence += f" (the {len(lost)} value{'s' if len(lost) != 1 else ''} on the padding, {', '.join(lost)}, " \
                    f"{'are' if len(lost) != 1 else 'is'} discarded)"
    dA_now = finalize(running.dA_prev[overlay.n])
    if dA_now.size <= INLINE_LIMIT:
        shown = dA_now[0] if form.kind == BARE else dA_now
        sentence += f", giving {inline(shown, fmt)}"
    parts.append(_para(sentence + "."))
    return Group(*parts)


def closing(result: Result, style: Style) -> Iterator[RenderableType]:
    """Why the weights stay shared, and the two identities computed the other way."""
    p, fmt = result.problem, style.fmt
    g = p.geom
    count = g.overlay_count
    batch = f" and all {g.batch} samples" if g.batch > 1 else ""
    dW = result.shown("dW")
    yield Text("Why the weights stay shared", style="bold")
    yield _para(
        f"Every overlay used the same W, so dL/dW is one sum over all {count} overlays{batch}: "
        f"dW = Σ dZ·A_slice = {inline(dW, fmt) if np.size(dW) <= INLINE_LIMIT else '(see the totals)'}. "
        f"A gradient step W ← W − η·dW moves that one kernel, so every position keeps sharing it: "
        f"nothing is averaged or copied back afterwards. db is likewise one sum of dZ.")
    if p.domain.name == "symbolic":
        return
    from ..identities import dA_by_transposed_convolution, dW_by_correlation

    dW_conv = dW_by_correlation(p)
    _, dA_conv = dA_by_transposed_convolution(p)
    _, dW_sum, _, dA_sum = result.canonical_totals
    scales = result.scales
    yield Text("")
    yield Text("The same gradients as two convolutions", style="bold")
    gaps = ", ".join(str(s - 1) for s in g.stride) if len(set(g.stride)) > 1 else str(g.stride[0] - 1)
    dil = ", ".join(map(str, g.dilation)) if len(set(g.dilation)) > 1 else str(g.dilation[0])
    every = "" if all(d == 1 for d in g.dilation) else f", read at every offset that is a multiple of the dilation ({dil})"
    yield _para(f"dW is the cross-correlation of the padded A_prev with dZ dilated by the stride (stride − 1 = "
                f"{gaps} zeros between neighbouring entries){every}; dA_prev is the full convolution of the "
                f"stride-dilated dZ with W rotated 180° (the transposed convolution), cropped to A_prev.")
    dW_scale = None if scales is None else scales[1]
    dA_scale = None if scales is None else scales[3][(slice(None), slice(None)) + tuple(
        slice(b, b + n) for n, (b, _) in zip(g.input_size, g.padding))]
    equal_dW = _same(dW_conv, dW_sum, dW_scale)
    equal_dA = _same(dA_conv, dA_sum, dA_scale)
    table = Table.grid(padding=(0, 4))
    for _ in range(3):
        table.add_column()
    table.add_row(Text("", style="bold"), Text("overlay sums", style="italic"), Text("as a convolution", style="italic"))
    table.add_row(Text("dW", style="bold"), activation_text(dW_sum, g, fmt, ("c_out", "c_in"), scales=dW_scale),
                  activation_text(dW_conv, g, fmt, ("c_out", "c_in"), scales=dW_scale))
    table.add_row(Text("dA_prev", style="bold"), activation_text(dA_sum, g, fmt, scales=dA_scale),
                  activation_text(dA_conv, g, fmt, scales=dA_scale))
    yield Padding(table, (0, 0, 0, 2))
    verdict = "equal" if equal_dW and equal_dA else "NOT equal"
    yield _para(f"Both ways give the same numbers: {verdict}.")


def _same(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None) -> bool:
    if a.dtype == object or b.dtype == object:
        return bool(np.all(a == b))
    tolerance = 1e-12 * (np.ones_like(a) if scale is None else np.maximum(scale, 1e-300))
    return bool(np.all(np.abs(a - b) <= tolerance + 1e-300))


def narrative(result: Result, indices: Iterable[int], style: Style) -> Iterator[RenderableType]:
    """The --explain story: overlay by overlay, then the closing (after a backward pass)."""
    pairs: Iterable[tuple[Overlay, RunningTotals | None]]
    if result.is_backward:
        pairs = result.walk(indices)
    else:
        pairs = ((o, None) for o in result.canonical_overlays(indices))
    for overlay, running in pairs:
        yield Text("")
        yield overlay_story(overlay, running, result, style)
    if result.is_backward:
        yield Text("")
        yield from closing(result, style)


# -- audits --------------------------------------------------------------------------------


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
            yield _para(
                f"A_prev {noun} {listed} {'are' if many else 'is'} never under any "
                f"window: along this axis out = {left.formula}, and {left.reached}. No Z depends on "
                f"{'them' if len(left.indices) > 1 else 'it'}, so dA_prev there is exactly 0.", indent=0)
    crop = audits.padding_crop(p) if result.is_backward else None
    if crop is not None:
        yield Text("")
        yield Rule("Padding crop", align="left", style="dim")
        amount = "" if p.domain.name == "symbolic" else f" (its magnitudes add up to {fmt(crop.discarded)})"
        yield _para(
            f"Backward first gives the gradient of the padded input ({'×'.join(map(str, g.padded_size))}); its "
            f"border is padding, not input, so that part is discarded{amount} and the inner "
            f"{'×'.join(map(str, g.input_size))} is dA_prev.", indent=0)
        if is_small(result) and g.dims <= 2:
            cells = cells_of(crop.padded, fmt)
            for index in np.ndindex(*crop.padded.shape):
                if crop.in_padding[index[2:]]:
                    cells[index].text = f"({cells[index].text})"
                    cells[index].style = DISCARDED_STYLE
            labels = spatial_labels(["n", "c"], crop.padded.shape[:2], g.dims)
            yield Padding(Group(Text("gradient of the padded input, (discarded) on the padding", style="italic"),
                                stacked(cells, labels)), (0, 0, 0, 2))
    if cell is not None:
        yield Text("")
        yield from cell_renderables(result, cell, style)


def cell_renderables(result: Result, cell: str, style: Style) -> Iterator[RenderableType]:
    """--cell: every overlay that touched one entry, with its factors, summed to the gradient."""
    from .checkview import factor_label

    p, fmt = result.problem, style.fmt
    view = audits.cell_view(p, cell)
    what = {"A_prev": "dA_prev", "W": "dW", "b": "db"}[view.array]
    label = f"{view.array}{_index_text(view.user_index)}"
    yield Rule(f"Every overlay that touched {label}", align="left", style="dim")
    if not view.terms:
        yield _para(f"No overlay reaches {label}, so {what}{_index_text(view.user_index)} = 0.", indent=0)
        return
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    other_name = {"A_prev": "the weight", "W": "the input", "b": ""}[view.array]
    for title in ("overlay", "position", "dZ", other_name, "adds"):
        table.add_column(title, justify="right" if title != "position" else "left", no_wrap=True)
    form = p.form
    for term in view.terms:
        dz = term.factors[0]
        other = term.factors[1] if len(term.factors) > 1 else None
        n, c_out, *position = dz.index
        table.add_row(str(term.overlay + 1), position_text(tuple(position)),
                      f"{factor_label(form, 'dZ', dz.index)} = {fmt(dz.value)}",
                      "" if other is None else f"{factor_label(form, other.array, other.index)} = "
                                               f"{fmt(other.value)}",
                      fmt(term.value))
    yield Padding(table, (0, 0, 0, 2))
    yield _para(f"{what}{_index_text(view.user_index)} = sum of the {len(view.terms)} terms = {fmt(view.gradient)}",
                indent=0)
    if view.array == "W":
        from ..engine import overlay_index
        from .checkview import _ranges

        c_out = view.canonical[0]
        touched = {t.overlay for t in view.terms}
        idle = [overlay_index(n, c_out, pos, p.geom) + 1 for n in range(p.geom.batch)
                for pos in np.ndindex(*p.geom.output_size)
                if overlay_index(n, c_out, pos, p.geom) not in touched]
        if idle:
            yield _para(f"Overlay{'s' if len(idle) > 1 else ''} {_ranges(sorted(idle))} put {label} on the padding "
                        f"(which reads 0), so {'they add' if len(idle) > 1 else 'it adds'} nothing to it.", indent=0)
