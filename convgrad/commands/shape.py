"""shape: output size with the formula filled in, the padding resolved, overlays, and what weight
sharing saves, from a problem file or from shapes and configuration alone."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..limits import Limits
from ..options import OutputOptions, ProblemOptions
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
#: Entries shape accepts when --max-elements is not given: it builds zero-sized stand-ins, never the arrays.
SHAPE_MAX_ELEMENTS = 10**15


def run(options: ProblemOptions, output: OutputOptions, limits: Limits, shape_elements: int) -> None:
    """The layer's shapes from a problem file or from --A-prev-shape and --W-shape; files read within
    ``limits``, the layer itself allowed ``shape_elements`` entries per array (it is never allocated)."""
    from ..problem import build_problem
    from ..shapes import layer_counts

    fmt = json_format(output)
    fields = gather_fields(options, limits, require=False)
    if "layers" in fields:  # a chain of layers: the shapes through the network
        from .chaintools import run_shape

        run_shape(fields, output, Limits(max_elements=shape_elements))
        return
    if fields.get("layer") not in (None, "conv") and fields.get("A_prev") is not None:
        problem = build_problem(_zeros_for_shapes(fields), need_dZ=False, limits=Limits(max_elements=shape_elements))
        from ..render.shapeview import kind_shape_object, kind_shape_renderables

        if fmt == "json":
            write_json(kind_shape_object(problem))
        else:
            console = stdout_console()
            for renderable in kind_shape_renderables(problem):
                console.print(renderable)
        return
    if fields.get("A_prev") is None or fields.get("W") is None:
        raise UsageError("shape needs a problem file, or --A-prev-shape and --W-shape (with any configuration)")
    problem = build_problem(_zeros_for_shapes(fields), need_dZ=False, limits=Limits(max_elements=shape_elements))
    counts = layer_counts(problem.geom)
    if fmt == "json":
        from ..render.shapeview import shape_object

        write_json(shape_object(problem, counts))
        return
    from ..render.shapeview import shape_renderables

    console = stdout_console()
    for renderable in shape_renderables(problem, counts):
        console.print(renderable)
