"""Checking an answer entry by entry, and naming the likely mistake. Pure: no I/O.

The problem is solved in exact rationals, so "right" never depends on float
rounding. An entry written with k decimals (k >= 1) is right when it is the
true value rounded to k decimals (within half a unit in its last place: a
student who wrote 0.33 for 1/3 is right); any entry is right within the
tolerance |given - true| <= atol + rtol * |true|.

With required precision (``decimals`` N, see ``mark``) an entry has a third
mark, "imprecise": it agrees with the true value only to fewer than N decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .api import Result
from .errors import InputError
from .layers.base import Totals
from .numbers import MAX_DIGITS, MAX_EXPONENT, check_number_value, describe_value, echo_text, parse_number_text
from .options import MAX_DECIMALS
from .problem import Problem, fmt_shape
from .variants import variants_for

QUANTITIES = ("Z", "dW", "db", "dA_prev")
ANSWER_ALIASES = {
    "z": "Z",
    "dw": "dW",
    "dB": "db",
    "dA": "dA_prev",
    "da": "dA_prev",
    "dx": "dA_prev",
    "dX": "dA_prev",
    "da_prev": "dA_prev",
    "dA_prev": "dA_prev",
    "Z": "Z",
    "dW": "dW",
    "db": "db",
}
ANSWER_META = ("description", "student", "name", "id")
#: Keys of an answer file that set how it is checked, not answers: the decimals required, its layout.
ANSWER_SETTINGS = ("decimals", "layout")

#: An entry's mark: right, wrong, or right only to fewer decimals than required.
RIGHT, WRONG, IMPRECISE = "right", "wrong", "imprecise"


@dataclass(frozen=True)
class Given:
    """One entry as the student wrote it: its exact value, decimals written (None: a fraction), text."""

    value: Fraction
    decimals: int | None
    text: str


@dataclass(frozen=True)
class Tolerance:
    rtol: Fraction = Fraction(1, 10**9)
    atol: Fraction = Fraction(1, 10**12)

    @classmethod
    def of(cls, rtol: float | None, atol: float | None) -> Tolerance:
        default = cls()
        return cls(
            default.rtol if rtol is None else Fraction(repr(float(rtol))),
            default.atol if atol is None else Fraction(repr(float(atol))),
        )


#: How far a float64 expected value may be from the true one (a large problem checked in floats).
FLOAT_SLACK = Fraction(1, 10**12)


def _true_value(value: Any) -> tuple[Fraction, Fraction]:
    """The true value as a Fraction, and how far it may be off (0, or a float64 result's rounding)."""
    if isinstance(value, (Fraction, int)):
        return Fraction(value), Fraction(0)
    true = Fraction(float(value))
    return true, FLOAT_SLACK * (abs(true) + 1)


def _within_tolerance(given: Given, true: Fraction, slack: Fraction, tolerance: Tolerance) -> bool:
    return abs(given.value - true) <= tolerance.atol + tolerance.rtol * abs(true) + slack


def _rounds_to(given: Given, true: Fraction, slack: Fraction, decimals: int) -> bool:
    """Whether the given value is the true value rounded to ``decimals`` decimals (either way at a half)."""
    return (abs(given.value - true) - slack) * 2 * 10**decimals <= 1


def matches(given: Given, value: Any, tolerance: Tolerance) -> bool:
    """Whether a written entry is right for this value (exact; or float64, allowed its rounding)."""
    true, slack = _true_value(value)
    if given.decimals and _rounds_to(given, true, slack, given.decimals):
        return True
    return _within_tolerance(given, true, slack, tolerance)


def mark(given: Given, value: Any, tolerance: Tolerance, decimals: int | None = None) -> str:
    """RIGHT, WRONG or IMPRECISE: an entry's mark when ``decimals`` decimals are required.

    Without a requirement an entry is right when ``matches`` says so, else wrong.
    With N decimals required, an entry is
      - right when it equals the true value within the tolerance (it is exact,
        however few decimals it shows: 0.5 for 1/2, 3 for 3, "5/3" for 5/3);
      - right when it shows d >= N decimals and is the true value rounded to d
        decimals (1.667 or 1.6667 for 5/3 with N = 3);
      - imprecise when it shows d < N decimals (an integer shows 0) and is the
        true value rounded to d decimals (1.7 or 2 for 5/3 with N = 3): right as
        far as it goes, but not to the precision asked for;
      - wrong otherwise (a fraction other than the true value is wrong).
    """
    if decimals is None:
        return RIGHT if matches(given, value, tolerance) else WRONG
    true, slack = _true_value(value)
    if _within_tolerance(given, true, slack, tolerance):
        return RIGHT
    if given.decimals is None or not _rounds_to(given, true, slack, given.decimals):
        return WRONG
    return RIGHT if given.decimals >= decimals else IMPRECISE


#: How far, relative to the values, float64 arithmetic may be from the exact difference of two
#: entries (each converted to float64 once, then subtracted): a margin far above the 3 roundings.
_FLOAT_MARGIN = 1e-13


def _float_or_inf(value: Any) -> float:
    """float(value), or an infinity of its sign past float64's range (such an entry is then not
    finite in float64 and is marked exactly)."""
    try:
        return float(value)
    except OverflowError:  # a Fraction such as 10**400 / 1
        return math.inf if value > 0 else -math.inf


def marks_of(given: np.ndarray, expected: np.ndarray, tolerance: Tolerance, decimals: int | None = None) -> np.ndarray:
    """``mark`` of every entry (arrays of Given and of true values, one shape): an object array of marks.

    The distance of each entry from its true value is first measured in float64, which settles
    every entry well inside or well outside the bounds of ``mark``; only the rest (near a bound,
    or beyond float64's range) are marked in exact arithmetic, one at a time.
    """
    out = np.empty(expected.shape, dtype=object)
    if not expected.size:
        return out
    flat_given, flat_true = list(given.flat), list(expected.flat)
    with np.errstate(all="ignore"):
        g = np.array([_float_or_inf(e.value) for e in flat_given])
        t = np.array([_float_or_inf(v) for v in flat_true])
        exact = np.array([isinstance(v, (Fraction, int)) for v in flat_true])
        slack = np.where(exact, 0.0, float(FLOAT_SLACK) * (np.abs(t) + 1))
        written = np.array([-1 if e.decimals is None else e.decimals for e in flat_given])
        distance = np.abs(g - t)
        margin = _FLOAT_MARGIN * (np.abs(g) + np.abs(t)) + 1e-300
        tol = float(tolerance.atol) + float(tolerance.rtol) * np.abs(t) + slack
        half_unit = np.where(written >= 0, 0.5 * 10.0 ** -np.maximum(written, 0), -1.0) + slack
        finite = np.isfinite(distance) & np.isfinite(margin) & np.isfinite(tol)
        within = finite & (distance + margin < tol * (1 - _FLOAT_MARGIN))
        outside = finite & (distance - margin > tol * (1 + _FLOAT_MARGIN))
        rounds = finite & (written >= 0) & (distance + margin < half_unit * (1 - _FLOAT_MARGIN))
        not_rounds = finite & ((written < 0) | (distance - margin > half_unit * (1 + _FLOAT_MARGIN)))
    if decimals is None:
        rounds &= written >= 1  # an integer is right only within the tolerance (see matches)
        not_rounds |= finite & (written == 0)
        marks = np.where(within | rounds, RIGHT, np.where(outside & not_rounds, WRONG, ""))
    else:
        marks = np.where(
            within,
            RIGHT,
            np.where(
                outside & not_rounds,
                WRONG,
                np.where(outside & rounds, np.where(written >= decimals, RIGHT, IMPRECISE), ""),
            ),
        )
    flat = out.reshape(-1)
    for k, m in enumerate(marks.tolist()):
        flat[k] = m or mark(flat_given[k], flat_true[k], tolerance, decimals)
    return out


# -- reading an answer --------------------------------------------------------------------------


def _given(value: Any, path: str) -> Given:
    if isinstance(value, bool) or value is None:
        raise InputError(f"{path} is {describe_value(value)}, not a number")
    if isinstance(value, int):
        check_number_value(value, path)
        return Given(Fraction(value), 0, str(value))
    if isinstance(value, float):  # only from the Python API
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(f"{path} is {value}, not a finite number")
        text = str(value)
        if len(text) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:  # it may be out of bounds
            check_number_value(value, path)
        if "E" in text:
            decimals = max(0, -int(value.as_tuple().exponent))
        else:  # plain notation: the decimals are the digits after the point (none: a whole number)
            point = text.find(".")
            decimals = 0 if point < 0 else len(text) - point - 1
        return Given(Fraction(value), decimals, text)
    if isinstance(value, str):
        text = value.strip()
        exact = parse_number_text(text, path)
        if exact is None:
            raise InputError(f'{path} is {describe_value(value)}, not a number or a fraction like "1/3"')
        if "/" in text:
            return Given(exact, None, text)
        return _given(Decimal(text), path)
    raise InputError(f"{path} is {describe_value(value)}, not a number")


def ignored_keys(document: Mapping[str, Any]) -> list[str]:
    """The keys of an answer object that are not answers (the problem's dZ or stride, a name): in order.

    A key that looks like a misspelt answer (dw_prev, DA) is not among them: parse_answer refuses it.
    """
    from .problem import CANONICAL_NAMES, KNOWN_FIELDS

    def not_an_answer(key: str) -> bool:
        if key in ANSWER_ALIASES or key in ANSWER_SETTINGS:  # answers, and settings the check honours
            return False
        return (
            key in ANSWER_META
            or key in KNOWN_FIELDS
            or key in CANONICAL_NAMES
            or key == "hparameters"
            or not _near(key)
        )

    return [key for key in document if not_an_answer(key)]


def _near(key: str) -> str | None:
    """The answer a key was probably meant to be, if it looks like a misspelling of one."""
    import difflib

    by_lower = {alias.lower(): name for alias, name in ANSWER_ALIASES.items()}
    lowered = key.lower().replace("-", "_").replace(" ", "")
    if lowered in by_lower:
        return by_lower[lowered]
    close = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.8)
    return by_lower[close[0]] if close else None


def parse_answer(document: Mapping[str, Any], source: str, unknown: list[str] | None = None) -> dict[str, np.ndarray]:
    """{quantity: array of Given} from an answer object.

    Keys that are not answers (see ``ignored_keys``) are skipped; one that looks like a
    misspelt answer is refused, so that a mistyped name is never silently left unchecked;
    when grading (``unknown`` a list) it is appended there instead, a warning, not an error.
    """
    answer: dict[str, np.ndarray] = {}
    ignored = set(ignored_keys(document))
    for key, value in document.items():
        if key in ignored or key in ANSWER_SETTINGS:
            continue
        name = ANSWER_ALIASES.get(key)
        if name is None and unknown is not None:
            unknown.append(f"unknown key {key!r} (did you mean {_near(key)!r}?) not graded")
            continue
        if name is None:
            raise InputError(
                f"unknown key {echo_text(key)} in {source}: did you mean {_near(key)!r}? "
                "An answer gives any of Z, dW, db, dA_prev"
            )
        if name in answer:
            raise InputError(f"{name} is given twice in {source}")
        answer[name] = _given_array(value, name)
    if not answer:
        raise InputError(f"{source} gives none of Z, dW, db, dA_prev: nothing to check")
    return answer


def answer_decimals(document: Mapping[str, Any], source: str) -> int | None:
    """The decimals an answer file requires ("decimals": N), or None when it requires none."""
    value = document.get("decimals")
    if value is None:
        return None
    return check_decimals(value, f"decimals in {source}")


def answer_layout(document: Mapping[str, Any], source: str) -> bool | None:
    """Whether the answer file says it is channels-last ("layout": "NHWC"): True, False, or None (not said)."""
    from .forms import parse_layout

    value = document.get("layout")
    if value is None:
        return None
    last = parse_layout(value) if isinstance(value, str) else None
    if last is None:
        raise InputError(f"layout in {source} is {describe_value(value)}: expected a layout such as NCHW or NHWC")
    return last


def check_decimals(value: Any, what: str) -> int:
    """A number of required decimals: a whole number from 0 to MAX_DECIMALS."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DECIMALS:
        raise InputError(f"{what} is {describe_value(value)}: expected a whole number from 0 to {MAX_DECIMALS}")
    return value


def _given_array(value: Any, name: str) -> np.ndarray:
    from .problem import _flatten  # the same ragged/empty checks as problem arrays

    shape, flat = _flatten(value, name)
    out = np.empty(len(flat), dtype=object)
    out[:] = [_given(v, p) for v, p in flat]
    return out.reshape(shape)


# -- verdicts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryVerdict:
    """One entry: where, as written, its true value, and its mark (RIGHT, WRONG or IMPRECISE)."""

    index: tuple[int, ...]
    given: Given
    expected: Any
    mark: str

    @property
    def right(self) -> bool:
        return self.mark == RIGHT


@dataclass(frozen=True)
class Diagnosis:
    """A mistake that reproduces the student's numbers: all wrong entries (explained == wrong) or a share."""

    mistake: str
    form: str
    sentence: str
    explained: int
    wrong: int

    @property
    def complete(self) -> bool:
        return self.explained == self.wrong


@dataclass
class QuantityVerdict:
    """status: "right", "wrong" (some entry wrong), "imprecise" (none wrong, some not precise
    enough), "missing" or "shape" (the answer's shape is not the quantity's)."""

    name: str
    status: str
    expected_shape: tuple[int, ...]
    given_shape: tuple[int, ...] | None = None
    entries: list[EntryVerdict] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)

    @property
    def wrong(self) -> list[EntryVerdict]:
        return [e for e in self.entries if e.mark == WRONG]

    @property
    def imprecise(self) -> list[EntryVerdict]:
        return [e for e in self.entries if e.mark == IMPRECISE]


@dataclass
class CheckReport:
    """Every quantity's verdict, the decimals required (None: none), the quantities required
    (a missing one is wrong), and notes on how the answer was read (its layout)."""

    quantities: dict[str, QuantityVerdict]
    decimals: int | None = None
    required: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def given(self) -> list[QuantityVerdict]:
        return [q for q in self.quantities.values() if q.status != "missing"]

    @property
    def missing_required(self) -> list[str]:
        return [q.name for q in self.quantities.values() if q.status == "missing" and q.name in self.required]

    @property
    def all_right(self) -> bool:
        return all(q.status == "right" for q in self.given) and not self.missing_required

    @property
    def imprecise(self) -> int:
        """Entries not precise enough, over every quantity."""
        return sum(len(q.imprecise) for q in self.quantities.values())

    @property
    def mistakes(self) -> list[Diagnosis]:
        return [d for q in self.quantities.values() for d in q.diagnoses]


class Checker:
    """Checks any number of answers against one problem; the solution and variants are computed once."""

    def __init__(self, problem: Problem, tolerance: Tolerance | None = None) -> None:
        if problem.domain.name == "symbolic":
            raise ValueError("the checker compares numbers, not formulas")
        self.problem = problem
        exact_conv = problem.domain.name == "exact" and problem.kind is None and problem.geom.overlay_count > 0
        self.result = Result.with_totals(problem, exact_totals(problem)) if exact_conv else Result(problem)
        self.tolerance = tolerance or Tolerance()
        self.limits: Any = None  # the input limits answer files are read under (the CLI sets them)
        self._variants: dict[str, dict[str, list[tuple[str, Any]]]] | None = None

    def expected(self, name: str) -> Any:
        return getattr(self.result, name)

    def quantities(self) -> list[str]:
        """The quantities this problem has answers for: Z, and the gradients when it has dZ."""
        return [name for name in QUANTITIES if name == "Z" or self.result.is_backward]

    def variants(self) -> dict[str, dict[str, list[tuple[str, Any]]]]:
        if self._variants is None:
            self._variants = {variant.key: variant.compute(self.problem) for variant in variants_for(self.problem)}
        return self._variants

    def check(
        self,
        answer: Mapping[str, np.ndarray],
        decimals: int | None = None,
        *,
        required: tuple[str, ...] = (),
        channels_last: bool | None = None,
        any_layout: bool = False,
    ) -> CheckReport:
        """Mark every given entry; with ``decimals``, entries with fewer decimals may be IMPRECISE (see mark).

        ``required``: quantities that count as wrong when missing (one the problem has no dZ for is
        not required). ``channels_last``: the layout the answer says it is in (None: the problem's);
        ``any_layout``: a quantity wrong in the problem's layout but right in the other is accepted,
        with a note.
        """
        form = self.problem.form
        notes = []
        if channels_last is not None and channels_last != form.channels_last and form.kind != "bare":
            answer = {name: self._from_layout(name, array, channels_last) for name, array in answer.items()}
            notes.append(f"the answer says it is {self._layout_name(channels_last)}: read as such")
        report = self._check(answer, decimals)
        if any_layout and form.kind != "bare":
            other = not form.channels_last if channels_last is None else not channels_last
            for name, verdict in report.quantities.items():
                if verdict.status not in ("wrong", "shape") or name == "db":
                    continue
                again = self._check({name: self._from_layout(name, answer[name], other)}, decimals)
                if again.quantities[name].status == "right":
                    report.quantities[name] = again.quantities[name]
                    notes.append(f"{name} is in the {self._layout_name(other)} layout: accepted (--layouts any)")
        report.required = tuple(name for name in required if name in report.quantities)
        report.notes = notes
        return report

    def _layout_name(self, channels_last: bool) -> str:
        import dataclasses

        return dataclasses.replace(self.problem.form, channels_last=channels_last).layout

    def _from_layout(self, name: str, array: np.ndarray, channels_last: bool) -> np.ndarray:
        """An answer array written in the given layout, in the problem's (unchanged when its rank is not the quantity's)."""
        import dataclasses

        form = self.problem.form
        if name == "db" or channels_last == form.channels_last:
            return array
        other = dataclasses.replace(form, channels_last=channels_last)
        expected = np.asarray(self.expected(name), dtype=object)
        if array.ndim != expected.ndim:
            return array
        if name == "dW":
            return form.kernel_from_canonical(other.kernel_to_canonical(array))
        return form.activation_from_canonical(other.activation_to_canonical(array))

    def _check(self, answer: Mapping[str, np.ndarray], decimals: int | None) -> CheckReport:
        backward = self.result.is_backward
        weights = self.problem.has_weights
        for name in answer:
            if name in ("dW", "db") and not weights:
                raise InputError(
                    f"the answer gives {name}, but {self.problem.layer} has no weights: it has Z and dA_prev"
                )
            if name != "Z" and not backward:
                raise InputError(f"the answer gives {name}, but the problem has no dZ to compute it from")
        quantities = {}
        for name in QUANTITIES:
            if name != "Z" and not backward:
                continue
            if name in ("dW", "db") and not weights:
                continue
            expected = np.asarray(self.expected(name), dtype=object)
            verdict = QuantityVerdict(name, "missing", expected.shape)
            if name in answer:
                self._compare(verdict, answer[name], expected, decimals)
            quantities[name] = verdict
        return CheckReport(quantities, decimals)

    def _compare(self, verdict: QuantityVerdict, given: np.ndarray, expected: np.ndarray, decimals: int | None) -> None:
        if given.shape != expected.shape and given.size == expected.size == 1:
            given = given.reshape(expected.shape)  # [0.1] for a scalar db, or the reverse
        if verdict.name == "db" and given.shape != expected.shape and _squeezed(given) == _squeezed(expected):
            given = given.reshape(expected.shape)  # db flat for a (1, 1, 1, C_out) bias, or the reverse
        verdict.given_shape = given.shape
        if given.shape != expected.shape:
            verdict.status = "shape"
            verdict.diagnoses = self._diagnose(verdict.name, given, expected, None)
            return
        marks = marks_of(given, expected, self.tolerance, decimals)
        verdict.entries = [
            EntryVerdict(index, given[index], expected[index], marks[index]) for index in np.ndindex(*expected.shape)
        ]
        wrong = verdict.wrong
        verdict.status = "wrong" if wrong else "imprecise" if verdict.imprecise else "right"
        if wrong:
            verdict.diagnoses = self._diagnose(verdict.name, given, expected, wrong)

    def _diagnose(
        self, name: str, given: np.ndarray, expected: np.ndarray, wrong: list[EntryVerdict] | None
    ) -> list[Diagnosis]:
        """Variants that reproduce the given numbers: every entry, else the best share of the wrong ones."""
        complete, partial = [], []
        for variant in variants_for(self.problem):
            for label, candidate in self.variants()[variant.key].get(name, []):
                candidate = np.asarray(candidate, dtype=object)
                if candidate.shape != given.shape:
                    continue
                if candidate.shape == expected.shape and all(
                    candidate[i] == expected[i] for i in np.ndindex(*expected.shape)
                ):
                    continue  # this mistake would not change the answer here
                sentence = variant.sentence(self.problem, name, label)
                # The wrong entries first: a mistake that misses most of them is dropped without
                # comparing every right entry (a large problem has tens of thousands).
                count = given.size if wrong is None else len(wrong)
                explained = count
                if wrong is not None:
                    explained = sum(matches(e.given, candidate[e.index], self.tolerance) for e in wrong)
                    if explained == 0 or explained * 2 < count:
                        continue
                if explained == count and all(
                    matches(given[i], candidate[i], self.tolerance) for i in np.ndindex(*given.shape)
                ):
                    complete.append(Diagnosis(variant.key, label, sentence, count, count))
                elif wrong:
                    partial.append(Diagnosis(variant.key, label, sentence, explained, count))
        if complete:
            return complete
        partial.sort(key=lambda d: -d.explained)
        return partial[:1]


# -- exact totals on integers ------------------------------------------------------------------------


def exact_totals(problem: Problem) -> Totals:
    """An exact convolution's totals (Fractions, canonical), computed on integers.

    Each array is its entries' common denominator D times an array of integers, so a total is a
    sum of integer products over a product of two denominators: Z = (W_int * A_int) / (D_W D_A) + b.
    The integer sums take the float64 BLAS path when every partial sum stays below 2**53 (they are
    then exact), else the same steps on Python ints; either way no fraction is reduced until the end.
    """
    from .layers import conv

    g = problem.geom
    A, A_den = _integers(problem.A_prev)
    W, W_den = _integers(problem.W)
    finalize = problem.domain.finalize
    taps = g.in_per_group * int(np.prod(g.kernel_size))
    A_z, W_z = _exact_operands([A, W], taps)
    Z = _over(conv.forward(A_z, W_z, None, g), A_den * W_den)
    if problem.b is not None:
        Z = Z + problem.b.reshape((1, -1) + (1,) * g.dims)
    if problem.dZ is None:
        return Totals(Z=finalize(Z))
    dZ, dZ_den = _integers(problem.dZ)
    terms = max(g.batch * g.positions_per_map, g.out_per_group * int(np.prod(g.kernel_size)))
    A_x, W_x, dZ_x = _exact_operands([A, W, dZ], terms)
    dW, db, dA_prev = conv.backward(A_x, W_x, dZ_x, g)
    return Totals(
        Z=finalize(Z),
        dW=finalize(_over(dW, dZ_den * A_den)),
        db=finalize(_over(db, dZ_den)),
        dA_prev=finalize(_over(dA_prev, dZ_den * W_den)),
    )


def _integers(array: np.ndarray) -> tuple[np.ndarray, int]:
    """An array of Fractions as (an object array of Python ints, their common denominator)."""
    flat = [q if type(q) is Fraction else Fraction(q) for q in array.flat]
    den = math.lcm(*(q.denominator for q in flat)) if flat else 1
    out = np.empty(len(flat), dtype=object)
    out[:] = [q.numerator * (den // q.denominator) for q in flat]
    return out.reshape(array.shape), den


def _exact_operands(arrays: list[np.ndarray], terms: int) -> list[np.ndarray]:
    """The integer arrays as float64 when every sum of ``terms`` products of two entries (or of
    ``terms`` entries) stays below 2**53: float64 sums of such integers are exact in any order."""
    largest = sorted(int(max((abs(v) for v in a.flat), default=0)) for a in arrays)
    if largest[-1] * max(largest[-2], 1) * terms < 2**53:
        return [a.astype(np.float64) for a in arrays]
    return arrays


def _over(total: np.ndarray, den: int) -> np.ndarray:
    """Integer totals (floats holding integers, or Python ints) over a denominator, as Fractions."""
    values = np.asarray(total)
    out = np.empty(values.size, dtype=object)
    out[:] = [Fraction(int(v), den) for v in values.flat]
    return out.reshape(values.shape)


def _squeezed(array: np.ndarray) -> tuple[int, ...]:
    return tuple(n for n in array.shape if n != 1)


def answer_shape_text(shape: tuple[int, ...]) -> str:
    return "a single number" if not shape else fmt_shape(shape)
