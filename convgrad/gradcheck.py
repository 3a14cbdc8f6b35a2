"""Gradient check: the backward pass against central finite differences of the forward pass. Pure.

L = sum(Z * dZ), so dL/dW, dL/db and dL/dA_prev are what backward computes.
Each entry x is nudged by ±h and (L(x+h) - L(x-h)) / 2h is compared with the
analytic gradient. A convolution is linear in W, in b and in A_prev, so the
difference quotient has no truncation error: in floats only rounding separates
the two, and in exact rationals (any rational h) they are equal.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .api import Result
from .errors import InputError
from .layers import conv
from .numbers import check_option_number
from .problem import Problem

#: Entries checked per quantity before a seeded random sample is taken instead.
DEFAULT_MAX_ENTRIES = 400
#: The float step's range. Below the floor the rounding of the difference quotient (about
#: 1e-14 * sum|Z * dZ| / h) swamps any gradient, and below about 1e-16 * |x| the nudge x + h does
#: not even change x (1e-320 gives a quotient of 0 everywhere): such a check could only pass vacuously.
MIN_FLOAT_STEP = 1e-8
MAX_FLOAT_STEP = 1e8


@dataclass(frozen=True)
class GradcheckRow:
    """One quantity: entries checked, worst absolute and relative error, exact equality (exact mode),
    whether it passed, and the rounding noise floor used (0 when exact)."""

    quantity: str
    checked: int
    total: int
    max_abs: float
    max_rel: float
    exactly_equal: bool | None
    passed: bool
    noise: float
    worst_index: tuple[int, ...] | None
    analytic: Any
    numeric: Any
    skipped: int = 0  # entries within the step of a kink (relu at 0, a max-pool tie): not checked


def _loss(problem: Problem, A: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> Any:
    Z = conv.forward(A, W, b, problem.geom)
    return (Z * problem.dZ).sum()


def gradcheck(
    problem: Problem, step: Any = None, max_entries: int = DEFAULT_MAX_ENTRIES, seed: int = 0, rtol: float = 1e-6
) -> list[GradcheckRow]:
    """Compare backward's dW, db, dA_prev with central differences, quantity by quantity.

    step: h (default 1e-3 in floats, 1/1000 exact). Quantities with more than
    ``max_entries`` entries are checked on a seeded random sample of that many.
    In floats a quantity passes when both errors are within tolerance: the absolute error at most
    noise + rtol * (its largest gradient), and the relative error |analytic - numeric| /
    max(|analytic|, |numeric|, noise / rtol) at most rtol, noise being the rounding the difference
    quotient itself carries (about eps * sum|Z * dZ| / h), below which no method can tell the two
    apart; and that noise must lie below the largest gradient, or nothing was measured. The float step
    must lie in [MIN_FLOAT_STEP, MAX_FLOAT_STEP] (check_step).
    """
    if problem.dZ is None:
        raise InputError("gradcheck needs dZ")
    exact = problem.domain.name == "exact"
    h = check_step(step, exact)
    check_option_number(rtol, "rtol", 0, 1)
    if problem.kind is not None:
        return _kind_rows(problem, h, max_entries, seed, rtol, exact)
    result = Result(problem)
    Z, dW, db, dA = result.canonical_totals
    noise = 0.0 if exact else 64 * np.finfo(float).eps * float(np.abs(Z * problem.dZ).sum()) / float(h)
    b = problem.b if problem.b is not None else problem.domain.zeros((problem.geom.out_channels,))
    arrays = {"dW": (problem.W, dW, 1), "db": (b, db, 2), "dA_prev": (problem.A_prev, dA, 0)}
    rng = np.random.default_rng(seed)
    rows = []
    for name, (array, analytic, slot) in arrays.items():
        indices = list(np.ndindex(*array.shape))
        total = len(indices)
        if total > max_entries:
            chosen = rng.choice(total, size=max_entries, replace=False)
            indices = [indices[i] for i in sorted(chosen)]
        numeric = {}
        for index in indices:
            args = [problem.A_prev, problem.W, b]
            up, down = array.copy(), array.copy()
            up[index] = up[index] + h
            down[index] = down[index] - h
            args[slot] = up
            plus = _loss(problem, *args)
            args[slot] = down
            minus = _loss(problem, *args)
            numeric[index] = (plus - minus) / (2 * h)
        rows.append(_row(name, analytic, numeric, total, exact, rtol, noise))
    return rows


def check_step(step: Any, exact: bool) -> Any:
    """The step h: a positive rational (exact), or a float in [MIN_FLOAT_STEP, MAX_FLOAT_STEP]."""
    if step is None:
        return Fraction(1, 1000) if exact else 1e-3
    if isinstance(step, float) and not math.isfinite(step):
        raise InputError(f"the step must be a finite number, got {step}")
    q = Fraction(step)
    if q <= 0:
        raise InputError(f"the step must be positive, got {step}")
    if exact:
        return q
    if not MIN_FLOAT_STEP <= (float(q) if q < 2 * MAX_FLOAT_STEP else math.inf) <= MAX_FLOAT_STEP:
        raise InputError(
            f"the step must be between {MIN_FLOAT_STEP:g} and {MAX_FLOAT_STEP:g} in floats, got "
            f"{float(q) if q < MAX_FLOAT_STEP else 'about ' + format(Decimal(q.numerator) / q.denominator, '.3e')}",
            hint="below 1e-8 float rounding swamps the difference quotient; --exact takes any step",
        )
    return float(q)


def _kind_rows(problem: Problem, h: Any, max_entries: int, seed: int, rtol: float, exact: bool) -> list[GradcheckRow]:
    """A column kind: dW and db (a kind with weights), then dA_prev, against central differences of
    L = sum(Z * dZ), skipping entries of A_prev near a kink (``kind.kinks``).

    Unlike convolution the kind may be nonlinear (sigmoid, tanh): the quotient then carries a
    truncation error of order h², well inside rtol at the default step."""
    kind, dZ, params, geom = problem.kind, problem.upstream, problem.params, problem.geom
    assert kind is not None

    def loss(A: np.ndarray, W: Any, b: Any) -> Any:
        return (kind.totals(A, W, b, None, geom, params).Z * dZ).sum()

    A, W = problem.A_prev, problem.W
    b: np.ndarray | None = None
    quantities: list[tuple[str, np.ndarray, int, np.ndarray, Any]] = []
    totals = Result(problem).canonical_totals
    if W is not None:
        full_b: np.ndarray = (
            problem.b
            if problem.b is not None
            else problem.domain.zeros((geom.out_channels,))
            if A.dtype == object
            else np.zeros(geom.out_channels, dtype=A.dtype)
        )
        b = full_b
        quantities += [
            ("dW", W, 1, np.zeros(W.shape, dtype=bool), totals.dW),
            ("db", full_b, 2, np.zeros(full_b.shape, dtype=bool), totals.db),
        ]
        noise = 0.0 if exact else 64 * np.finfo(float).eps * float(np.abs(_kind_scale(problem, full_b))) / float(h)
    else:
        noise = 0.0 if exact else 64 * np.finfo(float).eps * float(np.abs(loss(A, W, b))) / float(h)
    near = kind.kinks(A, h, params)
    quantities.append(("dA_prev", A, 0, near, totals.dA_prev))
    rng = np.random.default_rng(seed)
    rows = []
    for name, array, slot, skip, analytic in quantities:
        indices = [index for index in np.ndindex(*array.shape) if not skip[index]]
        skipped = array.size - len(indices)
        if len(indices) > max_entries:
            chosen = rng.choice(len(indices), size=max_entries, replace=False)
            indices = [indices[i] for i in sorted(chosen)]
        numeric = {}
        for index in indices:
            args = [A, W, b]
            up, down = array.copy(), array.copy()
            up[index] = up[index] + h
            down[index] = down[index] - h
            args[slot] = up
            plus = loss(*args)
            args[slot] = down
            numeric[index] = (plus - loss(*args)) / (2 * h)
        row = _row(name, analytic, numeric, array.size, exact, rtol, noise)
        rows.append(dataclasses.replace(row, skipped=skipped))
    return rows


def _kind_scale(problem: Problem, b: Any) -> Any:
    """sum |terms| of L = sum(Z * dZ) for a kind with weights (linear in each input): the scale of
    the rounding the difference quotient carries."""
    kind = problem.kind
    assert kind is not None and problem.W is not None and problem.dZ is not None
    Z = kind.totals(np.abs(problem.A_prev), np.abs(problem.W), np.abs(b), None, problem.geom, problem.params).Z
    return (Z * np.abs(problem.dZ)).sum()


def _row(
    name: str,
    analytic: np.ndarray,
    numeric: dict[tuple[int, ...], Any],
    total: int,
    exact: bool,
    rtol: float,
    noise: float,
) -> GradcheckRow:
    with np.errstate(all="ignore"):
        values = np.array([float(analytic[i]) for i in numeric])
        estimates = np.array([float(v) for v in numeric.values()])
        abs_err = np.abs(values - estimates)
        size = np.maximum(np.abs(values), np.abs(estimates))
        # Relative to the gradient, but never to less than noise / rtol: below that the rounding of the
        # quotient is more than rtol of the value, and the error is measured against the noise instead.
        floor = noise / rtol if rtol > 0 else 0.0
        denominator = np.maximum(size, floor)
        rel_err = np.where(
            denominator > 0, abs_err / np.where(denominator > 0, denominator, 1.0), np.where(abs_err > 0, np.inf, 0.0)
        )
        worst = int(np.argmax(abs_err - rtol * size)) if len(abs_err) else None
    index = list(numeric)[worst] if worst is not None else None
    if exact:
        passed = all(analytic[i] == v for i, v in numeric.items())
    else:
        # Both errors within tolerance, and the noise floor below the gradient: a quotient drowned in
        # rounding measures nothing, so it cannot pass (an all-zero gradient checked as zero does).
        largest = float(size.max(initial=0.0))
        measurable = noise < largest or largest == 0.0
        passed = bool(
            np.all(np.isfinite(abs_err))
            and abs_err.max(initial=0.0) <= noise + rtol * largest
            and rel_err.max(initial=0.0) <= rtol
            and measurable
        )
    return GradcheckRow(
        name,
        len(numeric),
        total,
        float(abs_err.max(initial=0.0)),
        float(rel_err.max(initial=0.0)),
        passed if exact else None,
        passed,
        noise,
        index,
        None if index is None else analytic[index],
        None if index is None else numeric[index],
    )


# -- lecture aids: one entry written out, a student's gradient checked numerically ----------------

#: The gradient an ENTRY's array leads to, and the array nudged: W[0,1] and dW[0,1] name the same entry.
ENTRY_ARRAYS = {"W": "W", "dW": "W", "A_prev": "A_prev", "dA_prev": "A_prev", "b": "b", "db": "b"}
GRADIENT_OF = {"W": "dW", "A_prev": "dA_prev", "b": "db"}


@dataclass(frozen=True)
class CentralDifference:
    """One entry's difference quotient, every number of it. array: W, b or A_prev (the one nudged);
    index: in the user's form; canonical: in (n, c, *spatial) / (c_out, c_in, *k) / (c_out,);
    value: the entry; plus, minus: L with the entry at value + h and value - h;
    quotient: (plus - minus) / 2h; analytic: backward's gradient at the entry."""

    array: str
    index: tuple[int, ...]
    canonical: tuple[int, ...]
    value: Any
    h: Any
    plus: Any
    minus: Any
    quotient: Any
    analytic: Any


def _step(problem: Problem, step: Any) -> Any:
    exact = problem.domain.name == "exact"
    h = step if step is not None else (Fraction(1, 1000) if exact else 1e-3)
    return Fraction(h) if exact else h


def _bias_or_zeros(problem: Problem) -> np.ndarray:
    return problem.b if problem.b is not None else problem.domain.zeros((problem.geom.out_channels,))


def to_canonical_index(problem: Problem, array: str, index: tuple[int, ...]) -> tuple[int, ...]:
    """An index into A_prev, W or b as the user gives them -> the canonical array's index."""
    form = problem.form
    if array == "A_prev":
        return form.activation_index_to_canonical(index)
    if array == "W":
        return form.kernel_index_to_canonical(index)
    return (form.bias_index_to_canonical(index),)


def central_difference(problem: Problem, array: str, index: tuple[int, ...], step: Any = None) -> CentralDifference:
    """L = sum(Z · dZ) with one entry of A_prev, W or b (user index) nudged by +h and -h."""
    if problem.dZ is None:
        raise ValueError("gradcheck needs dZ")
    h = _step(problem, step)
    canonical = to_canonical_index(problem, array, index)
    plus, minus = _nudged_losses(problem, array, canonical, h)
    totals = Result(problem).canonical_totals
    analytic = {"W": totals[1], "b": totals[2], "A_prev": totals[3]}[array][canonical]
    original = {"A_prev": problem.A_prev, "W": problem.W, "b": _bias_or_zeros(problem)}[array]
    return CentralDifference(
        array, tuple(index), canonical, original[canonical], h, plus, minus, (plus - minus) / (2 * h), analytic
    )


def _nudged_losses(problem: Problem, array: str, canonical: tuple[int, ...], h: Any) -> tuple[Any, Any]:
    """L(x + h), L(x - h) for the entry x of A_prev, W or b at a canonical index."""
    slot = {"A_prev": 0, "W": 1, "b": 2}[array]
    args = [problem.A_prev, problem.W, _bias_or_zeros(problem)]
    up, down = args[slot].copy(), args[slot].copy()
    up[canonical] = up[canonical] + h
    down[canonical] = down[canonical] - h
    args[slot] = up
    plus = _loss(problem, *args)
    args[slot] = down
    return plus, _loss(problem, *args)


@dataclass(frozen=True)
class AnswerEntry:
    """One entry of a student's gradient: its index (user form), what was given, the quotient."""

    index: tuple[int, ...]
    given: Fraction
    numeric: Any
    right: bool


@dataclass(frozen=True)
class AnswerRow:
    """A student's dW, db or dA_prev against central differences: the shape given and expected
    (a mismatch checks no entry), the entries checked, those that disagree."""

    quantity: str
    given_shape: tuple[int, ...]
    shape: tuple[int, ...]
    checked: int
    wrong: list[AnswerEntry]

    @property
    def passed(self) -> bool:
        return self.given_shape == self.shape and not self.wrong


def check_answer(
    problem: Problem, answer: dict[str, np.ndarray], step: Any = None, rtol: float = 1e-6
) -> list[AnswerRow]:
    """Each gradient the answer gives (arrays of check.Given, user form), entry by entry, against
    the central difference of L at that entry. In floats an entry agrees when
    |given - quotient| <= rtol · max(|given|, |quotient|) + the quotient's rounding noise; exact:
    equal. Quantities the answer leaves out are not checked; Z is not a gradient and is skipped."""
    exact = problem.domain.name == "exact"
    h = _step(problem, step)
    if not exact:
        Z = Result(problem).canonical_totals[0]
        noise = 64 * np.finfo(float).eps * float(np.abs(Z * problem.dZ).sum()) / float(h)
    shapes = problem.user_shapes
    rows = []
    for quantity in ("dW", "db", "dA_prev"):
        if quantity not in answer:
            continue
        given = answer[quantity]
        array = {"dW": "W", "db": "b", "dA_prev": "A_prev"}[quantity]
        shape = tuple(shapes[array])
        given_shape = tuple(given.shape)
        if given_shape != shape and not (quantity == "db" and given.size == max(1, int(np.prod(shape)))):
            rows.append(AnswerRow(quantity, given_shape, shape, 0, []))
            continue
        given = given.reshape(shape)
        wrong = []
        for index in np.ndindex(*shape):
            plus, minus = _nudged_losses(problem, array, to_canonical_index(problem, array, index), h)
            numeric = (plus - minus) / (2 * h)
            value = given[index].value
            if exact:
                right = Fraction(numeric) == value
            else:
                quotient = float(numeric)
                size = max(abs(float(value)), abs(quotient))
                right = abs(float(value) - quotient) <= rtol * size + noise
            if not right:
                wrong.append(AnswerEntry(tuple(index), value, numeric, False))
        rows.append(AnswerRow(quantity, shape, shape, int(np.prod(shape)) if shape else 1, wrong))
    return rows
