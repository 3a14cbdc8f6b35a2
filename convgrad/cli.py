"""The command line: typer commands that gather options and hand them to one runner.

stdout carries the result only; messages go to stderr. Exit status: 0 success,
1 a checked answer is wrong, 2 bad input or usage.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .errors import ConvgradError, UsageError

app = typer.Typer(
    name="convgrad",
    help="Forward and backward passes through a convolution layer, overlay by overlay.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal brackets like [[before, after], ...]
)

#: How many overlays the table shows before it asks for --overlays.
AUTO_OVERLAY_LIMIT = 50
AUTO_OVERLAYS_SHOWN = 10


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class View(str, Enum):
    auto = "auto"
    table = "table"
    blocks = "blocks"


# -- options shared by forward and backward ----------------------------------------------

FileArg = Annotated[Optional[str], typer.Argument(
    metavar="FILE", help="Problem JSON file (same as --input); - reads stdin.", show_default=False)]
InputOpt = Annotated[Optional[str], typer.Option(
    "--input", "-i", metavar="FILE", help="Problem JSON file; - reads stdin.", show_default=False)]
APrevOpt = Annotated[Optional[str], typer.Option(
    "--A-prev", "-x", metavar="ARRAY", help='Input A_prev: JSON or rows like "1 2; 3 4".', show_default=False)]
WOpt = Annotated[Optional[str], typer.Option(
    "--W", "-w", metavar="ARRAY", help='Kernel W: JSON or rows like "0.1 0.2; 0.3 0.4".', show_default=False)]
BOpt = Annotated[Optional[str], typer.Option(
    "--b", "-b", metavar="VALUE", help="Bias: a number, or one per filter.", show_default=False)]
DZOpt = Annotated[Optional[str], typer.Option(
    "--dZ", metavar="ARRAY", help="Upstream gradient dL/dZ, shaped like Z.", show_default=False)]
StrideOpt = Annotated[Optional[str], typer.Option(
    "--stride", metavar="S", help="Stride: one number, or one per spatial dim (2,1).", show_default=False)]
PaddingOpt = Annotated[Optional[str], typer.Option(
    "--padding", metavar="P", help="Padding: N, one per dim (1,2), [[before,after],...] per dim, valid, same or full.",
    show_default=False)]
DilationOpt = Annotated[Optional[str], typer.Option(
    "--dilation", metavar="D", help="Dilation: one number, or one per spatial dim.", show_default=False)]
GroupsOpt = Annotated[Optional[str], typer.Option(
    "--groups", metavar="G", help="Groups (C_in for depthwise).", show_default=False)]
LayoutOpt = Annotated[Optional[str], typer.Option(
    "--layout", metavar="LAYOUT", help="NCHW (channels-first, default) or NHWC (channels-last), any rank.",
    show_default=False)]
ModeOpt = Annotated[Optional[str], typer.Option(
    "--mode", metavar="MODE", help="cross-correlation (default, as frameworks) or convolution (kernel flipped).",
    show_default=False)]
DimsOpt = Annotated[Optional[str], typer.Option(
    "--dims", metavar="D", help="Number of spatial dims, where the shapes leave it open.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (same as --format json).")]
FormatOpt = Annotated[Optional[OutputFormat], typer.Option(
    "--format", "-f", help="Output format.", show_default=False, case_sensitive=False)]
PrecisionOpt = Annotated[Optional[int], typer.Option(
    "--precision", "-p", min=1, max=17, metavar="N", help="Significant digits shown (default 12, no float noise).",
    show_default=False)]
OverlaysOpt = Annotated[Optional[str], typer.Option(
    "--overlays", "-o", metavar="WHICH",
    help='Overlays to show: all, none, numbers (1-5,9), or filters ("n=0 c_out=1 pos=2,3").',
    show_default=False)]
ViewOpt = Annotated[View, typer.Option(
    help="Overlay table, one block per overlay, or auto (table when it fits the terminal).",
    case_sensitive=False)]
ExactOpt = Annotated[Optional[bool], typer.Option(
    "--exact/--no-exact", help="Exact rational arithmetic on the values as typed: 0.3 is 3/10, 1/3 stays 1/3.",
    show_default=False)]
SymbolicOpt = Annotated[Optional[bool], typer.Option(
    "--symbolic/--no-symbolic", help="Entries may be names (x11, w_12); results are formulas.", show_default=False)]
APrevShapeOpt = Annotated[Optional[str], typer.Option(
    "--A-prev-shape", metavar="SHAPE", help="With --symbolic: name every entry of an A_prev of this shape (3x3).",
    show_default=False)]
WShapeOpt = Annotated[Optional[str], typer.Option(
    "--W-shape", metavar="SHAPE", help="With --symbolic: name every entry of a W of this shape (2x2).",
    show_default=False)]
DZShapeOpt = Annotated[Optional[str], typer.Option(
    "--dZ-shape", metavar="SHAPE", help="With --symbolic: name every entry of dZ (named anyway when dZ is not given).",
    show_default=False)]
NonfiniteOpt = Annotated[bool, typer.Option(
    "--allow-nonfinite", help="Compute with NaN and infinities instead of refusing them.")]


@app.command(epilog="Example: convgrad forward -x '1 2 3' -w '0.3 0.5'")
def forward(
    file: FileArg = None,
    input: InputOpt = None,
    A_prev: APrevOpt = None,
    W: WOpt = None,
    b: BOpt = None,
    stride: StrideOpt = None,
    padding: PaddingOpt = None,
    dilation: DilationOpt = None,
    groups: GroupsOpt = None,
    layout: LayoutOpt = None,
    mode: ModeOpt = None,
    dims: DimsOpt = None,
    json_: JsonOpt = False,
    format: FormatOpt = None,
    precision: PrecisionOpt = None,
    overlays: OverlaysOpt = None,
    view: ViewOpt = View.auto,
    exact: ExactOpt = None,
    symbolic: SymbolicOpt = None,
    A_prev_shape: APrevShapeOpt = None,
    W_shape: WShapeOpt = None,
    allow_nonfinite: NonfiniteOpt = False,
) -> None:
    """Forward pass: Z at every output position, as a sum of products per overlay."""
    guarded(_run, "forward", locals())


@app.command(epilog="Example: convgrad backward -x '1 2 3' -w '0.3 0.5' --dZ '-0.1 0.2'")
def backward(
    file: FileArg = None,
    input: InputOpt = None,
    A_prev: APrevOpt = None,
    W: WOpt = None,
    b: BOpt = None,
    dZ: DZOpt = None,
    stride: StrideOpt = None,
    padding: PaddingOpt = None,
    dilation: DilationOpt = None,
    groups: GroupsOpt = None,
    layout: LayoutOpt = None,
    mode: ModeOpt = None,
    dims: DimsOpt = None,
    json_: JsonOpt = False,
    format: FormatOpt = None,
    precision: PrecisionOpt = None,
    overlays: OverlaysOpt = None,
    view: ViewOpt = View.auto,
    exact: ExactOpt = None,
    symbolic: SymbolicOpt = None,
    A_prev_shape: APrevShapeOpt = None,
    W_shape: WShapeOpt = None,
    dZ_shape: DZShapeOpt = None,
    allow_nonfinite: NonfiniteOpt = False,
) -> None:
    """Backward pass: each overlay's contribution to dW, db and dA_prev, running totals, and the sums."""
    guarded(_run, "backward", locals())


# -- the runner ----------------------------------------------------------------------------


def guarded(func: Any, *args: Any) -> None:
    """Run a command body; the project's errors become one line on stderr and their exit status."""
    try:
        func(*args)
    except ConvgradError as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(code=err.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as err:  # the one place a bug becomes a message instead of a traceback
        if os.environ.get("CONVGRAD_DEBUG"):
            raise
        print(f"error: internal error ({type(err).__name__}: {err}); "
              "set CONVGRAD_DEBUG=1 for the traceback, and please report it", file=sys.stderr)
        raise typer.Exit(code=70) from None


_FIELD_FLAGS = {
    "A_prev": "A-prev", "W": "W", "b": "b", "dZ": "dZ", "stride": "stride", "padding": "padding",
    "dilation": "dilation", "groups": "groups", "layout": "layout", "mode": "mode", "dims": "dims",
}


def gather_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The problem's fields: the input file's, overridden by any flags given."""
    from .problem import canonical_fields
    from .reader import parse_flag_value, read_problem_document

    file, path = options.get("file"), options.get("input")
    if file is not None and path is not None:
        raise UsageError(f"give the problem file once: as FILE ({file!r}) or --input ({path!r}), not both")
    path = path if path is not None else file
    fields: dict[str, Any] = {}
    if path is not None:
        source = "stdin" if path == "-" else path
        fields = canonical_fields(read_problem_document(path), source=source)
        fields["_base_dir"] = None if path == "-" else str(Path(path).resolve().parent)
    for name, flag in _FIELD_FLAGS.items():
        text = options.get(name)
        if text is None:
            continue
        fields[name] = text.strip() if name in ("layout", "mode") else parse_flag_value(text, flag)
    for name in ("A_prev", "W", "dZ"):
        shape = options.get(f"{name}_shape")
        if shape is None:
            continue
        if options.get(name) is not None:
            raise UsageError(f"give {name} once: as values (--{_FIELD_FLAGS[name]}) or as a shape, not both")
        fields[name] = {"shape": shape}
    for name in ("exact", "symbolic"):
        if options.get(name) is not None:
            fields[name] = options[name]
    if "A_prev" not in fields and "W" not in fields:
        raise UsageError("no problem given: pass a problem file (--input FILE, - for stdin) or -x/--A-prev and -w/--W")
    fields.pop("_base_dir", None)
    return fields


def _run(command: str, options: dict[str, Any]) -> None:
    from .api import solve
    from .problem import build_problem
    from .selection import AUTO, parse_selection

    fmt = options.get("format")
    if options.get("json_"):
        if fmt is not None and fmt != OutputFormat.json:
            raise UsageError(f"--json and --format {fmt.value} disagree: give one of them")
        fmt = OutputFormat.json
    fmt = fmt or OutputFormat.table

    fields = gather_fields(options)
    problem = build_problem(fields, need_dZ=command == "backward",
                            allow_nonfinite=options.get("allow_nonfinite", False))
    if command == "forward":
        problem = _forward_only(problem)
    result = solve(problem)
    selection = parse_selection(options.get("overlays"))
    geom = problem.geom
    if selection.kind == "filter" and selection.is_empty(geom):
        raise UsageError(f"--overlays {selection.text!r} selects none of the {geom.overlay_count} overlays")

    if fmt == OutputFormat.json:
        from .render.jsonout import write_document

        write_document(result, selection.indices(geom), sys.stdout)
        return

    indices: Any = selection.indices(geom)
    if selection is AUTO and geom.overlay_count > AUTO_OVERLAY_LIMIT:
        indices = range(AUTO_OVERLAYS_SHOWN)
        _note(f"showing overlays 1-{AUTO_OVERLAYS_SHOWN} of {geom.overlay_count}; see the rest with "
              f"--overlays all, a range such as --overlays 11-20, or a filter such as --overlays 'n=0 c_out=1'")
    from rich.console import Console

    from .render.human import render

    console = Console(highlight=False, soft_wrap=False)
    for renderable in render(result, indices, console, precision=options.get("precision"),
                             view=options["view"].value, command=command):
        console.print(renderable)


def _forward_only(problem: Any) -> Any:
    import dataclasses

    return dataclasses.replace(problem, dZ=None)


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the ``convgrad`` command."""
    app()
