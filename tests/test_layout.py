"""The plain layout engine (render/layout.py) draws the same characters rich draws for the same
Text, Columns and Table: checked against rich itself on random texts, widths and tables."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box
from rich.columns import Columns
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from convgrad.render import layout

WORD = st.text(alphabet="ab01-.()·+=", min_size=1, max_size=14)
LINE = st.lists(WORD, min_size=1, max_size=12).map(" ".join)
CELL = st.lists(LINE, min_size=1, max_size=4).map("\n".join)


def drawn(renderable, width: int) -> list[str]:
    """What rich prints for ``renderable`` at ``width``, line by line, trailing spaces kept."""
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False, highlight=False)
    console.print(renderable, crop=False)
    return console.file.getvalue().split("\n")[:-1]


@settings(max_examples=300, deadline=None)
@given(text=CELL, width=st.integers(1, 70))
def test_wrap_is_rich_wrap(text, width):
    try:
        ours = layout.wrap(text, width)
    except layout.Unsupported:  # a word longer than the line: rich folds it, we leave it to rich
        return
    assert ours == drawn(Text(text), width)


def cell_lines(text: Text, width: int) -> list[str]:
    """A Text as a table cell draws it at ``width`` (rendered directly, its own overflow kept)."""
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False, highlight=False)
    lines = console.render_lines(text, console.options.update_width(width), pad=False)
    return ["".join(segment.text for segment in line) for line in lines]


@settings(max_examples=300, deadline=None)
@given(text=CELL, width=st.integers(1, 40), justify=st.sampled_from(["left", "right"]), no_wrap=st.booleans())
def test_wrap_in_a_cell_is_rich_wrap(text, width, justify, no_wrap):
    ours = layout.wrap(text, width, justify=justify, overflow="ellipsis", no_wrap=no_wrap)
    theirs = Text(text, justify=justify, overflow="ellipsis", no_wrap=no_wrap)
    assert ours == cell_lines(theirs, width)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(st.lists(LINE, min_size=2, max_size=5), min_size=1, max_size=5), width=st.integers(10, 120))
def test_side_by_side_is_rich_columns(items, width):
    try:
        ours = layout.side_by_side(items, width)
    except layout.Unsupported:  # an item wider than the line
        return
    theirs = Columns([Group(Text(item[0]), Text("\n".join(item[1:]))) for item in items], padding=(0, 4))
    assert ours == drawn(theirs, width)


COLUMN = st.tuples(WORD, st.sampled_from(["left", "right"]), st.booleans())


@settings(max_examples=200, deadline=None)
@given(
    columns=st.lists(COLUMN, min_size=1, max_size=6),
    cells=st.lists(st.lists(CELL, min_size=6, max_size=6), min_size=1, max_size=4),
    title=LINE,
    width=st.integers(20, 160),
)
def test_table_is_rich_table(columns, cells, title, width):
    rows = [row[: len(columns)] for row in cells]
    ours = layout.Table(title, [layout.Column(h, j, no_wrap=n) for h, j, n in columns], rows)
    theirs = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, justify, no_wrap in columns:
        theirs.add_column(header, justify=justify, no_wrap=no_wrap, overflow="ellipsis")
    for row in rows:
        theirs.add_row(*(Text(c) for c in row))
    rich_lines = drawn(theirs, width)
    try:
        fits = ours.fits(width)
    except layout.Unsupported:
        return
    if any(layout.width_of(line) <= 0 for line in rich_lines):
        return
    squeezed = any(w <= pad for w, pad in zip(ours.widths(width), ours.pads))
    assert fits == (not squeezed and not any("…" in line for line in rich_lines))
    if fits:
        with contextlib.suppress(layout.Unsupported):  # a title word longer than the table: rich folds it
            assert ours.lines(width) == rich_lines


@pytest.mark.parametrize("width", [20, 60, 200])
def test_a_wide_table_drawn_whole_is_rich_at_its_natural_width(width):
    cells = [["1", "rows 0..2, cols 0..2", "(-0.2)·1 + 0.5·2 + (-0.3)·0 = 0.8"], ["12", "rows 0..2", "1·1 = 1"]]
    ours = layout.Table(
        "Forward", [layout.Column("#", "right", True), layout.Column("window", no_wrap=True), layout.Column("Z")], cells
    )
    theirs = Table(title="Forward", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    theirs.add_column("#", justify="right", no_wrap=True)
    theirs.add_column("window", no_wrap=True)
    theirs.add_column("Z", overflow="ellipsis")
    for row in cells:
        theirs.add_row(*row)
    natural = sum(ours.widths(None)) + 2
    assert ours.lines(None) == drawn(theirs, natural)
    assert ours.fits(width) == (width >= natural or "…" not in "".join(drawn(theirs, width)))


def printed(renderable, width: int, colour: bool) -> str:
    """What a console prints for ``renderable`` at ``width``, escape codes and all (colour: 256 colours)."""
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system="256" if colour else None,
        force_terminal=colour,
        legacy_windows=False,
        highlight=False,
    )
    console.print(renderable)
    return console.file.getvalue()


STYLE = st.sampled_from(["", "green", "bold red", "italic", "yellow"])
PIECE = st.tuples(st.text(alphabet="ab01-. ✓✗≈\n", min_size=1, max_size=16), STYLE)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(PIECE, min_size=1, max_size=16), width=st.integers(1, 50), colour=st.booleans())
def test_wrapped_pieces_print_as_rich_prints_their_text(pieces, width, colour):
    wrapped = layout.Wrapped(pieces)
    assert printed(wrapped, width, colour) == printed(wrapped.text(), width, colour)


def test_wrapped_pieces_are_laid_out_without_rich_text():
    """A marked grid line past the width: laid out here (a Drawn), not by rich's Text."""
    wrapped = layout.Wrapped([("1.5 ✓", "green"), ("  ", ""), ("2 ✗ 3", "bold red"), ("\n", ""), ("0 ✓", "green")])
    console = Console(file=io.StringIO(), width=6, color_system=None)
    rendered = list(wrapped.__rich_console__(console, console.options))
    assert [type(r) for r in rendered] == [layout.Drawn]
    assert printed(wrapped, 6, False) == printed(wrapped.text(), 6, False) == "1.5 ✓ \n2 ✗ 3\n0 ✓\n"
