"""A small plain-text layout engine: word wrapping, side-by-side blocks and tables, laid out from
column widths computed once, character for character as rich lays out the same Text, Columns and
Table (so the plain output and the styled one are the same characters).

Everything here works on plain strings: a laid-out block is a ``list[str]``, one string per line,
padded as rich pads it (a pipe strips the trailing spaces; a terminal keeps them). Where a case is
outside what this engine lays out (a word longer than the line, a tab, a blank line inside a cell,
a character wider than one cell being cut), the functions return None and the caller draws the same
thing with rich instead: slower, never different.

A leaf of render/: it imports no view and nothing of convgrad.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment

#: What rich takes for a word when it wraps: leading spaces, the word, its trailing spaces.
_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")

#: The box drawn under a table's header row (rich's SIMPLE_HEAD without edges).
HEAD_RULE = "─"


class Unsupported(Exception):
    """A case this engine does not lay out: the caller draws it with rich instead."""


class NoRoom(Unsupported):
    """A table column squeezed narrower than its padding: nothing of its cells would show."""


#: Characters past ASCII that convgrad writes and that take one terminal cell each (marks, dots,
#: rules): a text of these and ASCII is measured by its length, without rich's per-character table.
_WIDER = re.compile("[^\x00-\x7f✓✗≈·…─×]")


def _narrow(text: str) -> bool:
    return text.isascii() or _WIDER.search(text) is None


def width_of(text: str) -> int:
    """A line's width in terminal cells (its length, for ASCII)."""
    return len(text) if _narrow(text) else cell_len(text)


def single_cell(text: str) -> bool:
    """Whether every character of ``text`` takes one terminal cell (so cells and characters agree)."""
    return _narrow(text) or cell_len(text) == len(text)


def _check(text: str) -> None:
    if "\t" in text or "\n\n" in text or text.endswith("\n"):
        raise Unsupported(text)


def _break(line: str, width: int, fold: bool) -> list[str]:
    """One line cut into pieces at word starts so each fits ``width`` (rich's divide_line)."""
    if width_of(line) <= width:  # every word fits where it is
        return [line]
    if single_cell(line) and line.isprintable() and line == line.strip(" ") and "  " not in line:
        return _break_words(line, width, fold)
    measure = len if single_cell(line) else cell_len
    starts: list[int] = []
    offset = 0
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group(0)
        length = measure(word.rstrip())
        if width - offset >= length:
            offset += measure(word)
        elif length > width:
            if fold:
                raise Unsupported(word)  # folding a word across lines: left to rich
            if start:
                starts.append(start)
            offset = measure(word)
        elif offset and start:
            starts.append(start)
            offset = measure(word)
    bounds = [0, *starts, len(line)]
    return [line[a:b] for a, b in pairwise(bounds)]


def _break_words(line: str, width: int, fold: bool) -> list[str]:
    """``_break`` for a line of words one space apart, each character one cell wide."""
    pieces, start, offset, position = [], 0, 0, 0
    for word in line.split(" "):
        length = len(word)
        if width - offset >= length:
            offset += length + 1
        elif length > width:
            if fold:
                raise Unsupported(word)
            if position:
                pieces.append(line[start:position])
                start = position
            offset = length + 1
        elif offset and position:
            pieces.append(line[start:position])
            start, offset = position, length + 1
        position += length + 1
    pieces.append(line[start:])
    return pieces


def _truncate(line: str, width: int, ellipsis: bool, pad: bool = False) -> str:
    """Cut a line to ``width`` cells ("…" at the cut when ``ellipsis``), padded with spaces if ``pad``."""
    length = width_of(line)
    if length > width:
        if not single_cell(line):
            raise Unsupported(line)
        line = line[: width - 1] + "…" if ellipsis else line[:width]
    elif pad and length < width:
        line += " " * (width - length)
    return line


def wrap(
    text: str | list[str], width: int, justify: str = "default", overflow: str = "fold", no_wrap: bool = False
) -> list[str]:
    """``text`` (lines split at "\\n", or given as lines) word-wrapped at ``width`` cells as rich
    wraps a Text.

    justify: "default" (lines as they are), "left" (padded to the width) or "right" (right-aligned).
    overflow: "fold" or "ellipsis" (a word longer than the line is cut, with "…").
    """
    if isinstance(text, str):
        _check(text)
        lines = text.split("\n")
    else:
        lines = text
        if "\t" in "".join(lines) or (len(lines) > 1 and not all(lines[1:])):
            raise Unsupported("a tab or a blank line")
    if (
        all(line.isascii() for line in lines) and max(map(len, lines)) <= width
    ):  # the common case: every line fits as it is
        if justify == "left":
            return [line.ljust(width) for line in lines]
        if justify == "right":
            return [line.rstrip().rjust(width) for line in lines]
        return lines
    out = []
    for line in lines:
        if no_wrap:
            pieces = [line]
        else:
            pieces = _break(line, width, fold=overflow == "fold")
            for i, piece in enumerate(pieces):
                if len(piece) > width:  # whitespace past the width goes (rich's rstrip_end)
                    space = _TRAILING_SPACE.search(piece)
                    if space is not None:
                        pieces[i] = piece[: len(piece) - min(len(space.group(0)), len(piece) - width)]
        ellipsis = overflow == "ellipsis"
        for piece in pieces:
            if justify == "left":
                piece = _truncate(piece, width, ellipsis, pad=True)
            elif justify == "right":
                piece = _truncate(piece.rstrip(), width, ellipsis)
                piece = " " * (width - width_of(piece)) + piece
            out.append(_truncate(piece, width, ellipsis))
    return out


def text_width(lines: Sequence[str]) -> int:
    """The widest line, in cells."""
    if "".join(lines).isascii():
        return max(map(len, lines), default=0)
    return max((width_of(line) for line in lines), default=0)


# -- side by side -----------------------------------------------------------------------------


def column_count(widths: Sequence[int], gap: int, width: int) -> int:
    """How many items go in a row, filled row by row, so each row fits ``width`` (as rich.columns)."""
    count = len(widths)
    while count > 1:
        columns: dict[int, int] = {}
        column = 0
        padded = list(widths) + [0] * (-len(widths) % count)
        for item_width in padded:
            columns[column] = max(columns.get(column, 0), item_width)
            if sum(columns.values()) + gap * (len(columns) - 1) > width:
                count = len(columns) - 1
                break
            column = (column + 1) % count
        else:
            break
    return max(count, 1)


def side_by_side(items: Sequence[Sequence[str]], width: int, gap: int = 4) -> list[str]:
    """Blocks of lines in a row, ``gap`` spaces apart, wrapping onto further rows when ``width``
    runs out (rich's Columns of left-aligned Text). Every line is padded to the row's width."""
    measured = [
        list(zip(item, map(len, item)))
        if "".join(item).isascii()
        else [(line, len(line) if line.isascii() else cell_len(line)) for line in item]
        for item in items
    ]
    widths = [max(w for _, w in item) for item in measured]
    if any(w > width for w in widths) or not all(widths):
        raise Unsupported("an item wider than the line")
    count = column_count(widths, gap, width)
    cells: list[list[tuple[str, int]]] = measured + [[]] * (-len(items) % count)
    shown = widths + [0] * (-len(items) % count)
    col_width = [max(shown[i::count]) for i in range(count)]
    rooms = [w + gap for w in col_width[:-1]] + [col_width[-1]]
    out = []
    for first in range(0, len(cells), count):
        row = cells[first : first + count]
        height = max(len(cell) for cell in row)
        padded = [cell + [("", 0)] * (height - len(cell)) for cell in row]
        for parts in zip(*padded):
            out.append("".join([line + " " * (room - w) for (line, w), room in zip(parts, rooms)]))
    return out


# -- styled lines (for a terminal with colour) --------------------------------------------------

#: A run of text and its rich style ("" for none); a styled line is a list of runs. Runs split where
#: rich splits its segments (at each span's ends), so styling them prints what rich prints.
Run = tuple[str, str]
StyledLine = list[Run]


def runs_width(line: StyledLine) -> int:
    return sum(width_of(text) for text, _ in line)


def wrap_styled(line: StyledLine, width: int) -> list[StyledLine]:
    """A one-line Text of runs word-wrapped at ``width`` (justify "default"), the runs cut at the
    line breaks as rich cuts its spans."""
    plain = "".join(text for text, _ in line)
    _check(plain)
    if "\n" in plain:
        raise Unsupported(plain)
    if width_of(plain) <= width:
        return [line]
    bounds = []
    start = 0
    for piece in _break(plain, width, fold=True):
        end = start + len(piece)
        if len(piece) > width:  # whitespace past the width goes (rich's rstrip_end)
            space = _TRAILING_SPACE.search(piece)
            if space is not None:
                end -= min(len(space.group(0)), len(piece) - width)
        if width_of(plain[start:end]) > width:
            raise Unsupported(piece)
        bounds.append((start, end))
        start += len(piece)
    spans = []  # each run's [start, end) in the plain line
    offset = 0
    for text, style in line:
        spans.append((offset, offset + len(text), style))
        offset += len(text)
    out = []
    k = 0  # the first run that may reach into the next line
    for first, last in bounds:
        while k < len(spans) and spans[k][1] <= first:
            k += 1
        runs: StyledLine = []
        j = k
        while j < len(spans) and spans[j][0] < last:
            start, end, style = spans[j]
            a, b = max(first, start), min(last, end)
            if a < b:
                runs.append((plain[a:b], style))
            j += 1
        out.append(runs)
    return out


def side_by_side_styled(
    items: Sequence[Sequence[tuple[StyledLine, str]]], width: int, gap: int = 4
) -> list[StyledLine]:
    """``side_by_side`` for styled lines: each line comes with the style its padding to the column's
    width takes (its Text's own style, as rich pads it; a last run of that style is the Text's own
    and runs on into the padding); the gap between columns is unstyled."""
    widths = [max(runs_width(line) for line, _ in item) for item in items]
    if any(w > width for w in widths) or not all(widths):
        raise Unsupported("an item wider than the line")
    count = column_count(widths, gap, width)
    cells: list[Sequence[tuple[StyledLine, str]]] = list(items) + [[]] * (-len(items) % count)
    shown = widths + [0] * (-len(items) % count)
    col_width = [max(shown[i::count]) for i in range(count)]
    out = []
    for first in range(0, len(cells), count):
        row = cells[first : first + count]
        for n in range(max(len(cell) for cell in row)):
            runs: StyledLine = []
            for c, cell in enumerate(row):
                gap_after = gap if c < count - 1 else 0
                if n < len(cell):
                    line, pad_style = cell[n]
                    pad = " " * (col_width[c] - runs_width(line))
                    if line and line[-1][1] == pad_style:  # the Text's own style runs on into its padding
                        runs += line[:-1]
                        runs.append((line[-1][0] + pad, pad_style))
                    else:
                        runs += line
                        runs.append((pad, pad_style))
                    runs.append((" " * gap_after, ""))
                else:
                    runs.append((" " * (col_width[c] + gap_after), ""))
            out.append(runs)
    return out


def lines_of_pieces(pieces: Iterable[Run]) -> list[StyledLine]:
    """Styled pieces (which may hold line breaks) as styled lines."""
    lines: list[StyledLine] = [[]]
    for text, style in pieces:
        first, *rest = text.split("\n")
        if first:
            lines[-1].append((first, style))
        for part in rest:
            lines.append([(part, style)] if part else [])
    return lines


# -- tables -----------------------------------------------------------------------------------


@dataclass
class Column:
    """A table column: its header, how its cells are aligned, whether they may wrap."""

    header: str
    justify: str = "left"
    no_wrap: bool = False
    overflow: str = "ellipsis"

    def wrapping(self) -> dict[str, Any]:
        return {"justify": self.justify, "overflow": self.overflow, "no_wrap": self.no_wrap}


def ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take ``total`` off ``values`` in proportion to ``ratios``, at most ``maximums`` each (as rich)."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    left, share = total, sum(ratios)
    if not share:
        return list(values)
    out = []
    for ratio, most, value in zip(ratios, maximums, values):
        if ratio and share > 0:
            taken = min(most, round(ratio * left / share))
            out.append(value - taken)
            left -= taken
            share -= ratio
        else:
            out.append(value)
    return out


def collapse(widths: list[int], wrapable: list[bool], most: int) -> list[int]:
    """Narrow the widest wrapable columns until the widths sum to ``most`` or nothing can give."""
    total = sum(widths)
    excess = total - most
    if not any(wrapable):
        return widths
    while total and excess > 0:
        widest = max(w for w, ok in zip(widths, wrapable) if ok)
        next_widest = max((w if ok and w != widest else 0) for w, ok in zip(widths, wrapable))
        ratios = [1 if (w == widest and ok) else 0 for w, ok in zip(widths, wrapable)]
        if not any(ratios) or not widest - next_widest:
            break
        widths = ratio_reduce(excess, ratios, [min(excess, widest - next_widest)] * len(widths), widths)
        total = sum(widths)
        excess = total - most
    return widths


class Table:
    """A titled table with a rule under the header, columns a space apart and no outer edge,
    laid out as rich's Table(box=SIMPLE_HEAD, show_edge=False, pad_edge=False) is.

    ``rows`` hold each cell's text: a string (lines split at "\\n") or its lines.
    """

    def __init__(self, title: str, columns: list[Column], rows: list[list[str | list[str]]]) -> None:
        self.title, self.columns = title, columns
        self.rows = [[cell.split("\n") if isinstance(cell, str) else cell for cell in row] for row in rows]
        self._drawn: dict[tuple[int, int], list[list[str]]] = {}
        last = len(columns) - 1
        self.pads = [(0 if i == 0 else 1) + (0 if i == last else 1) for i in range(len(columns))]
        self.natural = [max(text_width(lines) for lines in self._texts(i)) + self.pads[i] for i in range(len(columns))]

    def widths(self, width: int | None) -> list[int]:
        """Column widths (with their padding) at ``width`` (None: each column as wide as its cells)."""
        extra = len(self.columns) - 1
        widths = [w or 1 for w in self.natural]
        if width is None:
            return widths
        room = width - extra
        widths = [min(w, room) or 1 for w in widths]
        if sum(widths) > room:
            widths = collapse(widths, [not c.no_wrap for c in self.columns], room)
            if sum(widths) > room:  # the last resort: every column narrower, its cells cut
                widths = ratio_reduce(sum(widths) - room, [1] * len(widths), widths, widths)
        return widths

    def lines(self, width: int | None) -> list[str]:
        """The table drawn at ``width`` (None: at its natural width, whatever the line holds)."""
        widths = self.widths(width)
        total = sum(widths) + len(widths) - 1
        columns = [self._column(i, w) for i, w in enumerate(widths)]
        out = wrap(self.title, total, justify="left")
        for r in range(len(self.rows) + 1):  # the header, then each row
            cells = [column[r] for column in columns]
            height = max(len(lines) for lines in cells)
            drawn = []
            for lines, w in zip(cells, widths):
                blank = [" " * w] * (height - len(lines))
                drawn.append(blank + lines if r == 0 else lines + blank)  # headers sit at the bottom
            out += [" ".join(parts) for parts in zip(*drawn)]
            if r == 0:
                out.append(HEAD_RULE * total)
        return out

    def _column(self, i: int, width: int) -> list[list[str]]:
        """Column ``i`` at ``width`` (with its padding): the header's lines, then each cell's."""
        key = (i, width)
        if key not in self._drawn:
            left, right, inner = self._room(i, width)
            before, after = " " * left, " " * right
            wrapping = self.columns[i].wrapping()
            right_aligned = wrapping["justify"] == "right"
            aligned = wrapping["justify"] in ("left", "right")
            drawn = []
            for lines in self._texts(i):
                if aligned and "".join(lines).isascii() and max(map(len, lines)) <= inner:  # fits as it is
                    if right_aligned:
                        drawn.append([before + line.rstrip().rjust(inner) + after for line in lines])
                    else:
                        drawn.append([before + line.ljust(inner) + after for line in lines])
                else:
                    drawn.append([before + line + after for line in wrap(lines, inner, **wrapping)])
            self._drawn[key] = drawn
        return self._drawn[key]

    def _room(self, i: int, width: int) -> tuple[int, int, int]:
        """Column ``i``'s left and right padding and the room left for its text at ``width``."""
        left, right = (0 if i == 0 else 1), (0 if i == len(self.columns) - 1 else 1)
        inner = width - left - right
        if inner < 1:
            raise NoRoom(f"column {i} has {width} cells")
        return left, right, inner

    def _texts(self, i: int) -> list[list[str]]:
        """Column ``i``'s header and cells, each as its lines."""
        return [self.columns[i].header.split("\n"), *(row[i] for row in self.rows)]

    def fits(self, width: int) -> bool:
        """Whether it draws at ``width`` with nothing cut: no cell shows "…", and no column is
        squeezed narrower than its padding (rich would draw such a column empty, its cells gone).
        Decided at the first cut cell."""
        if "…" in self.title:
            return False
        for i, w in enumerate(self.widths(width)):
            try:
                _, _, inner = self._room(i, w)
            except NoRoom:  # no room at all for this column's cells
                return False
            if w == self.natural[i]:  # each cell as wide as it needs: cut only if it holds "…"
                if any("…" in line for lines in self._texts(i) for line in lines):
                    return False
                continue
            wrapping = self.columns[i].wrapping()
            if any("…" in line for text in self._texts(i) for line in wrap(text, inner, **wrapping)):
                return False
        return True


class Drawn:
    """Lines already laid out, printed as they are: rich neither wraps nor crops them. Plain lines
    are strings; styled lines are runs, each styled by rich as it styles its own segments."""

    def __init__(self, lines: Sequence[str | StyledLine]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Any, options: Any) -> Any:
        if all(isinstance(line, str) for line in self.lines):
            # a segment a line: rich splits what it prints at each "\n", copying the rest of a segment each time
            for line in self.lines:
                yield Segment(line + "\n")  # type: ignore[operator]
            return
        styles: dict[str, Any] = {}
        plain: list[str] = []
        for line in self.lines:
            for text, style in [(line, "")] if isinstance(line, str) else line:
                if not text:
                    continue
                if not style:
                    plain.append(text)
                    continue
                if plain:
                    yield Segment("".join(plain))
                    plain = []
                if style not in styles:
                    styles[style] = console.get_style(style)
                yield Segment(text, styles[style])
            plain.append("\n")
        yield Segment("".join(plain))


class Wrapped:
    """Styled pieces (which may hold line breaks) printed as rich prints the Text they make
    (justify "default", overflow "fold", wrapped at the width it is given), laid out here; where
    this engine does not lay a line out (or the console records, or wants ASCII), rich draws the Text."""

    def __init__(self, pieces: Iterable[Run]) -> None:
        self.pieces = list(pieces)

    def text(self) -> Any:
        from rich.text import Text

        text = Text()
        for piece, style in self.pieces:
            text.append(piece, style or None)
        return text

    def __rich_console__(self, console: Any, options: Any) -> Any:
        if console.record or options.ascii_only or options.justify or options.overflow or options.no_wrap:
            yield self.text()
            return
        width = options.max_width
        try:
            if console.color_system is None:
                plain = wrap("".join(text for text, _ in self.pieces), width)
                yield Drawn(plain)
                return
            lines: list[StyledLine] = []
            for line in lines_of_pieces(self.pieces):
                lines += wrap_styled(line, width)
        except Unsupported:
            yield self.text()
            return
        yield Drawn(lines)
