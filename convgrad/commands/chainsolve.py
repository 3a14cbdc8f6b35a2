"""forward and backward of a chain problem ("layers"): build, walk, write the table or JSON."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..limits import Limits, check_output_size
from ..options import OutputOptions, ProblemOptions
from .common import note, stdout_console, write_file_atomically

#: As for one layer: how many overlays a layer's table shows before it asks for --overlays.
AUTO_OVERLAY_LIMIT = 50
AUTO_OVERLAYS_SHOWN = 10


def refuse_for_chains(fmt: str, options: OutputOptions) -> None:
    """What a chain cannot show yet, refused in one line rather than ignored."""
    if fmt in ("markdown", "latex", "csv", "torch", "numpy"):
        raise UsageError(f"a chain prints as a table, --json or --format jsonl; --format {fmt} is for one layer so far")
    if options.cell is not None:
        raise UsageError("--cell names an entry of one layer; for a chain, --json lists every layer's totals")
    if options.html:
        raise UsageError("--html draws convolution layers only so far, not chains: use the table, --explain or --json")
    if options.save:
        raise UsageError("--save writes one layer's arrays; for a chain use --json")
    if options.explain and fmt != "table":
        raise UsageError(f"--explain is told as a table: the {fmt} output has no sentences")
    if options.precision is not None and fmt in ("json", "jsonl"):
        raise UsageError(f"--precision is for people (the table); {fmt} writes every digit")
    if fmt != "table" and (options.svg or options.html_record):
        raise UsageError("--svg and --html-record save the table view: leave out --json/--format")


def run(
    command: str,
    fields: dict[str, Any],
    options: ProblemOptions,
    output: OutputOptions,
    fmt: str,
    limits: Limits,
) -> None:
    """Build and solve the chain in ``fields`` (command: forward or backward) and write it."""
    from ..chains import CHAIN_FIELDS, build_chain, overlay_chooser, select_layers, solve_chain
    from ..problem import META_FIELDS
    from ..selection import parse_selection
    from .common import check_outputs

    refuse_for_chains(fmt, output)
    for key in fields:
        if key not in CHAIN_FIELDS and key not in META_FIELDS:
            raise UsageError(f'{key} is a layer\'s setting: in a chain problem, put it in its layer in "layers"')
    check_outputs(
        [(flag, path) for flag, path in (("--svg", output.svg), ("--html-record", output.html_record)) if path]
    )
    if command == "forward":
        fields.pop("dZ", None)
        fields.pop("loss", None)
    selection = parse_selection(output.overlays)
    chain = build_chain(
        fields,
        need_dZ=command == "backward",
        allow_nonfinite=options.allow_nonfinite,
        float64=options.float64,
        limits=limits,
    )
    result = solve_chain(chain)
    for message in result.notes:
        note(message)
    shown = select_layers(output.layers, result.kinds) if output.layers is not None else list(range(len(result.kinds)))
    choose, capped = overlay_chooser(result, shown, selection, fmt == "table", AUTO_OVERLAY_LIMIT, AUTO_OVERLAYS_SHOWN)
    if fmt != "jsonl":
        for i in shown:
            layer = result.layers[i]
            count = AUTO_OVERLAYS_SHOWN if i + 1 in capped else selection.upper_bound(layer.problem.geom)
            check_output_size(layer.problem, count, fmt, limits)
    for k in capped:
        count = result.layers[k - 1].problem.geom.overlay_count
        note(
            f"layer {k} ({result.kinds[k - 1]}): showing overlays 1-{AUTO_OVERLAYS_SHOWN} of {count}; "
            "see the rest with --overlays all (or none for the totals only)"
        )
    if fmt in ("json", "jsonl"):
        from ..render import chainview

        write = chainview.write_document if fmt == "json" else chainview.write_lines
        write(result, shown, choose, sys.stdout)
        return
    from ..render.chainview import render

    console = stdout_console(record=bool(output.svg or output.html_record))
    for renderable in render(
        result,
        shown,
        choose,
        console,
        precision=output.precision,
        view=output.view.value,
        command=command,
        explain=output.explain,
    ):
        console.print(renderable, crop=False)
    if output.svg:
        from ..render.svg import portable_svg

        svg = console.export_svg(title=f"convgrad {command}", clear=False)
        write_file_atomically(output.svg, portable_svg(svg))
    if output.html_record:
        from ..render.exports import HTML_PAGE

        write_file_atomically(output.html_record, console.export_html(clear=False, code_format=HTML_PAGE))
