"""Exports for write-ups: Markdown, LaTeX (compiles as-is), CSV (one row per overlay).

Each is built from the result itself, never by re-parsing another output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from ..api import Result, overlay_in_form
from ..audits import padding_crop, stride_leftovers
from ..numbers import index_label
from .jsonout import dumps, record_object, scalar
from .markdown import answer_arrays, answers_section, array_markdown, problem_arrays, problem_section, working_section
from .markdown import escape_markdown as md_escape
from .text import (
    Formatter,
    config_words,
    formatter,
    labelled_slices,
    output_formula,
    plural,
    position_text,
    shape_text,
    slice_label,
    window_words,
)

# -- Markdown --------------------------------------------------------------------------------


def markdown_document(
    result: Result, indices: Iterable[int], precision: int | None = None, title: str | None = None
) -> str:
    fmt = formatter(result, precision)
    command = "backward" if result.is_backward else "forward"
    parts = [f"# {title or 'convgrad ' + command}", "## Problem", problem_section(result, fmt)]
    working = working_section(result, indices, fmt)
    if working:
        parts += ["## Overlays", working]
    parts += ["## Totals" if result.is_backward else "## Result", answers_section(result, fmt)]
    notes = audit_sentences(result, fmt)
    if notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"


def explain_markdown(result: Result, indices: Iterable[int], precision: int | None = None) -> str:
    """--explain as Markdown: the problem, the story overlay by overlay (the terminal's sentences;
    its grids as tables, one under another), the closing, the totals."""
    from .story import story_blocks
    from .text import make_style

    style = make_style(result, precision, 10**6)
    fmt = style.fmt
    dims = result.problem.geom.dims
    command = "backward" if result.is_backward else "forward"
    parts = [f"# convgrad {command} --explain", "## Problem", problem_section(result, fmt), "## Overlays"]
    for block in story_blocks(result, indices, style):
        if block.kind == "heading":
            parts.append(f"{'#' * block.level} {md_escape(block.text)}")
        elif block.kind == "paragraph":
            parts.append(md_escape(block.text))
        else:
            parts += [f"*{md_escape(label)}*\n\n{array_markdown(array, fmt, dims)}" for label, array in block.arrays]
    parts += ["## Totals" if result.is_backward else "## Result", answers_section(result, fmt)]
    return "\n\n".join(parts) + "\n"


def audit_sentences(result: Result, fmt: Formatter) -> list[str]:
    """The audits in one sentence each, for exports."""
    if result.problem.kind is not None:
        return []  # no padding, no stride: each overlay is one entry
    g = result.problem.geom
    notes = []
    for left in stride_leftovers(g):
        notes.append(
            f"Along spatial axis {left.axis}, A_prev indices {', '.join(map(str, left.indices))} are under "
            f"no window (out = {output_formula(g, left.axis)}), so their dA_prev is exactly 0."
        )
    crop = padding_crop(result.problem) if result.is_backward else None
    if crop is not None:
        notes.append(
            f"The gradient that fell on the padding (total magnitude {fmt(crop.discarded)}) is "
            f"discarded: dA_prev is the padded input's gradient without its border."
        )
    return notes


# -- LaTeX -------------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # symbols the sentences use that pdflatex's default fonts do not have in text mode
    "Σ": r"$\Sigma$",
    "→": r"$\rightarrow$",
    "×": r"$\times$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "−": "-",
    "·": r"$\cdot$",
    "⋆": r"$\star$",
    "∂": r"$\partial$",
    "…": r"\dots{}",
    "←": r"$\leftarrow$",
    "η": r"$\eta$",
    "°": r"$^\circ$",
    "√": r"$\surd$",
    "≈": r"$\approx$",
}


_LATEX_TABLE = str.maketrans(_LATEX_SPECIAL)


def tex_escape(text: str) -> str:
    return text.translate(_LATEX_TABLE)


@lru_cache(maxsize=65_536)  # a pure function of the text: each distinct number converted once
def tex_number(text: str) -> str:
    """A formatted number or formula for math mode: 5/3 as \\frac, 1e-5 as 10^{-5}, * as \\cdot."""
    if "/" in text and text.replace("-", "").replace("/", "").isdigit():
        sign = "-" if text.startswith("-") else ""
        num, den = text.lstrip("-").split("/")
        return f"{sign}\\frac{{{num}}}{{{den}}}"
    if "e" in text and text.replace("e", "").replace("-", "").replace(".", "").replace("+", "").isdigit():
        mantissa, exponent = text.split("e")
        return f"{mantissa}\\cdot 10^{{{int(exponent)}}}"
    if text in ("inf", "-inf", "nan"):
        return {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{NaN}"}[text]
    # A formula: names are letters, digits and _ (checked on input); anything else TeX reads is escaped.
    safe = "".join(ch if ch.isalnum() or ch in " +-*/()._=[]," else _LATEX_SPECIAL.get(ch, "?") for ch in text)
    return safe.replace("**", "^").replace("*", r" \cdot ").replace("_", r"\_")


def tex_matrix(array: Any, fmt: Formatter) -> str:
    """A 0-, 1- or 2-D array as a bmatrix (higher ranks: one per leading index)."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return tex_number(fmt(array[()]))
    if array.ndim == 1:
        return r"\begin{bmatrix}" + " & ".join(tex_number(fmt(v)) for v in array) + r"\end{bmatrix}"
    if array.ndim == 2:
        rows = [" & ".join(tex_number(fmt(v)) for v in row) for row in array]
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
    return r",\ ".join(tex_matrix(a, fmt) for a in array)


#: \fit{...}: its content at natural size, or scaled down to the line width when wider.
_FIT = r"\newcommand{\fit}[1]{\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{#1}}"


def tex_array(name: str, array: Any, names: tuple[str, ...], fmt: Formatter, spatial_dims: int) -> list[str]:
    """One array as displayed lines: its name, then each H x W slice labelled by sample and channel
    (as the terminal draws them), each scaled down to the line width if wider."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return [rf"\noindent ${name} = {tex_number(fmt(array[()]))}$\par"]
    slices = labelled_slices(array, names, spatial_dims)
    if len(slices) == 1 and not slices[0][0]:
        return [r"\noindent\fit{$\displaystyle " + f"{name} = {tex_matrix(slices[0][1], fmt)}" + r"$}\par"]
    lines = [rf"\noindent ${name}$\par"]
    for label, matrix in slices:
        shown = (r"\text{" + tex_escape(label) + r":}\ " if label else "") + tex_matrix(matrix, fmt)
        lines.append(r"\noindent\fit{$\displaystyle " + shown + r"$}\par")
    return lines


#: Products per line of a LaTeX sum before it continues on the next line.
TERMS_PER_LINE = 6
#: How a tap in the padding is marked in LaTeX (a subscript: it keeps the line height).
PAD_MARK = r"_{\mathrm{pad}}"


def _tex_factor(text: str) -> str:
    number = tex_number(text)
    return f"({number})" if text.startswith("-") else number


def tex_marked_matrix(array: Any, fmt: Formatter, padded: Any) -> str:
    """A window-sized array as a bmatrix with the entries on the padding marked 'pad'."""
    array = np.asarray(array, dtype=object)
    mask = np.broadcast_to(np.asarray(padded, dtype=bool), array.shape)
    if array.ndim == 0:
        return tex_number(fmt(array[()])) + (PAD_MARK if mask[()] else "")
    if array.ndim > 2:
        return r",\ ".join(tex_marked_matrix(a, fmt, m) for a, m in zip(array, mask))
    rows = array.reshape(1, -1) if array.ndim == 1 else array
    marks = mask.reshape(rows.shape)
    body = r" \\ ".join(
        " & ".join(tex_number(fmt(v)) + (PAD_MARK if m else "") for v, m in zip(row, mrow))
        for row, mrow in zip(rows, marks)
    )
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


def tex_sum_of_products(overlay: Any, fmt: Formatter) -> list[str]:
    """Z's sum of products, w·a for every tap (the padding taps marked), in lines of TERMS_PER_LINE."""
    kernel = np.ravel(overlay.kernel)
    A_slice = np.ravel(overlay.A_slice)
    padded = np.ravel(np.broadcast_to(~np.asarray(overlay.in_input, dtype=bool), np.shape(overlay.A_slice)))
    terms = [
        f"{_tex_factor(fmt(w))} \\cdot {_tex_factor(fmt(a))}{PAD_MARK if pad else ''}"
        for w, a, pad in zip(kernel, A_slice, padded)
    ]
    bias_text = fmt(overlay.bias)
    if bias_text != "0":
        terms.append(_tex_factor(bias_text))
    if len(terms) > 4 * TERMS_PER_LINE:  # too many to write out: say what the sum is
        return [f"\\textstyle\\sum W \\cdot A_{{slice}}\\ (\\text{{{len(kernel)} products}})"]
    return [" + ".join(terms[i : i + TERMS_PER_LINE]) for i in range(0, len(terms), TERMS_PER_LINE)]


def _overlay_latex(overlay: Any, result: Result, fmt: Formatter) -> list[str]:
    """One overlay as a paragraph: where it sits, then Z's sum of products and (backward) what it adds."""
    p = result.problem
    g, form = p.geom, p.form
    window = form.window_from_canonical
    padded = ~np.broadcast_to(np.asarray(overlay.in_input, dtype=bool), np.shape(overlay.A_slice))
    head = f"Overlay {overlay.index + 1}"
    where = []
    if g.batch > 1:
        where.append(f"n {overlay.n}")
    if g.out_channels > 1:
        where.append(f"c_out {overlay.c_out}")
    where += [f"position {position_text(overlay.position)}", f"window {window_words(overlay, g)}"]
    pads = int(padded.sum())
    if pads:
        where.append(f"{pads} of {padded.size} taps in the padding (marked pad, read as 0)")
    lines = [r"\paragraph{" + head + "} " + tex_escape(", ".join(where)) + r".\par"]
    z_label = index_label("Z", form.activation_index((overlay.n, overlay.c_out) + overlay.position))
    sums = tex_sum_of_products(overlay, fmt)
    z_value = tex_number(fmt(overlay.Z))
    rows = [f"{tex_number(z_label)} = {sums[0]}"] + [f"\\quad + {more}" for more in sums[1:]]
    rows[-1] += f" = {z_value}"
    if overlay.dW is not None and overlay.dA_prev is not None:
        dz = tex_number(fmt(overlay.dZ))
        mark, then = tex_marked_matrix, " = "
        rows += [
            f"d{tex_number(z_label)} = {dz}",
            f"dW \\mathrel{{+}}= dZ \\cdot A_{{slice}} = {_tex_factor(fmt(overlay.dZ))} \\cdot "
            f"{mark(window(overlay.A_slice), fmt, window(padded))}{then}{tex_matrix(window(overlay.dW), fmt)}",
            f"db \\mathrel{{+}}= dZ = {dz}",
            f"dA_{{prev}} \\mathrel{{+}}= dZ \\cdot W = {_tex_factor(fmt(overlay.dZ))} \\cdot "
            f"{tex_matrix(window(overlay.kernel), fmt)}{then}{mark(window(overlay.dA_prev), fmt, window(padded))}",
        ]
        if pads:
            rows[-1] += r" \quad \text{(pad entries discarded)}"
    # One displayed line per row, scaled down to the line width when wider: a wide window never
    # overflows the page.
    lines += [r"\noindent\fit{$\displaystyle " + row + r"$}\par" for row in rows]
    return lines


def latex_document(result: Result, indices: Iterable[int], precision: int | None = None) -> str:
    """A standalone article: the problem (each array as H x W slices labelled by sample and channel),
    a paragraph per overlay (Z's sum of products written out, the padding taps marked, what the overlay
    adds to each gradient), the totals. A line wider than the page is scaled down to fit it."""
    fmt = formatter(result, precision)
    p = result.problem
    if p.kind is not None:
        return _kind_latex(result, indices, fmt)
    g, shapes = p.geom, p.user_shapes
    backward = result.is_backward
    lines = _preamble() + [
        r"\section*{" + ("Backward" if backward else "Forward") + " pass through a convolution layer}",
        tex_escape(
            f"{g.dims}-D {p.mode_name}; A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])}, "
            f"{config_words(g)}; Z {shape_text(shapes['Z'])}, {plural(g.overlay_count, 'overlay')}."
        ),
        "",
        r"\subsection*{Problem}",
    ]
    for name, array, names in problem_arrays(result):
        lines += tex_array(tex_name(name), array, names, fmt, g.dims)
    lines += ["", r"\subsection*{Overlays}"]
    for overlay in result.canonical_overlays(indices):
        lines += _overlay_latex(overlay, result, fmt)
    lines += ["", r"\subsection*{" + ("Totals" if backward else "Result") + "}"]
    for name, array, names in answer_arrays(result):
        lines += tex_array(tex_name(name), array, names, fmt, g.dims)
    for note in audit_sentences(result, fmt):
        lines += ["", tex_escape(note)]
    lines += [r"\end{document}", ""]
    return "\n".join(lines)


def tex_name(name: str) -> str:
    """An array's name for math mode: A_prev as A_{prev}."""
    head, _, tail = name.partition("_")
    return f"{head}_{{{tail}}}" if tail else name


def _kind_latex(result: Result, indices: Iterable[int], fmt: Formatter) -> str:
    """A kind that declares its columns: the problem, each overlay as a paragraph with one line per
    column (a line wider than the page is scaled to fit, as convolution's are), the totals."""
    p = result.problem
    kind = p.kind
    assert kind is not None
    form, shapes = p.form, p.user_shapes
    backward = result.is_backward
    columns = [c for c in kind.columns if backward or not c.backward]
    lines = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\usepackage{graphicx}",
        _FIT,
        r"\begin{document}",
        r"\section*{" + ("Backward" if backward else "Forward") + f" pass through {tex_escape(p.layer)}}}",
        tex_escape(f"{kind.sentence}. A_prev {shape_text(shapes['A_prev'])}; Z {shape_text(shapes['Z'])}."),
        "",
        r"\subsection*{Problem}",
    ]
    arrays = [("A_{prev}", form.activation_from_canonical(p.A_prev))]
    if p.W is not None:  # a kind with weights (conv-transpose)
        arrays.append(("W", form.kernel_from_canonical(p.W)))
        if p.b is not None:
            arrays.append(("b", form.bias_from_canonical(p.b)))
    if p.dZ is not None:
        arrays.append(("dZ", form.activation_from_canonical(p.dZ)))
    lines += [
        r"\noindent\fit{$\displaystyle " + f"{name} = {tex_matrix(value, fmt)}" + r"$}\par" for name, value in arrays
    ]
    lines += ["", r"\subsection*{Overlays}"]
    for record in result.records(indices):
        where = ", ".join(position_text(form.activation_index(index)) for index in record.reads)
        lines.append(r"\paragraph{Overlay " + str(record.index + 1) + "} " + tex_escape(f"reads {where}") + r"\par")
        for column in columns:
            value = record.values[column.key]
            shown = r"\text{" + tex_escape(value) + "}" if isinstance(value, str) else tex_matrix(value, fmt)
            lines.append(r"\noindent\fit{$\displaystyle \text{" + tex_escape(column.title) + "} = " + shown + r"$}\par")
    lines += ["", r"\subsection*{" + ("Totals" if backward else "Result") + "}"]
    for name in ("Z", "dW", "db", "dA_prev"):
        value = result.shown(name)
        if value is not None:
            label = name.replace("_prev", "_{prev}")
            lines.append(r"\noindent\fit{$\displaystyle " + f"{label} = {tex_matrix(value, fmt)}" + r"$}\par")
    lines += [r"\end{document}", ""]
    return "\n".join(lines)


def _preamble() -> list[str]:
    return [
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\usepackage{longtable}",
        r"\usepackage{array}",
        r"\usepackage{graphicx}",
        _FIT,
        r"\setcounter{MaxMatrixCols}{200}",
        r"\renewcommand{\arraystretch}{1.25}",  # matrix rows apart: brackets never touch a minus sign
        r"\setlength{\parskip}{4pt}",  # stacked matrices apart
        r"\sloppy",
        r"\allowdisplaybreaks",
        r"\begin{document}",
    ]


def tex_slices(name: str, array: Any, fmt: Formatter, spatial_dims: int) -> list[str]:
    """align* rows for an array: one bmatrix, or one per leading index, each labelled
    (A_{prev}[0, 1, :, :]) as the Markdown tables are, so a reader knows which slice is which."""
    array = np.asarray(array, dtype=object)
    grid_dims = min(1 if spatial_dims == 1 else 2, array.ndim)
    lead = array.ndim - grid_dims
    if lead == 0:
        return [f"{name} &= {tex_matrix(array, fmt)}"]
    return [
        f"{name}{slice_label(index, grid_dims)} &= {tex_matrix(array[index], fmt)}"
        for index in np.ndindex(*array.shape[:lead])
    ]


def _problem_arrays(result: Result, fmt: Formatter) -> list[str]:
    p = result.problem
    form = p.form
    arrays = [("A_{prev}", form.activation_from_canonical(p.A_prev)), ("W", form.kernel_from_canonical(p.W))]
    if p.b is not None:
        arrays.append(("b", form.bias_from_canonical(p.b)))
    if p.dZ is not None:
        arrays.append(("dZ", form.activation_from_canonical(p.dZ)))
    rows = [row for name, value in arrays for row in tex_slices(name, value, fmt, p.geom.dims)]
    return [r"\begin{align*}", " \\\\[4pt]\n".join(rows), r"\end{align*}"]


def sheet_latex(result: Result, title: str = "Exercise", description: str | None = None) -> str:
    """A problem-only student sheet as a standalone article: configuration, arrays, questions."""
    from .markdown import sheet_questions

    fmt = formatter(result)
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    lines = _preamble() + [r"\section*{" + tex_escape(title) + "}"]
    if description:
        lines += [r"{\small " + tex_escape(description) + "}", ""]
    lines += [
        tex_escape(
            f"{g.dims}-D {p.mode_name}; A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])}, "
            f"{config_words(g)}; Z {shape_text(shapes['Z'])}."
        ),
        "",
        r"\subsection*{Problem}",
        *_problem_arrays(result, fmt),
        r"\subsection*{Questions}",
        r"\begin{enumerate}",
        *(r"\item " + tex_escape(q) for q in sheet_questions(result)),
        r"\end{enumerate}",
        r"\end{document}",
        "",
    ]
    return "\n".join(lines)


def explain_latex(result: Result, indices: Iterable[int], precision: int | None = None) -> str:
    """--explain as a standalone article: the same sentences and arrays as explain_markdown."""
    from .story import story_blocks
    from .text import make_style

    style = make_style(result, precision, 10**6)
    fmt = style.fmt
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    backward = result.is_backward
    lines = _preamble() + [
        r"\section*{" + ("Backward" if backward else "Forward") + " pass through a convolution layer, explained}",
        tex_escape(
            f"{g.dims}-D {p.mode_name}; A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])}, "
            f"{config_words(g)}; Z {shape_text(shapes['Z'])}, {g.overlay_count} overlays."
        ),
        "",
        r"\subsection*{Problem}",
        *_problem_arrays(result, fmt),
        r"\subsection*{Overlays}",
    ]
    for block in story_blocks(result, indices, style):
        if block.kind == "heading":
            command = r"\subsection*" if block.level == 2 else r"\paragraph"
            lines += ["", command + "{" + tex_escape(block.text) + "}"]
        elif block.kind == "paragraph":
            lines += [tex_escape(block.text), ""]
        else:
            rows = [f"&\\text{{{tex_escape(label)}}}: & {tex_matrix(array, fmt)}" for label, array in block.arrays]
            lines += [r"\begin{alignat*}{2}", " \\\\[4pt]\n".join(rows), r"\end{alignat*}"]
    lines += ["", r"\subsection*{" + ("Totals" if backward else "Result") + "}", r"\begin{align*}"]
    totals = [("Z", result.shown("Z"))]
    if backward:
        totals += [("dW", result.shown("dW")), ("db", result.shown("db")), ("dA_{prev}", result.shown("dA_prev"))]
    lines += [r" \\[6pt] ".join(f"{name} &= {tex_matrix(value, fmt)}" for name, value in totals), r"\end{align*}"]
    lines += [r"\end{document}", ""]
    return "\n".join(lines)


# -- HTML (the terminal view, recorded) ----------------------------------------------------------

#: rich's page for a recorded console, with the text kept in one block that scrolls sideways:
#: a line (a grid's row) is never wrapped by the browser, however narrow the window.
HTML_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
{stylesheet}
body {{
    color: {foreground};
    background-color: {background};
}}
pre.convgrad {{
    white-space: pre;
    overflow-x: auto;
}}
</style>
</head>
<body>
    <pre class="convgrad" style="font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace"><code style="font-family:inherit">{code}</code></pre>
</body>
</html>
"""


# -- CSV -----------------------------------------------------------------------------------------

CSV_FIELDS = ("number", "n", "c_out", "position", "window_start", "A_slice", "Z", "dZ", "dW", "db", "dA_prev")


#: The header of the totals section, after the blank line that ends the overlay rows.
CSV_TOTALS_FIELDS = ("quantity", "index", "value")


def csv_rows(result: Result, indices: Iterable[int]) -> Iterator[str]:
    """Two tables in one stream, split by a blank line (see docs/json.md).

    The overlays: a header line, then one line per overlay (none for --overlays none); arrays as
    JSON text in their cells, numbers faithful. The totals: a "quantity,index,value" header, then
    one line per entry of Z (and dW, db, dA_prev), its index in the user's form as a JSON list.
    """
    fields = CSV_FIELDS if result.is_backward else CSV_FIELDS[:7]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    if result.problem.kind is not None:
        yield from _kind_csv_rows(result, indices, line)
    else:
        yield from _conv_csv_rows(result, indices, fields, line)
    yield "\n"
    yield line(list(CSV_TOTALS_FIELDS))
    names = ("Z", "dW", "db", "dA_prev") if result.is_backward else ("Z",)
    for name in names:
        total = getattr(result, name)
        if total is None:  # a kind without weights has no dW and db
            continue
        # Faithful, like the overlay rows and JSON (not the rounded values the human views show).
        for index, value in np.ndenumerate(np.asarray(total, dtype=object)):
            yield line([name, dumps([int(i) for i in index]), scalar(value).strip('"')])


def _conv_csv_rows(result: Result, indices: Iterable[int], fields: Any, line: Any) -> Iterator[str]:
    """Convolution's overlay rows: number, n, c_out, position, window_start, A_slice, Z (and the shares)."""
    yield line(list(fields))
    form = result.problem.form
    for overlay in result.canonical_overlays(indices):
        o = overlay_in_form(overlay, form)
        values = {
            "number": str(o.index + 1),
            "n": str(o.n),
            "c_out": str(o.c_out),
            "position": dumps(list(o.position)),
            "window_start": dumps(list(o.window_start)),
            "A_slice": dumps(o.A_slice),
            "Z": scalar(o.Z),
        }
        if result.is_backward:
            values.update({"dZ": scalar(o.dZ), "dW": dumps(o.dW), "db": scalar(o.db), "dA_prev": dumps(o.dA_prev)})
        yield line([values[f].strip('"') if f in ("Z", "dZ", "db") else values[f] for f in fields])


def _kind_csv_rows(result: Result, indices: Iterable[int], line: Any) -> Iterator[str]:
    """A kind that declares its columns: number, n, channel, position, reads, then its columns."""
    kind = result.problem.kind
    assert kind is not None
    keys = [c.key for c in kind.columns if result.is_backward or not c.backward]
    yield line(["number", "n", "channel", "position", "reads", *keys])
    for record in result.records(indices):
        obj = record_object(record, result)
        values = [str(obj["number"]), str(obj["n"]), str(obj["channel"]), dumps(obj["position"]), dumps(obj["reads"])]
        values += [scalar(obj[k]).strip('"') if np.ndim(obj[k]) == 0 else dumps(obj[k]) for k in keys]
        yield line(values)
