"""Checking an answer entry by entry, and naming the likely mistake. Pure: no I/O.

The problem is solved in exact rationals, so "right" never depends on float
rounding. An entry written with k decimals (k >= 1) is right when it is the
true value rounded to k decimals (within half a unit in its last place: a
student who wrote 0.33 for 1/3 is right); any entry is right within the
tolerance |given - true| <= atol + rtol * |true|.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .api import Result
from .errors import InputError
from .numbers import describe_value, parse_number_text
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
ANSWER_META = ("description", "student", "name")


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


def matches(given: Given, value: Any, tolerance: Tolerance) -> bool:
    """Whether a written entry is right for this value (exact; or float64, allowed its rounding)."""
    true = (
        value
        if isinstance(value, Fraction)
        else Fraction(float(value))
        if not isinstance(value, int)
        else Fraction(value)
    )
    slack = 0 if isinstance(value, (Fraction, int)) else FLOAT_SLACK * (abs(true) + 1)
    diff = abs(given.value - true)
    if given.decimals and (diff - slack) * 2 * 10**given.decimals <= 1:
        return True
    return diff <= tolerance.atol + tolerance.rtol * abs(true) + slack


# -- reading an answer --------------------------------------------------------------------------


def _given(value: Any, path: str) -> Given:
    if isinstance(value, bool) or value is None:
        raise InputError(f"{path} is {describe_value(value)}, not a number")
    if isinstance(value, int):
        return Given(Fraction(value), 0, str(value))
    if isinstance(value, float):  # only from the Python API
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(f"{path} is {value}, not a finite number")
        exponent = value.as_tuple().exponent
        return Given(Fraction(value), max(0, -int(exponent)), str(value))
    if isinstance(value, str):
        text = value.strip()
        exact = parse_number_text(text)
        if exact is None:
            raise InputError(f'{path} is {describe_value(value)}, not a number or a fraction like "1/3"')
        if "/" in text:
            return Given(exact, None, text)
        return _given(Decimal(text), path)
    raise InputError(f"{path} is {describe_value(value)}, not a number")


def parse_answer(document: Mapping[str, Any], source: str) -> dict[str, np.ndarray]:
    """{quantity: array of Given} from an answer object; unknown keys refused."""
    answer: dict[str, np.ndarray] = {}
    for key, value in document.items():
        if key in ANSWER_META:
            continue
        name = ANSWER_ALIASES.get(key)
        if name is None:
            raise InputError(f"unknown key {key!r} in {source}: an answer gives any of Z, dW, db, dA_prev")
        if name in answer:
            raise InputError(f"{name} is given twice in {source}")
        answer[name] = _given_array(value, name)
    if not answer:
        raise InputError(f"{source} gives none of Z, dW, db, dA_prev: nothing to check")
    return answer


def _given_array(value: Any, name: str) -> np.ndarray:
    from .problem import _flatten  # the same ragged/empty checks as problem arrays

    shape, flat = _flatten(value, name)
    out = np.empty(len(flat), dtype=object)
    out[:] = [_given(v, p) for v, p in flat]
    return out.reshape(shape)


# -- verdicts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryVerdict:
    index: tuple[int, ...]
    given: Given
    expected: Any
    right: bool


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
    """status: "right", "wrong", "missing" or "shape" (the answer's shape is not the quantity's)."""

    name: str
    status: str
    expected_shape: tuple[int, ...]
    given_shape: tuple[int, ...] | None = None
    entries: list[EntryVerdict] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)

    @property
    def wrong(self) -> list[EntryVerdict]:
        return [e for e in self.entries if not e.right]


@dataclass
class CheckReport:
    quantities: dict[str, QuantityVerdict]

    @property
    def given(self) -> list[QuantityVerdict]:
        return [q for q in self.quantities.values() if q.status != "missing"]

    @property
    def all_right(self) -> bool:
        return all(q.status == "right" for q in self.given)

    @property
    def mistakes(self) -> list[Diagnosis]:
        return [d for q in self.quantities.values() for d in q.diagnoses]


class Checker:
    """Checks any number of answers against one problem; the solution and variants are computed once."""

    def __init__(self, problem: Problem, tolerance: Tolerance | None = None) -> None:
        if problem.domain.name == "symbolic":
            raise ValueError("the checker compares numbers, not formulas")
        self.problem = problem
        self.result = Result(problem)
        self.tolerance = tolerance or Tolerance()
        self._variants: dict[str, dict[str, list[tuple[str, Any]]]] | None = None

    def expected(self, name: str) -> Any:
        return getattr(self.result, name)

    def variants(self) -> dict[str, dict[str, list[tuple[str, Any]]]]:
        if self._variants is None:
            self._variants = {variant.key: variant.compute(self.problem) for variant in variants_for(self.problem)}
        return self._variants

    def check(self, answer: Mapping[str, np.ndarray]) -> CheckReport:
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
                self._compare(verdict, answer[name], expected)
            quantities[name] = verdict
        return CheckReport(quantities)

    def _compare(self, verdict: QuantityVerdict, given: np.ndarray, expected: np.ndarray) -> None:
        if given.shape != expected.shape and given.size == expected.size == 1:
            given = given.reshape(expected.shape)  # [0.1] for a scalar db, or the reverse
        verdict.given_shape = given.shape
        if given.shape != expected.shape:
            verdict.status = "shape"
            verdict.diagnoses = self._diagnose(verdict.name, given, expected, None)
            return
        verdict.entries = [
            EntryVerdict(index, given[index], expected[index], matches(given[index], expected[index], self.tolerance))
            for index in np.ndindex(*expected.shape)
        ]
        wrong = verdict.wrong
        verdict.status = "wrong" if wrong else "right"
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
                agree = [matches(given[i], candidate[i], self.tolerance) for i in np.ndindex(*given.shape)]
                sentence = variant.sentence(self.problem, name, label)
                if all(agree):
                    count = given.size if wrong is None else len(wrong)
                    complete.append(Diagnosis(variant.key, label, sentence, count, count))
                elif wrong:
                    explained = sum(matches(e.given, candidate[e.index], self.tolerance) for e in wrong)
                    if explained * 2 >= len(wrong) and explained > 0:
                        partial.append(Diagnosis(variant.key, label, sentence, explained, len(wrong)))
        if complete:
            return complete
        partial.sort(key=lambda d: -d.explained)
        return partial[:1]


def answer_shape_text(shape: tuple[int, ...]) -> str:
    return "a single number" if not shape else fmt_shape(shape)
