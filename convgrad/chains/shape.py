"""shape of a chain: the shapes through the network, layer by layer, and the weights per layer and in
total. Pure: no I/O.

Arrays given by their shape only (``{"shape": [2, 3, 8, 8]}``) stand for zeros: only shapes matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from .engine import build_chain


@dataclass(frozen=True)
class ShapeRow:
    """One layer: its kind, the shapes in and out (user form), W's and b's, counts, settings."""

    layer: int
    kind: str
    A_prev: tuple[int, ...]
    Z: tuple[int, ...]
    W: tuple[int, ...] | None
    b: tuple[int, ...] | None
    weights: int
    biases: int
    overlays: int
    settings: dict[str, Any]

    @property
    def parameters(self) -> int:
        return self.weights + self.biases


def _zeros(value: Any) -> Any:
    if isinstance(value, Mapping) and "shape" in value and isinstance(value["shape"], (list, tuple)):
        return np.zeros(tuple(int(n) for n in value["shape"]))
    return value


def chain_shapes(fields: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> list[ShapeRow]:
    """The rows of ``shape`` for a chain: each layer built on the shape the one before produced."""
    given = {key: value for key, value in fields.items() if key not in ("dZ", "loss", "exact", "symbolic")}
    given["A_prev"] = _zeros(given.get("A_prev"))
    layers = fields.get("layers")
    if isinstance(layers, list):
        given["layers"] = [
            {
                key: _zeros(value) if key in ("W", "b", "weight", "w", "kernel", "bias") else value
                for key, value in entry.items()
            }
            if isinstance(entry, Mapping)
            else entry
            for entry in layers
        ]
    chain = build_chain(given, need_dZ=False, float64=True, limits=limits)
    rows = []
    for k, (problem, result) in enumerate(zip(chain.layers, chain.forward_results), start=1):
        shapes = problem.user_shapes
        W = tuple(shapes["W"]) if problem.W is not None else None
        b = tuple(shapes["b"]) if problem.W is not None and problem.b is not None else None
        settings = {
            key: value
            for key, value in result.config.items()
            if key not in ("layer", "form", "layout", "dims", "batch", "shapes", "overlay_count", "numbers")
            and key not in ("channels", "input_size", "output_size", "in_channels", "out_channels", "kernel_size")
        }
        rows.append(
            ShapeRow(
                layer=k,
                kind=chain.kinds[k - 1],
                A_prev=tuple(shapes["A_prev"]),
                Z=tuple(shapes["Z"]),
                W=W,
                b=b,
                weights=int(problem.W.size) if problem.W is not None else 0,
                biases=int(problem.b.size) if problem.W is not None and problem.b is not None else 0,
                overlays=problem.geom.overlay_count,
                settings=settings,
            )
        )
    return rows
