"""The things people trip over, computed: inputs no window reaches, the gradient that lands in
the padding, and every term behind one entry of dA_prev or dW. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import engine
from .errors import InputError, UsageError
from .geometry import Geometry
from .problem import Problem
from .terms import Term, dA_terms, db_terms, dW_terms


@dataclass(frozen=True)
class Leftover:
    """Along one spatial axis: the A_prev indices no window tap reaches, and the arithmetic why."""

    axis: int
    indices: tuple[int, ...]
    formula: str
    reached: str


def output_formula(geom: Geometry, axis: int) -> str:
    """The output-size formula for one axis with the numbers filled in."""
    n, k, s, d = geom.input_size[axis], geom.kernel_size[axis], geom.stride[axis], geom.dilation[axis]
    b, a = geom.padding[axis]
    top = n + b + a - d * (k - 1) - 1
    return (f"floor(({n} + {b} + {a} - {d}·({k}-1) - 1) / {s}) + 1 = floor({top}/{s}) + 1 = "
            f"{geom.output_size[axis]}")


def stride_leftovers(geom: Geometry) -> list[Leftover]:
    """Axes with A_prev indices that no window reaches (their dA_prev is exactly 0)."""
    found = []
    for axis, hit in enumerate(geom.covered()):
        missing = tuple(i for i, h in enumerate(hit) if not h)
        if not missing:
            continue
        s, d, k, (b, _) = geom.stride[axis], geom.dilation[axis], geom.kernel_size[axis], geom.padding[axis]
        last = (geom.output_size[axis] - 1) * s - b + d * (k - 1)
        after = [i for i in missing if i > last]
        between = [i for i in missing if i <= last]
        reasons = []
        if between:
            gaps = f"stride {s}" + (f" and dilation {d}" if d > 1 else "")
            reasons.append(f"{gaps} step{'s' if d == 1 else ''} over {_listed(between)}")
        if after:
            reasons.append(f"the last window ends at index {last}, before {_listed(after)}")
        found.append(Leftover(axis, missing, output_formula(geom, axis), "; ".join(reasons)))
    return found


def _listed(indices: list[int]) -> str:
    return ("index " if len(indices) == 1 else "indices ") + ", ".join(map(str, indices))


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
    if problem.dZ is None or all(b == 0 and a == 0 for b, a in g.padding):
        return None
    _, _, padded = engine.backward(problem.A_prev, problem.W, problem.dZ, g, keep_padding=True)
    padded = problem.domain.finalize(padded)
    mask = np.ones(g.padded_size, dtype=bool)
    mask[engine.interior(g)[2:]] = False
    outside = padded[(slice(None), slice(None)) + (mask,)] if mask.any() else np.zeros(0)
    discarded = sum((abs(v) for v in np.ravel(outside)), start=0) if padded.dtype == object else float(
        np.abs(outside).sum())
    if padded.dtype != object and not problem.allow_nonfinite and not (
            np.isfinite(padded).all() and np.isfinite(discarded)):
        # Shares that overflow are refused like totals that do: JSON would otherwise say "Infinity".
        raise InputError("the gradient that falls on the padding overflows float64: its magnitudes add up to "
                         "beyond about 1.8e308", hint="--exact computes it exactly")
    return PaddingCrop(padded, mask, padded[engine.interior(g)], discarded)


# -- the reverse view: one cell ------------------------------------------------------------------

_CELL = re.compile(r"\s*(?:(A_prev|A|x|W|w|b)\s*(?:\[(.*)\]|:(.*))?|([\d,\s]+))\s*")


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
    array = {"A": "A_prev", "x": "A_prev", "w": "W", None: "A_prev"}.get(name, name)
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
    form, g = problem.form, problem.geom
    shapes = problem.user_shapes
    shape = tuple(shapes["A_prev" if array == "A_prev" else "W" if array == "W" else "b"])
    if len(index) != len(shape):
        raise UsageError(f"--cell {text!r}: {array} has shape {shape}, so an entry needs {len(shape)} "
                         f"index{'es' if len(shape) != 1 else ''}")
    if any(not 0 <= i < n for i, n in zip(index, shape)):
        raise UsageError(f"--cell {text!r} is outside {array}, whose shape is {shape} (indices count from 0)")
    if array == "A_prev":
        canonical = form.activation_index_to_canonical(index)
        terms = dA_terms(problem.W, problem.dZ, canonical, g)
    elif array == "W":
        canonical = form.kernel_index_to_canonical(index)
        terms = list(dW_terms(problem.A_prev, problem.dZ, canonical, g))
    else:
        canonical = (index[0] if index else 0,)
        terms = list(db_terms(problem.dZ, canonical[0], g))
    total = sum((t.value for t in terms), start=problem.domain.zeros(()).item() if problem.A_prev.dtype == object
                else 0.0)
    return CellView(array, index, canonical, terms, problem.domain.finalize(np.asarray(total))[()])
