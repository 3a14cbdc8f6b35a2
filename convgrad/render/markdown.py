"""Markdown for write-ups and answer keys: a table per array, and the per-overlay working.

Strings only (no rich); the same result the table shows, never re-parsed text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..api import Result
from ..forms import BARE
from ..layers.base import Overlay
from .text import (
    Formatter,
    config_words,
    formatter,
    inline,
    position_text,
    shape_text,
    slice_label,
    window_words,
    z_expression,
)


def escape_markdown(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


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


def array_markdown(array: Any, fmt: Formatter, spatial_dims: int) -> str:
    """Any array: a number inline, else one table per 2-D (or 1-D) slice, labelled by its leading indices."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return f"`{fmt(array[()])}`"
    grid_dims = 1 if spatial_dims == 1 else 2
    grid_dims = min(grid_dims, array.ndim)
    lead = array.ndim - grid_dims
    if lead == 0:
        return matrix_table(array, fmt)
    parts = []
    for index in np.ndindex(*array.shape[:lead]):
        parts.append(f"*{slice_label(index, grid_dims)}*\n\n{matrix_table(array[index], fmt)}")
    return "\n\n".join(parts)


def problem_section(result: Result, fmt: Formatter) -> str:
    p = result.problem
    g, shapes = p.geom, p.user_shapes
    items = [
        f"- {g.dims}-D {p.mode_name}, {p.form.kind} form"
        + ("" if p.form.kind == BARE else f", layout {p.form.layout}"),
        f"- {config_words(g)}",
        f"- A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])} → Z {shape_text(shapes['Z'])}, "
        f"{g.overlay_count} overlays",
    ]
    text = "\n".join(items)
    arrays = [
        ("A_prev", result.problem.form.activation_from_canonical(p.A_prev)),
        ("W", p.form.kernel_from_canonical(p.W)),
    ]
    if p.b is not None:
        arrays.append(("b", p.form.bias_from_canonical(p.b)))
    if p.dZ is not None:
        arrays.append(("dZ", p.form.activation_from_canonical(p.dZ)))
    for name, array in arrays:
        text += f"\n\n**{name}**\n\n{array_markdown(array, fmt, g.dims)}"
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
        dz = fmt(overlay.dZ)
        lines += [
            f"- dZ = {dz}",
            f"- dW += dZ · A_slice = {dz} · {inline(window(overlay.A_slice), fmt)} = {inline(window(overlay.dW), fmt)}",
            f"- db += dZ = {dz}",
            f"- dA_prev += dZ · W on the window = {dz} · {inline(window(overlay.kernel), fmt)} = "
            f"{inline(window(overlay.dA_prev), fmt)}"
            + ("" if overlay.in_input.all() else " (the taps in the padding are discarded)"),
        ]
    return "\n".join(lines)


def working_section(result: Result, indices: Iterable[int], fmt: Formatter) -> str:
    return "\n\n".join(overlay_markdown(o, result, fmt) for o in result.canonical_overlays(indices))


def answers_section(result: Result, fmt: Formatter) -> str:
    dims = result.problem.geom.dims
    names = ("Z", "dW", "db", "dA_prev") if result.is_backward else ("Z",)
    return "\n\n".join(f"**{name}**\n\n{array_markdown(result.shown(name), fmt, dims)}" for name in names)


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
