"""generate --chain: a random chain problem (``"layers"``) and its answer key. Pure: no I/O.

``--chain conv,relu,max-pool,flatten,dense --loss softmax-cross-entropy`` draws, from a seed:
A_prev (N, C, H, W) channels-first (or NHWC with --layout), each conv a 3x3 (--kernel) with
padding k // 2 so that it keeps the size, each pooling a 2x2 window with stride 2, each dense layer
``--filters`` units (hidden) or ``--classes`` (the last), and the end: labels for cross-entropy, a
target for mse, nothing for sum, or dZ (``--loss none``). Small integers for A_prev, the kernels and
biases, halves for a dense layer's weights, one decimal for dZ and the mse target, so that the key
is exact wherever the chain is rational.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, UsageError

#: The kinds --chain draws (conv-transpose is left out: its sizes grow).
CHAIN_KINDS = ("conv", "relu", "leaky-relu", "sigmoid", "tanh", "max-pool", "avg-pool", "flatten", "dense")
LOSS_WORDS = ("softmax-cross-entropy", "mse", "sum", "none")


@dataclass(frozen=True)
class ChainSpec:
    """What to draw: the kinds in order, the loss word, the sizes and the seed."""

    kinds: tuple[str, ...]
    loss: str = "softmax-cross-entropy"
    batch: int = 2
    channels: int = 1
    size: int = 4
    kernel: int = 3
    filters: int = 2
    classes: int = 3
    layout: str | None = None
    seed: int | None = None


def parse_chain(text: str) -> tuple[str, ...]:
    """--chain "conv,relu,max-pool,flatten,dense" -> the kinds (aliases as in problems)."""
    from ..problem import parse_layer

    kinds = []
    for part in text.split(","):
        word = part.strip()
        if not word:
            raise UsageError(f"--chain {text!r} has an empty entry: name the kinds separated by commas")
        try:
            name = parse_layer(word)
        except InputError:
            raise UsageError(f"--chain: {word!r} is not a layer kind ({', '.join(CHAIN_KINDS)})") from None
        if name not in CHAIN_KINDS:
            raise UsageError(f"--chain: generate does not draw {name} layers yet ({', '.join(CHAIN_KINDS)})")
        kinds.append(name)
    return tuple(kinds)


def parse_loss_word(text: str | None, kinds: tuple[str, ...]) -> str:
    """--loss: one of LOSS_WORDS (aliases of losses.parse_kind); by default cross-entropy after a
    dense layer, else sum."""
    if text is None:
        return "softmax-cross-entropy" if kinds and kinds[-1] == "dense" else "sum"
    word = text.strip().lower()
    if word in ("none", "dz"):
        return "none"
    from ..losses import parse_kind

    try:
        return parse_kind(word)
    except InputError:
        raise UsageError(f"--loss {text!r} is not one of: {', '.join(LOSS_WORDS)}") from None


def _ints(rng: np.random.Generator, shape: tuple[int, ...], low: int, high: int) -> list[Any]:
    return rng.integers(low, high + 1, size=shape).tolist()


def _tenths(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    return (rng.integers(-9, 10, size=shape) / 10).tolist()


def _halves(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    return (rng.integers(-2, 3, size=shape) / 2).tolist()


def generate_chain(spec: ChainSpec) -> tuple[dict[str, Any], int]:
    """(the chain problem as a dict ``backward`` reads, the seed used)."""
    if not spec.kinds:
        raise UsageError("--chain names no layers")
    for name, value in (("--batch", spec.batch), ("--channels", spec.channels), ("--filters", spec.filters)):
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    if spec.size < 1 or spec.kernel < 1 or spec.classes < 2:
        raise UsageError("--size and --kernel must be at least 1, --classes at least 2")
    seed = spec.seed if spec.seed is not None else secrets.randbelow(10**9)
    rng = np.random.default_rng(seed)
    last_layout = spec.layout is not None and spec.layout.strip().upper().endswith("C")
    N, C, H = spec.batch, spec.channels, spec.size
    shape: tuple[int, ...] = (N, C, H, H)  # canonical while spatial; (N, F) after flatten or dense
    layers: list[dict[str, Any]] = []
    dense_count = sum(1 for kind in spec.kinds if kind == "dense")
    seen_dense = 0
    for k, kind in enumerate(spec.kinds, start=1):
        spatial = len(shape) == 4
        if kind == "conv":
            if not spatial:
                raise UsageError(f"--chain: layer {k} (conv) comes after a flatten or dense layer: its input is 2-D")
            kk = spec.kernel
            W = rng.integers(-2, 3, size=(spec.filters, shape[1], kk, kk))
            if last_layout:
                W = W.transpose(2, 3, 1, 0)
            layers.append(
                {"layer": "conv", "W": W.tolist(), "b": _ints(rng, (spec.filters,), -1, 1), "padding": kk // 2}
            )
            size = shape[2] + 2 * (kk // 2) - kk + 1
            shape = (N, spec.filters, size, size)
        elif kind in ("max-pool", "avg-pool"):
            if not spatial:
                raise UsageError(f"--chain: layer {k} ({kind}) comes after a flatten or dense layer: its input is 2-D")
            if shape[2] < 2:
                raise UsageError(
                    f"--chain: layer {k} ({kind}) would pool a {shape[2]}x{shape[3]} input with a 2x2 window: "
                    "give a larger --size"
                )
            layers.append({"layer": kind, "size": 2, "stride": 2})
            shape = (N, shape[1], shape[2] // 2, shape[3] // 2)
        elif kind == "flatten":
            if not spatial:
                raise UsageError(f"--chain: layer {k} (flatten) has nothing to flatten: its input is already 2-D")
            layers.append({"layer": "flatten"})
            shape = (N, int(np.prod(shape[1:])))
        elif kind == "dense":
            if spatial:
                raise UsageError(
                    f"--chain: layer {k} (dense) needs (N, features): put flatten before it (--chain ...,flatten,dense)"
                )
            seen_dense += 1
            units = spec.classes if seen_dense == dense_count and k == len(spec.kinds) else spec.filters
            layers.append({"layer": "dense", "W": _halves(rng, (units, shape[1])), "b": _ints(rng, (units,), -1, 1)})
            shape = (N, units)
        else:
            entry: dict[str, Any] = {"layer": kind}
            layers.append(entry)
    a_shape = (N, C, H, H)
    A = rng.integers(-3, 4, size=a_shape)
    if last_layout:
        A = A.transpose(0, 2, 3, 1)
    user_out = shape if len(shape) == 2 or not last_layout else (shape[0], shape[2], shape[3], shape[1])
    command = (
        f"convgrad generate --chain {','.join(spec.kinds)} --loss {spec.loss} --batch {N} --channels {C} "
        f"--size {H} --kernel {spec.kernel} --filters {spec.filters} --classes {spec.classes}"
        + (f" --layout {'NHWC' if last_layout else 'NCHW'}" if spec.layout is not None else "")
        + f" --seed {seed}"
    )
    problem: dict[str, Any] = {
        "description": f"Generated by {command}.",
        "A_prev": A.tolist(),
    }
    if spec.layout is not None:
        problem["layout"] = "NHWC" if last_layout else "NCHW"
    problem["layers"] = layers
    loss = spec.loss
    if loss == "softmax-cross-entropy":
        if len(shape) != 2:
            raise UsageError("--loss softmax-cross-entropy needs the chain to end in (N, classes): end it with dense")
        problem["loss"] = {"kind": loss, "labels": rng.integers(0, shape[1], size=N).tolist()}
    elif loss == "mse":
        problem["loss"] = {"kind": "mse", "target": _tenths(rng, user_out)}
    elif loss == "sum":
        problem["loss"] = "sum"
    else:
        problem["dZ"] = _tenths(rng, user_out)
    return problem, seed


def chain_key(problem: dict[str, Any]) -> dict[str, Any]:
    """The answer key of a chain problem: per layer Z and its gradients, and the loss value; exact
    where every layer and the loss are rational."""
    from .engine import build_chain, chain_fields, solve_chain

    fields = chain_fields({**problem, "exact": True}, source="the generated problem")
    result = solve_chain(build_chain(fields, need_dZ=True))
    layers = []
    for layer in result.layers:
        answer: dict[str, Any] = {"Z": layer.Z}
        if layer.problem.has_weights:
            answer.update(dW=layer.dW, db=layer.db)
        answer["dA_prev"] = layer.dA_prev
        layers.append(answer)
    key: dict[str, Any] = {"layers": layers}
    if result.loss is not None:
        key["loss"] = result.loss
    return key
