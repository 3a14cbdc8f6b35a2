"""Arrays as small aligned grids of rich Text, split into column chunks that fit a width.

Numbers are never cut: a grid wider than the room it has is printed in
several column chunks, each labelled with the columns it holds. Marked cells
(the current window) are drawn in brackets so they show without color too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rich.text import Text

#: Formats one value; the optional second argument is its noise scale (see numbers.format_float).
Formatter = Callable[..., str]

#: Style of cells inside the current window, of padding cells, of discarded values.
WINDOW_STYLE = "bold black on yellow"
PADDING_STYLE = "dim"
DISCARDED_STYLE = "dim"
#: How a padding cell is drawn (its value is always 0).
PADDING_MARK = "·"


class Cell:
    """One grid cell: its text, a style, and whether it is bracketed (marked)."""

    __slots__ = ("text", "style", "bracket")

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
    columns stay aligned, ``[1][2] 3``. Past ``width``, split into column chunks.
    """
    marked = any(cell.bracket for cell in cells.flat)
    if cells.ndim == 0:
        return _cell_text(cells[()], marked)
    if cells.ndim == 1 and not marked:
        return _vector(list(cells), width)
    matrix = cells.reshape(1, -1) if cells.ndim == 1 else cells
    rows, cols = matrix.shape
    extra = 2 if marked else 0
    col_width = [max(len(matrix[r, c].text) for r in range(rows)) + extra for c in range(cols)]
    gap = 0 if marked else 2
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
        text.append(piece[len(cell.text):])
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


def stacked(cells: np.ndarray, labels: Sequence[str | None], width: int | None = None,
            offsets: Sequence[int] | None = None) -> Text:
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
