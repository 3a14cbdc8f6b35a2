"""The mistakes students make at the joins of a chain, each recomputed through the rest of the chain.

A join mistake happens in one layer (or in the loss) but shows in every layer the gradient reaches
after it: a max-pool that sends its gradient to the wrong entry makes the convolution before it get
a wrong dW too. Each mistake here is a recomputation of the backward walk (and, for the flatten
order, of the forward walk) with that one step done wrong; ``check`` of a chain compares a
student's wrong entries with these results, layer by layer, and names the mistake that reproduces
them. Pure: no I/O.

The mistakes (``ChainVariant.key``):

- ``pool-gradient-to-first-entry``: a max-pool sends each window's gradient to the window's first
  entry, not to its maximum;
- ``pool-gradient-spread``: a max-pool spreads each window's gradient evenly over the window (as
  average pooling would);
- ``flatten-order-swapped``: a flatten's dZ reshaped back in the other order (channels-first for
  channels-last, or the reverse) than the forward pass used;
- ``flatten-order-swapped-forward``: the whole chain computed with the flatten in the other order
  (the dense layer's Z differs too);
- ``relu-mask-from-dZ``: a ReLU's mask taken from the gradient (dZ > 0), the wrong side of the
  layer, instead of from its input (A_prev > 0);
- ``softmax-gradient-without-1/N``: the cross-entropy gradient softmax - one-hot not divided by
  the batch size N under the mean reduction;
- ``mse-gradient-without-mean`` and ``mse-gradient-without-2``: the mse gradient not divided by the
  number of entries, or without its factor 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..api import Result
from ..errors import InputError
from .engine import ChainProblem, ChainResult, build_chain, solve_chain

#: quantity -> user-form array, per layer (0-based), None where the mistake changes nothing.
LayerArrays = list[dict[str, Any] | None]


@dataclass(frozen=True)
class ChainMistake:
    """One mistake at one place of one chain: its key, the layer it happens in (1-based; 0 for the
    loss), the sentence, and per layer the arrays it gives (``layers``) and the loss value it gives."""

    key: str
    site: int
    site_kind: str
    what: str
    layers: LayerArrays
    loss: Any = None

    def sentence(self, layer: int) -> str:
        """The mistake in words, said for the answer of ``layer`` (1-based)."""
        where = "the loss" if self.site == 0 else f"layer {self.site} ({self.site_kind})"
        text = f"{where} {self.what}"
        if layer != self.site:  # the loss (site 0) is never a layer
            text += f"; the mistake carries back to layer {layer}"
        return text


# -- the backward walk with one step done wrong ---------------------------------------------------


def _canonical_dZ(problem: Any, upstream: Any) -> np.ndarray:
    dZ = problem.form.activation_to_canonical(np.asarray(upstream))
    if problem.domain.dtype != object:
        return np.ascontiguousarray(dZ, dtype=problem.A_prev.dtype)
    return np.asarray(dZ, dtype=object)


def walk_back(
    chain: ChainProblem,
    start: int,
    upstream: Any,
    rule: Callable[[Any, np.ndarray], np.ndarray] | None = None,
) -> LayerArrays:
    """The backward walk from layer ``start`` (0-based) down to the first, ``upstream`` the dZ of
    layer ``start`` in its user form; with ``rule(problem, dZ canonical) -> dA_prev canonical``,
    layer ``start``'s dA_prev is computed by it instead. Layers after ``start``: None."""
    out: LayerArrays = [None] * len(chain.layers)
    for i in range(start, -1, -1):
        problem = chain.layers[i]
        dZ = _canonical_dZ(problem, upstream)
        result = Result(dataclasses.replace(problem, dZ=dZ))
        entry: dict[str, Any] = {}
        if problem.has_weights:
            entry.update(dW=result.dW, db=result.db)
        if i == start and rule is not None:
            wrong = problem.domain.finalize(rule(problem, dZ)) if problem.domain.dtype == object else rule(problem, dZ)
            entry["dA_prev"] = problem.form.activation_from_canonical(wrong)
        else:
            entry["dA_prev"] = result.dA_prev
        out[i] = entry
        upstream = entry["dA_prev"]
    return out


def _zeros_like(A: np.ndarray) -> np.ndarray:
    if A.dtype != object:
        return np.zeros(A.shape, dtype=A.dtype)
    zero = A.reshape(-1)[0] * 0
    return np.full(A.shape, zero, dtype=object)


def _pool_to_first(problem: Any, dZ: np.ndarray) -> np.ndarray:
    """Each window's dZ to the window's first entry (row-major), whatever its maximum."""
    dA = _zeros_like(problem.A_prev)
    for record in problem.kind.records(problem.A_prev, None, None, dZ, problem.geom, problem.params):
        dA[record.reads[0]] += record.values["dZ"]
    return dA


def _pool_spread(problem: Any, dZ: np.ndarray) -> np.ndarray:
    """Each window's dZ shared evenly by the window's entries inside A_prev."""
    dA = _zeros_like(problem.A_prev)
    for record in problem.kind.records(problem.A_prev, None, None, dZ, problem.geom, problem.params):
        share = record.values["dZ"] / len(record.reads)
        for x in record.reads:
            dA[x] += share
    return dA


def _flatten_swapped(problem: Any, dZ: np.ndarray) -> np.ndarray:
    """dZ reshaped back in the other order than the forward pass flattened in."""
    from ..layers import flatten

    other = "channels-last" if problem.params["order"] == "channels-first" else "channels-first"
    return np.ascontiguousarray(flatten.unflatten_array(dZ, problem.A_prev.shape, other))


def _relu_from_dZ(problem: Any, dZ: np.ndarray) -> np.ndarray:
    """The mask taken from the gradient: dZ where dZ > 0, else 0."""
    if dZ.dtype != object:
        return np.where(dZ > 0, dZ, 0.0).astype(dZ.dtype)
    return np.vectorize(lambda g: g if g > 0 else g * 0, otypes=[object])(dZ)


#: kind -> [(key, what, rule)]: mistakes of one layer's backward step.
LAYER_RULES: dict[str, list[tuple[str, str, Callable[[Any, np.ndarray], np.ndarray]]]] = {
    "max-pool": [
        (
            "pool-gradient-to-first-entry",
            "sent each window's gradient to the window's first entry instead of to its maximum",
            _pool_to_first,
        ),
        (
            "pool-gradient-spread",
            "spread each window's gradient evenly over the window (as average pooling does) instead of "
            "sending it all to the maximum",
            _pool_spread,
        ),
    ],
    "flatten": [
        (
            "flatten-order-swapped",
            "reshaped dZ back in the other order than it flattened in (channels-first and channels-last swapped)",
            _flatten_swapped,
        ),
    ],
    "relu": [
        (
            "relu-mask-from-dZ",
            "took its mask from the wrong side, from dZ > 0 (the gradient), instead of from its input A_prev > 0",
            _relu_from_dZ,
        ),
    ],
}

#: Every chain mistake's key (the schema's list of mistakes adds them).
CHAIN_MISTAKE_KEYS = (
    "pool-gradient-to-first-entry",
    "pool-gradient-spread",
    "flatten-order-swapped",
    "flatten-order-swapped-forward",
    "relu-mask-from-dZ",
    "softmax-gradient-without-1/N",
    "mse-gradient-without-mean",
    "mse-gradient-without-2",
)


def _loss_mistakes(result: ChainResult) -> list[tuple[str, str, Any]]:
    """(key, what, the wrong dZ of the last layer) for the loss's gradient done wrong."""
    loss = result.chain.loss
    gradient = result.loss_gradient
    if loss is None or gradient is None:
        return []
    Z = np.asarray(result.forward_layers[-1].Z)
    found = []
    if loss.kind == "softmax-cross-entropy" and loss.reduction == "mean" and Z.ndim == 2 and Z.shape[0] > 1:
        found.append(
            (
                "softmax-gradient-without-1/N",
                f"gradient is softmax - one-hot without the 1/N of the mean over the batch (N = {Z.shape[0]})",
                gradient * Z.shape[0],
            )
        )
    if loss.kind == "mse":
        if loss.reduction == "mean" and Z.size > 1:
            found.append(
                (
                    "mse-gradient-without-mean",
                    f"gradient 2·(Z - target) is not divided by the number of entries ({Z.size})",
                    gradient * Z.size,
                )
            )
        found.append(("mse-gradient-without-2", "gradient leaves out the factor 2 of (Z - target)²", gradient / 2))
    return found


def chain_mistakes(result: ChainResult, fields: Mapping[str, Any] | None = None) -> list[ChainMistake]:
    """Every join mistake that applies to this chain, each recomputed (see the module docstring).
    ``fields`` (the chain's problem fields, as ``build_chain`` read them) allow the mistakes that
    change the forward walk too (the flatten order)."""
    chain = result.chain
    kinds = chain.kinds
    found: list[ChainMistake] = []
    for i, kind in enumerate(kinds):
        for key, what, rule in LAYER_RULES.get(kind, []):
            dZ_user = result.layers[i].problem.form.activation_from_canonical(result.layers[i].problem.dZ)
            try:
                arrays = walk_back(chain, i, dZ_user, rule)
            except InputError:
                continue
            found.append(ChainMistake(key, i + 1, kind, what, arrays))
    for key, what, wrong in _loss_mistakes(result):
        found.append(ChainMistake(key, 0, "loss", what, walk_back(chain, len(kinds) - 1, wrong)))
    if fields is not None:
        for i, kind in enumerate(kinds):
            if kind == "flatten":
                swapped = _flatten_forward(result, fields, i)
                if swapped is not None:
                    found.append(swapped)
    return found


def _flatten_forward(result: ChainResult, fields: Mapping[str, Any], i: int) -> ChainMistake | None:
    """The whole chain again with flatten layer i in the other order: Z of the layers from it on,
    every gradient, and the loss."""
    order = result.layers[i].problem.params["order"]
    other = "channels-last" if order == "channels-first" else "channels-first"
    layers = [dict(entry) for entry in fields["layers"]]
    layers[i] = {**layers[i], "order": other}
    exact = result.chain.domain.name == "exact"
    try:
        swapped = solve_chain(
            build_chain({**fields, "layers": layers, "exact": exact}, need_dZ=result.is_backward, float64=True)
        )
    except InputError:
        return None
    arrays: LayerArrays = []
    for j, layer in enumerate(swapped.layers):
        entry: dict[str, Any] = {"Z": layer.Z} if j >= i else {}
        if swapped.is_backward:
            if layer.problem.has_weights:
                entry.update(dW=layer.dW, db=layer.db)
            entry["dA_prev"] = layer.dA_prev
        arrays.append(entry)
    return ChainMistake(
        "flatten-order-swapped-forward",
        i + 1,
        "flatten",
        f"flattened in {other} order instead of {order} ({'Keras' if other == 'channels-last' else 'PyTorch'}'s "
        "order instead of the layout's)",
        arrays,
        loss=swapped.loss,
    )
