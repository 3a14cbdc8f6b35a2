"""The things people trip over, computed: inputs no window reaches, the gradient that lands in
the padding, and every term behind one entry of dA_prev or dW. Pure: no I/O, no words
(render/text.py and render/auditview.py write them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UsageError
from .geometry import Geometry
from .layers import conv
from .layers.base import Term
from .layers.conv import dA_terms, db_terms, dW_terms
from .problem import Problem


@dataclass(frozen=True)
class Leftover:
    """Along one spatial axis: the A_prev indices no window tap reaches, and why.

    stepped_over: those the windows step over (stride, dilation); past_end: those after ``last``,
    the index where the last window ends.
    """

    axis: int
    indices: tuple[int, ...]
    stepped_over: tuple[int, ...]
    past_end: tuple[int, ...]
    last: int


def stride_leftovers(geom: Geometry) -> list[Leftover]:
    """Axes with A_prev indices that no window reaches (their dA_prev is exactly 0)."""
    found = []
    for axis, hit in enumerate(geom.covered()):
        missing = tuple(i for i, h in enumerate(hit) if not h)
        if not missing:
            continue
        s, d, k, (b, _) = geom.stride[axis], geom.dilation[axis], geom.kernel_size[axis], geom.padding[axis]
        last = (geom.output_size[axis] - 1) * s - b + d * (k - 1)
        between = tuple(i for i in missing if i <= last)
        after = tuple(i for i in missing if i > last)
        found.append(Leftover(axis, missing, between, after, last))
    return found


@dataclass(frozen=True)
class PaddingCrop:
    """The gradient of the padded input, what of it fell in the padding (discarded), and dA_prev.

    padded: (N, C_in, *padded); in_padding: bool (*padded), True on padding cells;
    discarded: the sum of |gradient| that fell in the padding.
    """

    padded: np.ndarray
    in_padding: np.ndarray
    cropped: np.ndarray
    discarded: Any


def padding_crop(problem: Problem) -> PaddingCrop | None:
    g = problem.geom
    if problem.kind is not None:  # convolution's audit: a column kind's padding is no padded input
        return None
    if problem.dZ is None or all(b == 0 and a == 0 for b, a in g.padding):
        return None
    padded = conv.backward(problem.A_prev, problem.W, problem.dZ, g, keep_padding=True).dA_prev
    padded = problem.domain.finalize(padded)
    mask = np.ones(g.padded_size, dtype=bool)
    mask[conv.interior(g)[2:]] = False
    outside = padded[(slice(None), slice(None)) + (mask,)] if mask.any() else np.zeros(0)
    discarded = (
        sum((abs(v) for v in np.ravel(outside)), start=0) if padded.dtype == object else float(np.abs(outside).sum())
    )
    return PaddingCrop(padded, mask, padded[conv.interior(g)], discarded)


# -- the reverse view: one cell ------------------------------------------------------------------

_CELL = re.compile(r"\s*(?:(A_prev|dA_prev|dA|A|x|W|dW|w|b|db)\s*(?:\[(.*)\]|:(.*))?|([\d,\s]+))\s*")


@dataclass(frozen=True)
class CellView:
    """Every term behind one entry's gradient. array: "A_prev", "W" or "b"; index: as the user gave it."""

    array: str
    user_index: tuple[int, ...]
    canonical: tuple[int, ...]
    terms: list[Term]
    gradient: Any


def parse_cell(text: str) -> tuple[str, tuple[int, ...]]:
    """ "1,2" (A_prev), "A_prev[0,1,2]", "W[0,1]", "W:0,1", "b[1]", "b" -> (array, index)."""
    m = _CELL.fullmatch(text)
    if not m:
        raise UsageError(f"--cell {text!r} is not an entry such as 1,2 or A_prev[1,2] or W[0,1]")
    name, bracket, colon, bare = m.groups()
    # The entry is named by its input or by its gradient: dA_prev[1] is A_prev[1]'s.
    array = {"A": "A_prev", "x": "A_prev", "dA_prev": "A_prev", "dA": "A_prev", "w": "W", "dW": "W", "db": "b"}.get(
        name or "A", name
    )
    digits = bare if name is None else (bracket if bracket is not None else colon or "")
    try:
        index = tuple(int(part) for part in digits.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--cell {text!r}: indices are whole numbers separated by commas") from None
    return array, index


def cell_view(problem: Problem, text: str) -> CellView:
    """The terms behind dA_prev, dW or db at the entry ``text`` names (indices in the user's form)."""
    if problem.dZ is None:
        raise UsageError("--cell shows gradients: it needs backward (and a dZ)")
    array, index = parse_cell(text)
    if problem.kind is not None and array != "A_prev" and not problem.has_weights:
        raise UsageError(
            f"--cell {text!r}: {problem.layer} has no {array}; its gradient is dA_prev (--cell A_prev[...])"
        )
    if problem.kind is not None and array == "b":
        raise UsageError(
            f"--cell {text!r}: {problem.layer}'s db is the sum of dZ over every output and belongs to no overlay; "
            "see db in the totals, or --cell W[...] and --cell A_prev[...]"
        )
    form, g = problem.form, problem.geom
    shapes = problem.user_shapes
    shape = tuple(shapes["A_prev" if array == "A_prev" else "W" if array == "W" else "b"])
    if len(index) != len(shape):
        raise UsageError(
            f"--cell {text!r}: {array} has shape {shape}, so an entry needs {len(shape)} "
            f"index{'es' if len(shape) != 1 else ''}"
        )
    if any(not 0 <= i < n for i, n in zip(index, shape)):
        raise UsageError(f"--cell {text!r} is outside {array}, whose shape is {shape} (indices count from 0)")
    if problem.kind is not None:  # a kind that declares its own terms
        canonical = (
            form.activation_index_to_canonical(index)
            if array == "A_prev"
            else form.kernel_index_to_canonical(index)
            if array == "W"
            else (index[0] if index else 0,)
        )
        args = (problem.A_prev, problem.W, problem.b, problem.dZ, g, problem.params)
        quantity = {"A_prev": "dA_prev", "W": "dW", "b": "db"}[array]
        terms = problem.kind.entry_terms(quantity, canonical, *args)
    elif array == "A_prev":
        canonical = form.activation_index_to_canonical(index)
        terms = dA_terms(problem.W, problem.dZ, canonical, g)
    elif array == "W":
        canonical = form.kernel_index_to_canonical(index)
        terms = list(dW_terms(problem.A_prev, problem.dZ, canonical, g))
    else:
        canonical = (index[0] if index else 0,)
        terms = list(db_terms(problem.dZ, canonical[0], g))
    total = sum(
        (t.value for t in terms), start=problem.domain.zeros(()).item() if problem.A_prev.dtype == object else 0.0
    )
    return CellView(array, index, canonical, terms, problem.domain.finalize(np.asarray(total))[()])
