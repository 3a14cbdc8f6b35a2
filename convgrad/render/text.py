"""Words and numbers as plain text, shared by every view: shapes, indices, windows, small arrays.

A leaf: it imports no view and no rich, so the JSON path can use it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..numbers import index_label
from ..problem import fmt_shape

if TYPE_CHECKING:
    from ..api import Result
    from ..audits import Leftover
    from ..forms import Form
    from ..geometry import Geometry
    from ..layers.base import Overlay

#: Formats one value; the optional second argument is its noise scale (see numbers.format_float).
Formatter = Callable[..., str]

#: Kernels with more taps than this show Z as a count of products, not every product.
MAX_TERMS_SHOWN = 32


def formatter(result: Result, precision: int | None = None) -> Formatter:
    """The result's number formatter: value (and optional noise scale) to text, at ``precision``."""
    domain = result.problem.domain
    shown: dict[tuple[Any, Any], str] = {}  # each distinct number formatted once (no domain reads the scale)

    def fmt(x: Any, scale: Any = None) -> str:
        kind = type(x)
        if kind is Fraction:  # by its two integers, which hash faster than the Fraction does
            key: Any = (x.numerator, x.denominator)
        elif kind in CACHED_TYPES:  # with its type: a float32 shows fewer digits than the same float64
            key = (kind, x)
        else:  # a formula: formatted each time
            return domain.format(x, precision, scale)
        text = shown.get(key)
        if text is None:
            text = domain.format(x, precision, scale)
            if len(shown) < MAX_CACHED:
                shown[key] = text
        return text

    return fmt


#: The number types whose text a formatter remembers (equal values of one type show alike; NaN
#: never equals itself, so it is simply formatted each time).
CACHED_TYPES = frozenset([int, float, np.float64, np.float32, np.float16, np.int64, np.int32])
#: How many distinct numbers a formatter remembers.
MAX_CACHED = 200_000


@dataclass
class Style:
    """How values are drawn: the formatter (value, noise scale) and the width available."""

    fmt: Formatter
    width: int
    symbolic: bool = False


def make_style(result: Result, precision: int | None, width: int) -> Style:
    return Style(formatter(result, precision), width, result.problem.domain.name == "symbolic")


# -- shapes and configuration ---------------------------------------------------------------


def shape_text(shape: Iterable[int]) -> str:
    """(2, 3), (4,), or "scalar" for the empty shape."""
    dims = tuple(shape)
    return fmt_shape(dims) if dims else "scalar"


def per_dim_text(values: Iterable[Any]) -> str:
    """One value when every dim has the same, else all of them: 2, or (2, 1)."""
    values = list(values)
    return str(values[0]) if len(set(map(str, values))) == 1 else "(" + ", ".join(map(str, values)) + ")"


#: The spatial axes' names by the number of spatial dims, as window_words names them.
AXIS_WORDS = {1: [""], 2: ["rows", "cols"], 3: ["depth", "rows", "cols"]}


def padding_text(geom: Geometry) -> str:
    """The padding as per_dim_text, or in words when some dim is padded unevenly:
    "rows 0 before 1 after, cols 0 before 1 after" ("0 before 1 after" in 1-D)."""
    pairs = geom.padding
    if all(b == a for b, a in pairs):
        return per_dim_text(b for b, _ in pairs)
    names = AXIS_WORDS.get(geom.dims, [f"axis {i}" for i in range(geom.dims)])
    return ", ".join(f"{name} {b} before {a} after".lstrip() for name, (b, a) in zip(names, pairs))


def config_words(geom: Geometry) -> str:
    """The configuration in full: "stride 2, padding 1, dilation 1" (and groups when not 1)."""
    words = f"stride {per_dim_text(geom.stride)}, padding {padding_text(geom)}, dilation {per_dim_text(geom.dilation)}"
    return words + (f", groups {geom.groups}" if geom.groups != 1 else "")


def output_formula(geom: Geometry, axis: int) -> str:
    """The output-size formula for one axis with the numbers filled in."""
    n, k, s, d = geom.input_size[axis], geom.kernel_size[axis], geom.stride[axis], geom.dilation[axis]
    b, a = geom.padding[axis]
    top = n + b + a - d * (k - 1) - 1
    return f"floor(({n} + {b} + {a} - {d}·({k}-1) - 1) / {s}) + 1 = floor({top}/{s}) + 1 = {geom.output_size[axis]}"


def leftover_reasons(left: Leftover, geom: Geometry) -> str:
    """Why no window reaches an axis's leftover indices: "stride 2 steps over index 3; the last ..."."""
    s, d = geom.stride[left.axis], geom.dilation[left.axis]
    reasons = []
    if left.stepped_over:
        gaps = f"stride {s}" + (f" and dilation {d}" if d > 1 else "")
        reasons.append(f"{gaps} step{'s' if d == 1 else ''} over {_listed(left.stepped_over)}")
    if left.past_end:
        reasons.append(f"the last window ends at index {left.last}, before {_listed(left.past_end)}")
    return "; ".join(reasons)


def _listed(indices: tuple[int, ...]) -> str:
    return ("index " if len(indices) == 1 else "indices ") + ", ".join(map(str, indices))


# -- indices ---------------------------------------------------------------------------------


def position_text(position: tuple[int, ...]) -> str:
    """An output position: 3 in 1-D, (1, 2) above."""
    return str(position[0]) if len(position) == 1 else "(" + ", ".join(map(str, position)) + ")"


def slice_label(index: Iterable[int], trailing: int) -> str:
    """A slice of an array by its leading indices: "[0, 1, :, :]" for two trailing axes."""
    return "[" + ", ".join(map(str, index)) + ", :" * trailing + "]"


def labelled_slices(array: Any, names: Iterable[str], spatial_dims: int) -> list[tuple[str, Any]]:
    """An array whose last ``spatial_dims`` axes are spatial, cut as the terminal draws it.

    The leading axes are named by ``names`` (canonical order: sample, channel); each slice is an
    H x W matrix (a row in 1-D; 3-D: one matrix per depth). Leading axes of length 1 are left out
    of the labels: "n 0, c 1", "c_out 2, depth 0", or "" when nothing needs naming.
    """
    array = np.asarray(array, dtype=object)
    grid_dims = min(spatial_dims or 2, 2, array.ndim)  # no spatial axes (dense): (N, features) as one matrix
    lead = array.ndim - grid_dims
    labels: list[str | None] = [name if size > 1 else None for name, size in zip(names, array.shape[:lead])]
    labels += ["depth"] * (lead - len(labels))
    out = []
    for index in np.ndindex(*array.shape[:lead]):
        parts = [f"{name} {i}" for name, i in zip(labels, index) if name is not None]
        out.append((", ".join(parts), array[index]))
    return out


def factor_label(form: Form, array: str, index: tuple[int, ...]) -> str:
    """A term's factor with its canonical index shown in the user's form: "A_prev[1,2]", "W[0,1]", "b[1]".

    No spaces inside the brackets: a long sum of terms then wraps between terms only.
    """
    if array in ("A_prev", "dZ") or (len(index) > 1 and array != "W"):  # a kind's own factor: an entry's
        return index_label(array, form.activation_index(index), ",")
    if array == "W":
        return index_label(array, form.kernel_index(index), ",")
    return index_label(array, form.bias_index(index[0]), ",")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """A count with its noun agreeing: "1 entry", "2 entries", "3 taps"."""
    if count == 1:
        return f"1 {noun}"
    if many is None:
        many = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{count} {many}"


def ranges(numbers: list[int]) -> str:
    """Sorted whole numbers with runs joined: [1, 2, 3, 5] -> "1-3, 5"."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


# -- windows ---------------------------------------------------------------------------------


def axis_span(start: int, dilation: int, k: int) -> str:
    """The taps of one axis: "0..2", "1..5 step 2", "3"."""
    stop = start + dilation * (k - 1)
    text = f"{start}..{stop}" if stop != start else f"{start}"
    return text + (f" step {dilation}" if dilation != 1 and k > 1 else "")


def window_words(overlay: Overlay, geom: Geometry) -> str:
    """Where the window sits in A_prev: "rows 0..1, cols 1..2" (negative: in the padding)."""
    names = {1: ["positions"], 2: ["rows", "cols"], 3: ["depth", "rows", "cols"]}.get(
        geom.dims, [f"axis {i}" for i in range(geom.dims)]
    )
    return ", ".join(
        f"{name} {axis_span(s, d, k)}"
        for name, s, d, k in zip(names, overlay.window_start, geom.dilation, geom.kernel_size)
    )


# -- numbers and small arrays ----------------------------------------------------------------


def paren_negative(text: str) -> str:
    """A negative number in parentheses, as a factor of a product: (-0.1)·2."""
    return f"({text})" if text.startswith("-") else text


def inline(array: Any, fmt: Formatter) -> str:
    """A small array in one line of nested brackets: [[1, 2], [3, 4]]."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return fmt(array[()])
    return _nested(array.tolist(), fmt)


def _nested(values: list[Any], fmt: Formatter) -> str:
    return "[" + ", ".join(_nested(v, fmt) if isinstance(v, list) else fmt(v) for v in values) + "]"


def z_expression(
    overlay: Overlay, fmt: Formatter, symbolic: bool = False, shown: tuple[list[str], list[str]] | None = None
) -> str:
    """Z as the sum of products plus bias: "0.3·1 + 0.5·2 = 1.3" (symbolic: the formula itself).

    ``shown``: the kernel's and the A_slice's entries already formatted, in ravel order (optional).
    """
    if symbolic:
        return fmt(overlay.Z)
    kernel, A_slice = overlay.kernel.ravel(), overlay.A_slice.ravel()
    if kernel.size > MAX_TERMS_SHOWN:
        terms = f"sum of the {kernel.size} products W·A_slice"
    else:
        w_texts, a_texts = shown if shown is not None else ([fmt(w) for w in kernel], [fmt(a) for a in A_slice])
        terms = " + ".join(f"{paren_negative(w)}·{paren_negative(a)}" for w, a in zip(w_texts, a_texts))
    bias_text = fmt(overlay.bias)
    if bias_text != "0":
        terms += f" + {paren_negative(bias_text)}"
    scale = None
    if overlay.kernel.dtype != object:
        scale = float(np.abs(overlay.kernel * overlay.A_slice).sum() + abs(overlay.bias))
    return f"{terms} = {fmt(overlay.Z, scale)}"
