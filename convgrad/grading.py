"""Grading many answers: the policy, each answer's points, the gradebook rows and the class summary. Pure: no I/O.

Points (see docs/homework.md, "Grading policy"):

    points(q) = weight(q) × (right(q) + imprecise_credit × imprecise(q)) / entries(q)

for a quantity q given with the right shape; 0 for one missing or of the wrong shape.
    max   = the sum of weight(q) over the quantities required or given
    total = the sum of points(q) over the same quantities
Weights default to 1, imprecise_credit to 0 (an entry right only to fewer decimals than
required earns nothing unless the policy says a fraction).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .check import QUANTITIES, CheckReport, check_decimals
from .errors import InputError
from .numbers import describe_value, index_label
from .options import MAX_DECIMALS

#: The keys a policy file may have, with what each one holds.
POLICY_KEYS = {
    "require": "a list of quantities (or a comma-separated string)",
    "weights": "an object {quantity: weight}",
    "decimals": "a whole number of decimals",
    "imprecise_credit": "a number from 0 to 1",
    "layouts": '"same" or "any"',
    "pattern": 'a file-name glob such as "*.json"',
}
LAYOUTS = ("same", "any")
#: Histogram bins: the share of the points, in tenths (the last bin includes 100%).
BINS = 10
#: Entries listed as most often wrong in the class summary.
TOP_WRONG = 10


@dataclass(frozen=True)
class Policy:
    """How a folder is graded: the quantities required, their weights, the decimals required (None:
    each file's own), the credit for an imprecise entry, whether another layout is accepted, and
    which files of the folder are answers (None: every file, *.json read as answers)."""

    require: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    decimals: int | None = None
    imprecise_credit: float = 0.0
    layouts: str = "same"
    pattern: str | None = None

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 1.0))

    @property
    def any_layout(self) -> bool:
        return self.layouts == "any"


def _quantity(name: str, what: str) -> str:
    from .check import ANSWER_ALIASES

    canonical = ANSWER_ALIASES.get(name.strip())
    if canonical is None:
        raise InputError(f"{what}: {name.strip()!r} is not a quantity (one of {', '.join(QUANTITIES)})")
    return canonical


def parse_require(value: Any, what: str = "--require") -> tuple[str, ...]:
    """Z,dW,db,dA_prev (a string or a list) -> the quantities, in the order given, each once."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InputError(f"{what} is {describe_value(value)}: expected {POLICY_KEYS['require']}")
    names = [_quantity(item, what) for item in items if item.strip()]
    return tuple(dict.fromkeys(names))


def _shown(value: Any) -> str:
    """A value as a policy file wrote it: 2.5, 'all', or its kind (a list, an object)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    return repr(value) if isinstance(value, str) else describe_value(value)


def _weight(value: Any, what: str) -> float:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InputError(f"{what} is {value!r}: expected a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise InputError(f"{what} is {_shown(value)}: expected a number from 0 up")
    return float(value)


def parse_weights(value: Any, what: str = "--weights") -> dict[str, float]:
    """Z=2,dW=3 (a string) or {"Z": 2, "dW": 3} (an object) -> {quantity: weight}."""
    if isinstance(value, str):
        pairs = []
        for item in value.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise InputError(f"{what}: {item.strip()!r} is not QUANTITY=WEIGHT (e.g. Z=2,dW=3)")
            key, number = item.split("=", 1)
            pairs.append((key, number))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise InputError(f"{what} is {describe_value(value)}: expected {POLICY_KEYS['weights']}")
    return {_quantity(key, what): _weight(number, f"{what} {key.strip()}") for key, number in pairs}


def parse_layouts(value: Any, what: str = "--layouts") -> str:
    if value not in LAYOUTS:
        raise InputError(f"{what} is {_shown(value)}: expected {POLICY_KEYS['layouts']}")
    return str(value)


def policy_fields(document: Any, source: str) -> dict[str, Any]:
    """The fields of a policy file ({"require": [...], "weights": {...}, ...}), each key checked."""
    if not isinstance(document, dict):
        raise InputError(f"{source} is {describe_value(document)}: a policy is a JSON object")
    fields: dict[str, Any] = {}
    for key, value in document.items():
        what = f"{key} in {source}"
        if key == "require":
            fields[key] = parse_require(value, what)
        elif key == "weights":
            fields[key] = parse_weights(value, what)
        elif key == "decimals":
            if not isinstance(value, int) or isinstance(value, bool):
                raise InputError(f"{what} is {_shown(value)}: expected {POLICY_KEYS[key]} from 0 to {MAX_DECIMALS}")
            fields[key] = check_decimals(value, what)
        elif key == "imprecise_credit":
            number = float(value) if isinstance(value, Decimal) else value
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 1:
                raise InputError(f"{what} is {_shown(value)}: expected {POLICY_KEYS[key]}")
            fields[key] = float(number)
        elif key == "layouts":
            fields[key] = parse_layouts(value, what)
        elif key == "pattern":
            if not isinstance(value, str) or not value:
                raise InputError(f"{what} is {describe_value(value)}: expected {POLICY_KEYS[key]}")
            fields[key] = value
        elif key not in ("description", "$schema"):
            known = ", ".join(POLICY_KEYS)
            raise InputError(f"unknown key {key!r} in {source}: a policy has {known}")
    return fields


# -- scores -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """Points per quantity counted (required or given), their total and the most there are."""

    points: dict[str, float]
    total: float
    max: float

    @property
    def share(self) -> float:
        return self.total / self.max if self.max else 0.0


def score(report: CheckReport, policy: Policy) -> Score:
    """The points an answer earns under the policy (the formula is in the module's docstring)."""
    points: dict[str, float] = {}
    for q in report.quantities.values():
        if q.status == "missing" and q.name not in report.required:
            continue
        weight = policy.weight(q.name)
        if q.status in ("missing", "shape") or not q.entries:
            points[q.name] = 0.0
            continue
        right = sum(e.right for e in q.entries) + policy.imprecise_credit * len(q.imprecise)
        points[q.name] = weight * right / len(q.entries)
    return Score(points, sum(points.values()), sum(policy.weight(name) for name in points))


def points_text(value: float) -> str:
    """Points to 2 decimals at most, without trailing zeros: 3, 2.5, 0.67."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# -- one graded file ----------------------------------------------------------------------------------


@dataclass
class Graded:
    """One file of the folder: its path as found, the student it names (else its file-name stem),
    its report (None when it could not be graded), why not (error), whether it was skipped as not an
    answer file, warnings (keys not graded), its score, and every key that is not an answer (ignored)."""

    file: str
    student: str
    report: CheckReport | None = None
    error: str | None = None
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)
    score: Score | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def mistakes(self) -> list[str]:
        """The named mistakes, each once, in the order found."""
        if self.report is None:
            return []
        return list(dict.fromkeys(d.mistake for d in self.report.mistakes))


def student_of(document: Any, stem: str) -> str:
    """The student an answer names ("student", else "name", else "id"), or else the file's stem."""
    if isinstance(document, dict):
        for key in ("student", "name", "id"):
            value = document.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return stem


# -- the gradebook ------------------------------------------------------------------------------------


def gradebook_csv(rows: list[Graded], quantities: tuple[str, ...]) -> str:
    """The gradebook as CSV (RFC 4180: a header row, CRLF line ends, fields quoted when needed):
    file (relative to the folder the files share), student, the points per quantity, total, max,
    likely mistakes, notes."""
    base = os.path.commonpath([os.path.dirname(row.file) or "." for row in rows]) if rows else ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["file", "student", *quantities, "total", "max", "likely mistakes", "notes"])
    for row in rows:
        notes = list(row.warnings)
        if row.error is not None:
            notes.insert(0, row.error)
        if row.report is not None:
            notes.extend(row.report.notes)
            notes.extend(f"{name} missing (required)" for name in row.report.missing_required)
        cells = [os.path.relpath(row.file, base or "."), row.student]
        if row.score is None:
            cells += [""] * (len(quantities) + 2)
        else:
            cells += [points_text(row.score.points[q]) if q in row.score.points else "" for q in quantities]
            cells += [points_text(row.score.total), points_text(row.score.max)]
        writer.writerow([*cells, "; ".join(m.replace("_", " ") for m in row.mistakes), "; ".join(notes)])
    return out.getvalue()


# -- the class summary --------------------------------------------------------------------------------


def class_summary(rows: list[Graded]) -> dict[str, Any]:
    """Scores in a histogram of tenths of the points, students per named mistake, the entries most
    often wrong (with how many students had each wrong), and the counts of files."""
    scored = [row for row in rows if row.score is not None]
    counts = [0] * BINS
    for row in scored:
        assert row.score is not None
        counts[min(BINS - 1, int(row.score.share * BINS + 1e-9))] += 1
    histogram = [{"from": 100 * i // BINS, "to": 100 * (i + 1) // BINS, "count": n} for i, n in enumerate(counts)]
    mistakes = Counter(m for row in scored for m in row.mistakes)
    wrong: Counter[str] = Counter()
    for row in scored:
        assert row.report is not None
        for q in row.report.quantities.values():
            for e in q.wrong:
                wrong[index_label(q.name, e.index, ",")] += 1
            if q.status == "shape":
                wrong[f"{q.name} (shape)"] += 1
    shares = [row.score.share for row in scored if row.score is not None]
    return {
        "graded": len(scored),
        "mean": round(100 * sum(shares) / len(shares), 1) if shares else None,
        "histogram": histogram,
        "mistakes": dict(sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "wrong_entries": [
            {"entry": entry, "students": n}
            for entry, n in sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_WRONG]
        ],
        "skipped": sum(row.skipped for row in rows),
        "errors": sum(row.report is None and not row.skipped for row in rows),
    }
