"""forward and backward: solve one problem and print it as a table or JSON."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..limits import Limits, check_output_size
from ..options import OutputOptions, ProblemOptions
from .common import (
    check_writable,
    gather_fields,
    json_format,
    note,
    stdout_console,
    write_file_atomically,
)

#: How many overlays the table shows before it asks for --overlays.
AUTO_OVERLAY_LIMIT = 50
AUTO_OVERLAYS_SHOWN = 10


def refuse_inapplicable(fmt: str, options: OutputOptions) -> None:
    """Options that cannot apply to this output are refused, not ignored; output paths checked."""
    if fmt != "table" and (options.svg or options.html):
        raise UsageError("--svg and --html save the table view: leave out --json/--format")
    if options.explain and fmt not in ("table", "markdown", "latex"):
        raise UsageError(f"--explain is told as a table, Markdown or LaTeX: the {fmt} output has no sentences")
    if options.cell is not None and fmt not in ("table", "json", "jsonl"):
        raise UsageError(f"--cell adds to the table or the JSON; the {fmt} export has no place for it")
    if options.precision is not None and fmt in ("json", "jsonl", "csv"):
        raise UsageError(f"--precision is for people (table, Markdown, LaTeX); {fmt} writes every digit")
    for flag, path in (("svg", options.svg), ("html", options.html), ("save", options.save)):
        if path:
            check_writable(path, f"--{flag}")


def run(command: str, options: ProblemOptions, output: OutputOptions, limits: Limits) -> None:
    """Solve the problem (command: forward or backward) and write it in the format asked for."""
    from ..api import solve
    from ..problem import build_problem
    from ..selection import AUTO, parse_selection

    fmt = json_format(output)
    refuse_inapplicable(fmt, output)
    fields = gather_fields(options, limits)
    if command == "forward":
        fields.pop("dZ", None)  # a forward pass never reads it, so it must not be validated either
    problem = build_problem(
        fields,
        need_dZ=command == "backward",
        allow_nonfinite=options.allow_nonfinite,
        float64=options.float64,
        limits=limits,
    )
    result = solve(problem)
    selection = parse_selection(output.overlays)
    geom = problem.geom
    if selection.kind == "filter" and selection.is_empty(geom):
        raise UsageError(f"--overlays {selection.text!r} selects none of the {geom.overlay_count} overlays")

    # Everything that can still fail is checked before the first byte of output.
    cell = output.cell
    if cell is not None:
        from ..audits import cell_view

        cell_view(problem, cell)
    result.canonical_totals  # noqa: B018 - computed now so that an overflow is refused up front
    if fmt != "jsonl":  # JSON lines stream: their size is the reader's business
        shown = selection.upper_bound(geom)
        if selection is AUTO and fmt == "table" and geom.overlay_count > AUTO_OVERLAY_LIMIT:
            shown = AUTO_OVERLAYS_SHOWN
        check_output_size(problem, shown, fmt, limits)
    if output.save:
        save_npz(result, output.save)
    if fmt in ("json", "jsonl"):
        from ..render.jsonout import write_document, write_lines

        write = write_document if fmt == "json" else write_lines
        write(result, selection.indices(geom), sys.stdout, cell=cell)
        return
    if fmt in ("markdown", "latex", "csv"):
        from ..render import exports

        chosen = selection.indices(geom)
        if fmt == "csv":
            for line in exports.csv_rows(result, chosen):
                sys.stdout.write(line)
        elif fmt == "markdown":
            document = exports.explain_markdown if output.explain else exports.markdown_document
            sys.stdout.write(document(result, chosen, output.precision))
        else:
            document = exports.explain_latex if output.explain else exports.latex_document
            sys.stdout.write(document(result, chosen, output.precision))
        return

    indices: Any = selection.indices(geom)
    if selection is AUTO and geom.overlay_count > AUTO_OVERLAY_LIMIT:
        indices = range(AUTO_OVERLAYS_SHOWN)
        note(
            f"showing overlays 1-{AUTO_OVERLAYS_SHOWN} of {geom.overlay_count}; see the rest with "
            f"--overlays all, a range such as --overlays 11-20, or a filter such as --overlays 'n=0 c_out=1'"
        )
    from ..render.human import render

    console = stdout_console(record=bool(output.svg or output.html))
    for renderable in render(
        result,
        indices,
        console,
        precision=output.precision,
        view=output.view.value,
        command=command,
        explain=output.explain,
        cell=cell,
    ):
        console.print(renderable, crop=False)  # only a table asked for with --view table is ever wider
    if output.svg:
        write_file_atomically(output.svg, console.export_svg(title=f"convgrad {command}", clear=False))
    if output.html:
        from ..render.exports import HTML_PAGE

        write_file_atomically(output.html, console.export_html(clear=False, code_format=HTML_PAGE))


def save_npz(result: Any, path: str) -> None:
    """Z (and dW, db, dA_prev) in the user's form, as float arrays in one .npz, written whole or not at all."""
    import io

    import numpy as np

    if result.problem.domain.dtype == object:
        raise UsageError(f"--save writes numpy float arrays; {result.problem.domain.name} results are in --json")
    arrays = {"Z": result.Z}
    if result.is_backward:
        arrays.update({"dW": result.dW, "db": np.asarray(result.db), "dA_prev": result.dA_prev})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_file_atomically(path, buffer.getvalue())
