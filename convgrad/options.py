"""The commands' options as frozen dataclasses, and every default the command line documents.

cli.py declares the options, builds these by keyword and hands them to the commands; the
commands read attributes, never string keys, so renaming an option is a type error, not a
silent None. Each default is written once here and interpolated into the help text.
Light on purpose: cli.py imports it at start-up (no numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: Significant digits a table shows when --precision is not given (numbers.DEFAULT_SIGNIFICANT_DIGITS).
DEFAULT_PRECISION = 12
#: check: tolerances for entries not written as rounded decimals (check.Tolerance).
DEFAULT_CHECK_RTOL = 1e-9
DEFAULT_CHECK_ATOL = 1e-12
#: check: the most decimals --decimals or an answer file's "decimals" can require.
MAX_DECIMALS = 30
#: gradcheck: the finite-difference step as typed (a float in floats, the same fraction exactly),
#: the largest relative error that passes, and entries checked per quantity before sampling.
DEFAULT_STEP = "1e-3"
DEFAULT_GRADCHECK_RTOL = 1e-6
DEFAULT_MAX_ENTRIES = 400
#: generate: the layer drawn when a flag is left out (generate.Spec).
DEFAULT_DIMS = 2
DEFAULT_KERNEL = 2
DEFAULT_STRIDE = 1
DEFAULT_PADDING = 0
DEFAULT_DILATION = 1
DEFAULT_GROUPS = 1
DEFAULT_VALUES = "small"


def number_text(x: float) -> str:
    """A tolerance as people write it: 1e-9, 1e-12, 2.5e-3 (no zero-padded exponent)."""
    mantissa, exponent = f"{x:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class ExportFormat(str, Enum):
    """Formats of forward and backward."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    latex = "latex"
    csv = "csv"
    torch = "torch"
    numpy = "numpy"


class View(str, Enum):
    auto = "auto"
    table = "table"
    blocks = "blocks"


@dataclass(frozen=True)
class ProblemOptions:
    """Where the problem comes from and what the flags change in it.

    file/input: the problem file (FILE or --input; - is stdin). The array and configuration
    flags hold the text as typed; None when not given. exact/symbolic: None leaves the file's
    choice. *_shape: with --symbolic, name every entry of an array of that shape.
    float64, allow_nonfinite: how forward and backward compute."""

    file: str | None = None
    input: str | None = None
    A_prev: str | None = None
    W: str | None = None
    b: str | None = None
    dZ: str | None = None
    stride: str | None = None
    padding: str | None = None
    dilation: str | None = None
    groups: str | None = None
    layout: str | None = None
    mode: str | None = None
    dims: str | None = None
    layer: str | None = None
    slope: str | None = None
    exact: bool | None = None
    symbolic: bool | None = None
    A_prev_shape: str | None = None
    W_shape: str | None = None
    dZ_shape: str | None = None
    float64: bool = False
    allow_nonfinite: bool = False

    def flag_values(self) -> dict[str, str | None]:
        """The problem fields that have a flag, by field name, as typed (None: not given)."""
        return {
            "A_prev": self.A_prev,
            "W": self.W,
            "b": self.b,
            "dZ": self.dZ,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "layout": self.layout,
            "layer": self.layer,
            "slope": self.slope,
            "mode": self.mode,
            "dims": self.dims,
        }

    def shapes(self) -> dict[str, str | None]:
        """The arrays named by shape alone, by field name (None: not given)."""
        return {"A_prev": self.A_prev_shape, "W": self.W_shape, "dZ": self.dZ_shape}


@dataclass(frozen=True)
class OutputOptions:
    """How the result is shown. json/format: --json and --format (they must agree); the rest
    only forward and backward have: precision (None: DEFAULT_PRECISION, float32 its own digits),
    overlays (a selection's text), view, explain, cell, and the files svg, html (the interactive
    page), html_record (what the terminal shows, as HTML), save; layers (a chain's layers to show)."""

    json: bool = False
    format: ExportFormat | OutputFormat | None = None
    precision: int | None = None
    overlays: str | None = None
    view: View = View.auto
    explain: bool = False
    cell: str | None = None
    svg: str | None = None
    html: str | None = None
    html_record: str | None = None
    save: str | None = None
    layers: str | None = None  # a chain's layers to show ("1,3", "2-4", "conv"); None: all


@dataclass(frozen=True)
class CheckOptions:
    """check: the answer (a file, a folder or a glob), the tolerances, and the decimals required
    (None: as each answer file says, else none)."""

    answer: str
    rtol: float = DEFAULT_CHECK_RTOL
    atol: float = DEFAULT_CHECK_ATOL
    decimals: int | None = None
    # The grading policy as typed (None: the policy file's, else the default); see convgrad/grading.py.
    policy: str | None = None
    require: str | None = None
    weights: str | None = None
    layouts: str | None = None
    pattern: str | None = None
    # Where a folder's gradebook (CSV) and feedback (one Markdown file per answer) go (None: not written).
    gradebook: str | None = None
    feedback_dir: str | None = None


@dataclass(frozen=True)
class GradcheckOptions:
    """gradcheck: exact rationals or float64, the step as typed (None: DEFAULT_STEP), the
    relative tolerance, and entries checked per quantity; answer: a student's gradient file to
    check numerically instead; show: one entry (W[0,1], dA_prev[2]) whose difference to write out."""

    exact: bool = False
    step: str | None = None
    rtol: float = DEFAULT_GRADCHECK_RTOL
    max_entries: int = DEFAULT_MAX_ENTRIES
    answer: str | None = None
    show: str | None = None


@dataclass(frozen=True)
class GenerateOptions:
    """generate: the layer to draw (sizes as typed, None: the defaults above or generate's own),
    the seed, and where to write the problem and the answer key."""

    dims: int = DEFAULT_DIMS
    size: str | None = None
    kernel: str | None = None
    stride: str | None = None
    padding: str | None = None
    dilation: str | None = None
    channels: int | None = None
    filters: int | None = None
    batch: int | None = None
    groups: int = DEFAULT_GROUPS
    bias: bool = False
    values: str = DEFAULT_VALUES
    layout: str | None = None
    mode: str | None = None
    seed: int | None = None
    output: str | None = None
    key: str | None = None
    force: bool = False
    layer: str | None = None
    slope: str | None = None
    sheet: str | None = None
    count: int | None = None
    output_dir: str | None = None
    chain: str | None = None  # --chain: the kinds of a chain problem, comma-separated
    loss: str | None = None  # --chain's end
    classes: int | None = None  # --chain: the last dense layer's units
