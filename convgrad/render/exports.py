"""Exports for write-ups: Markdown, LaTeX (compiles as-is), CSV (one row per overlay).

Each is built from the result itself, never by re-parsing another output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..api import Result, overlay_in_form
from ..audits import padding_crop, stride_leftovers
from .jsonout import dumps, record_object, scalar
from .markdown import answer_arrays, answers_section, problem_arrays, problem_section, working_section
from .text import (
    Formatter,
    config_words,
    formatter,
    labelled_slices,
    output_formula,
    plural,
    position_text,
    shape_text,
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
}


def tex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


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
    safe = "".join(ch if ch.isalnum() or ch in " +-*/()._=" else _LATEX_SPECIAL.get(ch, "?") for ch in text)
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


def tex_window(array: Any, fmt: Formatter, first_channel: int) -> str:
    """A window-shaped (C_in/G, *k) array: one matrix per input channel, labelled c 0, c 1, ..."""
    array = np.asarray(array, dtype=object)
    if array.shape[0] == 1:
        return tex_matrix(array[0], fmt)
    return r",\ ".join(r"\text{c " + str(first_channel + c) + r":}\," + tex_matrix(a, fmt) for c, a in enumerate(array))


def latex_document(result: Result, indices: Iterable[int], precision: int | None = None) -> str:
    """A standalone article: the problem, the working overlay by overlay, the totals.

    Every matrix is an H x W slice labelled by sample and channel; a line wider than the page
    is scaled down to fit it, so no box overflows the margins.
    """
    fmt = formatter(result, precision)
    p = result.problem
    if p.kind is not None:
        return _kind_latex(result, indices, fmt)
    g, shapes = p.geom, p.user_shapes
    lines = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\usepackage{graphicx}",
        r"\setcounter{MaxMatrixCols}{200}",
        _FIT,
        r"\setlength{\parskip}{4pt}",
        r"\begin{document}",
        r"\section*{" + ("Backward" if result.is_backward else "Forward") + " pass through a convolution layer}",
        tex_escape(
            f"{g.dims}-D {p.mode_name}; A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])}, "
            f"{config_words(g)}; Z {shape_text(shapes['Z'])}, {plural(g.overlay_count, 'overlay')}."
        ),
        "",
        r"\subsection*{Problem}",
    ]
    for name, array, names in problem_arrays(result):
        lines += tex_array(tex_name(name), array, names, fmt, g.dims)
    backward = result.is_backward
    overlays = list(result.canonical_overlays(indices))
    if overlays:
        lines += ["", r"\subsection*{Overlays}"]
    for overlay in overlays:
        where = [f"position {position_text(overlay.position)}", f"window {window_words(overlay, g)}"]
        if g.out_channels > 1:
            where.insert(0, f"c_out {overlay.c_out}")
        if g.batch > 1:
            where.insert(0, f"n {overlay.n}")
        lines.append(r"\paragraph{Overlay " + str(overlay.index + 1) + "} " + tex_escape(", ".join(where)) + r"\par")
        first = overlay.channels.start
        sums = [f"Z = {tex_number(fmt(overlay.Z))}"]
        if backward:
            sums += [f"dZ = {tex_number(fmt(overlay.dZ))}", f"db \\mathrel{{+}}= {tex_number(fmt(overlay.dZ))}"]
        lines.append(r"\noindent\fit{$" + r",\quad ".join(sums) + r"$}\par")
        if backward:
            for label, value in (("dW", overlay.dW), ("dA_{prev}", overlay.dA_prev)):
                lines.append(
                    r"\noindent\fit{$\displaystyle "
                    + label
                    + r" \mathrel{+}= "
                    + tex_window(value, fmt, first)
                    + r"$}\par"
                )
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
