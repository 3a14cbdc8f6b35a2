"""Markdown for write-ups and answer keys: a table per array, and the per-overlay working.

Strings only (no rich); the same result the table shows, never re-parsed text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..api import Result
from ..forms import BARE
from ..layers.base import Overlay, Record
from .text import (
    Formatter,
    config_words,
    formatter,
    inline,
    labelled_slices,
    plural,
    position_text,
    shape_text,
    window_words,
    z_expression,
)

_MARKDOWN_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*|<>"})


def escape_markdown(text: str) -> str:
    """Printed text made inert in Markdown: no emphasis, code, links, HTML or table cells from it."""
    return text.translate(_MARKDOWN_SPECIAL)


def matrix_table(matrix: np.ndarray, fmt: Formatter) -> str:
    """A 1-D or 2-D array as a Markdown table, columns numbered from 0."""
    rows = matrix.reshape(1, -1) if matrix.ndim == 1 else matrix
    header = "| |" + "|".join(f" {j} " for j in range(rows.shape[1])) + "|"
    rule = "|---|" + "|".join("---:" for _ in range(rows.shape[1])) + "|"
    lines = [header, rule]
    for i, row in enumerate(rows):
        label = "" if matrix.ndim == 1 else str(i)
        lines.append(f"| {label} |" + "|".join(f" {escape_markdown(fmt(v))} " for v in row) + "|")
    return "\n".join(lines)


def array_markdown(array: Any, fmt: Formatter, spatial_dims: int, names: tuple[str, ...] = ()) -> str:
    """A canonical array (leading axes ``names``, then spatial): a number inline, else one table per
    H x W slice, labelled by sample and channel as the terminal labels them."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return f"`{fmt(array[()])}`"
    parts = []
    for label, matrix in labelled_slices(array, names, spatial_dims):
        parts.append((f"*{label}*\n\n" if label else "") + matrix_table(matrix, fmt))
    return "\n\n".join(parts)


def problem_arrays(result: Result) -> list[tuple[str, Any, tuple[str, ...]]]:
    """The given arrays in canonical order with the names of their leading axes (bare: a scalar b)."""
    p = result.problem
    arrays: list[tuple[str, Any, tuple[str, ...]]] = [("A_prev", p.A_prev, ("n", "c")), ("W", p.W, ("c_out", "c_in"))]
    if p.b is not None:
        arrays.append(("b", _bias(p.b, p.form.kind), ("c_out",)))
    if p.dZ is not None:
        arrays.append(("dZ", p.dZ, ("n", "c_out")))
    return arrays


def answer_arrays(result: Result) -> list[tuple[str, Any, tuple[str, ...]]]:
    """Z (and dW, db, dA_prev) in canonical order with the names of their leading axes."""
    Z, dW, db, dA = (_shown_canonical(result, name) for name in ("Z", "dW", "db", "dA_prev"))
    arrays: list[tuple[str, Any, tuple[str, ...]]] = [("Z", Z, ("n", "c_out"))]
    if result.is_backward:
        kind = result.problem.form.kind
        if dW is not None:  # a kind without weights has no dW and db
            arrays += [("dW", dW, ("c_out", "c_in")), ("db", _bias(db, kind), ("c_out",))]
        arrays.append(("dA_prev", dA, ("n", "c")))
    return arrays


def _shown_canonical(result: Result, name: str) -> Any:
    """A total in canonical order (the views pass ``Result.for_display()``, whose totals are the values
    as people should see them)."""
    return getattr(result.canonical_totals, name)


def _bias(b: Any, kind: str) -> Any:
    """A bare problem's one bias as a number, else the vector (one per filter)."""
    b = np.asarray(b, dtype=object)
    return b[0] if kind == BARE else b


def kind_problem_section(result: Result, fmt: Formatter) -> str:
    """The problem of a kind that declares its columns: its rule, shapes, parameters, then A_prev and dZ."""
    p = result.problem
    kind = p.kind
    assert kind is not None
    g, shapes = p.geom, p.user_shapes
    items = [f"- {p.layer}: {escape_markdown(kind.sentence)}"]
    items += [f"- {key} = {_setting(value, fmt)}" for key, value in p.params.items()]
    items.append(
        f"- A_prev {shape_text(shapes['A_prev'])} → Z {shape_text(shapes['Z'])}, {g.overlay_count} overlays"
        + ("" if p.form.kind == BARE else f", layout {p.form.layout}")
    )
    text = "\n".join(items)
    arrays = [("A_prev", p.form.activation_from_canonical(p.A_prev))]
    if p.W is not None:  # a kind with weights (conv-transpose)
        arrays.append(("W", p.form.kernel_from_canonical(p.W)))
        if p.b is not None:
            arrays.append(("b", p.form.bias_from_canonical(p.b)))
    if p.dZ is not None:
        arrays.append(("dZ", p.form.activation_from_canonical(p.dZ)))
    for name, array in arrays:
        text += f"\n\n**{name}**\n\n{array_markdown(array, fmt, g.dims)}"
    return text


def _setting(value: Any, fmt: Formatter) -> str:
    """A kind's setting: a number, a word, a flag, or one per spatial dim (conv-transpose's stride, padding)."""
    if isinstance(value, bool):  # pooling's ceil_mode, count_padding
        return str(value).lower()
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_setting(v, fmt) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return fmt(value)


def record_markdown(record: Record, result: Result, fmt: Formatter) -> str:
    """One overlay of a column kind: where it reads, then each declared column and its value."""
    kind = result.problem.kind
    assert kind is not None
    form = result.problem.form
    reads = ", ".join(position_text(form.activation_index(index)) for index in record.reads)
    lines = [f"**Overlay {record.index + 1}**, A_prev {reads}", ""]
    for column in kind.columns:
        if result.is_backward or not column.backward:
            value = record.values[column.key]
            shown = (
                value
                if isinstance(value, str)  # a kind's words (where a conv-transpose scatter lands)
                else fmt(value)
                if np.ndim(value) == 0
                else inline(np.asarray(value, dtype=object), fmt)
            )
            lines.append(f"- {escape_markdown(column.title)} = {escape_markdown(shown)}")
    return "\n".join(lines)


def problem_section(result: Result, fmt: Formatter) -> str:
    p = result.problem
    if p.kind is not None:
        return kind_problem_section(result, fmt)
    g, shapes = p.geom, p.user_shapes
    items = [
        f"- {g.dims}-D {p.mode_name}, {p.form.kind} form"
        + ("" if p.form.kind == BARE else f", layout {p.form.layout}"),
        f"- {config_words(g)}",
        f"- A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])} → Z {shape_text(shapes['Z'])}, "
        f"{plural(g.overlay_count, 'overlay')}",
    ]
    text = "\n".join(items)
    for name, array, names in problem_arrays(result):
        text += f"\n\n**{name}**\n\n{array_markdown(array, fmt, g.dims, names)}"
    return text


def overlay_markdown(overlay: Overlay, result: Result, fmt: Formatter) -> str:
    """One overlay's working as a bullet list (canonical overlay, shown in the user's form)."""
    g, form = result.problem.geom, result.problem.form
    window = form.window_from_canonical
    head = f"**Overlay {overlay.index + 1}**"
    if g.batch > 1:
        head += f", n {overlay.n}"
    if g.out_channels > 1:
        head += f", c_out {overlay.c_out}"
    head += f", position {position_text(overlay.position)}, window {window_words(overlay, g)}"
    lines = [head, "", f"- Z = {escape_markdown(z_expression(overlay, fmt))}"]
    if overlay.dW is not None and overlay.dA_prev is not None:
        dz = escape_markdown(fmt(overlay.dZ))
        lines += [
            f"- dZ = {dz}",
            f"- dW += dZ · A_slice = {dz} · {escape_markdown(inline(window(overlay.A_slice), fmt))} = "
            f"{escape_markdown(inline(window(overlay.dW), fmt))}",
            f"- db += dZ = {dz}",
            f"- dA_prev += dZ · W on the window = {dz} · {escape_markdown(inline(window(overlay.kernel), fmt))} = "
            f"{escape_markdown(inline(window(overlay.dA_prev), fmt))}"
            + ("" if overlay.in_input.all() else " (the taps in the padding are discarded)"),
        ]
    return "\n".join(lines)


def working_section(result: Result, indices: Iterable[int], fmt: Formatter) -> str:
    if result.problem.kind is not None:
        return "\n\n".join(record_markdown(r, result, fmt) for r in result.records(indices))
    return "\n\n".join(overlay_markdown(o, result, fmt) for o in result.canonical_overlays(indices))


def answers_section(result: Result, fmt: Formatter) -> str:
    dims = result.problem.geom.dims
    return "\n\n".join(
        f"**{name}**\n\n{array_markdown(array, fmt, dims, names)}" for name, array, names in answer_arrays(result)
    )


def key_markdown(result: Result, title: str = "Answer key", description: str | None = None) -> str:
    """Problem, per-overlay working and answers, as one Markdown document."""
    fmt = formatter(result)
    parts = [f"# {title}"]
    if description:
        parts.append(description)
    parts += [
        "## Problem",
        problem_section(result, fmt),
        "## Working, overlay by overlay",
        working_section(result, range(result.overlay_count), fmt),
        "## Answers",
        answers_section(result, fmt),
    ]
    return "\n\n".join(parts) + "\n"


def sheet_questions(result: Result) -> list[str]:
    """The questions of a student sheet, each with the shape its answer has (plain text)."""
    p = result.problem
    shapes = p.user_shapes
    bias = " + b" if p.b is not None else ""
    z_shape = shape_text(shapes["Z"])
    return [
        f"Compute the forward output Z = A_prev ⋆ W{bias} ({p.mode_name}), shape {z_shape}.",
        f"Given the upstream gradient dZ, compute dW = ∂L/∂W, shape {shape_text(shapes['W'])}.",
        f"Compute db = ∂L/∂b, one number per filter (this layer has {p.geom.out_channels} "
        f"filter{'s' if p.geom.out_channels != 1 else ''}).",
        f"Compute dA_prev = ∂L/∂A_prev, shape {shape_text(shapes['A_prev'])}.",
        f"Show the working for one overlay of your choice: the window, the products, and what it adds "
        f"to dW, db and dA_prev ({p.geom.overlay_count} overlays in all).",
    ]


def sheet_markdown(result: Result, title: str = "Exercise", description: str | None = None) -> str:
    """A problem-only student sheet: the configuration, the arrays and the questions; no answer."""
    fmt = formatter(result)
    parts = [f"# {title}"]
    if description:
        parts.append(escape_markdown(description))
    questions = "\n".join(f"{i}. {escape_markdown(q)}" for i, q in enumerate(sheet_questions(result), 1))
    parts += ["## Problem", problem_section(result, fmt), "## Questions", questions]
    return "\n\n".join(parts) + "\n"
