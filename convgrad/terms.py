"""Which overlay terms make up one entry of Z, dW, db or dA_prev. Pure: no I/O.

This is the reverse view of the overlay walk: instead of "what does overlay k
add everywhere", "what did every overlay add here". Indices are canonical
(see engine); ``Term.factors`` name their operands with canonical indices too,
and presentation converts them to the user's form.

For dA_prev the taps solve x = p*s - p_before + d*t per spatial dim: output
position p and kernel tap t meet input index x when that holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import overlay_index
from .geometry import Geometry


@dataclass(frozen=True)
class Factor:
    """One operand of a term: which array ("W", "A_prev", "dZ", "b"), its canonical index, its value."""

    array: str
    index: tuple[int, ...]
    value: Any


@dataclass(frozen=True)
class Term:
    """One summand: the overlay it comes from (None for the bias in Z) and its factors."""

    overlay: int | None
    factors: tuple[Factor, ...]

    @property
    def value(self) -> Any:
        result = self.factors[0].value
        for factor in self.factors[1:]:
            result = result * factor.value
        return result


def _kernel_tap(tap: tuple[int, ...], geom: Geometry) -> tuple[int, ...]:
    """Index into W (as given) of the weight applied at window tap ``tap``."""
    return tuple(k - 1 - t for t, k in zip(tap, geom.kernel_size)) if geom.flip else tap


def _input_at(A_prev: np.ndarray, n: int, c: int, x: tuple[int, ...], geom: Geometry) -> Any | None:
    """A_prev entry at spatial x, or None when x lies in the padding (the term is 0)."""
    if all(0 <= xi < size for xi, size in zip(x, geom.input_size)):
        return A_prev[(n, c) + x]
    return None


def z_terms(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, index: tuple[int, ...],
            geom: Geometry) -> list[Term]:
    """Z[n, c_out, *pos] = sum over taps of W·A_prev (taps in the padding left out) + b."""
    n, c_out, position = index[0], index[1], tuple(index[2:])
    overlay = overlay_index(n, c_out, position, geom)
    start = geom.window_start(position)
    terms = []
    for ci, c in enumerate(geom.input_channels_of(c_out)):
        for tap in itertools.product(*(range(k) for k in geom.kernel_size)):
            x = tuple(s + d * t for s, d, t in zip(start, geom.dilation, tap))
            a = _input_at(A_prev, n, c, x, geom)
            if a is None:
                continue
            w_index = (c_out, ci) + _kernel_tap(tap, geom)
            terms.append(Term(overlay, (Factor("W", w_index, W[w_index]), Factor("A_prev", (n, c) + x, a))))
    if b is not None:
        terms.append(Term(None, (Factor("b", (c_out,), b[c_out]),)))
    return terms


def dW_terms(A_prev: np.ndarray, dZ: np.ndarray, index: tuple[int, ...], geom: Geometry) -> Iterator[Term]:
    """dW[c_out, c_in, *k] = sum over the filter's overlays of dZ·(the input under that weight)."""
    c_out, ci, w_tap = index[0], index[1], tuple(index[2:])
    tap = _kernel_tap(w_tap, geom)  # the window tap this weight is applied at
    c = geom.input_channels_of(c_out)[ci]
    for n in range(geom.batch):
        for position in itertools.product(*(range(o) for o in geom.output_size)):
            start = geom.window_start(position)
            x = tuple(s + d * t for s, d, t in zip(start, geom.dilation, tap))
            a = _input_at(A_prev, n, c, x, geom)
            if a is None:
                continue
            z_index = (n, c_out) + position
            yield Term(overlay_index(n, c_out, position, geom),
                       (Factor("dZ", z_index, dZ[z_index]), Factor("A_prev", (n, c) + x, a)))


def db_terms(dZ: np.ndarray, c_out: int, geom: Geometry) -> Iterator[Term]:
    """db[c_out] = sum of dZ over the filter's overlays."""
    for n in range(geom.batch):
        for position in itertools.product(*(range(o) for o in geom.output_size)):
            z_index = (n, c_out) + position
            yield Term(overlay_index(n, c_out, position, geom), (Factor("dZ", z_index, dZ[z_index]),))


def dA_terms(W: np.ndarray, dZ: np.ndarray, index: tuple[int, ...], geom: Geometry) -> list[Term]:
    """dA_prev[n, c, *x] = sum over the overlays whose window covers x of dZ·(the weight there)."""
    n, c, x = index[0], index[1], tuple(index[2:])
    group = c // geom.in_per_group
    ci = c - group * geom.in_per_group
    # Per spatial dim, the (output position, tap) pairs that land on x.
    per_dim = []
    for xi, s, d, k, (pb, _), o in zip(x, geom.stride, geom.dilation, geom.kernel_size, geom.padding,
                                       geom.output_size):
        pairs = []
        for t in range(k):
            offset = xi + pb - d * t
            if offset % s == 0 and 0 <= offset // s < o:
                pairs.append((offset // s, t))
        per_dim.append(pairs)
    terms = []
    for c_out in range(group * geom.out_per_group, (group + 1) * geom.out_per_group):
        for combo in itertools.product(*per_dim):
            position = tuple(p for p, _ in combo)
            tap = tuple(t for _, t in combo)
            z_index = (n, c_out) + position
            w_index = (c_out, ci) + _kernel_tap(tap, geom)
            terms.append(Term(overlay_index(n, c_out, position, geom),
                              (Factor("dZ", z_index, dZ[z_index]), Factor("W", w_index, W[w_index]))))
    terms.sort(key=lambda term: term.overlay)
    return terms
