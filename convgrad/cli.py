"""The command line: typer commands that gather options and hand them to one runner.

stdout carries the result only; messages go to stderr. Exit status: 0 success,
1 a checked answer is wrong, 2 bad input or usage.
"""

from __future__ import annotations

import copy
import errno
import os
import sys
import warnings
from fractions import Fraction
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer 0.28 vendors click; older typers depend on it
    from typer._click.exceptions import UsageError as ClickUsageError
except ImportError:  # pragma: no cover
    from click import UsageError as ClickUsageError  # type: ignore[import-not-found,no-redef]

from . import schemas
from .errors import ConvgradError, UsageError, surface
from .limits import DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_INPUT_MB, DEFAULT_MAX_OUTPUT_MB, Limits
from .options import (
    DEFAULT_CHECK_ATOL,
    DEFAULT_CHECK_RTOL,
    DEFAULT_DILATION,
    DEFAULT_DIMS,
    DEFAULT_GRADCHECK_RTOL,
    DEFAULT_GROUPS,
    DEFAULT_KERNEL,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_PADDING,
    DEFAULT_PRECISION,
    DEFAULT_STEP,
    DEFAULT_STRIDE,
    DEFAULT_VALUES,
    MAX_DECIMALS,
    CheckOptions,
    ExportFormat,
    GenerateOptions,
    GradcheckOptions,
    OutputFormat,
    OutputOptions,
    ProblemOptions,
    View,
    number_text,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"convgrad {__version__}")
        raise typer.Exit()


class OneLineUsageError(ClickUsageError):
    """A usage error shown as one line with a -h hint, instead of click's usage block."""

    command: str | None = None  # the command whose -h helps, when the error's context is the group's

    def show(self, file: Any = None) -> None:
        command = self.command or (self.ctx.command_path if self.ctx is not None else "convgrad")
        message = self.format_message().rstrip(".")
        print(f"error: {message}. Try '{command} -h'.", file=sys.stderr if file is None else file)


class _Group(TyperGroup):
    """The command group, with every usage error (bad option, missing option, no such command) one line."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except ClickUsageError as err:
            raise _one_line(err) from None

    def invoke(self, ctx: Any) -> Any:
        protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
        words = list(protected) + list(ctx.args)
        name = words[0] if words and words[0] in self.commands else None
        try:
            return super().invoke(ctx)
        except ClickUsageError as err:
            one = _one_line(err)
            if name is not None and (err.ctx is None or err.ctx.command is self):
                one.command = f"{ctx.command_path} {name}"  # an option error met before the command's context
            raise one from None


def _one_line(err: ClickUsageError) -> OneLineUsageError:
    if isinstance(err, OneLineUsageError):
        return err
    return OneLineUsageError(err.format_message(), ctx=err.ctx)


app = typer.Typer(
    cls=_Group,
    name="convgrad",
    help="Forward and backward passes through a convolution layer, overlay by overlay.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal brackets like [[before, after], ...]
)

# -- options shared by forward and backward ----------------------------------------------

FileArg = Annotated[
    str | None,
    typer.Argument(metavar="FILE", help="Problem JSON file (same as --input); - reads stdin.", show_default=False),
]
InputOpt = Annotated[
    str | None,
    typer.Option("--input", "-i", metavar="FILE", help="Problem JSON file; - reads stdin.", show_default=False),
]
APrevOpt = Annotated[
    str | None,
    typer.Option(
        "--A-prev", "-x", metavar="ARRAY", help='Input A_prev: JSON or rows like "1 2; 3 4".', show_default=False
    ),
]
WOpt = Annotated[
    str | None,
    typer.Option(
        "--W", "-w", metavar="ARRAY", help='Kernel W: JSON or rows like "0.1 0.2; 0.3 0.4".', show_default=False
    ),
]
BOpt = Annotated[
    str | None,
    typer.Option("--b", "-b", metavar="VALUE", help="Bias: a number, or one per filter.", show_default=False),
]
DZOpt = Annotated[
    str | None,
    typer.Option("--dZ", metavar="ARRAY", help="Upstream gradient dL/dZ, shaped like Z.", show_default=False),
]
StrideOpt = Annotated[
    str | None,
    typer.Option("--stride", metavar="S", help="Stride: one number, or one per spatial dim (2,1).", show_default=False),
]
PaddingOpt = Annotated[
    str | None,
    typer.Option(
        "--padding",
        metavar="P",
        help="Padding: N, one per dim (1,2), [[before,after],...] per dim, valid, same or full.",
        show_default=False,
    ),
]
DilationOpt = Annotated[
    str | None,
    typer.Option("--dilation", metavar="D", help="Dilation: one number, or one per spatial dim.", show_default=False),
]
GroupsOpt = Annotated[
    str | None, typer.Option("--groups", metavar="G", help="Groups (C_in for depthwise).", show_default=False)
]
LayoutOpt = Annotated[
    str | None,
    typer.Option(
        "--layout",
        metavar="LAYOUT",
        help="NCHW (channels-first, default) or NHWC (channels-last), any rank.",
        show_default=False,
    ),
]
ModeOpt = Annotated[
    str | None,
    typer.Option(
        "--mode",
        metavar="MODE",
        help="cross-correlation (default, as frameworks) or convolution (kernel flipped).",
        show_default=False,
    ),
]
LayerOpt = Annotated[
    str | None,
    typer.Option(
        "--layer",
        metavar="KIND",
        help="Layer kind: conv (default), relu, leaky-relu, sigmoid, tanh.",
        show_default=False,
    ),
]
SlopeOpt = Annotated[
    str | None,
    typer.Option("--slope", metavar="A", help="leaky-relu: the slope below 0 (default 0.01).", show_default=False),
]
DimsOpt = Annotated[
    str | None,
    typer.Option(
        "--dims", metavar="D", help="Number of spatial dims, where the shapes leave it open.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (same as --format json).")]
FormatOpt = Annotated[
    OutputFormat | None, typer.Option("--format", "-f", help="Output format.", show_default=False, case_sensitive=False)
]
PrecisionOpt = Annotated[
    int | None,
    typer.Option(
        "--precision",
        "-p",
        min=1,
        max=17,
        metavar="N",
        help=f"Significant digits shown (default {DEFAULT_PRECISION}, no float noise).",
        show_default=False,
    ),
]
OverlaysOpt = Annotated[
    str | None,
    typer.Option(
        "--overlays",
        "-o",
        metavar="WHICH",
        help='Overlays to show: all, none, numbers (1-5,9), or filters ("n=0 c_out=1 pos=2,3").',
        show_default=False,
    ),
]
LayersOpt = Annotated[
    str | None,
    typer.Option(
        "--layers",
        metavar="WHICH",
        help="A chain's layers to show (all are computed): numbers (1,3 or 2-4) or kinds (conv).",
        show_default=False,
    ),
]
ViewOpt = Annotated[
    View,
    typer.Option(
        help="Overlay table, one block per overlay, or auto (table when it fits the terminal).", case_sensitive=False
    ),
]
ExactOpt = Annotated[
    bool | None,
    typer.Option(
        "--exact/--no-exact",
        help="Exact rational arithmetic on the values as typed: 0.3 is 3/10, 1/3 stays 1/3.",
        show_default=False,
    ),
]
SymbolicOpt = Annotated[
    bool | None,
    typer.Option(
        "--symbolic/--no-symbolic", help="Entries may be names (x11, w_12); results are formulas.", show_default=False
    ),
]
APrevShapeOpt = Annotated[
    str | None,
    typer.Option(
        "--A-prev-shape",
        metavar="SHAPE",
        help="With --symbolic: name every entry of an A_prev of this shape (3x3).",
        show_default=False,
    ),
]
WShapeOpt = Annotated[
    str | None,
    typer.Option(
        "--W-shape",
        metavar="SHAPE",
        help="With --symbolic: name every entry of a W of this shape (2x2).",
        show_default=False,
    ),
]
DZShapeOpt = Annotated[
    str | None,
    typer.Option(
        "--dZ-shape",
        metavar="SHAPE",
        help="With --symbolic: name every entry of dZ (named anyway when dZ is not given).",
        show_default=False,
    ),
]
ExportOpt = Annotated[
    ExportFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output: the table; JSON; JSON lines (one overlay per line as computed, then the totals); "
        "Markdown or LaTeX for write-ups; CSV (one row per overlay); torch or numpy: a standalone Python "
        "script that recomputes the layer (PyTorch autograd, or numpy loops) and checks convgrad's numbers.",
        show_default=False,
        case_sensitive=False,
    ),
]
SaveOpt = Annotated[
    str | None,
    typer.Option(
        "--save", metavar="FILE.npz", help="Also write Z, dW, db, dA_prev to an .npz file.", show_default=False
    ),
]
Float64Opt = Annotated[
    bool, typer.Option("--float64", help="Compute in float64 even when every input array is float32.")
]
ExplainOpt = Annotated[
    bool,
    typer.Option("--explain", help="Tell it step by step in sentences, with the identities behind the backward pass."),
]
CellOpt = Annotated[
    str | None,
    typer.Option(
        "--cell",
        metavar="ENTRY",
        help="Every term behind one entry: 1,2 or dA_prev[0,1,2], dW[0,1], db[0] (the gradients), Z[0,1] (its overlay).",
        show_default=False,
    ),
]
SvgOpt = Annotated[
    str | None,
    typer.Option(
        "--svg", metavar="FILE", help="Also save what the terminal shows as an SVG image.", show_default=False
    ),
]
HtmlOpt = Annotated[
    str | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Also write an interactive page (one offline HTML file) that steps through the overlays.",
        show_default=False,
    ),
]
HtmlRecordOpt = Annotated[
    str | None,
    typer.Option(
        "--html-record", metavar="FILE", help="Also save what the terminal shows as an HTML page.", show_default=False
    ),
]


def _megabytes(flag: str) -> Any:
    """A typer callback: a size in MB must be finite, above 0 and at most 1e6 (refused as a usage error)."""

    def check(value: float | None) -> float | None:
        from .errors import InputError
        from .numbers import check_option_number

        try:
            check_option_number(value, flag, 0, 1e6, low_open=True)
        except InputError as err:
            raise typer.BadParameter(err.message) from None
        return value

    return check


MaxInputOpt = Annotated[
    float,
    typer.Option(
        "--max-input-mb",
        min=0,
        callback=_megabytes("--max-input-mb"),
        metavar="MB",
        help=f"Largest problem file read (default {DEFAULT_MAX_INPUT_MB}).",
        show_default=False,
    ),
]
MaxElementsOpt = Annotated[
    int | None,  # None when not given: a given --max-elements also raises the JSON number limit
    typer.Option(
        "--max-elements",
        min=1,
        metavar="N",
        help=f"Most entries in one array (default {DEFAULT_MAX_ELEMENTS:,}).",
        show_default=False,
    ),
]
MaxOutputOpt = Annotated[
    float,
    typer.Option(
        "--max-output-mb",
        min=0,
        callback=_megabytes("--max-output-mb"),
        metavar="MB",
        help=f"Largest output written, estimated first (default {DEFAULT_MAX_OUTPUT_MB}; JSON lines are not limited).",
        show_default=False,
    ),
]
NonfiniteOpt = Annotated[
    bool, typer.Option("--allow-nonfinite", help="Compute with NaN and infinities instead of refusing them.")
]


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
    layer: LayerOpt = None,
    slope: SlopeOpt = None,
    json_: JsonOpt = False,
    format: ExportOpt = None,
    precision: PrecisionOpt = None,
    overlays: OverlaysOpt = None,
    layers: LayersOpt = None,
    view: ViewOpt = View.auto,
    explain: ExplainOpt = False,
    cell: CellOpt = None,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
    html_record: HtmlRecordOpt = None,
    save: SaveOpt = None,
    float64: Float64Opt = False,
    exact: ExactOpt = None,
    symbolic: SymbolicOpt = None,
    A_prev_shape: APrevShapeOpt = None,
    W_shape: WShapeOpt = None,
    allow_nonfinite: NonfiniteOpt = False,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    max_elements: MaxElementsOpt = None,
    max_output_mb: MaxOutputOpt = DEFAULT_MAX_OUTPUT_MB,
) -> None:
    """Forward pass: Z at every output position, as a sum of products per overlay."""
    from .commands import solve

    problem = ProblemOptions(
        file=file,
        input=input,
        A_prev=A_prev,
        W=W,
        b=b,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        layout=layout,
        mode=mode,
        dims=dims,
        layer=layer,
        slope=slope,
        exact=exact,
        symbolic=symbolic,
        A_prev_shape=A_prev_shape,
        W_shape=W_shape,
        float64=float64,
        allow_nonfinite=allow_nonfinite,
    )
    output = OutputOptions(
        json=json_,
        format=format,
        precision=precision,
        overlays=overlays,
        view=view,
        explain=explain,
        cell=cell,
        svg=svg,
        html=html,
        html_record=html_record,
        save=save,
        layers=layers,
    )
    limits = Limits.from_options(max_input_mb=max_input_mb, max_elements=max_elements, max_output_mb=max_output_mb)
    guarded(solve.run, "forward", problem, output, limits)


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
    layer: LayerOpt = None,
    slope: SlopeOpt = None,
    json_: JsonOpt = False,
    format: ExportOpt = None,
    precision: PrecisionOpt = None,
    overlays: OverlaysOpt = None,
    layers: LayersOpt = None,
    view: ViewOpt = View.auto,
    explain: ExplainOpt = False,
    cell: CellOpt = None,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
    html_record: HtmlRecordOpt = None,
    save: SaveOpt = None,
    float64: Float64Opt = False,
    exact: ExactOpt = None,
    symbolic: SymbolicOpt = None,
    A_prev_shape: APrevShapeOpt = None,
    W_shape: WShapeOpt = None,
    dZ_shape: DZShapeOpt = None,
    allow_nonfinite: NonfiniteOpt = False,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    max_elements: MaxElementsOpt = None,
    max_output_mb: MaxOutputOpt = DEFAULT_MAX_OUTPUT_MB,
) -> None:
    """Backward pass: each overlay's contribution to dW, db and dA_prev, running totals, and the sums."""
    from .commands import solve

    problem = ProblemOptions(
        file=file,
        input=input,
        A_prev=A_prev,
        W=W,
        b=b,
        dZ=dZ,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        layout=layout,
        mode=mode,
        dims=dims,
        layer=layer,
        slope=slope,
        exact=exact,
        symbolic=symbolic,
        A_prev_shape=A_prev_shape,
        W_shape=W_shape,
        dZ_shape=dZ_shape,
        float64=float64,
        allow_nonfinite=allow_nonfinite,
    )
    output = OutputOptions(
        json=json_,
        format=format,
        precision=precision,
        overlays=overlays,
        view=view,
        explain=explain,
        cell=cell,
        svg=svg,
        html=html,
        html_record=html_record,
        save=save,
        layers=layers,
    )
    limits = Limits.from_options(max_input_mb=max_input_mb, max_elements=max_elements, max_output_mb=max_output_mb)
    guarded(solve.run, "backward", problem, output, limits)


@app.command(
    epilog="Examples: convgrad check problem.json --answer mine.json ; "
    "convgrad check problem.json --answer 'submissions/*.json' ; "
    "convgrad check -x '1 2 3' -w '0.3 0.5' --dZ '-0.1 0.2' --answer mine.json"
)
def check(
    *,  # keyword-only, so the required --answer can sit where the help lists it
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
    layer: LayerOpt = None,
    slope: SlopeOpt = None,
    answer: Annotated[
        str,
        typer.Option(
            "--answer",
            "-a",
            metavar="FILE|DIR|GLOB",
            help="Answer JSON with any of Z, dW, db, dA_prev; a folder or glob grades every file in it.",
        ),
    ],
    rtol: Annotated[
        float,
        typer.Option(
            min=0,
            help=f"Relative tolerance for entries not written as rounded decimals "
            f"(default {number_text(DEFAULT_CHECK_RTOL)}).",
            show_default=False,
        ),
    ] = DEFAULT_CHECK_RTOL,
    atol: Annotated[
        float,
        typer.Option(
            min=0, help=f"Absolute tolerance (default {number_text(DEFAULT_CHECK_ATOL)}).", show_default=False
        ),
    ] = DEFAULT_CHECK_ATOL,
    decimals: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_DECIMALS,
            metavar="N",
            help="Require N decimals: an entry right only to fewer decimals is marked not precise enough "
            '(an exact value is right however written). Wins over an answer file\'s "decimals" key.',
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            help="Grading policy JSON (require, weights, decimals, imprecise_credit, layouts, pattern); "
            "flags override its keys.",
        ),
    ] = None,
    require: Annotated[
        str | None,
        typer.Option(metavar="LIST", help="Quantities required, e.g. Z,dW,db,dA_prev: a missing one is wrong."),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            metavar="Q=W,...",
            help="Points per quantity, e.g. Z=2,dW=3,db=1,dA_prev=4 (default 1 each); "
            "partial credit in proportion to the entries right.",
        ),
    ] = None,
    layouts: Annotated[
        str | None,
        typer.Option(metavar="same|any", help="any: accept a quantity written in the other layout (NHWC/NCHW)."),
    ] = None,
    pattern: Annotated[
        str | None,
        typer.Option(
            metavar="GLOB", help="In a folder, grade the files whose name matches (default: *.json, any case)."
        ),
    ] = None,
    gradebook: Annotated[
        str | None,
        typer.Option(metavar="FILE.csv", help="Grading a folder: write a gradebook CSV (one row per file)."),
    ] = None,
    feedback_dir: Annotated[
        str | None,
        typer.Option(metavar="DIR", help="Grading a folder: write one Markdown feedback file per answer into DIR."),
    ] = None,
    json_: JsonOpt = False,
    format: FormatOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    max_elements: MaxElementsOpt = None,
) -> None:
    """Check an answer entry by entry: right or wrong, the right value and its terms, the likely mistake.

    An entry written with k decimals is right when it is the true value rounded to k
    decimals (0.33 for 1/3). With --decimals N, an entry that is right only to fewer than N
    decimals is marked not precise enough. Exit status 0 when every given entry is right, 1 when
    any is wrong or not precise enough.
    """
    from .commands import check as command

    problem = ProblemOptions(
        file=file,
        input=input,
        A_prev=A_prev,
        W=W,
        b=b,
        dZ=dZ,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        layout=layout,
        mode=mode,
        dims=dims,
        layer=layer,
        slope=slope,
    )
    guarded(
        command.run,
        problem,
        OutputOptions(json=json_, format=format),
        CheckOptions(
            answer=answer,
            rtol=rtol,
            atol=atol,
            decimals=decimals,
            policy=policy,
            require=require,
            weights=weights,
            layouts=layouts,
            pattern=pattern,
            gradebook=gradebook,
            feedback_dir=feedback_dir,
        ),
        Limits.from_options(max_input_mb=max_input_mb, max_elements=max_elements),
    )


@app.command(epilog="Example: convgrad gradcheck samples/stride2_pad1.json --exact")
def gradcheck(
    file: FileArg = None,
    input: InputOpt = None,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Exact rationals: the difference quotients must equal the gradients exactly."),
    ] = False,
    step: Annotated[
        str | None,
        typer.Option(
            metavar="H",
            help=f"Finite-difference step (default {DEFAULT_STEP}; {Fraction(DEFAULT_STEP)} exact).",
            show_default=False,
        ),
    ] = None,
    rtol: Annotated[
        float,
        typer.Option(
            min=0,
            help=f"Largest relative error that passes (default {number_text(DEFAULT_GRADCHECK_RTOL)}).",
            show_default=False,
        ),
    ] = DEFAULT_GRADCHECK_RTOL,
    max_entries: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help=f"Check at most N entries per quantity, a seeded sample (default {DEFAULT_MAX_ENTRIES}).",
            show_default=False,
        ),
    ] = DEFAULT_MAX_ENTRIES,
    answer: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Check a given gradient (a student's dW, db, dA_prev) against central differences, entry by entry.",
            show_default=False,
        ),
    ] = None,
    show: Annotated[
        str | None,
        typer.Option(
            metavar="ENTRY",
            help="Write out the central difference for one entry, e.g. W[0,1] or dA_prev[2]: "
            "f(x+h), f(x-h), the quotient, the analytic value.",
            show_default=False,
        ),
    ] = None,
    json_: JsonOpt = False,
    format: FormatOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    max_elements: MaxElementsOpt = None,
) -> None:
    """Check dW, db and dA_prev against central finite differences of L = sum(Z · dZ)."""
    from .commands import gradcheck as command

    # --exact is a plain switch here: it sets the problem's exact (off unless given), as before.
    guarded(
        command.run,
        ProblemOptions(file=file, input=input, exact=exact),
        OutputOptions(json=json_, format=format),
        GradcheckOptions(exact=exact, step=step, rtol=rtol, max_entries=max_entries, answer=answer, show=show),
        Limits.from_options(max_input_mb=max_input_mb, max_elements=max_elements),
    )


@app.command(
    epilog="Example: convgrad generate --dims 2 --size 4 --kernel 2 --stride 2 --seed 7 --output p.json --key p_key"
)
def generate(
    dims: Annotated[int, typer.Option(min=1, max=3, help="Spatial dims.")] = DEFAULT_DIMS,
    size: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Input size, one number or one per dim (default 5, 4, 3 for 1-, 2-, 3-D).",
            show_default=False,
        ),
    ] = None,
    kernel: Annotated[
        str | None, typer.Option(metavar="K", help=f"Kernel size (default {DEFAULT_KERNEL}).", show_default=False)
    ] = None,
    stride: Annotated[
        str | None, typer.Option(metavar="S", help=f"Stride (default {DEFAULT_STRIDE}).", show_default=False)
    ] = None,
    padding: Annotated[
        str | None,
        typer.Option(
            metavar="P", help=f"Padding, as in the problem JSON (default {DEFAULT_PADDING}).", show_default=False
        ),
    ] = None,
    dilation: Annotated[
        str | None, typer.Option(metavar="D", help=f"Dilation (default {DEFAULT_DILATION}).", show_default=False)
    ] = None,
    channels: Annotated[
        int | None, typer.Option(min=1, help="Input channels (default: none, the bare form).", show_default=False)
    ] = None,
    filters: Annotated[
        int | None, typer.Option(min=1, help="Filters, C_out (default: one, bare).", show_default=False)
    ] = None,
    batch: Annotated[
        int | None, typer.Option(min=1, help="Batch size (default: unbatched).", show_default=False)
    ] = None,
    groups: Annotated[int, typer.Option(min=1, help="Groups.")] = DEFAULT_GROUPS,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Give the layer a bias.")] = False,
    values: Annotated[
        str,
        typer.Option(
            help="small: integer inputs, one-decimal weights and dZ; int: -3..3 or int:LO..HI; decimal: "
            "tenths in [-1, 1], decimal:STEP or decimal:STEP:LO..HI; add ,nonzero (no zero anywhere) or ,zeros "
            "(zeros allowed in W and dZ, which by default have none)."
        ),
    ] = DEFAULT_VALUES,
    layer: LayerOpt = None,
    slope: SlopeOpt = None,
    layout: LayoutOpt = None,
    mode: ModeOpt = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="The same seed always gives the same problem.", show_default=False)
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the problem here instead of stdout.", show_default=False
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            metavar="PREFIX", help="Also write the answer key: PREFIX.json and PREFIX.md (working).", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write an answer key even past the size limit (see docs/errors-and-limits.md)."),
    ] = False,
    sheet: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Also write a student sheet (arrays, configuration, questions; no answers): FILE.md or FILE.tex.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Write N variants (one per student) with keys into --output-dir: p01.json, p01-key.json, ...",
            show_default=False,
        ),
    ] = None,
    output_dir: Annotated[
        str | None,
        typer.Option(metavar="DIR", help="The folder for --count's numbered set.", show_default=False),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(
            metavar="KINDS",
            help="A chain of layers instead of one, such as conv,relu,max-pool,flatten,dense.",
            show_default=False,
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            metavar="LOSS",
            help="--chain's end: softmax-cross-entropy (default after dense), mse, sum, or none (a dZ).",
            show_default=False,
        ),
    ] = None,
    classes: Annotated[
        int | None,
        typer.Option(min=2, help="--chain: the last dense layer's units (default 3).", show_default=False),
    ] = None,
) -> None:
    """A random problem in the format backward reads, reproducible from --seed, with an optional answer key."""
    from .commands import generate as command

    guarded(
        command.run,
        GenerateOptions(
            dims=dims,
            size=size,
            kernel=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            channels=channels,
            filters=filters,
            batch=batch,
            groups=groups,
            bias=bias,
            values=values,
            layout=layout,
            mode=mode,
            seed=seed,
            output=output,
            key=key,
            force=force,
            layer=layer,
            slope=slope,
            sheet=sheet,
            count=count,
            output_dir=output_dir,
            chain=chain,
            loss=loss,
            classes=classes,
        ),
    )


@app.command(
    epilog="Examples: convgrad shape samples/basic_2d.json ; "
    "convgrad shape --A-prev-shape 1x3x32x32 --W-shape 16x3x5x5 --stride 2 --padding same"
)
def shape(
    file: FileArg = None,
    input: InputOpt = None,
    A_prev_shape: Annotated[
        str | None,
        typer.Option(
            "--A-prev-shape",
            metavar="SHAPE",
            help="A_prev's shape (3x3, 1x3x32x32), instead of a file.",
            show_default=False,
        ),
    ] = None,
    W_shape: Annotated[
        str | None, typer.Option("--W-shape", metavar="SHAPE", help="W's shape (2x2, 16x3x5x5).", show_default=False)
    ] = None,
    stride: StrideOpt = None,
    padding: PaddingOpt = None,
    dilation: DilationOpt = None,
    groups: GroupsOpt = None,
    layout: LayoutOpt = None,
    mode: ModeOpt = None,
    dims: DimsOpt = None,
    layer: LayerOpt = None,
    slope: SlopeOpt = None,
    json_: JsonOpt = False,
    format: FormatOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    max_elements: MaxElementsOpt = None,
) -> None:
    """Output size (formula filled in), padding resolved, overlays, and weights against locally
    connected and dense layers."""
    from .commands import shape as command

    problem = ProblemOptions(
        file=file,
        input=input,
        A_prev_shape=A_prev_shape,
        W_shape=W_shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        layout=layout,
        mode=mode,
        dims=dims,
        layer=layer,
        slope=slope,
    )
    guarded(
        command.run,
        problem,
        OutputOptions(json=json_, format=format),
        Limits.from_options(max_input_mb=max_input_mb, max_elements=max_elements),
        command.SHAPE_MAX_ELEMENTS if max_elements is None else max_elements,
    )


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Forward and backward passes through a convolution layer, overlay by overlay."""


SCHEMAS = schemas.NAMES


@app.command(epilog="Example: convgrad schema backward > backward.schema.json")
def schema(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help=f"One of: {', '.join(SCHEMAS)} (grade: check with a folder of answers)."),
    ],
) -> None:
    """Print the JSON Schema (draft 2020-12) of the input or of a command's JSON output."""
    guarded(_print_schema, name)


def _print_schema(name: str) -> None:
    from importlib import resources

    if name not in SCHEMAS:
        raise UsageError(f"no schema named {name!r}: choose one of {', '.join(SCHEMAS)}")
    # The committed file, byte for byte (python -m convgrad.schemas.build writes it).
    sys.stdout.write(resources.files(schemas).joinpath(schemas.file_name(name)).read_text(encoding="utf-8"))


# -- the runner ----------------------------------------------------------------------------


def guarded(func: Any, *args: Any) -> None:
    """Run a command body; the project's errors become one line on stderr and their exit status."""
    if sys.stdout is None or sys.stdout.closed:  # started with stdout closed (>&-): nowhere to write
        print("error: stdout is closed, so the result has nowhere to go", file=sys.stderr)
        raise typer.Exit(code=2)
    try:
        with warnings.catch_warnings(), surface("cli"):  # messages name flags (--dZ), not keywords
            # numpy's RuntimeWarnings (overflow, invalid value) never reach stderr: results that
            # overflow are refused in one line, and NaN or infinities are only computed on request.
            warnings.simplefilter("ignore", RuntimeWarning)
            func(*args)
        sys.stdout.flush()  # a closed pipe or a full disk shows here, not at interpreter exit
    except ConvgradError as err:
        print(f"error: {err.text('cli')}", file=sys.stderr)
        raise typer.Exit(code=err.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, as a process killed by SIGPIPE would.
        _silence_stdout()
        raise typer.Exit(code=141) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(code=130) from None
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EIO, errno.EBADF, errno.EFBIG, errno.EDQUOT):
            _internal(err)
        _silence_stdout()
        print(f"error: cannot write the result: {err.strerror}", file=sys.stderr)
        raise typer.Exit(code=2) from None
    except Exception as err:  # the one place a bug becomes a message instead of a traceback
        _internal(err)


def _internal(err: Exception) -> None:
    if os.environ.get("CONVGRAD_DEBUG"):
        raise err
    print(
        f"error: internal error ({type(err).__name__}: {err}); "
        "set CONVGRAD_DEBUG=1 for the traceback, and please report it",
        file=sys.stderr,
    )
    raise typer.Exit(code=70) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass


def main() -> None:
    """Entry point of the ``convgrad`` command.

    typer builds a click command, with every option, for each registered command
    before it parses a word (inspecting every signature: tens of milliseconds);
    when the first word names a command, only that one is built, on a copy of the
    app. Anything else (help, --version, an unknown name) gets the whole app.
    """
    words = sys.argv[1:2]
    chosen = [info for info in app.registered_commands if _command_name(info) in words]
    if not chosen:
        app()
        return
    only = copy.copy(app)
    only.registered_commands = chosen
    only()


def _command_name(info: Any) -> str:
    """The name typer gives a registered command: its own, or its function's with "_" as "-"."""
    return info.name or info.callback.__name__.lower().replace("_", "-")
