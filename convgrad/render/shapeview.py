"""shape's views: the output size with each formula filled in, the padding resolved, the overlays,
and the parameter counts against locally connected and dense layers; as JSON or for the terminal."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..problem import Problem
from ..shapes import LayerCounts
from .text import output_formula, shape_text


def _plural(count: int, word: str) -> str:
    """'1 overlay', '4,096 overlays': thousands separated, the plural only for a count other than 1."""
    return f"{count:,} {word}{'s' if count != 1 else ''}"


def _n(count: int) -> str:
    return f"{count:,}"


def _index_list(indices: tuple[int, ...]) -> str:
    """'5' or '4 and 5' or '0, 2 and 4'."""
    parts = [str(i) for i in indices]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _leftover_lines(problem: Problem, counts: LayerCounts, names: list[str]) -> list[str]:
    """One line per spatial dim with A_prev indices that no window tap reaches: the stride's
    leftover at the end, and the gaps a dilation or a stride longer than the kernel skips."""
    lines = []
    for name, axis, hit in zip(names, counts.unreached, problem.geom.covered()):
        if not axis:
            continue
        last_hit = max((i for i, h in enumerate(hit) if h), default=-1)
        tail = tuple(i for i in axis if i > last_hit)
        gaps = tuple(i for i in axis if i < last_hit)
        word = {"length": "position", "depth": "depth slice", "rows": "row", "columns": "column"}.get(name, name)
        parts = []
        if tail:
            parts.append(f"{_index_list(tail)} left over after the last window")
        if gaps:
            parts.append(f"{_index_list(gaps)} skipped between windows")
        lines.append(
            f"Input {word}s no window reaches (of 0..{len(hit) - 1}): {'; '.join(parts)}. "
            f"Their dA_prev is 0 and they never affect Z."
        )
    return lines


def shape_object(problem: Problem, counts: LayerCounts) -> dict[str, Any]:
    """The JSON form (schema: shape)."""
    from ..api import describe_config

    g = problem.geom
    return {
        "output_size": list(g.output_size),
        "formulas": [output_formula(g, axis) for axis in range(g.dims)],
        "padding": [list(p) for p in g.padding],
        "overlays": g.overlay_count,
        "unreached": [list(axis) for axis in counts.unreached],
        "weights": asdict(counts.weights),
        "biases": asdict(counts.biases),
        "config": describe_config(problem),
    }


def shape_renderables(problem: Problem, counts: LayerCounts) -> list[RenderableType]:
    """What the terminal shows, in order."""
    from .text import padding_text, per_dim_text, shape_text

    g = problem.geom
    shapes = problem.user_shapes
    shown: list[RenderableType] = [
        Text(f"shape · {g.dims}-D {problem.mode_name}", style="bold"),
        f"A_prev {shape_text(shapes['A_prev'])} · W {shape_text(shapes['W'])} · stride "
        f"{per_dim_text(g.stride)} · padding {padding_text(g)} · dilation {per_dim_text(g.dilation)}"
        + (f" · groups {g.groups}" if g.groups != 1 else ""),
        Text("\nOutput size per spatial dim: floor((n + p_before + p_after - d·(k-1) - 1)/s) + 1", style="bold"),
    ]
    names = {1: ["length"], 2: ["rows", "columns"], 3: ["depth", "rows", "columns"]}.get(
        g.dims, [f"axis {i}" for i in range(g.dims)]
    )
    dims_table = Table.grid(padding=(0, 2))
    dims_table.add_column(no_wrap=True)
    dims_table.add_column(overflow="fold")
    for axis, name in enumerate(names):
        dims_table.add_row(f"  {name}", output_formula(g, axis))
    shown.append(dims_table)
    resolved = "; ".join(f"{name} {b} before, {a} after" for name, (b, a) in zip(names, g.padding))
    shown.append(f"Padding resolved: {resolved}")
    per = (
        f"{_plural(g.batch, 'sample')} × {_plural(g.out_channels, 'filter')} × {_plural(counts.positions, 'position')}"
    )
    shown.append(f"Z {shape_text(shapes['Z'])}: {_plural(g.overlay_count, 'overlay')} ({per})")
    shown += _leftover_lines(problem, counts, names)
    w, b = counts.weights, counts.biases
    table = Table(box=None, pad_edge=False, header_style="bold", title=None)
    table.add_column("weights of", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("how", overflow="fold")
    table.add_row(
        "this layer (shared kernels)",
        _n(w.conv),
        f"C_out·C_in/groups·k = {_n(g.out_channels)}·{_n(counts.kernel_size)}",
    )
    table.add_row(
        "locally connected (a kernel per overlay)",
        _n(w.locally_connected),
        f"× {_plural(counts.positions, 'output position')}",
    )
    table.add_row(
        "dense (same input and output)",
        _n(w.dense),
        f"{_plural(counts.inputs, 'input')} × {_plural(counts.outputs, 'output')}",
    )
    table.add_row(
        "dense (same input and output)",
        str(w.dense),
        f"{_plural(counts.inputs, 'input')} × {_plural(counts.outputs, 'output')}",
    )
    shown += [
        "",
        table,
        f"Biases: {_n(b.conv)} here, {_n(b.locally_connected)} locally connected or dense (one per output).",
        f"Sharing the kernel saves {_plural(w.locally_connected - w.conv, 'weight')} against a locally "
        f"connected layer and {_n(w.dense - w.conv)} against a dense one.",
    ]
    return shown


def kind_shape_object(problem: Problem) -> dict[str, Any]:
    """shape --json for a kind without weights: Z's size, the overlays, no parameters."""
    from ..api import describe_config

    g = problem.geom
    none = {"conv": 0, "locally_connected": 0, "dense": 0}
    formulas = getattr(problem.kind, "shape_formulas", None)  # a kind with its own output size
    if formulas is not None and problem.W is not None:
        weights = int(problem.W.size)
        biases = g.out_channels if problem.b is not None else 0
        return {
            "output_size": list(g.output_size),
            "formulas": formulas(g) + problem.kind.output_padding_notes(g),  # type: ignore[union-attr]
            "padding": [],
            "overlays": g.overlay_count,
            "weights": {**none, "conv": weights},
            "biases": {**none, "conv": biases},
            "config": describe_config(problem),
        }
    return {
        "output_size": list(g.output_size),
        "formulas": _kind_formulas(problem)
        or list(getattr(problem.kind, "shape_sentences", lambda g, p: [])(g, problem.params))
        or [f"{problem.layer} is element-wise: Z has A_prev's shape"],
        "padding": [],
        "overlays": g.overlay_count,
        "weights": none,
        "biases": none,
        "config": describe_config(problem),
    }


def _kind_formulas(problem: Problem) -> list[str]:
    """The output-size formula per axis of a kind that declares one (pooling), else none."""
    formulas = getattr(problem.kind, "shape_formulas", None)
    return [] if formulas is None else list(formulas(problem.geom, problem.params))


def kind_shape_renderables(problem: Problem) -> list[RenderableType]:
    """The shapes of a kind without weights, in two lines (a kind with windows: its formulas)."""
    shapes = problem.user_shapes
    count = problem.geom.overlay_count
    formulas = getattr(problem.kind, "shape_formulas", None)  # a kind with its own output size
    if formulas is not None and problem.W is not None:
        g = problem.geom
        shown: list[RenderableType] = [
            Text(
                f"{problem.layer}: A_prev {shape_text(shapes['A_prev'])}, W {shape_text(shapes['W'])} "
                f"→ Z {shape_text(shapes['Z'])}"
            )
        ]
        shown += [Text(line) for line in formulas(g)]
        shown += [Text(line) for line in problem.kind.output_padding_notes(g)]  # type: ignore[union-attr]
        params = int(problem.W.size) + (g.out_channels if problem.b is not None else 0)
        unit = getattr(problem.kind, "overlay_unit", "one per entry of A_prev")
        shown.append(Text(f"{_plural(count, 'overlay')}, {unit}; {_plural(params, 'parameter')}."))
        return shown
    sentences = getattr(problem.kind, "shape_sentences", None)  # a kind that reshapes (flatten) says how
    if sentences is not None:
        return [
            Text(
                f"{problem.layer}: A_prev {shape_text(shapes['A_prev'])} → Z {shape_text(shapes['Z'])}; "
                "dZ has Z's shape, dA_prev A_prev's."
            ),
            *(Text(line) for line in sentences(problem.geom, problem.params)),
            Text(
                f"{_plural(count, 'overlay')}, {getattr(problem.kind, 'overlay_unit', 'one per entry')}; "
                "no weights and no bias (0 parameters)."
            ),
        ]
    formulas = _kind_formulas(problem)
    if formulas:
        return [
            Text(
                f"{problem.layer}: A_prev {shape_text(shapes['A_prev'])} → Z {shape_text(shapes['Z'])}; "
                "dZ has Z's shape, dA_prev A_prev's."
            ),
            Text("Output size per axis, floor((n + p_before + p_after - d·(k - 1) - 1) / s) + 1:"),
            *(Text("  " + line) for line in formulas),
            Text(f"{_plural(count, 'overlay')}, one per window; no weights and no bias (0 parameters)."),
        ]
    return [
        Text(
            f"{problem.layer} is element-wise: Z has A_prev's shape, {shape_text(shapes['Z'])}; "
            f"dA_prev too, and dZ must have it.",
        ),
        Text(f"{_plural(count, 'overlay')}, one per entry; no weights and no bias (0 parameters)."),
    ]
