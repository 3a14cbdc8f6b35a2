"""The chain engine: a forward walk first to last, the loss, a backward walk last to first.

A chain problem holds ``"layers": [...]`` (each entry a layer object as in a single-layer
problem: its own ``"layer"`` key, W, b and settings), the chain's input ``A_prev``, and either
``dZ`` (the upstream gradient of the last layer's output) or ``"loss"`` (an object or a bare
string, read by ``losses.parse_loss``). The layout, ``dims`` and the number domain are the
chain's, shared by every layer. Pure: no I/O; messages for people are in ``ChainResult.notes``.

The interface (stable; other code builds on it):

- ``is_chain(fields) -> bool``: whether raw or canonical fields hold ``"layers"``.
- ``build_chain(fields, *, need_dZ, allow_nonfinite=False, float64=False, limits=DEFAULT) ->
  ChainProblem``: validates the layers in order, each on the shape the previous one produced
  (one ``InputError`` line naming the layer number, its kind and the shapes at the join), and
  runs the forward walk (a layer's input is the previous layer's Z, so building is computing).
- ``solve_chain(chain) -> ChainResult``: the loss value and its gradient, then the backward
  walk last to first (dZ of layer k = dA_prev of layer k + 1, in the user's form).
- ``ChainProblem``: ``layers`` (one ``problem.Problem`` per layer, dZ None: the forward
  problems), ``kinds`` (names), ``A_prev``, ``dZ`` (given, in the last Z's user form) or
  ``loss`` (a ``losses.Loss``), ``domain``, ``notes`` (sentences for stderr, such as why an
  ``--exact`` run computes in floats), ``need_dZ``.
- ``ChainResult``: ``layers`` (per layer an ``api.Result``: Z, dW, db, dA_prev, config,
  records/overlays; backward results after a backward walk, else the forward ones),
  ``forward_layers`` (the forward ``Result`` of every layer), ``joins`` (one ``Join`` per
  layer: where its dZ came from), ``loss`` (the value, or None), ``loss_gradient`` (dZ of the
  last layer as the loss gives it, user form), ``is_backward``, ``notes``, ``to_dict()``.
- ``Join(layer, source, source_layer, source_kind, shape, reshaped_from)``: ``source`` is
  ``"loss"``, ``"dZ"`` (given) or ``"layer"`` (``dA_prev`` of ``source_layer``);
  ``reshaped_from`` is the shape the source layer received before it reshaped (a flatten's
  dZ per sample), else None.
- ``select_layers(text, kinds) -> list[int]``: ``--layers`` ("1", "1,3", "2-4", "conv"),
  0-based layer positions in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InputError, UsageError
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from ..numbers import Domain, SymbolicDomain, describe_value, make_domain
from ..problem import (
    META_FIELDS,
    Problem,
    build_problem,
    canonical_fields,
    fmt_shape,
    host_array,
    parse_layer,
    to_array,
)

#: The most layers a chain may have (far past any exercise; keeps a hostile file's work bounded).
MAX_LAYERS = 100
#: The keys a chain problem holds at its top level (canonical names; aliases are read too).
CHAIN_FIELDS = ("layers", "loss", "A_prev", "dZ", "layout", "dims", "exact", "symbolic")
#: Keys that are the chain's, never one layer's.
_CHAIN_ONLY = ("A_prev", "dZ", "layout", "dims", "exact", "symbolic")
#: Kinds that only reshape: a join after one says "reshaped".
_RESHAPING = ("flatten",)
#: Kinds whose arrays have no spatial axes: the layers after them read the rank afresh.
_NO_SPATIAL = ("flatten", "dense")


def is_chain(fields: Mapping[str, Any]) -> bool:
    """Whether the fields describe a chain (they hold "layers")."""
    return "layers" in fields


def chain_fields(raw: Mapping[str, Any], source: str = "the input") -> dict[str, Any]:
    """A chain document's top-level keys, aliases renamed (A_prev's "x", dZ's "upstream", ...).

    "layers" and "loss" are kept as given; a key that belongs to one layer is refused naming it."""
    rest = {key: value for key, value in raw.items() if key not in ("layers", "loss")}
    fields = canonical_fields(rest, source=source)
    for key in fields:
        if key not in CHAIN_FIELDS and key not in META_FIELDS:
            raise InputError(
                f"{key} is a layer's setting, not the chain's: put it in the layer it belongs to in \"layers\""
            )
    for key in ("layers", "loss"):
        if key in raw:
            fields[key] = raw[key]
    return fields


@dataclass(frozen=True)
class Join:
    """Where the dZ of one layer came from (see the module docstring)."""

    layer: int  # 1-based
    source: str  # "loss", "dZ" or "layer"
    source_layer: int | None = None
    source_kind: str | None = None
    shape: tuple[int, ...] = ()
    reshaped_from: tuple[int, ...] | None = None

    def sentence(self, kinds: Sequence[str]) -> str:
        """ "dZ of layer 3 (max-pool) = dA_prev of layer 4 (flatten), reshaped (2, 4, 4) from (32,)"."""
        me = f"dZ of layer {self.layer} ({kinds[self.layer - 1]})"
        if self.source == "loss":
            return f"{me} = the loss's gradient dL/dZ, shape {fmt_shape(self.shape)}"
        if self.source == "dZ":
            return f"{me} = the dZ given, shape {fmt_shape(self.shape)}"
        text = f"{me} = dA_prev of layer {self.source_layer} ({self.source_kind})"
        if self.reshaped_from is not None:
            return text + f", reshaped {fmt_shape(self.shape)} from {fmt_shape(self.reshaped_from)}"
        return text + f", shape {fmt_shape(self.shape)}"


@dataclass(frozen=True)
class ChainProblem:
    """A validated chain: one forward problem per layer (see the module docstring)."""

    layers: tuple[Problem, ...]
    kinds: tuple[str, ...]
    domain: Domain
    dZ: np.ndarray | None = None  # given, in the user's form of the last Z
    loss: Any = None  # a losses.Loss
    need_dZ: bool = True
    notes: tuple[str, ...] = ()
    forward_results: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def A_prev(self) -> np.ndarray:
        first = self.layers[0]
        return first.form.activation_from_canonical(first.A_prev)

    @property
    def is_backward(self) -> bool:
        return self.need_dZ


def _flag_value(fields: Mapping[str, Any], name: str) -> bool:
    """exact / symbolic: true, false or not given (false)."""
    value = fields.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {describe_value(value)}")
    return value


def _layer_entries(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    layers = fields.get("layers")
    if not isinstance(layers, (list, tuple)) or not layers:
        raise InputError('"layers" must be a list of layer objects, such as [{"layer": "relu"}]')
    if len(layers) > MAX_LAYERS:
        raise InputError(f'"layers" has {len(layers):,} layers, more than the {MAX_LAYERS} a chain may have')
    entries = []
    for k, entry in enumerate(layers, start=1):
        if not isinstance(entry, Mapping):
            raise InputError(f'layer {k} is {describe_value(entry)}, not a layer object such as {{"layer": "relu"}}')
        own = canonical_fields(entry, source=f"layer {k}")
        name = parse_layer(own.get("layer")) if own.get("layer") is not None else None
        if name is None:
            raise InputError(f'layer {k} has no "layer" key: say its kind, such as {{"layer": "conv", "W": ...}}')
        for key in _CHAIN_ONLY:
            if key in own:
                raise InputError(
                    f"layer {k} ({name}): {key} is the chain's, given once at the top"
                    + (": a layer's input is the previous layer's output" if key == "A_prev" else "")
                )
        own["layer"] = name
        entries.append(own)
    return entries


def _nonrational(kinds: Sequence[str]) -> list[tuple[int, str]]:
    from ..layers import KINDS

    return [(k, name) for k, name in enumerate(kinds, start=1) if not getattr(KINDS[name], "rational", True)]


def build_chain(
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    allow_nonfinite: bool = False,
    float64: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> ChainProblem:
    """Validate a chain (canonical top-level fields, see ``chain_fields``) and walk it forward."""
    entries = _layer_entries(fields)
    kinds = tuple(entry["layer"] for entry in entries)
    exact, symbolic = _flag_value(fields, "exact"), _flag_value(fields, "symbolic")
    if fields.get("A_prev") is None:
        raise InputError("A_prev is missing: a chain's input is its A_prev")
    has_loss = fields.get("loss") is not None
    if has_loss and fields.get("dZ") is not None:
        raise InputError("give the chain's end once: dZ (the last layer's upstream gradient) or a loss, not both")
    if need_dZ and not has_loss and fields.get("dZ") is None and not symbolic:
        raise InputError(
            'the chain has no end: backward needs "dZ" (the last layer\'s upstream gradient) or a "loss"',
            hint='a loss such as "loss": "sum", {"kind": "mse", "target": ...} or '
            '{"kind": "softmax-cross-entropy", "labels": [...]}',
        )
    notes: list[str] = []
    if exact and not symbolic:
        floats = _nonrational(kinds)
        if floats:
            k, name = floats[0]
            notes.append(f"layer {k} ({name}) is not rational, so the chain is computed in floats, not --exact")
            exact = False
    domain = make_domain(exact=exact, symbolic=symbolic)
    problems, results = _walk_forward(fields, entries, kinds, domain, need_dZ, allow_nonfinite, float64, limits)
    loss = None
    if has_loss and need_dZ:
        from ..losses import parse_loss

        last = results[-1]
        try:
            loss = parse_loss(fields["loss"], tuple(np.shape(last.Z)), domain)
        except InputError as err:
            raise InputError(
                f"loss after layer {len(kinds)} ({kinds[-1]}, Z {fmt_shape(np.shape(last.Z))}): {err.message}",
                hint=err.hint,
            ) from None
        if domain.name == "exact" and not loss.rational:
            note = f"the loss {loss.kind} is not rational, so the chain is computed in floats, not --exact"
            floats_fields = {**fields, "exact": False}
            chain = build_chain(
                floats_fields, need_dZ=need_dZ, allow_nonfinite=allow_nonfinite, float64=float64, limits=limits
            )
            return dataclasses.replace(chain, notes=(note, *chain.notes))
    dZ = None
    if need_dZ and not has_loss:
        dZ = _final_dZ(fields, results[-1], problems[-1], kinds, domain, allow_nonfinite, limits)
    return ChainProblem(
        layers=tuple(problems),
        kinds=kinds,
        domain=domain,
        dZ=dZ,
        loss=loss,
        need_dZ=need_dZ,
        notes=tuple(notes),
        forward_results=tuple(results),
    )


def _walk_forward(
    fields: Mapping[str, Any],
    entries: list[dict[str, Any]],
    kinds: tuple[str, ...],
    domain: Domain,
    need_dZ: bool,
    allow_nonfinite: bool,
    float64: bool,
    limits: Limits,
) -> tuple[list[Problem], list[Any]]:
    """Each layer built on the previous one's Z, and its forward result."""
    from ..api import Result

    symbolic = isinstance(domain, SymbolicDomain)
    problems: list[Problem] = []
    results: list[Result] = []
    A_value: Any = fields["A_prev"]
    keep_dims = fields.get("dims")
    for k, (entry, name) in enumerate(zip(entries, kinds), start=1):
        layer_fields = dict(entry)
        layer_fields["A_prev"] = A_value
        for key in ("layout",):
            if fields.get(key) is not None:
                layer_fields[key] = fields[key]
        if keep_dims is not None:
            layer_fields["dims"] = keep_dims
        if symbolic:
            _own_names(layer_fields, k)
        try:
            problem = _build_layer(layer_fields, k, domain, allow_nonfinite, float64, limits)
            if symbolic and "b" not in entry and problem.W is not None and _takes_bias(name):
                # Each layer's automatic bias names are its own (b1_1, ...), never shared with another layer's.
                shape = problem.user_shapes["b"]
                layer_fields["b"] = {"shape": shape, "prefix": f"b{k}_"} if shape else {"shape": [], "prefix": f"b{k}"}
                problem = _build_layer(layer_fields, k, domain, allow_nonfinite, float64, limits)
            result = Result(problem)
            result.canonical_totals  # noqa: B018 - an overflow is this layer's error
        except InputError as err:
            raise _at_layer(err, k, kinds, results) from None
        problems.append(problem)
        results.append(result)
        Z = result.Z
        A_rank = len(problem.user_shapes["A_prev"])
        if np.ndim(Z) != A_rank or name in _NO_SPATIAL or problem.form.dims < 1:
            keep_dims = None  # past a change of rank (flatten, dense) the rank says what the arrays are
        elif keep_dims is None:
            keep_dims = problem.form.dims  # (N, C, L) after a 1-D layer stays 1-D, not one 2-D sample
        A_value = Z
    return problems, results


def _takes_bias(name: str) -> bool:
    from ..layers import KINDS

    return bool(KINDS[name].takes.bias)


def _own_names(layer_fields: dict[str, Any], k: int) -> None:
    """Under --symbolic, a W or b given by its shape gets names of this layer's own (w2_11, b2_1)."""
    for key, prefix in (("W", "w"), ("b", "b")):
        spec = layer_fields.get(key)
        if isinstance(spec, Mapping) and "prefix" not in spec:
            layer_fields[key] = {**spec, "prefix": f"{prefix}{k}_" if spec.get("shape") != [] else f"{prefix}{k}"}


def _build_layer(
    layer_fields: Mapping[str, Any], k: int, domain: Domain, allow_nonfinite: bool, float64: bool, limits: Limits
) -> Problem:
    return build_problem(
        layer_fields,
        need_dZ=False,
        domain=domain,
        allow_nonfinite=allow_nonfinite,
        float64=float64,
        limits=limits,
        suggest=k == 1,  # past the first layer A_prev is not the user's to reshape
    )


def _at_layer(err: InputError, k: int, kinds: Sequence[str], results: Sequence[Any]) -> InputError:
    """The error of layer k, prefixed with the layer and, past the first, the join it sits on."""
    where = f"layer {k} ({kinds[k - 1]})"
    if k > 1:
        shape = fmt_shape(np.shape(results[-1].Z))
        where += f" on the Z of layer {k - 1} ({kinds[k - 2]}), shape {shape}"
    else:
        where += " on the chain's A_prev"
    return type(err)(f"{where}: {err.message}", hint=err.hint)


def _final_dZ(
    fields: Mapping[str, Any],
    last: Any,
    problem: Problem,
    kinds: Sequence[str],
    domain: Domain,
    allow_nonfinite: bool,
    limits: Limits,
) -> np.ndarray:
    """The chain's dZ, in the last Z's user form, checked against its shape."""
    z_shape = tuple(np.shape(last.Z))
    value = fields.get("dZ")
    if value is None:  # symbolic: every entry named
        value = {"shape": list(z_shape)}
    dZ = to_array(value, "dZ", domain, allow_nonfinite, limits)
    if dZ.ndim == 0:
        dZ = np.full(z_shape, dZ[()], dtype=dZ.dtype)
    if dZ.shape != z_shape:
        raise InputError(
            f"dZ has shape {fmt_shape(dZ.shape)} but the chain's output, Z of layer {len(kinds)} "
            f"({kinds[-1]}), has shape {fmt_shape(z_shape)}"
        )
    if domain.dtype != object:
        dZ = dZ.astype(problem.A_prev.dtype, copy=False)
    return dZ


@dataclass(frozen=True)
class ChainResult:
    """A chain's forward walk, loss and backward walk (see the module docstring)."""

    chain: ChainProblem
    layers: tuple[Any, ...]
    joins: tuple[Join, ...]
    loss: Any = None
    loss_gradient: np.ndarray | None = None

    @property
    def forward_layers(self) -> tuple[Any, ...]:
        return self.chain.forward_results

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.chain.kinds

    @property
    def is_backward(self) -> bool:
        return self.chain.need_dZ

    @property
    def notes(self) -> tuple[str, ...]:
        return self.chain.notes

    @cached_property
    def dZ(self) -> np.ndarray | None:
        """The last layer's upstream gradient: given, or the loss's gradient."""
        return self.chain.dZ if self.loss_gradient is None else self.loss_gradient

    def to_dict(self) -> dict[str, Any]:
        """Plain values: {"loss": {...} or None, "layers": [{"layer": 1, "kind": ..., "Z": ..., ...}]}."""
        layers = []
        for k, (result, join) in enumerate(zip(self.layers, self.joins), start=1):
            entry: dict[str, Any] = {"layer": k, "kind": self.kinds[k - 1], "Z": result.Z}
            if self.is_backward:
                if result.problem.has_weights:
                    entry.update({"dW": result.dW, "db": result.db})
                entry["dA_prev"] = result.dA_prev
                entry["dZ_from"] = join_object(join)
            entry["config"] = result.config
            layers.append(entry)
        return {"loss": self.loss_object(), "layers": layers}

    def loss_object(self) -> dict[str, Any] | None:
        """The loss's kind, reduction, value and gradient (None when the chain ends in a given dZ)."""
        loss = self.chain.loss
        if loss is None or not self.is_backward:
            return None
        return {
            "kind": loss.kind,
            "reduction": loss.reduction,
            "value": self.loss,
            "gradient": self.loss_gradient,
        }


def join_object(join: Join) -> dict[str, Any]:
    """A Join as plain values."""
    return {
        "source": join.source,
        "layer": join.source_layer,
        "kind": join.source_kind,
        "shape": list(join.shape),
        "reshaped_from": None if join.reshaped_from is None else list(join.reshaped_from),
    }


def solve_chain(chain: ChainProblem) -> ChainResult:
    """The loss (if any), then the backward walk last to first."""
    from ..api import Result

    forward = chain.forward_results
    n = len(chain.layers)
    if not chain.need_dZ:
        return ChainResult(chain, forward, tuple(Join(k, "none") for k in range(1, n + 1)))
    value: Any = None
    gradient: np.ndarray | None = None
    upstream: Any
    last_Z = forward[-1].Z
    if chain.loss is not None:
        from .. import losses

        try:
            with np.errstate(all="ignore"):
                value = losses.loss_value(chain.loss, last_Z)
                gradient = np.asarray(losses.loss_gradient(chain.loss, last_Z))
        except InputError as err:
            raise InputError(f"the loss {chain.loss.kind}: {err.message}", hint=err.hint) from None
        if chain.domain.dtype == object:
            value = chain.domain.finalize(np.asarray(value, dtype=object))[()]
            gradient = chain.domain.finalize(np.asarray(gradient, dtype=object))
        upstream = gradient
        first_join = Join(n, "loss", shape=tuple(np.shape(gradient)))
    else:
        assert chain.dZ is not None
        upstream = chain.dZ
        first_join = Join(n, "dZ", shape=tuple(np.shape(upstream)))
    results: list[Any] = [None] * n
    joins: list[Join] = [first_join] * n
    for i in range(n - 1, -1, -1):
        problem = chain.layers[i]
        dZ = problem.form.activation_to_canonical(np.asarray(upstream))
        if problem.domain.dtype != object:
            dZ = np.ascontiguousarray(dZ, dtype=problem.A_prev.dtype)
        else:
            dZ = np.asarray(dZ, dtype=object)
        dZ.flags.writeable = False
        result = Result(dataclasses.replace(problem, dZ=dZ))
        try:
            result.canonical_totals  # noqa: B018 - an overflow is this layer's error
        except InputError as err:
            raise InputError(f"layer {i + 1} ({chain.kinds[i]}), backward: {err.message}", hint=err.hint) from None
        results[i] = result
        if i > 0:
            reshaped = None
            if chain.kinds[i] in _RESHAPING:
                reshaped = tuple(np.shape(upstream))
            upstream = result.dA_prev
            joins[i - 1] = Join(i, "layer", i + 1, chain.kinds[i], tuple(np.shape(upstream)), reshaped)
    return ChainResult(chain, tuple(results), tuple(joins), value, gradient)


def chain(
    A_prev: Any,
    layers: Sequence[Mapping[str, Any]],
    dZ: Any = None,
    loss: Any = None,
    **config: Any,
) -> ChainResult:
    """Forward through ``layers`` (each a dict as in a problem file) and, given ``dZ`` or ``loss``,
    backward. ``config``: layout, dims, exact, symbolic, allow_nonfinite (as in the JSON)."""
    allow_nonfinite = bool(config.pop("allow_nonfinite", False))
    given = {"A_prev": A_prev.copy() if isinstance(A_prev, np.ndarray) else A_prev}
    if dZ is not None:
        given["dZ"] = dZ.copy() if isinstance(dZ, np.ndarray) else dZ
    # Each layer is copied when it is a mapping; anything else reaches the checks as it is, which
    # name it in one line (a string, None, a list of numbers).
    copied = (
        [dict(layer) if isinstance(layer, Mapping) else layer for layer in layers]
        if isinstance(layers, (list, tuple))
        else layers
    )
    raw = {**given, **config, "layers": copied}
    if isinstance(loss, Mapping):  # labels or a target may be a tensor, as the arrays may
        loss = {key: host_array(value, f"loss {key}") for key, value in loss.items()}
    if loss is not None:
        raw["loss"] = loss
    fields = chain_fields(raw, source="the arguments")
    need_dZ = dZ is not None or loss is not None or _flag_value(fields, "symbolic")
    try:
        problem = build_chain(fields, need_dZ=need_dZ, allow_nonfinite=allow_nonfinite)
    except RecursionError:
        raise InputError("an argument is nested too deeply to read") from None
    return solve_chain(problem)


def overlay_chooser(
    chain: ChainResult, shown: Sequence[int], selection: Any, table: bool, limit: int, first: int
) -> tuple[Callable[[int, Any], Iterable[int]], list[int]]:
    """Which overlays each layer shows, and the layers (numbered from 1) cut to their ``first``.

    As for one layer, the automatic selection of a table shows a layer whole up to ``limit``
    overlays and its first ``first`` beyond; any other selection applies to every layer."""
    from ..selection import AUTO

    capped = [
        i + 1 for i in shown if selection is AUTO and table and chain.layers[i].problem.geom.overlay_count > limit
    ]

    def choose(k: int, layer: Any) -> Iterable[int]:
        if k in capped:
            return range(first)
        indices: Iterable[int] = selection.indices(layer.problem.geom)
        return indices

    return choose, capped


def select_layers(text: str, kinds: Sequence[str]) -> list[int]:
    """``--layers``: "1", "1,3", "2-4", a kind ("conv"), or a mix; 0-based positions in order."""
    chosen: set[int] = set()
    n = len(kinds)
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise UsageError("--layers is empty: give layer numbers (1,3 or 2-4) or a kind (conv)")
    for part in parts:
        if not part:
            continue
        if part.replace("-", "").isdigit():
            low, _, high = part.partition("-")
            if not low:
                raise UsageError(f"--layers {part!r}: a layer number or range starts with a number, such as 2-4")
            first, last = int(low), int(high) if high else int(low)
            if not 1 <= first <= last <= n:
                raise UsageError(f"--layers {part!r}: the chain has layers 1-{n}")
            chosen.update(range(first - 1, last))
            continue
        try:
            name = parse_layer(part)
        except InputError:
            raise UsageError(f"--layers {part!r} is neither a layer number nor a kind in the chain") from None
        found = [i for i, kind in enumerate(kinds) if kind == name]
        if not found:
            raise UsageError(f"--layers {part!r}: the chain has no {name} layer (its layers: {', '.join(kinds)})")
        chosen.update(found)
    return sorted(chosen)
