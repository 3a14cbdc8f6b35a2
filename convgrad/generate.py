"""Random problems a teacher can hand out, reproducible from a seed. Pure: returns the problem dict.

Numbers are small and hand-computable by default: inputs are small integers,
weights and upstream gradients one-decimal numbers in [-1, 1], and no weight or dZ entry is 0
(so every overlay adds something to every gradient).

The value spec (``--values``): a style, then modifiers, comma-separated:

- ``small`` (default): A_prev integers 0..3; W, b, dZ multiples of 0.1 in [-1, 1]
- ``int`` (integers -3..3) or ``int:LO..HI``
- ``decimal`` (multiples of 0.1 in [-1, 1]), ``decimal:STEP`` or ``decimal:STEP:LO..HI``
- modifier ``nonzero``: no zero in any array (A_prev and b too)
- modifier ``zeros``: zeros allowed in W and dZ as well (the draws before 0.2.0 allowed them)

Each array's entries are drawn uniformly from the allowed values.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from math import prod
from typing import Any

import numpy as np

from .errors import InputError

VALUE_STYLES = ("small", "int", "decimal")
VALUE_MODIFIERS = ("nonzero", "zeros")
#: Roles that are never 0 by default: a zero weight or dZ entry makes a term or an overlay add nothing.
NONZERO_BY_DEFAULT = ("W", "dZ")
#: A value list longer than this is a typo (decimal:0.0001:-1000..1000), not a hand-out.
MAX_CHOICES = 100_000
#: Generated problems are for people: far below this in practice.
MAX_ENTRIES = 1_000_000


@dataclass(frozen=True)
class Spec:
    """What to generate. size/kernel: per spatial dim (one int for all). channels, filters,
    batch: None for the bare form (one channel, one filter, no batch)."""

    dims: int = 2
    size: tuple[int, ...] | int | None = None
    kernel: tuple[int, ...] | int = 2
    stride: tuple[int, ...] | int | None = 1  # None: the kind's default (pooling: the window size)
    padding: Any = 0
    dilation: tuple[int, ...] | int = 1
    channels: int | None = None
    filters: int | None = None
    batch: int | None = None
    groups: int = 1
    bias: bool = False
    values: str = "small"
    layout: str | None = None
    mode: str | None = None
    seed: int | None = None
    layer: str = "conv"
    slope: Any = None


def _per_dim(value: Any, dims: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(value)
    if len(value) != dims:
        raise InputError(f"--{name} has {len(value)} entries but --dims is {dims}")
    return value


@dataclass(frozen=True)
class Values:
    """A parsed ``--values`` spec: the numbers each role draws from (see the module docstring)."""

    style: str
    step: Decimal | None
    low: Decimal | None
    high: Decimal | None
    nonzero: bool
    zeros: bool

    def choices(self, role: str) -> list[Any]:
        """The values an entry of this role (A_prev, W, b, dZ) is drawn from, in increasing order."""
        if self.style == "small":
            values: list[Any] = list(range(0, 4)) if role == "A_prev" else _steps(Decimal("0.1"), -1, 1)
        elif self.style == "int":
            low = int(self.low) if self.low is not None else -3
            high = int(self.high) if self.high is not None else 3
            values = list(range(low, high + 1))
        else:
            step = self.step if self.step is not None else Decimal("0.1")
            low_d = self.low if self.low is not None else Decimal(-1)
            high_d = self.high if self.high is not None else Decimal(1)
            values = _steps(step, low_d, high_d)
        if self.nonzero or (role in NONZERO_BY_DEFAULT and not self.zeros):
            values = [v for v in values if v != 0]
        return values


def _steps(step: Decimal, low: Decimal | int, high: Decimal | int) -> list[Decimal]:
    """Multiples of step in [low, high], as exact Decimals (step 0.1 writes 0.3, not 0.30000000000000004)."""
    first = -((-Decimal(low)) // step)  # ceil(low / step)
    last = Decimal(high) // step
    count = int(last - first) + 1
    if count > MAX_CHOICES:
        raise InputError(f"--values: step {step} on [{low}, {high}] gives {count:,} values; at most {MAX_CHOICES:,}")
    return [(first + i) * step for i in range(max(0, count))]


def _number(text: str, spec: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"--values {spec!r}: {text!r} is not a number") from None
    if not value.is_finite():
        raise InputError(f"--values {spec!r}: {text!r} is not a finite number")
    return value


def _range(text: str, spec: str) -> tuple[Decimal, Decimal]:
    low, sep, high = text.partition("..")
    if not sep:
        raise InputError(f"--values {spec!r}: a range is LO..HI, like -3..3 (got {text!r})")
    lo, hi = _number(low, spec), _number(high, spec)
    if lo > hi:
        raise InputError(f"--values {spec!r}: the range {text} is empty (LO is above HI)")
    return lo, hi


def parse_values(spec: str) -> Values:
    """``small``, ``int:-3..3``, ``decimal:0.25:-2..2,nonzero``, ... (the module docstring)."""
    parts = [part.strip() for part in spec.split(",")]
    head, modifiers = parts[0], parts[1:]
    style, _, rest = head.partition(":")
    style = style.strip().lower()
    if style in VALUE_MODIFIERS and not rest:  # a modifier alone: on the default style
        style, modifiers = "small", parts
    if style not in VALUE_STYLES:
        raise InputError(f"--values must be one of {', '.join(VALUE_STYLES)}, got {spec!r}")
    unknown = [m for m in modifiers if m.lower() not in VALUE_MODIFIERS]
    if unknown:
        raise InputError(f"--values {spec!r}: {unknown[0]!r} is not a modifier (they are {', '.join(VALUE_MODIFIERS)})")
    flags = {m.lower() for m in modifiers}
    if flags == set(VALUE_MODIFIERS):
        raise InputError(f"--values {spec!r}: nonzero and zeros contradict each other")
    step = low = high = None
    if rest:
        if style == "small":
            raise InputError(f"--values {spec!r}: small takes no range; use int:LO..HI or decimal:STEP:LO..HI")
        if style == "int":
            low, high = _range(rest, spec)
            if low != low.to_integral_value() or high != high.to_integral_value():
                raise InputError(f"--values {spec!r}: int ranges take whole numbers")
        else:
            step_text, _, range_text = rest.partition(":")
            step = _number(step_text, spec)
            if step <= 0:
                raise InputError(f"--values {spec!r}: the step must be above 0")
            if range_text:
                low, high = _range(range_text, spec)
    return Values(style, step, low, high, "nonzero" in flags, "zeros" in flags)


def _numbers(rng: np.random.Generator, shape: tuple[int, ...], values: Values, role: str) -> Any:
    """Nested lists of ints or exact Decimals (exact when written as JSON)."""
    choices = values.choices(role)
    if not choices:
        raise InputError(f"--values leaves no value to draw {role} from (every value in the range is 0)")
    picks = rng.integers(0, len(choices), size=shape)
    table = np.empty(len(choices), dtype=object)
    table[:] = choices
    drawn = table[picks]
    return drawn.tolist() if isinstance(drawn, np.ndarray) else drawn


def default_size(dims: int) -> int:
    return {1: 5, 2: 4, 3: 3}.get(dims, 3)


def generate(spec: Spec) -> tuple[dict[str, Any], int]:
    """(problem dict in the format ``backward --input`` reads, the seed used)."""
    values = parse_values(spec.values)
    if spec.dims < 1 or spec.dims > 3:
        raise InputError(f"--dims must be 1, 2 or 3, got {spec.dims}")
    seed = spec.seed if spec.seed is not None else secrets.randbelow(10**9)
    rng = np.random.default_rng(seed)
    d = spec.dims
    size = _per_dim(spec.size if spec.size is not None else default_size(d), d, "size")
    transposed = spec.layer == "conv-transpose"
    if spec.layer != "conv" and not transposed:
        return _generate_entrywise(spec, rng, seed, size, values), seed
    kernel = _per_dim(spec.kernel, d, "kernel")
    channelled = spec.channels is not None or spec.filters is not None or spec.batch is not None or spec.groups != 1
    c_in = spec.channels or spec.groups
    c_out = spec.filters or spec.groups
    if channelled:
        a_shape: tuple[int, ...] = (c_in,) + size
        w_shape: tuple[int, ...] = (c_out, max(1, c_in // spec.groups)) + kernel
        if transposed:  # a transposed convolution's W is (C_in, C_out/groups, *k)
            w_shape = (c_in, max(1, c_out // spec.groups)) + kernel
        if spec.batch is not None:
            a_shape = (spec.batch,) + a_shape
        last = spec.layout is not None and spec.layout.strip().upper().endswith("C")
        if last:
            a_shape = a_shape[: -d - 1] + size + (c_in,)
            w_shape = kernel + (max(1, c_in // spec.groups), c_out)
            if transposed:  # TensorFlow's (*k, C_out/groups, C_in)
                w_shape = kernel + (max(1, c_out // spec.groups), c_in)
    else:
        a_shape, w_shape = size, kernel
    for name, shape in (("A_prev", a_shape), ("W", w_shape)):
        if prod(shape) > MAX_ENTRIES:
            raise InputError(
                f"the generated {name} would have shape {tuple(shape)}, {prod(shape):,} entries: "
                f"generate makes problems of at most {MAX_ENTRIES:,} entries per array"
            )
    recorded = record(spec, seed, size, kernel)
    problem: dict[str, Any] = {}
    problem["description"] = f"Generated by {recorded['command']}."
    problem["generated_by"] = recorded
    if transposed:
        problem["layer"] = "conv-transpose"
    problem["A_prev"] = _numbers(rng, a_shape, values, "A_prev")
    problem["W"] = _numbers(rng, w_shape, values, "W")
    if spec.bias:
        problem["b"] = _numbers(rng, (c_out,) if channelled else (), values, "b")
    for key, value, default in (
        ("stride", spec.stride, 1),
        ("padding", spec.padding, 0),
        ("dilation", spec.dilation, 1),
        ("groups", spec.groups, 1),
    ):
        if value != default:
            problem[key] = list(value) if isinstance(value, tuple) else value
    if spec.layout is not None:
        problem["layout"] = spec.layout
    if spec.mode is not None:
        problem["mode"] = spec.mode
    if not channelled and d == 3:
        problem["dims"] = 3  # a bare 3-D volume reads as channels-first 1-D otherwise

    # The output shape, and so dZ's, comes from validating the problem as every command would.
    from .problem import build_problem, canonical_fields

    checked = build_problem(canonical_fields(problem, "the generated problem"), need_dZ=False)
    z_shape = tuple(checked.user_shapes["Z"])
    problem["dZ"] = _numbers(rng, z_shape, values, "dZ")
    return problem, seed


def _generate_entrywise(
    spec: Spec, rng: np.random.Generator, seed: int, size: tuple[int, ...], values: Values
) -> dict[str, Any]:
    """A problem for a kind without weights: A_prev (with negatives, and some zeros for the branch
    kinds to decide) and dZ of the same shape; channels and batch as asked."""
    from .problem import parse_layer

    layer = parse_layer(spec.layer)
    d = spec.dims
    shape: tuple[int, ...] = size
    if spec.channels is not None or spec.batch is not None:
        channels = spec.channels or 1
        last = spec.layout is not None and spec.layout.strip().upper().endswith("C")
        shape = size + (channels,) if last else (channels,) + size
        if spec.batch is not None:
            shape = (spec.batch,) + shape
    if prod(shape) > MAX_ENTRIES:
        raise InputError(
            f"the generated A_prev would have shape {shape}, {prod(shape):,} entries: "
            f"generate makes problems of at most {MAX_ENTRIES:,} entries per array"
        )
    # an activation needs negative inputs: small draws A_prev from the integers -3..3
    inputs = parse_values("int") if values.style == "small" else values
    recorded = record(spec, seed, size, _per_dim(spec.kernel, d, "kernel"))
    problem: dict[str, Any] = {"description": f"Generated by {recorded['command']}.", "generated_by": recorded}
    problem["layer"] = layer
    if spec.slope is not None:
        problem["slope"] = spec.slope
    problem["A_prev"] = _numbers(rng, shape, inputs, "A_prev")
    if spec.layout is not None and len(shape) > d:
        problem["layout"] = spec.layout
    from .problem import infer_entrywise_form

    if infer_entrywise_form(shape, None, False).dims != d:
        problem["dims"] = d  # the rank alone would read these axes otherwise (a bare 3-D volume, say)
    z_shape = shape
    if layer.endswith("-pool"):  # a window size and steps; dZ is shaped like the pooled Z
        for key, value, default in (
            ("size", spec.kernel, None),
            ("stride", spec.stride, None),
            ("padding", spec.padding, 0),
            ("dilation", spec.dilation, 1),
        ):
            if value != default:
                problem[key] = list(value) if isinstance(value, tuple) else value
        from .problem import build_problem, canonical_fields

        checked = build_problem(canonical_fields(problem, "the generated problem"), need_dZ=False)
        z_shape = tuple(checked.user_shapes["Z"])
    problem["dZ"] = _numbers(rng, z_shape, values, "dZ")
    return problem


def _flag_text(value: Any) -> str:
    """An option's value as its flag takes it: 3, 3,4, same, or JSON for nested padding."""
    if isinstance(value, (tuple, list)):
        if any(isinstance(v, (tuple, list)) for v in value):
            import json

            return json.dumps(value, separators=(",", ":"))
        return ",".join(_flag_text(v) for v in value)
    return str(value)


def record(spec: Spec, seed: int, size: tuple[int, ...], kernel: tuple[int, ...]) -> dict[str, Any]:
    """Every option that shaped the problem, with the value used (defaults filled in), and the
    command line that makes the same problem again: {"command": ..., "options": {...}}."""
    options: dict[str, Any] = {
        "layer": None if spec.layer == "conv" else spec.layer,
        "slope": spec.slope,
        "dims": spec.dims,
        "size": list(size),
        "kernel": list(kernel),
        "stride": list(spec.stride) if isinstance(spec.stride, tuple) else spec.stride,
        "padding": list(spec.padding) if isinstance(spec.padding, tuple) else spec.padding,
        "dilation": list(spec.dilation) if isinstance(spec.dilation, tuple) else spec.dilation,
        "channels": spec.channels,
        "filters": spec.filters,
        "batch": spec.batch,
        "groups": spec.groups,
        "bias": spec.bias,
        "values": spec.values,
        "layout": spec.layout,
        "mode": spec.mode,
        "seed": seed,
    }
    words = ["convgrad", "generate"]
    for name, value in options.items():
        if value is None or name == "seed":
            continue
        if name == "bias":
            words.append("--bias" if value else "--no-bias")
            continue
        text = _flag_text(value)
        words += [f"--{name}", text if _plain(text) else _quoted(text)]
    words += ["--seed", str(seed)]
    return {"command": " ".join(words), "options": options}


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _plain(text: str) -> bool:
    """Whether a shell reads the word as it is (no quoting needed)."""
    return bool(text) and all(c.isalnum() or c in "-_.,:+/=" for c in text)
