"""forward and backward: solve one problem and print it as a table or JSON."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..files import save_npz
from ..limits import Limits, check_output_size
from ..options import OutputOptions, ProblemOptions
from ..preflight import check_from_shapes
from .common import (
    check_outputs,
    check_writable,
    gather_fields,
    json_format,
    note,
    stdout_console,
    write_file_atomically,
)

#: Formats that print a script recomputing the layer: they hold the totals, no overlay.
SCRIPT_FORMATS = ("torch", "numpy")
#: How many overlays the table shows before it asks for --overlays.
AUTO_OVERLAY_LIMIT = 50
AUTO_OVERLAYS_SHOWN = 10


def refuse_inapplicable(fmt: str, options: OutputOptions) -> None:
    """Options that cannot apply to this output are refused, not ignored; output paths checked."""
    if fmt != "table" and (options.svg or options.html_record):
        raise UsageError("--svg and --html-record save the table view: leave out --json/--format")
    if options.explain and fmt not in ("table", "markdown", "latex"):
        raise UsageError(f"--explain is told as a table, Markdown or LaTeX: the {fmt} output has no sentences")
    if options.cell is not None and fmt not in ("table", "json", "jsonl"):
        raise UsageError(f"--cell adds to the table or the JSON; the {fmt} export has no place for it")
    if options.precision is not None and fmt in ("json", "jsonl", "csv", *SCRIPT_FORMATS):
        raise UsageError(f"--precision is for people (table, Markdown, LaTeX); {fmt} writes every digit")
    files = (("svg", options.svg), ("html", options.html), ("html-record", options.html_record), ("save", options.save))
    for flag, path in files:
        if path:
            check_writable(path, f"--{flag}")


def run(command: str, options: ProblemOptions, output: OutputOptions, limits: Limits) -> None:
    """Solve the problem (command: forward or backward) and write it in the format asked for."""
    from ..api import solve
    from ..problem import build_problem
    from ..selection import AUTO, parse_selection

    fmt = json_format(output)
    fields = gather_fields(options, limits)
    if "layers" in fields:  # a chain of layers
        from . import chainsolve

        chainsolve.run(command, fields, options, output, fmt, limits)
        return
    if output.layers is not None:
        raise UsageError('--layers picks layers of a chain: this problem has one layer (no "layers")')
    refuse_inapplicable(fmt, output)
    outputs = [
        ("--svg", output.svg),
        ("--html", output.html),
        ("--html-record", output.html_record),
        ("--save", output.save),
    ]
    check_outputs([(flag, path) for flag, path in outputs if path])
    if command == "forward":
        fields.pop("dZ", None)  # a forward pass never reads it, so it must not be validated either
    selection = parse_selection(output.overlays)
    cell = output.cell

    def shown(geom: Any) -> int:
        """How many overlays the output holds."""
        if fmt in SCRIPT_FORMATS:
            return 0
        if selection is AUTO and fmt == "table" and geom.overlay_count > AUTO_OVERLAY_LIMIT:
            return AUTO_OVERLAYS_SHOWN
        return selection.upper_bound(geom)

    # Limits that the shapes decide, before any entry is converted or any symbol built.
    check_from_shapes(
        fields,
        backward=command == "backward",
        limits=limits,
        output=None if fmt == "jsonl" and cell is None else (fmt, shown, cell),
    )
    problem = build_problem(
        fields,
        need_dZ=command == "backward",
        allow_nonfinite=options.allow_nonfinite,
        float64=options.float64,
        limits=limits,
    )
    result = solve(problem)
    geom = problem.geom
    if selection.kind == "filter" and selection.is_empty(geom):
        raise UsageError(f"--overlays {selection.text!r} selects none of the {geom.overlay_count} overlays")

    # Everything that can still fail is checked before the first byte of output.
    if fmt != "jsonl" or cell is not None:  # JSON lines stream: their size is the reader's business
        check_output_size(problem, shown(geom), fmt, limits, cell)
    if cell is not None:
        from ..audits import cell_view

        cell_view(problem, cell)
    result.canonical_totals  # noqa: B018 - computed now so that an overflow is refused up front
    if fmt == "jsonl" and result.is_backward and not problem.allow_nonfinite:
        from ..audits import padding_crop

        padding_crop(problem)  # its overflow is refused now: JSON lines write the audits last
    if output.html:
        check_page_size(result, limits)
    if output.save:
        save_npz(result, output.save)
    if output.html:
        write_page(result, command, output.html)
    if fmt in ("json", "jsonl"):
        from ..render.jsonout import write_document, write_lines

        write = write_document if fmt == "json" else write_lines
        write(result, selection.indices(geom), sys.stdout, cell=cell)
        return
    if fmt in SCRIPT_FORMATS:
        from ..render.scripts import script

        sys.stdout.write(script(result, fmt))
        return
    if fmt in ("markdown", "latex", "csv"):
        from ..render import exports

        chosen = selection.indices(geom)
        if fmt == "csv":
            for line in exports.csv_rows(result, chosen):
                sys.stdout.write(line)
        else:
            if fmt == "markdown":
                make = exports.explain_markdown if output.explain else exports.markdown_document
            else:
                make = exports.explain_latex if output.explain else exports.latex_document
            # Line by line, like the other views: a reader that goes away (| head -1) stops the writing
            # with exit 141 instead of the whole document vanishing into a closed pipe.
            for line in make(result.for_display(), chosen, output.precision).splitlines(keepends=True):
                sys.stdout.write(line)
        return

    indices: Any = selection.indices(geom)
    if selection is AUTO and geom.overlay_count > AUTO_OVERLAY_LIMIT:
        indices = range(AUTO_OVERLAYS_SHOWN)
        note(
            f"showing overlays 1-{AUTO_OVERLAYS_SHOWN} of {geom.overlay_count}; see the rest with "
            f"--overlays all, a range such as --overlays 11-20, or a filter such as --overlays 'n=0 c_out=1'"
        )
    from ..render.human import render

    console = stdout_console(record=bool(output.svg or output.html_record))
    for renderable in render(
        result.for_display(),
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
        from ..render.svg import portable_svg

        svg = console.export_svg(title=f"convgrad {command}", clear=False)
        write_file_atomically(output.svg, portable_svg(svg))
    if output.html_record:
        from ..render.exports import HTML_PAGE

        write_file_atomically(output.html_record, console.export_html(clear=False, code_format=HTML_PAGE))


def check_page_size(result: Any, limits: Limits) -> None:
    """Refuse a page estimated over --max-output-mb (it holds at most the first overlays already)."""
    if result.problem.kind is not None:
        raise UsageError(
            f"--html draws convolution layers only so far, not {result.problem.layer}: "
            "use the table, --explain or --json for this layer"
        )
    from ..errors import InputError
    from ..limits import estimate_output_bytes, size_text
    from ..render.webpage import overlays_held

    held = overlays_held(result)
    estimate = 2 * estimate_output_bytes(result.problem, held, "json")  # the JSON and the shown texts
    if estimate > limits.max_output_bytes:
        raise InputError(
            f"the --html page would be about {size_text(estimate)} ({held:,} overlays), over the "
            f"{size_text(limits.max_output_bytes)} output limit",
            hint="raise the limit with --max-output-mb, or leave out --html and use --json",
        )


def write_page(result: Any, command: str, path: str) -> None:
    """--html: the interactive page, one self-contained file (huge problems: the first overlays, said on stderr)."""
    from ..render.webpage import cap_note, page

    message = cap_note(result)
    if message:
        note(message)
    write_file_atomically(path, page(result, command))
