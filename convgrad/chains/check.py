"""check of a chain: answers per layer and the loss, each layer marked by the one-layer checker, and
the join mistakes (``mistakes``) named where they reproduce the wrong entries. Pure: no I/O.

An answer for a chain is an object with

- ``"layers"``: a list with one entry per layer (``null`` for a layer not answered, else an answer
  object as for one layer: any of Z, dW, db, dA_prev), or an object keyed by layer number
  (``{"3": {"dA_prev": ...}}``); top-level keys "1".."n" are read the same way;
- ``"loss"``: the loss value (a chain that ends in a loss);
- optionally ``"decimals"`` and ``"layout"`` for every layer, and the meta keys of one answer
  (student, name, description, id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..api import Result
from ..check import (
    ANSWER_META,
    Checker,
    CheckReport,
    Diagnosis,
    EntryVerdict,
    Given,
    Tolerance,
    answer_decimals,
    answer_layout,
    mark,
    matches,
    parse_answer,
)
from ..errors import InputError
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits, exact_terms
from ..numbers import describe_value
from .engine import ChainResult, build_chain, solve_chain
from .mistakes import ChainMistake, chain_mistakes

#: The keys of a chain answer besides the layers' numbers.
CHAIN_ANSWER_KEYS = ("layers", "loss", "decimals", "layout")


class LayerChecker(Checker):
    """The one-layer checker of layer ``number`` of a chain, whose diagnoses also try the chain's
    join mistakes: each gives this layer's quantities as the mistake would make them."""

    def __init__(
        self, problem: Any, tolerance: Tolerance, number: int, mistakes: Any, result: Result | None = None
    ) -> None:
        super().__init__(problem, tolerance)
        if result is not None:
            self.result = result
        self.number = number
        self._mistakes = mistakes  # a callable giving the chain's mistakes, computed once when first needed

    def _diagnose(
        self, name: str, given: np.ndarray, expected: np.ndarray, wrong: list[EntryVerdict] | None
    ) -> list[Diagnosis]:
        own = super()._diagnose(name, given, expected, wrong)
        complete, partial = [d for d in own if d.complete], [d for d in own if not d.complete]
        for mistake in self._mistakes():
            if complete and mistake.site == self.number:
                continue  # the layer's own mistake, already named by the one-layer check
            arrays = mistake.layers[self.number - 1]
            if not arrays or name not in arrays:
                continue
            candidate = np.asarray(arrays[name], dtype=object)
            if candidate.shape != given.shape or (
                candidate.shape == expected.shape
                and all(candidate[i] == expected[i] for i in np.ndindex(*expected.shape))
            ):
                continue  # a different shape, or the mistake changes nothing here
            count = given.size if wrong is None else len(wrong)
            explained = (
                count if wrong is None else sum(matches(e.given, candidate[e.index], self.tolerance) for e in wrong)
            )
            if wrong is not None and (explained == 0 or explained * 2 < count):
                continue
            sentence = mistake.sentence(self.number)
            if explained == count and all(
                matches(given[i], candidate[i], self.tolerance) for i in np.ndindex(*given.shape)
            ):
                complete.append(Diagnosis(mistake.key, f"layer {mistake.site}", sentence, count, count))
            elif wrong:
                partial.append(Diagnosis(mistake.key, f"layer {mistake.site}", sentence, explained, count))
        if complete:
            return complete
        partial.sort(key=lambda d: -d.explained)
        return partial[:1]


@dataclass(frozen=True)
class LossVerdict:
    """The loss value as given, its true value and its mark; ``mistakes`` that give the value written."""

    given: Given
    expected: Any
    mark: str
    mistakes: tuple[str, ...] = ()

    @property
    def right(self) -> bool:
        return self.mark == "right"


@dataclass
class ChainReport:
    """Per layer its one-layer report (None when not answered), the loss's verdict, notes."""

    layers: list[CheckReport | None]
    loss: LossVerdict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def all_right(self) -> bool:
        return all(r is None or r.all_right for r in self.layers) and (self.loss is None or self.loss.right)


class ChainChecker:
    """Checks answers against one chain: solved once (exactly when every layer and the loss are
    rational and small enough, else in float64), each layer's checker built on its backward result."""

    def __init__(
        self, fields: Mapping[str, Any], tolerance: Tolerance | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.tolerance = tolerance or Tolerance()
        self.fields = dict(fields)
        self.notes: list[str] = []
        base = {**self.fields, "exact": False, "symbolic": False}
        floats = build_chain(base, need_dZ=True, float64=True, limits=limits)
        terms = sum(exact_terms(problem) for problem in floats.layers)
        chain = floats
        if terms <= limits.max_exact_terms:
            chain = build_chain({**base, "exact": True}, need_dZ=True, float64=True, limits=limits)
            self.notes += [f"checking against float64 results: {note}" for note in chain.notes]
        else:
            self.notes.append(
                f"this chain is too large to solve in exact rationals ({terms:,} multiply-adds); "
                "checking against float64 results"
            )
        self.chain_fields = {**base, "exact": chain.domain.name == "exact"}
        self.result: ChainResult = solve_chain(chain)
        self._found: list[ChainMistake] | None = None
        self.checkers = [
            LayerChecker(layer.problem, self.tolerance, k, self.mistakes, layer)
            for k, layer in enumerate(self.result.layers, start=1)
        ]

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.result.kinds

    def mistakes(self) -> list[ChainMistake]:
        if self._found is None:
            self._found = chain_mistakes(self.result, self.chain_fields)
        return self._found

    def check(self, document: Mapping[str, Any], source: str, decimals: int | None = None) -> ChainReport:
        """Mark every layer answered and the loss; ``decimals`` overrides the answer's own."""
        answers = layer_answers(document, len(self.kinds), source)
        decimals = answer_decimals(document, source) if decimals is None else decimals
        channels_last = answer_layout(document, source)
        reports: list[CheckReport | None] = []
        for k, (checker, answer) in enumerate(zip(self.checkers, answers), start=1):
            if answer is None:
                reports.append(None)
                continue
            where = f"layer {k} ({self.kinds[k - 1]}) of {source}"
            parsed = parse_answer(answer, where)
            own_decimals = answer_decimals(answer, where) if decimals is None else decimals
            own_layout = answer_layout(answer, where)
            try:
                reports.append(
                    checker.check(
                        parsed, own_decimals, channels_last=own_layout if own_layout is not None else channels_last
                    )
                )
            except InputError as err:
                raise InputError(f"layer {k} ({self.kinds[k - 1]}): {err.message}", hint=err.hint) from None
        report = ChainReport(reports, notes=list(self.notes))
        if document.get("loss") is not None:
            report.loss = self._check_loss(document["loss"], source, decimals)
        elif all(r is None for r in reports):
            raise InputError(f"{source} answers no layer and no loss: nothing to check")
        return report

    def _check_loss(self, value: Any, source: str, decimals: int | None) -> LossVerdict:
        if self.result.loss is None:
            raise InputError(f"{source} gives a loss, but the chain ends in a given dZ: it has no loss value")
        if isinstance(value, (list, dict)):
            raise InputError(f"loss in {source} is {describe_value(value)}: the loss is one number")
        given: Given = parse_answer({"Z": value}, f"the loss in {source}")["Z"].reshape(-1)[0]
        expected = self.result.loss
        verdict = mark(given, expected, self.tolerance, decimals)
        mistakes = tuple(
            m.key
            for m in self.mistakes()
            if m.loss is not None and verdict != "right" and matches(given, m.loss, self.tolerance)
        )
        return LossVerdict(given, expected, verdict, mistakes)


def layer_answers(document: Mapping[str, Any], count: int, source: str) -> list[Mapping[str, Any] | None]:
    """One answer object (or None) per layer, from "layers" (a list or an object keyed by layer
    number) or top-level keys "1".."n"; a layer number outside 1..count is refused in one line."""
    found: dict[int, Any] = {}
    layers = document.get("layers")
    if isinstance(layers, list):
        if len(layers) != count:
            raise InputError(
                f'"layers" in {source} has {len(layers)} entr{"y" if len(layers) == 1 else "ies"} but the chain has '
                f"{count} layers: give one per layer, null for a layer not answered"
            )
        found = {k: entry for k, entry in enumerate(layers, start=1) if entry is not None}
    elif isinstance(layers, Mapping):
        found = {_layer_number(key, count, source): entry for key, entry in layers.items()}
    elif layers is not None:
        raise InputError(
            f'"layers" in {source} is {describe_value(layers)}: a list, one answer per layer, or an object'
        )
    for key, entry in document.items():
        if key in CHAIN_ANSWER_KEYS or key in ANSWER_META or key == "student":
            continue
        if isinstance(key, str) and key.strip().isdigit():
            number = _layer_number(key, count, source)
            if number in found:
                raise InputError(f"layer {number} is answered twice in {source}")
            found[number] = entry
            continue
        raise InputError(f'{key!r} in {source} is not a chain answer: give "layers" (one answer per layer) and "loss"')
    for number, entry in found.items():
        if not isinstance(entry, Mapping):
            raise InputError(
                f"layer {number}'s answer in {source} is {describe_value(entry)}: an object with any of Z, dW, db, dA_prev"
            )
    return [found.get(k) for k in range(1, count + 1)]


def _layer_number(key: Any, count: int, source: str) -> int:
    text = str(key).strip()
    if not text.isdigit() or not 1 <= int(text) <= count:
        raise InputError(f"{key!r} in {source} is not a layer number: the chain has layers 1 to {count}")
    return int(text)
