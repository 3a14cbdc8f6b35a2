"""--svg draws the same with a real SVG renderer as in the terminal: right-aligned columns stay
right-aligned and a space after a bracketed tap stays a space (rsvg-convert drops the leading
spaces of a text run unless they are made explicit)."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
from conftest import ROOT, SEED

from convgrad.render.svg import portable_svg

pytestmark = pytest.mark.skipif(
    shutil.which("rsvg-convert") is None,
    reason="no SVG renderer installed (apt-get install librsvg2-bin to run this)",
)

TEXT = re.compile(
    r'<text [^>]*?x="([\d.]+)"[^>]*?textLength="([\d.]+)"[^>]*?clip-path="url\(#terminal-\d+-line-(\d+)\)"[^>]*>'
    r"(.*?)</text>",
    re.S,
)


def read_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced RGB or RGBA PNG (what rsvg-convert writes) as an (H, W, channels) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        row = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = left
            elif kind == 2:
                predictor = up
            elif kind == 3:
                predictor = (left + up) // 2
            else:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (line[i] + predictor) & 0xFF
        out[y], prev = row, row
    return out.reshape(height, width, bpp)


def render(svg_path, tmp_path) -> np.ndarray:
    png = tmp_path / "out.png"
    subprocess.run(["rsvg-convert", str(svg_path), "-o", str(png)], check=True, timeout=60)
    return read_png(png.read_bytes())


def text_grid(svg: str) -> tuple[dict[int, str], float]:
    """The terminal's lines as the SVG places them (column = x / cell width), and the cell width."""
    runs = [(float(x), float(n), int(line), html.unescape(t)) for x, n, line, t in TEXT.findall(svg)]
    cell = min(n / len(t) for _, n, _, t in runs if t.strip() and len(t) == 1)
    lines: dict[int, list[str]] = {}
    for x, _, line, text in runs:
        text = text.replace("\xa0", " ").rstrip("\n")
        row = lines.setdefault(line, [])
        col = round(x / cell)
        row.extend(" " * (col + len(text) - len(row)))
        row[col : col + len(text)] = text
    return {line: "".join(row) for line, row in lines.items()}, cell


def ink_span(image: np.ndarray, top: int, bottom: int, left: int, right: int) -> tuple[int, int]:
    """The first and last pixel columns in the box that hold light text on the dark background."""
    box = image[top:bottom, max(left, 0) : right, :3].max(axis=2)
    cols = np.nonzero((box > 150).any(axis=0))[0]
    assert cols.size, "no text drawn where the terminal has it"
    return max(left, 0) + int(cols[0]), max(left, 0) + int(cols[-1])


def locate(svg: str) -> tuple[float, float, dict[int, tuple[float, float]]]:
    """The terminal's offset in the image, and each line's top and height."""
    dx, dy = map(float, re.search(r'<g transform="translate\(([\d.]+), ([\d.]+)\)" clip-path', svg).groups())
    rows = {
        int(i): (float(y), float(h))
        for i, y, h in re.findall(r'line-(\d+)">\s*<rect x="0" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    }
    return dx, dy, rows


def test_rendered_svg_keeps_columns_aligned(cli, tmp_path):
    svg_path = tmp_path / "seed.svg"
    assert cli("backward", SEED, "--svg", svg_path).exit_code == 0
    svg = svg_path.read_text()
    image = render(svg_path, tmp_path)
    lines, cell = text_grid(svg)
    dx, dy, rows = locate(svg)

    def span(line: int, token: str, after: int = 0) -> tuple[int, int]:
        """Pixel columns of the ink of ``token`` (its first occurrence at or after column ``after``)."""
        col = lines[line].index(token, after)
        top, height = rows[line]
        left, right = dx + col * cell, dx + (col + len(token)) * cell
        # search a cell beyond either end: a run drawn at the wrong place is still found
        return ink_span(image, int(dy + top), int(dy + top + height), int(left - 2 * cell), int(right + cell))

    # The dZ column of the backward table: -0.1 over 0.2, right-aligned in the terminal.
    first = next(i for i, text in lines.items() if text.startswith("1") and "-0.1" in text and "[-0.1, -0.2]" in text)
    second = first + 1
    header = next(i for i in lines if i < first and "dZ" in lines[i] and "dW +=" in lines[i])
    end = lines[header].index("dZ") + 2
    assert lines[first].index("-0.1") + 4 == lines[second].index("0.2") + 3 == end  # right-aligned text
    right_first, right_second = span(first, "-0.1")[1], span(second, "0.2")[1]
    assert abs(right_first - right_second) <= 2, (right_first, right_second, cell)

    # The window drawing "[1] [2]  3": the 3 sits two cells after the bracket, not against it.
    window = next(i for i, text in lines.items() if "[1] [2]  3" in text)
    col = lines[window].index("[1] [2]  3") + 9
    top, height = rows[window]
    # from just inside the space (the highlighted bracket ends where it starts) to the 3's end
    space = dx + (col - 1) * cell
    left_of_3 = ink_span(image, int(dy + top), int(dy + top + height), int(space + 2), int(space + 2 * cell))[0]
    assert left_of_3 >= space + cell - 1, (left_of_3, space + cell)


def test_docs_seed_svg_is_the_tools_current_output(cli, tmp_path):
    made = tmp_path / "seed.svg"
    assert cli("backward", SEED, "--svg", made).exit_code == 0
    strip_ids = re.compile(r"terminal-\d+")
    docs = (ROOT / "docs" / "seed.svg").read_text()
    assert strip_ids.sub("terminal", docs) == strip_ids.sub("terminal", made.read_text())


def test_portable_svg_moves_leading_spaces_into_x():
    run = '<text class="r2" x="183" y="190.8" textLength="36.6" clip-path="url(#c)">&#160;1&#160;</text>'
    assert portable_svg(f"<svg >{run}</svg>") == (
        '<svg xml:space="preserve" >'
        '<text class="r2" x="195.2" y="190.8" textLength="12.2" clip-path="url(#c)">1</text></svg>'
    )
