"""Arrays as small aligned grids of rich Text, split into column chunks that fit a width, and the
pictures every view draws with them: the window on the padded input, window-shaped arrays, activations.

Numbers are never cut: a grid wider than the room it has is printed in
several column chunks, each labelled with the columns it holds. Marked cells
(the current window) are drawn in brackets so they show without color too.
A leaf of render/: it imports no view.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rich.padding import Padding
from rich.text import Text

from ..layers.conv import interior, window_taps
from .layout import lines_of_pieces
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
    if scales is None:
        flat = [Cell(fmt(value), style) for value in array.flat]
    elif np.shape(scales) == array.shape:
        flat = [Cell(fmt(value, scale), style) for value, scale in zip(array.flat, np.asarray(scales).flat)]
    else:
        flat = [Cell(fmt(value, scales[index]), style) for index, value in np.ndenumerate(array)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)


#: A piece of laid-out text and its style ("" for none): grids are drawn as a run of pieces, so the
#: styled Text and the plain lines come from one layout.
Piece = tuple[str, str]


def grid(cells: np.ndarray, width: int | None = None) -> Text:
    """A 0-, 1- or 2-D array of Cells as Text.

    Unmarked: a scalar as is, a vector as ``[a, b, c]``, a matrix as right-aligned
    columns. Marked (some cell bracketed): every cell takes its bracket room so
    columns stay aligned, and a space parts neighbours, ``[1] [2]  3`` (never ``[4][·]``).
    Past ``width``, split into column chunks.
    """
    if cells.ndim == 0:  # one cell: its style is the Text's own
        text, style = _cell_piece(cells.item(), cells.item().bracket)
        return Text(text, style=style)
    return styled(grid_pieces(cells, width))


def styled(pieces: Iterable[Piece]) -> Text:
    """Pieces as one rich Text, each styled piece a span."""
    text = Text()
    for piece, style in pieces:
        text.append(piece, style or None)
    return text


def plain_lines(pieces: Iterable[Piece]) -> list[str]:
    """Pieces as plain lines, without their styles."""
    return "".join(piece for piece, _ in pieces).split("\n")


def grid_pieces(cells: np.ndarray, width: int | None = None) -> Iterator[Piece]:
    """The pieces of ``grid(cells, width)``."""
    marked = any(cell.bracket for cell in cells.flat)
    if cells.ndim == 0:
        yield _cell_piece(cells.item(), marked)
        return
    if cells.ndim == 1 and not marked:
        yield from _vector(list(cells), width)
        return
    matrix, col_width, gap, chunks = _matrix_layout(cells, marked, width)
    for k, (first, last) in enumerate(chunks):
        if len(chunks) > 1:
            if k:
                yield "\n", ""
            yield f"columns {first}..{last - 1}:\n", "italic"
        for r, row in enumerate(matrix):
            if r:
                yield "\n", ""
            for c in range(first, last):
                text, style = _cell_piece(row[c], marked)
                yield " " * (col_width[c] - len(text) + (gap if c > first else 0)), ""
                yield text, style


def grid_lines(cells: np.ndarray, width: int | None = None) -> list[str]:
    """``grid(cells, width)`` as plain lines, laid out from the same column widths."""
    if cells.ndim == 2:  # the common case, a matrix without marks that fits: straight from the texts
        texts = [[cell.text for cell in row] for row in cells.tolist()]
        col_width = [max(map(len, column)) for column in zip(*texts)]
        if sum(col_width) + 2 * (len(col_width) - 1) <= (width or 10**9) and not any(
            cell.bracket for cell in cells.flat
        ):
            return ["  ".join([t.rjust(w) for t, w in zip(row, col_width)]) for row in texts]
    marked = any(cell.bracket for cell in cells.flat)
    if cells.ndim == 0 or (cells.ndim == 1 and not marked):
        return plain_lines(grid_pieces(cells, width))
    matrix, col_width, gap, chunks = _matrix_layout(cells, marked, width)
    texts = [[_cell_piece(cell, marked)[0] for cell in row] for row in matrix]
    space = " " * gap
    lines = []
    for first, last in chunks:
        if len(chunks) > 1:
            lines.append(f"columns {first}..{last - 1}:")
        for row in texts:
            lines.append(space.join(row[c].rjust(col_width[c]) for c in range(first, last)))
    return lines


def _matrix_layout(
    cells: np.ndarray, marked: bool, width: int | None
) -> tuple[list[list[Cell]], list[int], int, list[tuple[int, int]]]:
    """A 1- or 2-D array of Cells as rows, each column's width (with its brackets when marked), the
    gap between columns, and the column chunks that fit ``width``."""
    matrix = cells.reshape(1, -1).tolist() if cells.ndim == 1 else cells.tolist()
    extra = 2 if marked else 0
    col_width = [max(len(cell.text) for cell in column) + extra for column in zip(*matrix)]
    gap = 1 if marked else 2  # marked: [1] [2]  3, each bracketed cell apart from its neighbour
    return matrix, col_width, gap, _chunks(col_width, gap, width)


def _cell_piece(cell: Cell, marked: bool) -> Piece:
    if not marked:
        return cell.text, cell.style
    left, right = ("[", "]") if cell.bracket else (" ", " ")
    return left + cell.text + right, cell.style


def _vector(cells: list[Cell], width: int | None) -> Iterator[Piece]:
    """[a, b, c], wrapped onto further lines (never inside a number) past ``width``."""
    yield "[", ""
    line = 1
    for i, cell in enumerate(cells):
        piece = cell.text + (", " if i < len(cells) - 1 else "]")
        if width is not None and line + len(piece) > width and line > 1:
            yield "\n ", ""
            line = 1
        yield cell.text, cell.style
        yield piece[len(cell.text) :], ""
        line += len(piece)


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
    if not labels:
        return grid(cells, width)
    return styled(stacked_pieces(cells, labels, width, offsets))


def stacked_pieces(
    cells: np.ndarray, labels: Sequence[str | None], width: int | None = None, offsets: Sequence[int] | None = None
) -> Iterator[Piece]:
    """The pieces of ``stacked(cells, labels, width, offsets)``."""
    lead = len(labels)
    if lead == 0:
        yield from grid_pieces(cells, width)
        return
    for k, index in enumerate(np.ndindex(*cells.shape[:lead])):
        if k:
            yield "\n", ""
        shown = index if offsets is None else tuple(i + o for i, o in zip(index, list(offsets) + [0] * lead))
        parts = [f"{name} {i}" for name, i in zip(labels, shown) if name is not None]
        if parts:
            yield ", ".join(parts) + ":\n", "italic"
        yield from grid_pieces(cells[index], width)


def stacked_lines(
    cells: np.ndarray, labels: Sequence[str | None], width: int | None = None, offsets: Sequence[int] | None = None
) -> list[str]:
    """``stacked(cells, labels, width, offsets)`` as plain lines."""
    lead = len(labels)
    if lead == 0:
        return grid_lines(cells, width)
    lines = []
    offsets = list(offsets or []) + [0] * lead
    for index, grid_cells in zip(np.ndindex(*cells.shape[:lead]), cells.reshape((-1, *cells.shape[lead:]))):
        parts = [f"{name} {i + o}" for name, i, o in zip(labels, index, offsets) if name is not None]
        if parts:
            lines.append(", ".join(parts) + ":")
        lines += grid_lines(grid_cells, width)
    return lines


@dataclass
class Picture:
    """Cells whose leading axes are labelled (see stacked), drawn on demand: as styled Text for
    rich, or as plain lines for the layout engine, laid out from the same column widths.

    A picture of plain numbers (no style, no mark) may be given by its texts alone (``texts``, flat,
    and ``shape``); its Cells are then made only if rich draws it.
    """

    cells: np.ndarray | None
    labels: Sequence[str | None]
    width: int | None = None
    offsets: Sequence[int] | None = None
    texts: list[str] | None = None
    shape: tuple[int, ...] = ()
    drawn: list[str] | None = field(default=None, repr=False)

    @classmethod
    def of_texts(
        cls, texts: list[str], shape: tuple[int, ...], labels: Sequence[str | None], offsets: Sequence[int] | None
    ) -> Picture:
        return cls(None, labels, offsets=offsets, texts=texts, shape=shape)

    def all_cells(self) -> np.ndarray:
        if self.cells is None:
            assert self.texts is not None
            flat = np.empty(len(self.texts), dtype=object)
            flat[:] = [Cell(text) for text in self.texts]
            self.cells = flat.reshape(self.shape)
        return self.cells

    def pieces(self) -> Iterator[Piece]:
        return stacked_pieces(self.all_cells(), self.labels, self.width, self.offsets)

    def text(self) -> Text:
        return stacked(self.all_cells(), self.labels, self.width, self.offsets)

    def styled_lines(self) -> list[tuple[list[tuple[str, str]], str]]:
        """The lines as runs of (text, style), each with the style its padding takes (the Text's own)."""
        cells = self.all_cells()
        pad = cells.item().style if cells.ndim == 0 and not self.labels else ""
        return [(line, pad) for line in lines_of_pieces(self.pieces())]

    def lines(self) -> list[str]:
        """The plain lines, laid out once (a table and a block of the same overlay share them)."""
        if self.drawn is None:
            if self.texts is not None and len(self.shape) == len(self.labels) + 2:
                self.drawn = _matrices_lines(self.texts, self.shape, self.labels, self.width, self.offsets)
            if self.drawn is None:
                self.drawn = stacked_lines(self.all_cells(), self.labels, self.width, self.offsets)
        return self.drawn


def _matrices_lines(
    texts: list[str],
    shape: tuple[int, ...],
    labels: Sequence[str | None],
    width: int | None,
    offsets: Sequence[int] | None,
) -> list[str] | None:
    """Labelled matrices of plain texts (no marks) as lines, as stacked_lines draws them; None when
    one is wider than ``width`` (then it is cut into column chunks by the general path)."""
    lead = len(labels)
    rows, cols = shape[-2:]
    per = rows * cols
    shifts = list(offsets or []) + [0] * lead
    lines = []
    for k, index in enumerate(np.ndindex(*shape[:lead])):
        parts = [f"{name} {i + o}" for name, i, o in zip(labels, index, shifts) if name is not None]
        if parts:
            lines.append(", ".join(parts) + ":")
        block = texts[k * per : (k + 1) * per]
        matrix = [block[r * cols : (r + 1) * cols] for r in range(rows)]
        col_width = [max(map(len, column)) for column in zip(*matrix)]
        if width is not None and sum(col_width) + 2 * (cols - 1) > width:
            return None
        lines += ["  ".join([t.rjust(w) for t, w in zip(row, col_width)]) for row in matrix]
    return lines


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
    return window_picture(overlay, result, style).text()


def window_picture(overlay: Overlay, result: Result, style: Style) -> Picture:
    """The picture of ``window_grid``."""
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
    return Picture(cells, labels, offsets=[channels.start])


def output_grid(result: Result, overlay: Overlay, style: Style) -> Text:
    """Z of this sample and filter, the overlay's own output cell bracketed."""
    return output_picture(result, overlay, style).text()


def output_picture(result: Result, overlay: Overlay, style: Style) -> Picture:
    """The picture of ``output_grid``."""
    Z = result.canonical_totals.Z[overlay.n, overlay.c_out]
    cells = cells_of(Z, style.fmt)
    cell = cells[overlay.position]
    cell.bracket, cell.style = True, WINDOW_STYLE
    return Picture(cells, spatial_labels([], [], result.problem.geom.dims))


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
    return window_array_picture(array, geom, fmt, in_input, first_channel, scales).text()


def window_array_picture(
    array: np.ndarray,
    geom: Geometry,
    fmt: Formatter,
    in_input: np.ndarray | None = None,
    first_channel: int = 0,
    scales: np.ndarray | None = None,
) -> Picture:
    """The picture of ``window_array``."""
    labels = spatial_labels(["c"], [array.shape[0]], geom.dims)
    if (in_input is None or in_input.all()) and scales is None:  # plain numbers: their texts suffice
        return Picture.of_texts([fmt(value) for value in array.flat], array.shape, labels, [first_channel])
    cells = cells_of(array, fmt, scales)
    if in_input is not None and not in_input.all():
        for index in np.ndindex(*array.shape):
            if not in_input[index[1:]]:
                cell = cells[index]
                cell.text = f"({cell.text})"
                cell.style = DISCARDED_STYLE
    return Picture(cells, labels, offsets=[first_channel])


def activation_text(
    array: np.ndarray,
    geom: Geometry,
    fmt: Formatter,
    names: tuple[str, ...] = ("n", "c"),
    width: int | None = None,
    scales: np.ndarray | None = None,
) -> Text:
    """An array whose last ``geom.dims`` axes are spatial, as labelled grids (leading axes ``names``)."""
    return activation_picture(array, geom, fmt, names, width, scales).text()


def activation_picture(
    array: np.ndarray,
    geom: Geometry,
    fmt: Formatter,
    names: tuple[str, ...] = ("n", "c"),
    width: int | None = None,
    scales: np.ndarray | None = None,
) -> Picture:
    """The picture of ``activation_text``."""
    lead = array.ndim - geom.dims
    labels = spatial_labels(list(names)[len(names) - lead :] if lead else [], array.shape[:lead], geom.dims)
    if scales is None and width is None:  # plain numbers: their texts suffice
        return Picture.of_texts([fmt(value) for value in array.flat], array.shape, labels, None)
    return Picture(cells_of(array, fmt, scales), labels, width)
