"""SVG that every renderer draws alike: rich's export with its spacing made explicit.

rich writes each run of text as one ``<text x=... textLength=...>`` whose spaces are ``&#160;``.
Common renderers (rsvg-convert, hence GNOME and many converters) drop a run's leading spaces, so
right-aligned columns come out left-aligned and ``[1][2] 3`` as ``[1][2]3``. Here a run's leading
and trailing spaces become part of its x position and length instead, a run of spaces alone is
left out (the background is drawn by its own rectangles), and ``xml:space="preserve"`` keeps the
spaces inside a run.
"""

from __future__ import annotations

import html
import re

from rich.cells import cell_len

SPACE = "&#160;"
_TEXT = re.compile(
    r'<text (?P<before>[^>]*?)x="(?P<x>[\d.]+)"(?P<middle>[^>]*?)textLength="(?P<length>[\d.]+)"'
    r"(?P<after>[^>]*)>(?P<content>.*?)</text>",
    re.S,
)


def portable_svg(svg: str) -> str:
    """rich's exported SVG, its leading and trailing spaces moved into the runs' x and textLength."""
    svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
    return _TEXT.sub(_move_spaces, svg)


def _move_spaces(m: re.Match[str]) -> str:
    content = m["content"]
    cells = cell_len(html.unescape(content))
    if cells == 0:
        return m[0]
    lead = _count(content, leading=True)
    if lead * len(SPACE) == len(content):
        return ""  # spaces only: nothing to draw
    trail = _count(content, leading=False)
    if not lead and not trail:
        return m[0]
    width = float(m["length"]) / cells
    x = float(m["x"]) + lead * width
    length = float(m["length"]) - (lead + trail) * width
    inner = content[lead * len(SPACE) : len(content) - trail * len(SPACE)]
    return f'<text {m["before"]}x="{_num(x)}"{m["middle"]}textLength="{_num(length)}"{m["after"]}>{inner}</text>'


def _count(content: str, leading: bool) -> int:
    n = 0
    while True:
        at = n * len(SPACE)
        piece = (
            content[at : at + len(SPACE)] if leading else content[len(content) - at - len(SPACE) : len(content) - at]
        )
        if piece != SPACE:
            return n
        n += 1


def _num(value: float) -> str:
    """A coordinate as rich writes them: at most one decimal, no trailing .0."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
