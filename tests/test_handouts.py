"""Handouts: --explain as Markdown and LaTeX (the terminal's sentences), grids that stack instead of
breaking across lines (terminal and --html), the LaTeX overlay paragraphs (sums of products written
out, padding taps marked)."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, SEED

PAD = ROOT / "samples" / "stride2_pad1.json"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_explain_exports_tell_the_same_sentences(cli, fmt):
    told = cli("backward", SEED, "--explain")
    exported = cli("backward", SEED, "--explain", "--format", fmt)
    assert exported.exit_code == 0, exported.stderr
    terminal = _words(told.stdout)
    sentence = "dZ[0] = -0.1, so this overlay adds dZ·A_slice = [-0.1, -0.2] to dW"
    assert sentence in terminal and "Why the weights stay shared" in terminal
    text = _words(exported.stdout)
    if fmt == "markdown":
        assert sentence in text
        assert "## The same gradients as two convolutions" in exported.stdout
        assert "*dA_prev, as a convolution*" in exported.stdout
    else:
        assert r"dZ[0] = -0.1, so this overlay adds dZ$\cdot$A\_slice = [-0.1, -0.2] to dW" in text
        assert r"\subsection*{The same gradients as two convolutions}" in exported.stdout
        assert exported.stdout.rstrip().endswith(r"\end{document}")


def test_explain_still_refuses_json(cli):
    result = cli("backward", SEED, "--explain", "--json")
    assert result.exit_code == 2 and "--explain is told as a table, Markdown or LaTeX" in result.stderr


def test_explain_markdown_forward(cli):
    result = cli("forward", SEED, "--explain", "--format", "markdown")
    assert result.exit_code == 0
    assert "# convgrad forward --explain" in result.stdout and "## Result" in result.stdout
    assert "Why the weights" not in result.stdout


def _grid_rows_intact(out: str) -> None:
    """Every dA_prev row of the identity comparison appears whole on one line."""
    rows = ["0  -0.6  0     1  0", "0   0.2  0  -0.1  0", "0     1  0  -1.2  0", "0  -0.2  0  -0.8  0"]
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "The same gradients as two convolutions" in line)
    section = "\n".join(lines[start:])
    for row in rows:
        assert section.count(row) >= 2, row  # overlay sums and as a convolution


@pytest.mark.parametrize("width", ["50", "80", "120"])
def test_identity_grids_never_break(cli, width):
    out = cli("backward", PAD, "--explain", "--overlays", "1", env={"COLUMNS": width}).stdout
    _grid_rows_intact(out)
    assert all(len(line.rstrip()) <= int(width) for line in out.splitlines() if "0  -0.6" in line)


def test_narrow_width_stacks_the_comparison(cli):
    out = cli("backward", PAD, "--explain", "--overlays", "1", env={"COLUMNS": "50"}).stdout
    assert "dA_prev, overlay sums" in out and "dA_prev, as a convolution" in out
    wide = cli("backward", PAD, "--explain", "--overlays", "1", env={"COLUMNS": "120"}).stdout
    assert "dA_prev, overlay sums" not in wide and "as a convolution" in wide


def test_html_keeps_lines_and_scrolls(cli, tmp_path):
    page = tmp_path / "p.html"
    result = cli("backward", PAD, "--explain", "--overlays", "1", "--html-record", page, env={"COLUMNS": "50"})
    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert "overflow-x: auto" in html and "white-space: pre" in html
    text = re.sub(r"<[^>]+>", "", html).replace("&#x27;", "'")
    _grid_rows_intact(text)


def test_latex_overlays_write_the_sum_of_products_and_mark_padding(cli):
    tex = cli("backward", PAD, "--format", "latex", "--overlays", "1").stdout
    assert r"\paragraph{Overlay 1}" in tex
    assert "5 of 9 taps in the padding (marked pad, read as 0)" in tex
    pad = r"0_{\mathrm{pad}}"
    expected = rf"Z[0, 0] = 1 \cdot {pad} + 0 \cdot {pad} + (-1) \cdot {pad} + 2 \cdot {pad} + 0 \cdot 1 + (-2) \cdot 0"
    assert expected in tex
    assert r"\quad + 1 \cdot 0_{\mathrm{pad}} + 0 \cdot 2 + (-1) \cdot 1 = -1" in tex
    assert r"\text{(pad entries discarded)}" in tex
    assert r"\renewcommand{\arraystretch}{1.25}" in tex
    assert "longtable}{" not in tex  # no more table rows running into each other


def test_latex_without_padding_marks_nothing(cli):
    tex = cli("backward", SEED, "--format", "latex").stdout
    assert r"\mathrm{pad}" not in tex and "padding (marked" not in tex
    assert r"Z[0] = 0.3 \cdot 1 + 0.5 \cdot 2 = 1.3" in tex
