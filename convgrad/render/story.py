"""The --explain story as content for the exports: each overlay's title and sentences, the closing
(why the weights stay shared, the two identities) as blocks that Markdown and LaTeX lay out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..api import Result
from ..forms import BARE
from ..layers.base import Overlay
from ..layers.conv import RunningTotals, interior
from ..numbers import index_label
from .text import Style, inline, position_text, window_words, z_expression

#: Arrays up to this many entries are written out inline in sentences.
INLINE_LIMIT = 36
SHARED_TITLE = "Why the weights stay shared"
IDENTITY_TITLE = "The same gradients as two convolutions"


def overlay_title(overlay: Overlay, result: Result) -> str:
    g = result.problem.geom
    who = f"filter {overlay.c_out}" if g.out_channels > 1 else "the kernel"
    sample = f" of sample {overlay.n}" if g.batch > 1 else ""
    return f"Overlay {overlay.index + 1} of {g.overlay_count}: {who} at output position {position_text(overlay.position)}{sample}"


def overlay_sentences(overlay: Overlay, running: RunningTotals | None, result: Result, style: Style) -> list[str]:
    """What one overlay computes (Z as its sum of products) and, after a backward pass, what it adds
    to dW, db and dA_prev with the running totals: plain text, shared by the terminal and the exports."""
    p, fmt = result.problem, style.fmt
    g, form = p.geom, p.form
    window = form.window_from_canonical
    where = window_words(overlay, g)
    hangs = "" if overlay.in_input.all() else " (part of it hangs in the padding, which reads 0)"
    z_label = index_label("Z", form.activation_index((overlay.n, overlay.c_out) + overlay.position))
    sentences = [
        f"The kernel covers A_prev {where}{hangs}: the slice {inline(window(overlay.A_slice), fmt)}. "
        f"{z_label} = {z_expression(overlay, fmt, style.symbolic)}."
    ]
    if overlay.dW is None or overlay.dA_prev is None or running is None:
        return sentences
    finalize = p.domain.finalize
    c = overlay.c_out
    dW_now = form.window_from_canonical(finalize(running.dW[c]))
    db_now = finalize(np.asarray(running.db[c]))[()]
    dz = fmt(overlay.dZ)
    filt = f"[{c}]" if g.out_channels > 1 else ""
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
    if dA_now.size <= INLINE_LIMIT:
        shown = dA_now[0] if form.kind == BARE else dA_now
        sentence += f", giving {inline(shown, fmt)}"
    sentences.append(sentence + ".")
    return sentences


@dataclass(frozen=True)
class Closing:
    """The closing's content: why the weights stay shared (a sentence), and, for numbers, the two
    identities (a sentence, dW and dA_prev as overlay sums and as convolutions, canonical, with
    their noise scales, and the verdict)."""

    shared: str
    identity: str | None = None
    dW_sum: Any = None
    dW_conv: Any = None
    dA_sum: Any = None
    dA_conv: Any = None
    dW_scale: Any = None
    dA_scale: Any = None
    verdict: str = ""


def closing_content(result: Result, style: Style) -> Closing:
    p, fmt = result.problem, style.fmt
    g = p.geom
    count = g.overlay_count
    batch = f" and all {g.batch} samples" if g.batch > 1 else ""
    dW = result.shown("dW")
    shared = (
        f"Every overlay used the same W, so dL/dW is one sum over all {count} overlays{batch}: "
        f"dW = Σ dZ·A_slice = {inline(dW, fmt) if np.size(dW) <= INLINE_LIMIT else '(see the totals)'}. "
        f"A gradient step W ← W − η·dW moves that one kernel, so every position keeps sharing it: "
        f"nothing is averaged or copied back afterwards. db is likewise one sum of dZ."
    )
    if p.domain.name == "symbolic":
        return Closing(shared)
    from ..identities import dA_by_transposed_convolution, dW_by_correlation

    dW_conv = dW_by_correlation(p)
    dA_conv = dA_by_transposed_convolution(p).dA_prev
    _, dW_sum, _, dA_sum = result.canonical_totals
    scales = result.scales
    gaps = ", ".join(str(s - 1) for s in g.stride) if len(set(g.stride)) > 1 else str(g.stride[0] - 1)
    dil = ", ".join(map(str, g.dilation)) if len(set(g.dilation)) > 1 else str(g.dilation[0])
    every = (
        "" if all(d == 1 for d in g.dilation) else f", read at every offset that is a multiple of the dilation ({dil})"
    )
    identity = (
        f"dW is the cross-correlation of the padded A_prev with dZ dilated by the stride (stride − 1 = "
        f"{gaps} zeros between neighbouring entries){every}; dA_prev is the full convolution of the "
        f"stride-dilated dZ with W rotated 180° (the transposed convolution), cropped to A_prev."
    )
    dW_scale = None if scales is None else scales.dW
    dA_scale = None if scales is None else scales.dA_padded[interior(g)]
    equal = _same(dW_conv, dW_sum, dW_scale) and _same(dA_conv, dA_sum, dA_scale)
    verdict = f"Both ways give the same numbers: {'equal' if equal else 'NOT equal'}."
    return Closing(shared, identity, dW_sum, dW_conv, dA_sum, dA_conv, dW_scale, dA_scale, verdict)


def _same(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None) -> bool:
    if a.dtype == object or b.dtype == object:
        return bool(np.all(a == b))
    tolerance = 1e-12 * (np.ones_like(a) if scale is None else np.maximum(scale, 1e-300))
    return bool(np.all(np.abs(a - b) <= tolerance + 1e-300))


# -- the same story as plain content, for the Markdown and LaTeX exports -------------------------


@dataclass(frozen=True)
class Block:
    """One piece of the story: a heading (level 2: a section, 3: an overlay), a paragraph, or
    arrays (label, array in the user's form) shown one under another."""

    kind: str
    text: str = ""
    level: int = 3
    arrays: tuple[tuple[str, Any], ...] = ()


def story_blocks(result: Result, indices: Iterable[int], style: Style) -> Iterator[Block]:
    """The --explain story with the terminal's sentences, its grids as arrays (the window's slice
    and the kernel per overlay; the identities' four arrays) for an export to lay out."""
    p = result.problem
    g, form = p.geom, p.form
    window = form.window_from_canonical
    pairs: Iterable[tuple[Overlay, RunningTotals | None]]
    pairs = result.walk(indices) if result.is_backward else ((o, None) for o in result.canonical_overlays(indices))
    for overlay, running in pairs:
        yield Block("heading", overlay_title(overlay, result))
        yield Block(
            "arrays",
            arrays=(
                ("A_slice, the window", window(overlay.A_slice)),
                ("W" + (" flipped" if g.flip else ""), window(overlay.kernel)),
            ),
        )
        for text in overlay_sentences(overlay, running, result, style):
            yield Block("paragraph", text)
    if not result.is_backward:
        return
    content = closing_content(result, style)
    yield Block("heading", SHARED_TITLE, level=2)
    yield Block("paragraph", content.shared)
    if content.identity is None:
        return
    finalize = p.domain.finalize
    yield Block("heading", IDENTITY_TITLE, level=2)
    yield Block("paragraph", content.identity)
    dW = [form.kernel_from_canonical(finalize(a)) for a in (content.dW_sum, content.dW_conv)]
    dA = [form.activation_from_canonical(finalize(a)) for a in (content.dA_sum, content.dA_conv)]
    yield Block(
        "arrays",
        arrays=(
            ("dW, overlay sums", dW[0]),
            ("dW, as a convolution", dW[1]),
            ("dA_prev, overlay sums", dA[0]),
            ("dA_prev, as a convolution", dA[1]),
        ),
    )
    yield Block("paragraph", content.verdict)
