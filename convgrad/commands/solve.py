"""forward and backward: solve one problem and print it as a table or JSON."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from ..errors import UsageError
from .common import gather_fields, json_format, note, stdout_console

#: How many overlays the table shows before it asks for --overlays.
AUTO_OVERLAY_LIMIT = 50
AUTO_OVERLAYS_SHOWN = 10


def run(command: str, options: dict[str, Any]) -> None:
    from ..api import solve
    from ..problem import build_problem
    from ..selection import AUTO, parse_selection

    fmt = json_format(options)
    fields = gather_fields(options)
    problem = build_problem(fields, need_dZ=command == "backward",
                            allow_nonfinite=options.get("allow_nonfinite", False))
    if command == "forward":
        problem = dataclasses.replace(problem, dZ=None)
    result = solve(problem)
    selection = parse_selection(options.get("overlays"))
    geom = problem.geom
    if selection.kind == "filter" and selection.is_empty(geom):
        raise UsageError(f"--overlays {selection.text!r} selects none of the {geom.overlay_count} overlays")

    if fmt == "json":
        from ..render.jsonout import write_document

        write_document(result, selection.indices(geom), sys.stdout)
        return

    indices: Any = selection.indices(geom)
    if selection is AUTO and geom.overlay_count > AUTO_OVERLAY_LIMIT:
        indices = range(AUTO_OVERLAYS_SHOWN)
        note(f"showing overlays 1-{AUTO_OVERLAYS_SHOWN} of {geom.overlay_count}; see the rest with "
             f"--overlays all, a range such as --overlays 11-20, or a filter such as --overlays 'n=0 c_out=1'")
    from ..render.human import render

    console = stdout_console()
    for renderable in render(result, indices, console, precision=options.get("precision"),
                             view=options["view"].value, command=command):
        console.print(renderable)
