"""Arrays as small aligned grids of rich Text, split into column chunks that fit a width, and the
pictures every view draws with them: the window on the padded input, window-shaped arrays, activations.

Numbers are never cut: a grid wider than the room it has is printed in
several column chunks, each labelled with the columns it holds. Marked cells
(the current window) are drawn in brackets so they show without color too.
A leaf of render/: it imports no view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from rich.padding import Padding
from rich.text import Text

from ..layers.conv import interior, window_taps
from .text import Formatter, Style

if TYPE_CHECKING:
    from ..api import Result
    from ..geometry import Geometry
    from ..layers.base import Overlay

#: Inputs with up to this many padded entries per sample are drawn in full.
SMALL_INPUT = 144

#: Style of cells inside the current window, of padding cells, of discarded values.
WINDOW_STYLE = "bold black on yellow"
PADDING_STYLE = "dim"
DISCARDED_STYLE = "dim"
#: How a padding cell is drawn (its value is always 0).
PADDING_MARK = "·"


class Cell:
    """One grid cell: its text, a style, and whether it is bracketed (marked)."""

    __slots__ = ("bracket", "style", "text")

    def __init__(self, text: str, style: str = "", bracket: bool = False) -> None:
        self.text = text
        self.style = style
        self.bracket = bracket


def cells_of(array: np.ndarray, fmt: Formatter, scales: np.ndarray | None = None, style: str = "") -> np.ndarray:
    """An object array of Cells, one per entry of ``array`` (``scales``: same shape, or None)."""
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = Cell(fmt(value) if scales is None else fmt(value, scales[index]), style)
    return out


def grid(cells: np.ndarray, width: int | None = None) -> Text:
    """A 0-, 1- or 2-D array of Cells as Text.

    Unmarked: a scalar as is, a vector as ``[a, b, c]``, a matrix as right-aligned
    columns. Marked (some cell bracketed): every cell takes its bracket room so
    columns stay aligned, and a space parts neighbours, ``[1] [2]  3`` (never ``[4][·]``).
    Past ``width``, split into column chunks.
    """
    marked = any(cell.bracket for cell in cells.flat)
    if cells.ndim == 0:
        return _cell_text(cells.item(), marked)
    if cells.ndim == 1 and not marked:
        return _vector(list(cells), width)
    matrix = cells.reshape(1, -1) if cells.ndim == 1 else cells
    rows, cols = matrix.shape
    extra = 2 if marked else 0
    col_width = [max(len(matrix[r, c].text) for r in range(rows)) + extra for c in range(cols)]
    gap = 1 if marked else 2  # marked: [1] [2]  3, each bracketed cell apart from its neighbour
    text = Text()
    chunks = _chunks(col_width, gap, width)
    for k, (first, last) in enumerate(chunks):
        if len(chunks) > 1:
            if k:
                text.append("\n")
            text.append(f"columns {first}..{last - 1}:\n", style="italic")
        for r in range(rows):
            if r:
                text.append("\n")
            for c in range(first, last):
                cell = matrix[r, c]
                lead = col_width[c] - len(cell.text) - extra + (gap if c > first else 0)
                text.append(" " * lead)
                text.append_text(_cell_text(cell, marked))
    return text


def _cell_text(cell: Cell, marked: bool) -> Text:
    if not marked:
        return Text(cell.text, style=cell.style)
    left, right = ("[", "]") if cell.bracket else (" ", " ")
    return Text(left + cell.text + right, style=cell.style)


def _vector(cells: list[Cell], width: int | None) -> Text:
    """[a, b, c], wrapped onto further lines (never inside a number) past ``width``."""
    text = Text("[")
    line = 1
    for i, cell in enumerate(cells):
        piece = cell.text + (", " if i < len(cells) - 1 else "]")
        if width is not None and line + len(piece) > width and line > 1:
            text.append("\n ")
            line = 1
        text.append(cell.text, style=cell.style)
        text.append(piece[len(cell.text) :])
        line += len(piece)
    return text


def _chunks(col_width: Sequence[int], gap: int, width: int | None) -> list[tuple[int, int]]:
    """Column ranges [first, last) whose drawn width fits ``width``."""
    total = sum(col_width) + gap * (len(col_width) - 1)
    if width is None or total <= width:
        return [(0, len(col_width))]
    chunks, first, used = [], 0, 0
    for c, w in enumerate(col_width):
        step = w + (gap if c > first else 0)
        if used + step > width and c > first:
            chunks.append((first, c))
            first, used, step = c, 0, w
        used += step
    chunks.append((first, len(col_width)))
    return chunks


def stacked(
    cells: np.ndarray, labels: Sequence[str | None], width: int | None = None, offsets: Sequence[int] | None = None
) -> Text:
    """Cells with leading axes (named by ``labels``) as labelled grids of the trailing axes.

    A label None leaves that axis out of the headings (an axis of length 1, say);
    ``offsets`` are added to the numbers shown (a group's first channel, say).
    """
    lead = len(labels)
    if lead == 0:
        return grid(cells, width)
    text = Text()
    for k, index in enumerate(np.ndindex(*cells.shape[:lead])):
        if k:
            text.append("\n")
        shown = index if offsets is None else tuple(i + o for i, o in zip(index, list(offsets) + [0] * lead))
        parts = [f"{name} {i}" for name, i in zip(labels, shown) if name is not None]
        if parts:
            text.append(", ".join(parts) + ":\n", style="italic")
        text.append_text(grid(cells[index], width))
    return text


def spatial_labels(names: Sequence[str], sizes: Sequence[int], spatial_dims: int) -> list[str | None]:
    """Labels for the leading axes of an array whose last ``spatial_dims`` axes are spatial.

    Leading non-spatial axes of length 1 are left out; 3-D data is shown as
    slices along its first spatial axis ("depth").
    """
    labels: list[str | None] = [name if size > 1 else None for name, size in zip(names, sizes)]
    if spatial_dims == 3:
        labels.append("depth")
    return labels


def paragraph(text: str, indent: int = 2) -> Padding:
    """A sentence or more, wrapped at the width, indented ``indent`` columns."""
    return Padding(Text(text), (0, 0, 0, indent))


# -- pictures of a problem -------------------------------------------------------------------


def is_small(result: Result) -> bool:
    """Whether the padded input is small enough to draw whole beside every overlay."""
    g = result.problem.geom
    return g.in_channels * int(np.prod(g.padded_size)) <= SMALL_INPUT


def window_grid(overlay: Overlay, result: Result, style: Style) -> Text:
    """The padded input of this sample and group, the window's cells bracketed."""
    p = result.problem
    g = p.geom
    channels = overlay.channels
    A = p.A_prev[overlay.n, channels.start : channels.stop]
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


def output_grid(result: Result, overlay: Overlay, style: Style) -> Text:
    """Z of this sample and filter, the overlay's own output cell bracketed."""
    Z = result.canonical_totals.Z[overlay.n, overlay.c_out]
    cells = cells_of(Z, style.fmt)
    cell = cells[overlay.position]
    cell.bracket, cell.style = True, WINDOW_STYLE
    return stacked(cells, spatial_labels([], [], result.problem.geom.dims))


def window_array(
    array: np.ndarray,
    geom: Geometry,
    fmt: Formatter,
    in_input: np.ndarray | None = None,
    first_channel: int = 0,
    scales: np.ndarray | None = None,
) -> Text:
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


def activation_text(
    array: np.ndarray,
    geom: Geometry,
    fmt: Formatter,
    names: tuple[str, ...] = ("n", "c"),
    width: int | None = None,
    scales: np.ndarray | None = None,
) -> Text:
    """An array whose last ``geom.dims`` axes are spatial, as labelled grids (leading axes ``names``)."""
    lead = array.ndim - geom.dims
    labels = spatial_labels(list(names)[len(names) - lead :] if lead else [], array.shape[:lead], geom.dims)
    return stacked(cells_of(array, fmt, scales), labels, width)
