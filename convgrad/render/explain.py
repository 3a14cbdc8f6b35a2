"""--explain: the overlay walk told in sentences with the numbers filled in, then the identities
(why the weights stay shared; the same gradients as two convolutions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..api import Result
from ..forms import BARE
from ..geometry import Geometry
from ..layers.base import Overlay
from ..layers.conv import RunningTotals, interior
from ..numbers import index_label
from .grids import activation_text, is_small, output_grid, paragraph, window_array, window_grid
from .text import Formatter, Style, inline, plural, position_text, window_words, z_expression

#: Arrays up to this many entries are written out inline in sentences.
INLINE_LIMIT = 36


def overlay_story(overlay: Overlay, running: RunningTotals | None, result: Result, style: Style) -> Group:
    """One overlay: the pictures (small problems), then what it computes and adds, in sentences."""
    p, fmt = result.problem, style.fmt
    g, form = p.geom, p.form
    parts: list[RenderableType] = []
    who = f"filter {overlay.c_out}" if g.out_channels > 1 else "the kernel"
    sample = f" of sample {overlay.n}" if g.batch > 1 else ""
    parts.append(
        Text(
            f"Overlay {overlay.index + 1} of {g.overlay_count}: {who} at output position "
            f"{position_text(overlay.position)}{sample}",
            style="bold",
        )
    )
    if is_small(result) and g.dims <= 2:
        pictures = [
            ("A_prev, window in [ ]", window_grid(overlay, result, style)),
            (
                "W" + (" flipped" if g.flip else ""),
                window_array(overlay.kernel, g, fmt, first_channel=overlay.channels.start),
            ),
        ]
        if not style.symbolic:  # formulas are too long for a grid of outputs
            pictures.append(("Z, this output in [ ]", output_grid(result, overlay, style)))
        parts.append(
            Padding(
                Columns([Group(Text(t, style="italic"), body) for t, body in pictures], padding=(0, 4)), (0, 0, 0, 2)
            )
        )
    window = form.window_from_canonical
    where = window_words(overlay, g)
    hangs = "" if overlay.in_input.all() else " (part of it hangs in the padding, which reads 0)"
    z_label = index_label("Z", form.activation_index((overlay.n, overlay.c_out) + overlay.position))
    grids = g.dims >= 2  # matrices drawn as grids below the sentences, not as nested lists inline
    slice_text = "A_slice (drawn below)" if grids else inline(window(overlay.A_slice), fmt)
    parts.append(
        paragraph(
            f"The kernel covers A_prev {where}{hangs}: the slice {slice_text}. "
            f"{z_label} = {z_expression(overlay, fmt, style.symbolic)}."
        )
    )
    if overlay.dW is None or overlay.dA_prev is None or running is None:
        if grids:
            parts.append(_drawn([("A_slice", _window(overlay.A_slice, overlay, g, fmt))]))
        return Group(*parts)
    finalize = p.domain.finalize
    c = overlay.c_out
    dW_canonical = finalize(running.dW[c])
    dW_now = form.window_from_canonical(dW_canonical)
    db_now = finalize(np.asarray(running.db[c]))[()]
    dz = fmt(overlay.dZ)
    filt = f"[{c}]" if g.out_channels > 1 else ""
    if grids:
        sentence = (
            f"d{z_label} = {dz}, so this overlay adds dZ·A_slice to dW{filt}; adds {dz} to db{filt}, which "
            f"becomes {fmt(db_now)}; and adds dZ·W to dA_prev at {where}"
        )
    else:
        sentence = (
            f"d{z_label} = {dz}, so this overlay adds dZ·A_slice = {inline(window(overlay.dW), fmt)} to "
            f"dW{filt}, which becomes {inline(dW_now, fmt)}; adds {dz} to db{filt}, which becomes "
            f"{fmt(db_now)}; and adds dZ·W = {inline(window(overlay.dA_prev), fmt)} to dA_prev at {where}"
        )
    if not overlay.in_input.all():
        kept = np.where(np.broadcast_to(overlay.in_input, overlay.dA_prev.shape), "kept", "lost")
        lost = [fmt(v) for v, k in zip(np.ravel(overlay.dA_prev), np.ravel(kept)) if k == "lost"]
        sentence += (
            f" (the {len(lost)} value{'s' if len(lost) != 1 else ''} on the padding, {', '.join(lost)}, "
            f"{'are' if len(lost) != 1 else 'is'} discarded)"
        )
    dA_now = finalize(running.dA_prev[overlay.n])
    if grids:
        dA_share = overlay.dA_prev
        assert dA_share is not None  # a backward overlay has every share
        parts.append(paragraph(sentence + ":"))
        drawn = [
            ("A_slice", _window(overlay.A_slice, overlay, g, fmt)),
            ("dZ·A_slice, to dW" + filt, _window(overlay.dW, overlay, g, fmt, first=0)),
            ("dW" + filt + " so far", _window(dW_canonical, overlay, g, fmt, first=0)),
            ("dZ·W, to dA_prev", window_array(dA_share, g, fmt, overlay.in_input, overlay.channels.start)),
        ]
        if dA_now.size <= GRID_LIMIT:
            drawn.append(("dA_prev so far", activation_text(dA_now, g, fmt, ("c",))))
        parts.append(_drawn(drawn))
        if not overlay.in_input.all():
            parts.append(Padding(Text("(x): on the padding, discarded", style="italic"), (0, 0, 0, 2)))
        return Group(*parts)
    if dA_now.size <= INLINE_LIMIT:
        shown = dA_now[0] if form.kind == BARE else dA_now
        sentence += f", giving {inline(shown, fmt)}"
    parts.append(paragraph(sentence + "."))
    return Group(*parts)


#: Arrays up to this many entries are drawn as grids after the sentences (2-D and 3-D).
GRID_LIMIT = 144


def _window(array: np.ndarray, overlay: Overlay, geom: Geometry, fmt: Formatter, first: int | None = None) -> Text:
    """A window-shaped (C_in/G, *k) array as channel-labelled grids (A_prev's channel numbers)."""
    return window_array(array, geom, fmt, first_channel=overlay.channels.start if first is None else first)


def _drawn(pictures: Sequence[tuple[str, RenderableType]]) -> Padding:
    """Titled grids side by side (wrapping below one another when the width runs out)."""
    return Padding(
        Columns([Group(Text(title, style="italic"), body) for title, body in pictures], padding=(0, 4)), (0, 0, 0, 2)
    )


def closing(result: Result, style: Style) -> Iterator[RenderableType]:
    """Why the weights stay shared, and the two identities computed the other way."""
    p, fmt = result.problem, style.fmt
    g = p.geom
    count = g.overlay_count
    batch = f" and all {g.batch} samples" if g.batch > 1 else ""
    dW = result.shown("dW")
    if g.dims >= 2 and p.domain.name != "symbolic":
        dW_text = " (the overlay sums, drawn below)"
    else:
        dW_text = f" = {inline(dW, fmt)}" if np.size(dW) <= INLINE_LIMIT else " (see the totals)"
    yield Text("Why the weights stay shared", style="bold")
    yield paragraph(
        f"Every overlay used the same W, so dL/dW is one sum over {'all ' if count > 1 else ''}{plural(count, 'overlay')}{batch}: "
        f"dW = Σ dZ·A_slice{dW_text}. "
        f"A gradient step W ← W − η·dW moves that one kernel, so every position keeps sharing it: "
        f"nothing is averaged or copied back afterwards. db is likewise one sum of dZ."
    )
    if p.domain.name == "symbolic":
        return
    from ..identities import dA_by_transposed_convolution, dW_by_correlation

    dW_conv = dW_by_correlation(p)
    dA_conv = dA_by_transposed_convolution(p).dA_prev
    _, dW_sum, _, dA_sum = result.canonical_totals
    scales = result.scales
    yield Text("")
    yield Text("The same gradients as two convolutions", style="bold")
    gaps = ", ".join(str(s - 1) for s in g.stride) if len(set(g.stride)) > 1 else str(g.stride[0] - 1)
    dil = ", ".join(map(str, g.dilation)) if len(set(g.dilation)) > 1 else str(g.dilation[0])
    every = (
        "" if all(d == 1 for d in g.dilation) else f", read at every offset that is a multiple of the dilation ({dil})"
    )
    yield paragraph(
        f"dW is the cross-correlation of the padded A_prev with dZ dilated by the stride (stride − 1 = "
        f"{gaps} {'zero' if gaps == '1' else 'zeros'} between neighbouring entries){every}; dA_prev is the full convolution of the "
        f"stride-dilated dZ with W rotated 180° (the transposed convolution), cropped to A_prev."
    )
    dW_scale = None if scales is None else scales.dW
    dA_scale = None if scales is None else scales.dA_padded[interior(g)]
    equal_dW = _same(dW_conv, dW_sum, dW_scale)
    equal_dA = _same(dA_conv, dA_sum, dA_scale)
    headings = (Text("overlay sums", style="italic"), Text("as a convolution", style="italic"))
    rows = [
        (
            "dW",
            activation_text(dW_sum, g, fmt, ("c_out", "c_in"), scales=dW_scale),
            activation_text(dW_conv, g, fmt, ("c_out", "c_in"), scales=dW_scale),
        ),
        (
            "dA_prev",
            activation_text(dA_sum, g, fmt, scales=dA_scale),
            activation_text(dA_conv, g, fmt, scales=dA_scale),
        ),
    ]
    yield Padding(SideBySideOrStacked(headings, rows), (0, 0, 0, 2))
    verdict = "equal" if equal_dW and equal_dA else "NOT equal"
    yield paragraph(f"Both ways give the same numbers: {verdict}.")


class SideBySideOrStacked:
    """Pairs of grids under two headings: side by side in a table when the table fits the width,
    else each pair stacked (the first grid, then the second), so that no grid is broken across lines."""

    def __init__(self, headings: tuple[Text, Text], rows: list[tuple[str, Text, Text]]) -> None:
        self.headings, self.rows = headings, rows

    def table(self) -> Table:
        table = Table.grid(padding=(0, 4))
        for _ in range(3):
            table.add_column(no_wrap=True)
        table.add_row(Text("", style="bold"), *self.headings)
        for name, left, right in self.rows:
            table.add_row(Text(name, style="bold"), left, right)
        return table

    def stacked(self) -> Group:
        parts: list[RenderableType] = []
        for name, left, right in self.rows:
            for heading, grid_text in zip(self.headings, (left, right)):
                parts += [Text.assemble((name, "bold"), ", ", heading), Padding(grid_text, (0, 0, 0, 2))]
        return Group(*parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table()
        wide = Measurement.get(console, options.update(width=10**6), table).maximum
        yield table if wide <= options.max_width else self.stacked()


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
