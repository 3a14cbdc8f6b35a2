"""gradcheck of a chain: every layer's dW and db and the chain's dA_prev against central differences
of the chain's loss (or of sum(dZ·Z) of the last layer when the chain ends in a given dZ). Pure: no I/O.

Each difference quotient runs the forward walk again from the layer whose entry moved, with the
layers' own code (``api.Result``), so what is checked is the backward walk, join by join. An entry
whose step moves a ReLU or leaky ReLU across its kink, or changes which entry a max-pool window
picks, is skipped and counted: a quotient there measures neither side. In floats a quotient passes
when |analytic - numeric| <= rtol·max(|analytic|, |numeric|) + noise, the noise being the rounding
the quotient itself carries (64·eps·scale/h, scale the sum of |Z|·|dZ| of the last layer or the
loss's size); exact chains (--exact: every layer and the loss rational) compare exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..api import Result
from .engine import ChainResult

#: Kinds whose forward pass branches: their routing (the mask, the window's pick) must not change.
BRANCHING = ("relu", "leaky-relu", "max-pool")
#: The default step: small enough that rounding and curvature (softmax) stay far below 1e-6.
DEFAULT_CHAIN_STEP = 1e-5
#: Entries per quantity checked at most (a seeded sample beyond).
DEFAULT_CHAIN_ENTRIES = 200


@dataclass(frozen=True)
class ChainGradRow:
    """One quantity of one layer: entries checked and skipped (kinks), worst errors, verdict."""

    layer: int  # 1-based
    kind: str
    quantity: str  # "dW", "db" or "dA_prev" (dA_prev: the chain's input only, layer 1)
    checked: int
    total: int
    skipped: int
    max_abs: float
    max_rel: float
    passed: bool
    worst_index: tuple[int, ...] | None


class _Forward:
    """The forward walk from any layer with one array replaced, and the loss at its end."""

    def __init__(self, result: ChainResult) -> None:
        self.result = result
        self.chain = result.chain
        last = result.forward_layers[-1].Z
        if self.chain.loss is None:
            dZ = np.asarray(self.chain.dZ)
            self.scale = float(np.abs(np.asarray(last, dtype=float) * np.asarray(dZ, dtype=float)).sum())
        else:
            self.scale = float(np.abs(np.asarray(last, dtype=float)).sum()) + abs(float(result.loss))

    def loss(self, start: int, replaced: dict[str, np.ndarray]) -> tuple[Any, list[np.ndarray]]:
        """L with layer ``start``'s canonical arrays in ``replaced`` (A_prev, W or b), and the routing
        signature of every branching layer from ``start`` on."""
        from .. import losses

        chain = self.chain
        A = replaced.get("A_prev", chain.layers[start].A_prev)
        routes: list[np.ndarray] = []
        Z_user: Any = None
        for i in range(start, len(chain.layers)):
            problem = chain.layers[i]
            if i > start:
                A = problem.form.activation_to_canonical(np.asarray(Z_user))
                A = np.asarray(A, dtype=object) if problem.domain.dtype == object else A.astype(problem.A_prev.dtype)
            arrays: dict[str, Any] = {"A_prev": A, "dZ": None}
            if i == start:
                arrays.update({k: v for k, v in replaced.items() if k != "A_prev"})
            moved = dataclasses.replace(problem, **arrays)
            if problem.layer in BRANCHING:
                routes.append(_route(moved))
            result = Result(moved)
            Z_user = result.Z
        if chain.loss is not None:
            return losses.loss_value(chain.loss, np.asarray(Z_user)), routes
        dZ = np.asarray(chain.dZ)
        total = np.asarray(Z_user) * dZ
        flat = total.reshape(-1)
        return (flat.sum() if total.dtype != object else sum(flat[1:], flat[0])), routes


def _route(problem: Any) -> np.ndarray:
    """Where a branching layer sends a gradient: dA_prev for dZ = 1, 2, 3, ... (float)."""
    kind = problem.kind
    A = np.asarray(problem.A_prev, dtype=float)
    geom = problem.geom
    size = geom.batch * geom.out_channels * int(np.prod(geom.output_size, dtype=np.int64))
    dZ = np.arange(1.0, size + 1.0).reshape((geom.batch, geom.out_channels) + tuple(geom.output_size))
    params = dict(problem.params)
    if "slope" in params:
        params["slope"] = float(params["slope"])
    return np.asarray(kind.totals(A, None, None, dZ, geom, params).dA_prev)


def gradcheck_chain(
    result: ChainResult,
    step: Any = None,
    max_entries: int = DEFAULT_CHAIN_ENTRIES,
    seed: int = 0,
    rtol: float = 1e-6,
) -> list[ChainGradRow]:
    """Per layer with weights its dW and db, then the chain's dA_prev, against central differences."""
    exact = result.chain.domain.dtype == object
    h: Any = (Fraction(1, 1000) if exact else DEFAULT_CHAIN_STEP) if step is None else step
    forward = _Forward(result)
    rows = []
    rng = np.random.default_rng(seed)
    plan: list[tuple[int, str, str]] = []
    for i, layer in enumerate(result.layers):
        if layer.problem.has_weights:
            plan += [(i, "dW", "W")]
            if layer.problem.b is not None:
                plan.append((i, "db", "b"))
    plan.append((0, "dA_prev", "A_prev"))
    noise = 0.0 if exact else 64 * float(np.finfo(float).eps) * max(forward.scale, 1.0) / float(h)
    for i, quantity, array_name in plan:
        problem = result.chain.layers[i]
        base = getattr(problem, array_name)
        analytic = np.asarray(getattr(result.layers[i].canonical_totals, quantity))
        indices = list(np.ndindex(*base.shape))
        if len(indices) > max_entries:
            picked = rng.choice(len(indices), size=max_entries, replace=False)
            indices = [indices[j] for j in sorted(picked)]
        _, routes0 = forward.loss(i, {})
        worst_abs, worst_rel, worst_index, skipped, failed = 0.0, 0.0, None, 0, False
        for index in indices:
            values = []
            same = True
            for sign in (1, -1):
                moved = np.array(base, copy=True)
                moved[index] = moved[index] + sign * h
                value, routes = forward.loss(i, {array_name: moved})
                same = same and all(np.array_equal(a, b) for a, b in zip(routes, routes0))
                values.append(value)
            if not same:
                skipped += 1
                continue
            numeric = (values[0] - values[1]) / (2 * h)
            a = analytic[index]
            if exact:
                error = abs(Fraction(a) - Fraction(numeric)) if not isinstance(a, float) else abs(a - float(numeric))
                ok = error == 0
                err_abs, err_rel = float(error), float(error) / max(abs(float(a)), abs(float(numeric)), 1e-300)
            else:
                err_abs = abs(float(a) - float(numeric))
                err_rel = err_abs / max(abs(float(a)), abs(float(numeric)), noise / rtol if rtol else 1e-300, 1e-300)
                ok = err_abs <= rtol * max(abs(float(a)), abs(float(numeric))) + noise
            failed = failed or not ok
            if err_abs >= worst_abs:
                worst_abs, worst_index = err_abs, tuple(int(j) for j in index)
            worst_rel = max(worst_rel, err_rel)
        rows.append(
            ChainGradRow(
                layer=i + 1,
                kind=result.kinds[i],
                quantity=quantity,
                checked=len(indices) - skipped,
                total=int(base.size),
                skipped=skipped,
                max_abs=worst_abs,
                max_rel=worst_rel,
                passed=not failed,
                worst_index=worst_index,
            )
        )
    return rows
