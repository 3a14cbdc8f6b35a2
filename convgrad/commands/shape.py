"""shape: output size with the formula filled in, the padding resolved, overlays, and what weight
sharing saves, from a problem file or from shapes and configuration alone."""

from __future__ import annotations

from math import prod
from typing import Any

from ..errors import UsageError
from ..limits import Limits
from .common import gather_fields, json_format, stdout_console, write_json


def _zeros_for_shapes(fields: dict[str, Any]) -> dict[str, Any]:
    """Shape-only arrays ({"shape": [...]}) become zero views that take no memory: only shapes matter."""
    from ..problem import parse_shape, shape_only

    out = dict(fields)
    out.pop("dZ", None)  # shapes follow from A_prev, W and the configuration alone
    for name in ("A_prev", "W", "b"):
        value = out.get(name)
        if isinstance(value, dict) and "shape" in value:
            out[name] = shape_only(parse_shape(value["shape"], name) if value["shape"] != [] else ())
    out.pop("symbolic", None)
    out.pop("exact", None)
    return out


#: shape allocates nothing, so layers of any size are fine; numbers given as values still count.
SHAPE_LIMITS = Limits(max_elements=10**15)


def layer_counts(problem: Any) -> dict[str, Any]:
    """Weights and biases of this layer against a locally connected and a dense layer over the same
    input and output (one sample): the saving weight sharing makes."""
    g = problem.geom
    kernel = g.in_per_group * prod(g.kernel_size)
    positions = prod(g.output_size)
    inputs = g.in_channels * prod(g.input_size)
    outputs = g.out_channels * positions
    return {
        "weights": {"conv": g.out_channels * kernel, "locally_connected": g.out_channels * kernel * positions,
                    "dense": inputs * outputs},
        "biases": {"conv": g.out_channels, "locally_connected": outputs, "dense": outputs},
        "kernel_size": kernel, "positions": positions, "inputs": inputs, "outputs": outputs,
    }


def run(options: dict[str, Any]) -> None:
    from ..audits import output_formula
    from ..api import describe_config
    from ..problem import build_problem

    fmt = json_format(options)
    fields = gather_fields(options, require=False)
    if fields.get("A_prev") is None or fields.get("W") is None:
        raise UsageError("shape needs a problem file, or --A-prev-shape and --W-shape (with any configuration)")
    limits = SHAPE_LIMITS if options.get("max_elements") is None else Limits(max_elements=options["max_elements"])
    problem = build_problem(_zeros_for_shapes(fields), need_dZ=False, limits=limits)
    g = problem.geom
    counts = layer_counts(problem)
    formulas = [output_formula(g, axis) for axis in range(g.dims)]
    if fmt == "json":
        write_json({"output_size": list(g.output_size), "formulas": formulas,
                    "padding": [list(p) for p in g.padding], "overlays": g.overlay_count,
                    "weights": counts["weights"], "biases": counts["biases"], "config": describe_config(problem)})
        return
    from rich.table import Table
    from rich.text import Text

    from ..render.human import padding_text, per_dim_text, shape_text

    shapes = problem.user_shapes
    console = stdout_console()
    console.print(Text(f"shape · {g.dims}-D {problem.mode_name}", style="bold"))
    console.print(f"A_prev {shape_text(shapes['A_prev'])} · W {shape_text(shapes['W'])} · stride "
                  f"{per_dim_text(g.stride)} · padding {padding_text(g)} · dilation {per_dim_text(g.dilation)}"
                  + (f" · groups {g.groups}" if g.groups != 1 else ""))
    console.print(Text("\nOutput size per spatial dim: floor((n + p_before + p_after - d·(k-1) - 1)/s) + 1",
                       style="bold"))
    names = {1: ["length"], 2: ["rows", "columns"], 3: ["depth", "rows", "columns"]}.get(
        g.dims, [f"axis {i}" for i in range(g.dims)])
    dims_table = Table.grid(padding=(0, 2))
    dims_table.add_column(no_wrap=True)
    dims_table.add_column(overflow="fold")
    for name, formula in zip(names, formulas):
        dims_table.add_row(f"  {name}", formula)
    console.print(dims_table)
    resolved = "; ".join(f"{name} {b} before, {a} after" for name, (b, a) in zip(names, g.padding))
    console.print(f"Padding resolved: {resolved}")
    per = f"{g.batch} sample{'s' if g.batch != 1 else ''} × {g.out_channels} filter" \
          f"{'s' if g.out_channels != 1 else ''} × {counts['positions']} position{'s' if counts['positions'] != 1 else ''}"
    console.print(f"Z {shape_text(shapes['Z'])}: {g.overlay_count} overlays ({per})")
    table = Table(box=None, pad_edge=False, header_style="bold", title=None)
    table.add_column("weights of", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("how", overflow="fold")
    w = counts["weights"]
    table.add_row("this layer (shared kernels)", str(w["conv"]),
                  f"C_out·C_in/groups·k = {g.out_channels}·{counts['kernel_size']}")
    table.add_row("locally connected (a kernel per overlay)", str(w["locally_connected"]),
                  f"× {counts['positions']} output positions")
    table.add_row("dense (same input and output)", str(w["dense"]),
                  f"{counts['inputs']} inputs × {counts['outputs']} outputs")
    console.print()
    console.print(table)
    b = counts["biases"]
    console.print(f"Biases: {b['conv']} here, {b['locally_connected']} locally connected or dense (one per output).")
    console.print(f"Sharing the kernel saves {w['locally_connected'] - w['conv']} weights against a locally "
                  f"connected layer and {w['dense'] - w['conv']} against a dense one.")
