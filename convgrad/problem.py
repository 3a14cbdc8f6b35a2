"""From raw fields (a JSON object, flags, or API arguments) to a validated problem.

This is the one validation layer: the CLI and the Python API both call
``build_problem``; the engine trusts what it returns. Every error is an
``InputError`` naming the field, and the shapes where shapes are the trouble.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError, option
from .forms import BARE, BATCHED, UNBATCHED, Form, parse_layout
from .geometry import Geometry, PaddingPairs
from .layers import DEFAULT_KIND, KINDS, ColumnKind, kind_names
from .limits import DEFAULT as DEFAULT_LIMITS
from .limits import Limits, check_elements, check_exact_work
from .numbers import (
    MAX_EXPONENT,
    Domain,
    SymbolicDomain,
    check_name,
    check_number_value,
    describe_value,
    echo_text,
    entry_path,
    make_domain,
    parse_number_text,
    too_large,
)

ARRAY_FIELDS = ("A_prev", "W", "b", "dZ")
CONFIG_FIELDS = (
    "stride",
    "padding",
    "dilation",
    "groups",
    "layout",
    "mode",
    "dims",
    "exact",
    "symbolic",
    "layer",
    "slope",
    "output_padding",
    "size",
    "ceil_mode",
    "ties",
    "count_padding",
    "order",
    "W_layout",
)
#: Keys every kind takes: the arrays' layout and rank, the number domain, the kind itself.
SHARED_FIELDS = ("A_prev", "dZ", "layout", "dims", "exact", "symbolic", "layer")
#: Keys that describe a problem file without changing the computation.
META_FIELDS = ("description", "generated_by", "$schema")

#: Other names people use for each field (PyTorch, TensorFlow, courses, textbooks).
ALIASES: dict[str, tuple[str, ...]] = {
    "A_prev": ("x", "X", "input", "A", "a_prev", "inputs"),
    "W": ("w", "kernel", "filter", "F", "weight", "weights", "filters"),
    "b": ("bias",),
    "dZ": ("dz", "delta", "upstream", "grad_output", "dY", "dy"),
    "stride": ("strides",),
    "padding": ("pad",),
    "dilation": ("dilations", "dilation_rate"),
    "layout": ("data_format",),
    "layer": ("kind", "layer_kind"),
    "slope": ("negative_slope", "alpha"),
    "output_padding": ("out_padding", "outpadding"),
    "size": ("kernel_size", "pool_size", "ksize", "window", "f"),
    "count_padding": ("count_include_pad",),
    "order": ("flatten_order",),
    "W_layout": ("w_layout", "weight_layout"),
}
_CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
#: Every accepted key's canonical name.
CANONICAL_NAMES = {**_CANONICAL, **{name: name for name in ("A_prev", "W", "b", "dZ")}}
KNOWN_FIELDS = ARRAY_FIELDS + CONFIG_FIELDS + META_FIELDS

MODES = {
    "cross-correlation": False,
    "cross_correlation": False,
    "crosscorrelation": False,
    "correlation": False,
    "xcorr": False,
    "convolution": True,
    "conv": True,
    "convolve": True,
}


def canonical_fields(raw: Mapping[str, Any], source: str = "the input") -> dict[str, Any]:
    """Rename aliases to canonical keys; refuse unknown keys and a field given twice."""
    fields: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in _with_hparameters(raw, source):
        name = _canonical_name(key)
        if name is None:
            raise InputError(f"unknown key {echo_text(key)} in {source}{_suggestion(key[:100])}")
        if name in fields:
            raise InputError(f"{name} is given twice in {source}, as {echo_text(given_as[name])} and {echo_text(key)}")
        fields[name] = value
        given_as[name] = key
    return fields


#: The keys of Coursera's ``hparameters`` object, and the field each one sets.
HPARAMETERS = {"stride": "stride", "strides": "stride", "pad": "padding", "padding": "padding"}


def _with_hparameters(raw: Mapping[str, Any], source: str) -> list[tuple[str, Any]]:
    """The raw items, with an "hparameters" object ({"stride": 1, "pad": 2}) opened into its keys.

    Its keys come back named "hparameters.stride" and so on, so that a clash with a top-level
    stride or padding is reported naming both.
    """
    items: list[tuple[str, Any]] = []
    for key, value in raw.items():
        if key != "hparameters":
            items.append((key, value))
            continue
        if not isinstance(value, Mapping):
            raise InputError(f'hparameters in {source} must be an object such as {{"stride": 1, "pad": 2}}')
        for inner, setting in value.items():
            if inner not in HPARAMETERS:
                raise InputError(f"unknown key {inner!r} in hparameters in {source}: hparameters takes stride and pad")
            items.append((f"hparameters.{inner}", setting))
    return items


def _canonical_name(key: str) -> str | None:
    if key.startswith("hparameters."):
        return HPARAMETERS[key.removeprefix("hparameters.")]
    return key if key in KNOWN_FIELDS else _CANONICAL.get(key)


def _suggestion(key: str) -> str:
    import difflib  # only a bad key pays for it

    names = list(KNOWN_FIELDS) + list(_CANONICAL)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    if close:
        target = _CANONICAL.get(close[0], close[0])
        return f": did you mean {target!r}?"
    return f" (known keys: {', '.join(ARRAY_FIELDS + CONFIG_FIELDS)})"


# -- arrays ------------------------------------------------------------------------------


#: Default name prefixes when --symbolic names an array's entries itself.
NAME_PREFIXES = {"A_prev": "x", "W": "w", "b": "b", "dZ": "dz"}


def entry_names(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """Names for every entry: the prefix and the entry's 1-based index along every axis, in order.

    x11..x33 for a 3x3 array; with an axis longer than 9 the indices are
    joined by "_" (x_1_12) so that every name reads one way; a scalar is the
    prefix alone.
    """
    sep = "_" if any(n > 9 for n in shape) else ""
    names = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        names[index] = prefix + (sep if index else "") + sep.join(str(i + 1) for i in index)
    return names


def parse_shape(value: Any, field: str) -> tuple[int, ...]:
    """A shape: [3, 3], or text "3x3", "3,3", "3 3", "(1, 2, 3)"."""
    if isinstance(value, str):
        parts = [p for p in value.strip().strip("()[]").replace("x", " ").replace(",", " ").split() if p]
        value = parts
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"{field} shape must be a list of sizes such as [3, 3] or 3x3")
    return tuple(_whole(n, f"{field} shape[{i}]", 1, MAX_AXIS_SIZE) for i, n in enumerate(value))


def _shape_spec(value: Any, field: str, domain: Domain, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """An array given as {"shape": [...], "prefix": "x"}: named entries (symbolic only)."""
    unknown = set(value) - {"shape", "prefix"}
    if unknown or "shape" not in value:
        raise InputError(
            f'{field} is an object; as an array spec it takes "shape" and optionally "prefix"'
            + (f", not {echo_text(sorted(unknown)[0])}" if unknown else "")
        )
    if not isinstance(domain, SymbolicDomain):
        raise InputError(f"{field} is given by its shape only", hint=f"naming its entries needs {option('symbolic')}")
    shape = parse_shape(value["shape"], field)
    check_elements(int(np.prod(shape)), field, limits)
    prefix = check_name(value.get("prefix", NAME_PREFIXES.get(field, field)), f"{field} prefix")
    names = entry_names(prefix, shape)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = domain.symbol(names[index], entry_path(field, index), automatic=True)
    return out


#: DLPack's device types whose memory the CPU reads directly (CPU, CUDA pinned host, ROCm host).
_HOST_DEVICES = {1, 3, 11}
_DEVICE_NAMES = {2: "CUDA", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 10: "ROCm", 13: "CUDA", 14: "oneAPI"}


def host_array(value: Any, field: str) -> Any:
    """Another library's array (PyTorch, JAX, CuPy, ...) as a numpy array of its own; anything else as it is.

    An object with ``__array__`` or ``__dlpack__`` is read without importing its library: a torch
    tensor that requires grad is detached first, and an array on a GPU is refused in one line
    saying how to bring it to the host. The numbers are copied: changing the tensor afterwards
    changes nothing here.
    """
    kind = type(value)
    if isinstance(value, (np.ndarray, np.generic, list, tuple, dict, str, bytes, int, float, Decimal, Fraction)):
        return value
    if not (hasattr(kind, "__array__") or hasattr(kind, "__dlpack__")):
        return value
    where = _device_of(value)
    if where is not None:
        move = f"call {field}.cpu() first" if callable(getattr(value, "cpu", None)) else "copy it to the host first"
        raise InputError(f"{field} is a {kind.__name__} on the {where}: {move}, convgrad computes on the CPU")
    detach = getattr(value, "detach", None)
    if callable(detach) and getattr(value, "requires_grad", False):
        value = detach()
    try:
        if hasattr(kind, "__array__"):
            return np.asarray(value).copy()
        return np.from_dlpack(value).copy()
    except (TypeError, ValueError, RuntimeError, BufferError) as err:
        raise InputError(f"{field} is a {kind.__name__} that numpy cannot read ({str(err)[:120]})") from None


def _device_of(value: Any) -> str | None:
    """The device an array-like lives on when that is not the CPU's memory (None: on the host)."""
    device = getattr(value, "device", None)
    device_type = getattr(device, "type", None)  # PyTorch: device(type='cuda', index=0)
    if isinstance(device_type, str):
        return None if device_type == "cpu" else f"{device_type} device {str(device)!r}"
    probe = getattr(value, "__dlpack_device__", None)
    if callable(probe):
        try:
            code, index = probe()
        except Exception:  # a library that cannot say: numpy's own conversion will tell
            return None
        if int(code) not in _HOST_DEVICES:
            return f"{_DEVICE_NAMES.get(int(code), f'DLPack device type {int(code)}')} device {int(index)}"
    return None


def to_array(
    value: Any, field: str, domain: Domain, allow_nonfinite: bool = False, limits: Limits = DEFAULT_LIMITS
) -> np.ndarray:
    """A raw value (nested lists of numbers, a numpy array, or another library's array) as an array
    of the domain."""
    value = host_array(value, field)
    if isinstance(value, dict):
        return _shape_spec(value, field, domain, limits)
    masked = sys.modules.get("numpy.ma")  # not imported: value cannot be a masked array (and costs no import)
    if masked is not None and isinstance(value, masked.MaskedArray):
        raise InputError(
            f"{field} is a masked array, whose mask convgrad would ignore",
            hint=f"pass {field}.filled(value) or {field}.data, saying what masked entries are",
        )
    flat: list[tuple[Any, str]] = []
    if isinstance(value, np.ndarray):
        check_elements(value.size, field, limits)
        array = _from_numpy(value, field, domain)
    else:
        shape, flat = _flatten(value, field, limits)
        array = np.empty(len(flat), dtype=domain.dtype)
        array[:] = (
            [domain.convert(v, p) for v, p in flat]
            if domain.dtype == object
            else [_float_entry(v, p, domain) for v, p in flat]
        )
        array = array.reshape(shape)
    if not allow_nonfinite and array.dtype != object:
        _refuse_nonfinite(array, field, flat)
    return array


def _float_entry(value: Any, path: str, domain: Domain) -> float:
    # Fast path for what JSON gives; everything else (and a huge int) goes through the domain's checks.
    if type(value) is Decimal and value.is_finite() and abs(value.adjusted()) <= MAX_EXPONENT:
        x = float(value)
        if x in (math.inf, -math.inf):
            raise too_large(path, value)
        return x
    return domain.convert(value, path)


def _from_numpy(array: np.ndarray, field: str, domain: Domain) -> np.ndarray:
    if array.dtype == bool or array.dtype.kind not in "iufO":
        raise InputError(f"{field} is a numpy array of {array.dtype}, not of numbers")
    if array.dtype.kind == "O":
        flat = [(v, entry_path(field, idx)) for idx, v in np.ndenumerate(array)]
        result = np.empty(array.size, dtype=domain.dtype)
        result[:] = [domain.convert(v, p) for v, p in flat]
        return result.reshape(array.shape)
    return domain.from_numeric_array(array, field)


def _flatten(value: Any, field: str, limits: Limits = DEFAULT_LIMITS) -> tuple[tuple[int, ...], list[tuple[Any, str]]]:
    """Shape and (entry, path) pairs of nested lists; ragged, empty, too deep or too big refused."""
    if not isinstance(value, (list, tuple)):
        if isinstance(value, dict):
            raise InputError(f"{field} is an object, expected a number or a list of numbers")
        return (), [(value, field)]
    flat: list[tuple[Any, str]] = []

    def walk(node: Any, path: str, depth: int) -> tuple[int, ...]:
        if not isinstance(node, (list, tuple)):
            if isinstance(node, dict):
                raise InputError(f"{path} is an object, expected a number")
            flat.append((node, path))
            if len(flat) > limits.max_elements:
                check_elements(len(flat), field, limits)
            return ()
        if depth > limits.max_depth:
            raise InputError(
                f"{field} is nested more than {limits.max_depth} lists deep (at {path}); "
                f"an array here has at most {limits.max_depth} axes"
            )
        if len(node) == 0:
            raise InputError(f"{path} is an empty list")
        first = walk(node[0], f"{path}[0]", depth + 1)
        for i in range(1, len(node)):
            shape = walk(node[i], f"{path}[{i}]", depth + 1)
            if shape != first:
                raise InputError(
                    f"{field} is ragged: {path}[0] has shape {_fmt_shape(first)} "
                    f"but {path}[{i}] has shape {_fmt_shape(shape)}"
                )
        return (len(node),) + first

    shape = walk(value, field, 1)
    return shape, flat


def _refuse_nonfinite(array: np.ndarray, field: str, flat: list[tuple[Any, str]]) -> None:
    if array.size and not any(array.strides):
        array = array.reshape(-1)[:1]  # a broadcast constant (shape only): one value says it all
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = array[index]
        path = entry_path(field, index)
        typed = flat[int(np.ravel_multi_index(index, array.shape))][0] if flat else None
        exact = (
            typed
            if isinstance(typed, (Decimal, int)) and not isinstance(typed, bool)
            else (parse_number_text(typed) if isinstance(typed, str) else None)
        )
        if exact is not None and (not isinstance(exact, Decimal) or exact.is_finite()):
            shown = (
                typed.strip()
                if isinstance(typed, str)
                else f"{typed:g}"
                if isinstance(typed, Decimal)
                else (str(typed) if len(str(typed)) < 30 else f"{Decimal(int(exact)):.3e}")  # an int here
            )
            raise InputError(
                f"{path} is {shown}, which overflows float64 (the largest is about 1.8e308)",
                hint=f"{option('exact')} computes with it exactly",
            )
        raise InputError(
            f"{path} is {value}, not a finite number",
            hint=f"forward and backward compute with it under {option('allow_nonfinite')}",
        )


def shape_only(shape: tuple[int, ...]) -> np.ndarray:
    """An array of this shape that takes no memory (a broadcast zero): for shape arithmetic only."""
    return np.broadcast_to(np.float64(0), shape)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


fmt_shape = _fmt_shape


# -- configuration -------------------------------------------------------------------------


def _whole(value: Any, field: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float, Fraction, np.integer)):
        if isinstance(value, str):
            from .numbers import parse_number_text

            parsed = parse_number_text(value, field)
            if parsed is not None:
                return _whole(parsed, field, minimum, maximum)
        raise InputError(f"{field} must be a whole number >= {minimum}, got {describe_value(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{field} must be a whole number >= {minimum}, got {value}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InputError(f"{field} must be a whole number >= {minimum}, got {value}")
    check_number_value(value, field)  # at most MAX_DIGITS digits, checked before int() builds it
    if maximum is not None and value > maximum:
        raise InputError(f"{field} is {_magnitude_text(value)}, larger than the {maximum:,} convgrad handles")
    if value != int(value):
        raise InputError(f"{field} must be a whole number >= {minimum}, got {value}")
    number = int(value)
    if number < minimum:
        raise InputError(f"{field} must be a whole number >= {minimum}, got {number}")
    return number


#: The largest size of one axis, and the largest dilation: far past any layer that fits in memory, small
#: enough that numpy's shapes and strides (64-bit) hold them. Strides and padding may be any whole number
#: of at most MAX_DIGITS digits (a stride past the input leaves one overlay; padding counts in the limits).
MAX_AXIS_SIZE = 10**15
MAX_DILATION = 10**9


def _magnitude_text(value: Any) -> str:
    """A large number for a message: a short whole number as it is, else three significant digits (1e+40)."""
    if isinstance(value, (int, np.integer)) and abs(int(value)) < 10**15:
        return str(value)
    q = Fraction(value) if not isinstance(value, Decimal) else None
    number = value if q is None else (Decimal(q.numerator) / Decimal(q.denominator)).normalize()
    return f"{number:.3g}"


def per_dim(value: Any, field: str, dims: int, minimum: int, maximum: int | None = None) -> tuple[int, ...]:
    """An int for every spatial dim, or a list with one per dim."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise InputError(
                f"{field} has {len(value)} entries but the problem has {dims} spatial "
                f"dim{'s' if dims != 1 else ''}: give one number, or one per dim"
            )
        return tuple(_whole(v, f"{field}[{i}]", minimum, maximum) for i, v in enumerate(value))
    return (_whole(value, field, minimum, maximum),) * dims


def parse_padding(value: Any, dims: int) -> str | PaddingPairs:
    """ "valid", "same", "full", an int, one int per dim, or [before, after] per dim."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("valid", "same", "full"):
            return word
        raise InputError(f"padding {echo_text(value)} is not one of: a number, a list, 'valid', 'same', 'full'")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        p = _whole(value, "padding", 0)
        return ((p, p),) * dims
    # In 1-D a flat pair [before, after] is the only reading that fits.
    if dims == 1 and len(value) == 2 and not any(isinstance(v, (list, tuple)) for v in value):
        value = [value]
    if len(value) != dims:
        raise InputError(
            f"padding has {len(value)} entries but the problem has {dims} spatial "
            f"dim{'s' if dims != 1 else ''}: give one number, one per dim, or [before, after] per dim"
        )
    pairs = []
    for i, entry in enumerate(value):
        if isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise InputError(f"padding[{i}] has {len(entry)} entries: a per-dim padding pair is [before, after]")
            pairs.append((_whole(entry[0], f"padding[{i}][0]", 0), _whole(entry[1], f"padding[{i}][1]", 0)))
        else:
            p = _whole(entry, f"padding[{i}]", 0)
            pairs.append((p, p))
    return tuple(pairs)


def parse_mode(value: Any) -> bool:
    """True (flip the kernel) for convolution, False for cross-correlation."""
    key = str(value).strip().lower().replace(" ", "-") if isinstance(value, str) else None
    if key not in MODES:
        raise InputError(f"mode must be 'cross-correlation' or 'convolution', got {describe_value(value)}")
    return MODES[key]


def parse_layout_field(value: Any) -> bool:
    if isinstance(value, str):
        channels_last = parse_layout(value)
        if channels_last is not None:
            return channels_last
    raise InputError(
        f"layout must be channels-first (NCHW, NCW, ...) or channels-last (NHWC, NWC, ...), got {describe_value(value)}"
    )


# -- the problem ---------------------------------------------------------------------------


class ShapeMismatch(InputError):
    """The arrays' shapes do not fit together: build_problem then looks for the likely intent."""


@dataclass(frozen=True)
class Problem:
    """A validated problem, arrays canonical.

    A_prev (N, C_in, *spatial); W (C_out, C_in/G, *k); b (C_out,) or None;
    dZ (N, C_out, *out) or None; geom the resolved configuration; form how the
    user laid the arrays out (results go back that way); domain the number kind.
    """

    A_prev: np.ndarray
    W: Any  # (C_out, C_in/G, *k); None for a kind without weights
    b: np.ndarray | None
    dZ: np.ndarray | None
    geom: Geometry
    form: Form
    domain: Domain
    mode_name: str
    allow_nonfinite: bool = False
    layer: str = DEFAULT_KIND
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> ColumnKind | None:
        """The kind's module when it declares its columns (every kind but conv), else None."""
        return None if self.layer == DEFAULT_KIND else _column_kind(self.layer)

    @property
    def has_weights(self) -> bool:
        return self.W is not None

    @property
    def upstream(self) -> np.ndarray:
        """dZ, for the code paths that only a backward problem reaches."""
        if self.dZ is None:
            raise InputError("this needs dZ (the upstream gradient), and the problem has none")
        return self.dZ

    @property
    def user_shapes(self) -> dict[str, list[int]]:
        """Shapes of every array in the user's form (b and db: [] when scalar)."""
        form = self.form
        g = self.geom
        z_shape = form.activation_from_canonical(shape_only((g.batch, g.out_channels) + g.output_size)).shape
        if self.W is None:
            shapes = {"A_prev": list(form.activation_from_canonical(self.A_prev).shape), "Z": list(z_shape)}
            if self.dZ is not None:
                shapes.update({"dZ": list(z_shape), "dA_prev": shapes["A_prev"]})
            return shapes
        bias_shape = [] if form.kind == BARE else list(form.bias_shape or (g.out_channels,))
        shapes = {
            "A_prev": list(form.activation_from_canonical(self.A_prev).shape),
            "W": list(form.kernel_from_canonical(self.W).shape),
            "b": bias_shape,
            "Z": list(z_shape),
        }
        if self.dZ is not None:
            shapes.update({"dZ": list(z_shape), "dW": shapes["W"], "db": bias_shape, "dA_prev": shapes["A_prev"]})
        return shapes


def infer_form(a_shape: tuple[int, ...], w_shape: tuple[int, ...], dims: int | None, channels_last: bool) -> Form:
    """Which form the arrays are in, from their ranks (``dims`` settles a bare 3-D volume)."""
    w_rank, a_rank = len(w_shape), len(a_shape)
    if w_rank == 0:
        raise InputError("W is a single number; a kernel needs at least one spatial axis")
    if dims is None:
        bare = w_rank <= 2
        d = w_rank if bare else w_rank - 2
    elif w_rank == dims:
        bare, d = True, dims
    elif w_rank == dims + 2:
        bare, d = False, dims
    else:
        raise ShapeMismatch(
            f"W has shape {_fmt_shape(w_shape)}, but with dims = {dims} it must have rank {dims} "
            f"(one bare kernel) or {dims + 2} (filters with channels)"
        )
    if bare:
        if a_rank != d:
            raise ShapeMismatch(
                f"A_prev has shape {_fmt_shape(a_shape)} but W has shape {_fmt_shape(w_shape)}: "
                f"a bare {d}-D kernel needs a bare {d}-D A_prev; with channels, W is "
                f"{Form(BATCHED, channels_last, d).describe('W')}"
            )
        return Form(BARE, channels_last, d)
    if a_rank == d + 1:
        return Form(UNBATCHED, channels_last, d)
    if a_rank == d + 2:
        return Form(BATCHED, channels_last, d)
    expect = Form(BATCHED, channels_last, d)
    raise ShapeMismatch(
        f"A_prev has shape {_fmt_shape(a_shape)} but W has shape {_fmt_shape(w_shape)}, "
        f"{d}-D filters {expect.describe('W')}: A_prev must be {Form(UNBATCHED, channels_last, d).describe('A_prev')} "
        f"or {expect.describe('A_prev')} ({expect.layout})"
    )


def _flag_value(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {describe_value(value)}")
    return value


def build_problem(
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    domain: Domain | None = None,
    allow_nonfinite: bool = False,
    float64: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    suggest: bool = True,
) -> Problem:
    """Validate canonical fields (see ``canonical_fields``) into a Problem.

    The number domain comes from the "exact" and "symbolic" fields unless given.
    With symbolic numbers a missing dZ or b is named (dz11..., b) rather than refused.
    Shapes that do not fit are refused with the likely intent when one fits (see ``likely_intent``),
    unless ``suggest`` is False (a chain's later layer, whose A_prev the user did not type).
    """
    try:
        return _build_problem(
            fields,
            need_dZ=need_dZ,
            domain=domain,
            allow_nonfinite=allow_nonfinite,
            float64=float64,
            limits=limits,
        )
    except ShapeMismatch as err:
        intent = likely_intent(fields, need_dZ=need_dZ) if suggest else None
        if intent is None:
            raise
        raise ShapeMismatch(f"{err.template}; did you mean {intent}?", hint=err.hint_template) from None


#: Most entries an array may have for build_problem to try other shapes for it.
_INTENT_MAX_ELEMENTS = 1_000_000


def likely_intent(fields: Mapping[str, Any], *, need_dZ: bool) -> str | None:
    """What shapes that do not fit were probably meant to be, if some other reading fits.

    Tries, fewest changes first (at most two): "layout": channels-last when no layout is
    given; a size-1 axis added to A_prev (batch, or channel), to W (input channel, or
    filter) or to dZ. A reading is suggested only when the whole problem then validates.
    None when nothing fits.
    """
    shapes = {name: _raw_shape(fields.get(name), name) for name in ("A_prev", "W", "dZ", "b")}
    if shapes["A_prev"] is None or shapes["W"] is None:
        return None
    if any(s is not None and int(np.prod(s)) > _INTENT_MAX_ELEMENTS for s in shapes.values()):
        return None
    A, W, dZ = shapes["A_prev"], shapes["W"], shapes["dZ"]
    options: list[list[tuple[str, Any]]] = [
        [("layout", None)] + ([("layout", "channels_last")] if fields.get("layout") is None else []),
        [("A_prev", A)] + [("A_prev", s) for s in _with_unit_axis(A, (0, 1, len(A)))],
        [("W", W)] + [("W", s) for s in _with_unit_axis(W, (1, len(W) - 1, 0, len(W)))],
        [("dZ", dZ)] + ([] if dZ is None else [("dZ", s) for s in _with_unit_axis(dZ, (0, 1, len(dZ)))]),
    ]
    tried = sorted(
        itertools.product(*(enumerate(o) for o in options)),
        key=lambda combo: sum(i != 0 for i, _ in combo),
    )
    for combo in tried:
        changes = sum(i != 0 for i, _ in combo)
        if changes == 0:
            continue
        if changes > 2:
            break
        choice = dict(item for _, item in combo)
        trial = {k: v for k, v in fields.items() if k not in ("exact", "symbolic")}
        for name in ("A_prev", "W", "dZ", "b"):
            shape = choice.get(name, shapes[name])
            if shape is not None:
                trial[name] = shape_only(shape)
        if choice["layout"] is not None:
            trial["layout"] = choice["layout"]
        try:
            problem = _build_problem(trial, need_dZ=need_dZ and dZ is not None, domain=make_domain())
        except InputError:
            continue
        said = [f"{name} {_fmt_shape(choice[name])}" for name in ("W", "A_prev", "dZ") if choice[name] != shapes[name]]
        if choice["layout"] is not None:
            said.append(f'"layout": "{problem.form.layout}"')
        return " with ".join(said)
    return None


def _with_unit_axis(shape: tuple[int, ...], places: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The shape with a size-1 axis inserted at each place (duplicates dropped, order kept)."""
    out: list[tuple[int, ...]] = []
    for place in places:
        candidate = shape[:place] + (1,) + shape[place:]
        if candidate not in out:
            out.append(candidate)
    return out


def _raw_shape(value: Any, field: str) -> tuple[int, ...] | None:
    """The shape of a raw array value, or None when there is none or it cannot be read."""
    if value is None:
        return None
    try:
        if isinstance(value, np.ndarray):
            return tuple(value.shape)
        if isinstance(value, dict):
            return parse_shape(value.get("shape"), field)
        return _flatten(value, field)[0]
    except InputError:
        return None


def _build_problem(
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    domain: Domain | None = None,
    allow_nonfinite: bool = False,
    float64: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Problem:
    if "layers" in fields:
        raise InputError('this is a chain problem ("layers"): forward and backward read chains, this reads one layer')
    if domain is None:
        domain = make_domain(exact=_flag_value(fields, "exact"), symbolic=_flag_value(fields, "symbolic"))
    layer = parse_layer(fields.get("layer"))
    refuse_foreign_keys(layer, fields)
    if layer != DEFAULT_KIND:
        return build_kind_problem(
            _column_kind(layer),
            fields,
            need_dZ=need_dZ,
            domain=domain,
            allow_nonfinite=allow_nonfinite,
            float64=float64,
            limits=limits,
        )
    for name in ("A_prev", "W"):
        if fields.get(name) is None:
            raise InputError(f"{name} is missing: give it in the input JSON or with {option(name)}")
    symbolic = isinstance(domain, SymbolicDomain)

    A_user = to_array(fields["A_prev"], "A_prev", domain, allow_nonfinite, limits)
    W_user = to_array(fields["W"], "W", domain, allow_nonfinite, limits)

    channels_last = parse_layout_field(fields["layout"]) if fields.get("layout") is not None else False
    dims = _whole(fields["dims"], "dims", 1, limits.max_depth) if fields.get("dims") is not None else None
    if W_user.ndim == 0 and A_user.ndim in (1, 2) and dims is None:
        W_user = W_user.reshape((1,) * A_user.ndim)  # one number: a one-tap kernel over a bare input
    form = infer_form(A_user.shape, W_user.shape, dims, channels_last)
    d = form.dims

    A = form.activation_to_canonical(A_user)
    W = form.kernel_to_canonical(W_user)
    if 0 in A.shape or 0 in W.shape:  # only numpy input can get here
        raise InputError(f"A_prev {_fmt_shape(A_user.shape)} and W {_fmt_shape(W_user.shape)} must not be empty")

    groups = _whole(fields.get("groups", 1) if fields.get("groups") is not None else 1, "groups", 1, MAX_AXIS_SIZE)
    if form.kind == BARE and groups != 1:
        raise InputError(f"groups = {groups} needs channels: a bare A_prev has one channel")
    batch, c_in = A.shape[:2]
    c_out, c_in_per_group = W.shape[:2]
    if c_in % groups:
        raise ShapeMismatch(
            f"A_prev has {c_in} channels (shape {_fmt_shape(A_user.shape)}), not divisible by groups = {groups}"
        )
    if c_out % groups:
        raise ShapeMismatch(
            f"W has {c_out} filters (shape {_fmt_shape(W_user.shape)}), not divisible by groups = {groups}"
        )
    if c_in_per_group * groups != c_in:
        raise ShapeMismatch(
            f"W has shape {_fmt_shape(W_user.shape)}, {c_in_per_group} input channel"
            f"{'s' if c_in_per_group != 1 else ''} per filter, but A_prev has shape "
            f"{_fmt_shape(A_user.shape)}, {c_in} channel{'s' if c_in != 1 else ''}"
            + (f" in {groups} groups of {c_in // groups}" if groups != 1 else "")
            + f" ({form.layout}: W is {form.describe('W')})"
        )

    stride = per_dim(_given(fields, "stride", 1), "stride", d, 1)
    dilation = per_dim(_given(fields, "dilation", 1), "dilation", d, 1, MAX_DILATION)
    padding = parse_padding(_given(fields, "padding", 0), d)
    mode_value = _given(fields, "mode", "cross-correlation")
    flip = parse_mode(mode_value)

    geom = Geometry.build(
        batch=batch,
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        input_size=tuple(A.shape[2:]),
        kernel_size=tuple(W.shape[2:]),
        stride=stride,
        dilation=dilation,
        padding=padding,
        flip=flip,
    )
    # Padding and stride decide how big the padded input and Z get: check before allocating them.
    check_elements(batch * c_in * int(np.prod(geom.padded_size, dtype=object)), "the padded A_prev", limits)
    check_elements(batch * c_out * int(np.prod(geom.output_size, dtype=object)), "Z", limits)
    for axis, (size, padded, span) in enumerate(zip(geom.input_size, geom.padded_size, geom.dilated_kernel_size)):
        if span > padded:
            pad = geom.padding[axis]
            raise ShapeMismatch(
                f"the kernel does not fit along spatial axis {axis}: W has shape {_fmt_shape(W_user.shape)}"
                f" (dilated extent {span}) but A_prev has shape {_fmt_shape(A_user.shape)}"
                f" ({size} + padding {pad[0]}+{pad[1]} = {padded})"
            )

    b = None
    b_value = fields.get("b")
    if b_value is None and symbolic:
        b_value = {"shape": []} if form.kind == BARE else {"shape": [c_out]}
    if b_value is not None:
        b_user = _bias_array(b_value, domain, allow_nonfinite, limits)
        if b_user.ndim == 0:
            b = np.full(c_out, b_user[()], dtype=b_user.dtype)
        elif b_user.size == c_out and sum(n != 1 for n in b_user.shape) <= 1 and b_user.ndim <= d + 2:
            # (C_out,), or every axis 1 but the filters' one: (1, 1, 1, C_out), (C_out, 1, 1), ...
            b = b_user.reshape(c_out)
            if b_user.ndim > 1 and form.kind != BARE:
                form = dataclasses.replace(form, bias_shape=b_user.shape)
        else:
            example = _fmt_shape((1,) * (d + 1) + (c_out,) if channels_last else (c_out,) + (1,) * d)
            raise InputError(
                f"b has shape {_fmt_shape(b_user.shape)} but W has {c_out} filter"
                f"{'s' if c_out != 1 else ''} (shape {_fmt_shape(W_user.shape)}): b needs one value per filter"
                + ("" if form.kind == BARE else f", as {_fmt_shape((c_out,))} or with axes of size 1 such as {example}")
            )

    dZ = None
    z_shape = form.activation_from_canonical(shape_only((batch, c_out) + geom.output_size)).shape
    dZ_value = fields.get("dZ")
    if dZ_value is None and symbolic and need_dZ:
        dZ_value = {"shape": list(z_shape)}
    if dZ_value is None and need_dZ:
        raise InputError(
            f'dZ is missing: backward needs the upstream gradient ({option("dZ")} or "dZ" in the input)',
            hint=f"Z has shape {_fmt_shape(z_shape)}; one number applies to every output",
        )
    if dZ_value is not None:
        dZ_user = to_array(dZ_value, "dZ", domain, allow_nonfinite, limits)
        if dZ_user.ndim == 0:  # one number for every output: L = dZ * sum(Z)
            dZ_user = np.full(z_shape, dZ_user[()], dtype=dZ_user.dtype)
        if dZ_user.shape != z_shape:
            raise ShapeMismatch(f"dZ has shape {_fmt_shape(dZ_user.shape)} but Z has shape {_fmt_shape(z_shape)}")
        dZ = form.activation_to_canonical(dZ_user)

    mode_name = "convolution" if flip else "cross-correlation"
    if domain.dtype != object:
        # float32 arrays (from .npy files or numpy) stay float32 when they all are, unless asked otherwise.
        arrays = [x for x in (A, W, b, dZ) if x is not None]
        single = not float64 and all(x.dtype == np.float32 for x in arrays)
        dtype = np.float32 if single else np.float64
        A, W = A.astype(dtype, copy=False), W.astype(dtype, copy=False)
        b = None if b is None else b.astype(dtype, copy=False)
        dZ = None if dZ is None else dZ.astype(dtype, copy=False)
    problem = Problem(A, W, b, dZ, geom, form, domain, mode_name, allow_nonfinite)
    if domain.dtype == object:
        check_exact_work(problem, limits)
    return problem


# -- the layer kind --------------------------------------------------------------------------


def parse_layer(value: Any) -> str:
    """The kind's registry name ("conv" when not given); one line naming the kinds when unknown."""
    if value is None:
        return DEFAULT_KIND
    key = value.strip().lower().replace("_", "-") if isinstance(value, str) else None
    if key in ("leakyrelu", "leaky"):
        key = "leaky-relu"
    if key not in KINDS:
        raise InputError(f"layer {describe_value(value)} is not a kind convgrad knows: {kind_names()}")
    return key


def _column_kind(layer: str) -> ColumnKind:
    kind = KINDS[layer]
    assert layer != DEFAULT_KIND, layer  # conv is a module with its own views
    return kind  # type: ignore[return-value]  # every kind but the conv module is a ColumnKind


def kind_keys(layer: str) -> tuple[str, ...]:
    """The canonical keys a problem of this kind may hold (arrays and configuration)."""
    takes = KINDS[layer].takes
    return SHARED_FIELDS + (("W",) if takes.weights else ()) + (("b",) if takes.bias else ()) + takes.keys + META_FIELDS


def refuse_foreign_keys(layer: str, fields: Mapping[str, Any]) -> None:
    """A key another kind takes, given to this one: one line saying what this kind takes."""
    allowed = kind_keys(layer)
    takes = KINDS[layer].takes
    for key, value in fields.items():
        if key in allowed or value is None:
            continue
        if key in ("W", "b"):
            what = "weights" if key == "W" else "bias"
            raise InputError(f"{layer} takes no {key}: the layer has no {what} (its output is Z = {layer}(A_prev))")
        takers = [name for name, kind in KINDS.items() if key in kind.takes.keys]
        own = ", ".join(takes.keys) if takes.keys else "no settings of its own"
        named = " and ".join(filter(None, (", ".join(takers[:-1]), takers[-1]))) if takers else "another kind"
        raise InputError(f"{key} is for {named}, not {layer}: {layer} takes {own}")


def infer_entrywise_form(a_shape: tuple[int, ...], dims: int | None, channels_last: bool) -> Form:
    """An input without W: rank 1-2 bare, 3 one 2-D sample with channels, 4 a 2-D batch, 5 a 3-D batch;
    ``dims`` settles the rest (rank dims: bare, dims + 1: channels, dims + 2: batch)."""
    rank = len(a_shape)
    if rank == 0:
        raise InputError("A_prev is a single number: give it as a list, such as [1.5]")
    if dims is None:
        if rank <= 2:
            return Form(BARE, channels_last, rank)
        if rank == 3:
            return Form(UNBATCHED, channels_last, 2)
        return Form(BATCHED, channels_last, rank - 2)
    if rank == dims:
        return Form(BARE, channels_last, dims)
    if rank == dims + 1:
        return Form(UNBATCHED, channels_last, dims)
    if rank == dims + 2:
        return Form(BATCHED, channels_last, dims)
    raise InputError(
        f"A_prev has shape {_fmt_shape(a_shape)}, but with dims = {dims} it must have rank {dims} (bare), "
        f"{dims + 1} (channels) or {dims + 2} (a batch)"
    )


def build_kind_problem(
    kind: ColumnKind,
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    domain: Domain,
    allow_nonfinite: bool,
    float64: bool,
    limits: Limits,
) -> Problem:
    """The shared parser for a kind that declares what it takes: A_prev, the layout, the number
    domain and limits here; the kind's own keys by ``kind.configure``; dZ against its Z shape."""
    if hasattr(kind, "user_form"):  # W a matrix and no spatial axes (dense)
        return _build_matrix(
            kind,
            fields,
            need_dZ=need_dZ,
            domain=domain,
            allow_nonfinite=allow_nonfinite,
            float64=float64,
            limits=limits,
        )
    if kind.takes.weights:
        return _build_weighted(
            kind,
            fields,
            need_dZ=need_dZ,
            domain=domain,
            allow_nonfinite=allow_nonfinite,
            float64=float64,
            limits=limits,
        )
    if fields.get("A_prev") is None:
        raise InputError(f"A_prev is missing: give it in the input JSON or with {option('A_prev')}")
    params = kind.configure(fields, domain)
    A_user = to_array(fields["A_prev"], "A_prev", domain, allow_nonfinite, limits)
    channels_last = parse_layout_field(fields["layout"]) if fields.get("layout") is not None else False
    dims = _whole(fields["dims"], "dims", 1) if fields.get("dims") is not None else None
    form = infer_entrywise_form(A_user.shape, dims, channels_last)
    form = getattr(kind, "adjust_form", lambda given: given)(form)  # flatten reads a bare input as one sample
    A = form.activation_to_canonical(A_user)
    if 0 in A.shape:
        raise InputError(f"A_prev {_fmt_shape(A_user.shape)} must not be empty")
    kind.accept(A_user)  # in the user's form, so that a message names the entry as typed
    geom = kind.geometry(A.shape, params)
    dZ = _upstream(fields, form, geom, domain, need_dZ, allow_nonfinite, limits)
    if domain.dtype != object:
        single = not float64 and all(x.dtype == np.float32 for x in (A, dZ) if x is not None)
        dtype = np.float32 if single else np.float64
        A = A.astype(dtype, copy=False)
        dZ = None if dZ is None else dZ.astype(dtype, copy=False)
    problem = Problem(A, None, None, dZ, geom, form, domain, kind.name, allow_nonfinite, kind.name, params)
    if domain.dtype == object:
        check_exact_work(problem, limits)
    return problem


def _upstream(
    fields: Mapping[str, Any],
    form: Form,
    geom: Geometry,
    domain: Domain,
    need_dZ: bool,
    allow_nonfinite: bool,
    limits: Limits,
) -> np.ndarray | None:
    """dZ in canonical form, checked against the Z shape ``geom`` gives (None for a forward pass)."""
    z_canonical = (geom.batch, geom.out_channels) + geom.output_size
    check_elements(int(np.prod(z_canonical, dtype=object)), "Z", limits)
    z_shape = form.activation_from_canonical(shape_only(z_canonical)).shape
    dZ_value = fields.get("dZ")
    if dZ_value is None and isinstance(domain, SymbolicDomain) and need_dZ:
        dZ_value = {"shape": list(z_shape)}
    if dZ_value is None and need_dZ:
        raise InputError(
            f'dZ is missing: backward needs the upstream gradient ({option("dZ")} or "dZ" in the input)',
            hint=f"Z has shape {_fmt_shape(z_shape)}; one number applies to every output",
        )
    if dZ_value is None:
        return None
    dZ_user = to_array(dZ_value, "dZ", domain, allow_nonfinite, limits)
    if dZ_user.ndim == 0:
        dZ_user = np.full(z_shape, dZ_user[()], dtype=dZ_user.dtype)
    if dZ_user.shape != z_shape:
        raise InputError(f"dZ has shape {_fmt_shape(dZ_user.shape)} but Z has shape {_fmt_shape(z_shape)}")
    return form.activation_to_canonical(dZ_user)


def _build_weighted(
    kind: ColumnKind,
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    domain: Domain,
    allow_nonfinite: bool,
    float64: bool,
    limits: Limits,
) -> Problem:
    """A column kind with weights (conv-transpose): A_prev, W and b, the convolution-style keys
    parsed per dim here, then ``kind.configure`` checks them against the shapes and resolves them.

    W is in the kind's own channel order, (C_in, C_out/G, *k) or channels-last (*k, C_out/G, C_in);
    the same axis moves as convolution's bring it to the canonical (C_in, C_out/G, *k)."""
    for key in ("A_prev", "W"):
        if fields.get(key) is None:
            raise InputError(f"{key} is missing: give it in the input JSON or with {option(key)}")
    symbolic = isinstance(domain, SymbolicDomain)
    A_user = to_array(fields["A_prev"], "A_prev", domain, allow_nonfinite, limits)
    W_user = to_array(fields["W"], "W", domain, allow_nonfinite, limits)
    channels_last = parse_layout_field(fields["layout"]) if fields.get("layout") is not None else False
    dims = _whole(fields["dims"], "dims", 1) if fields.get("dims") is not None else None
    form = dataclasses.replace(infer_form(A_user.shape, W_user.shape, dims, channels_last), transposed=True)
    d = form.dims
    A = form.activation_to_canonical(A_user)
    W = form.kernel_to_canonical(W_user)
    if 0 in A.shape or 0 in W.shape:
        raise InputError(f"A_prev {_fmt_shape(A_user.shape)} and W {_fmt_shape(W_user.shape)} must not be empty")
    groups = _whole(_given(fields, "groups", 1), "groups", 1)
    if form.kind == BARE and groups != 1:
        raise InputError(f"groups = {groups} needs channels: a bare A_prev has one channel")
    if W.shape[0] != A.shape[1]:
        raise InputError(
            f"W has shape {_fmt_shape(W_user.shape)} but A_prev has shape {_fmt_shape(A_user.shape)}, "
            f"{A.shape[1]} channel{'s' if A.shape[1] != 1 else ''}: {kind.name}'s W is {form.describe('W')}"
        )
    spec = {
        "A_shape": A.shape,
        "W_shape": W.shape,
        "stride": per_dim(_given(fields, "stride", 1), "stride", d, 1),
        "dilation": per_dim(_given(fields, "dilation", 1), "dilation", d, 1),
        "output_padding": per_dim(_given(fields, "output_padding", 0), "output_padding", d, 0),
        "padding": parse_padding(_given(fields, "padding", 0), d),
        "groups": groups,
        "flip": parse_mode(_given(fields, "mode", "cross-correlation")),
        "given": frozenset(key for key, value in fields.items() if value is not None),
    }
    params = kind.configure(spec, domain)
    kind.accept(A_user)
    geom = kind.geometry(A.shape, params)
    c_out = geom.out_channels
    b = None
    b_value = fields.get("b")
    if b_value is None and symbolic:
        b_value = {"shape": []} if form.kind == BARE else {"shape": [c_out]}
    if b_value is not None:
        b_user = _bias_array(b_value, domain, allow_nonfinite, limits)
        if b_user.ndim == 0:
            b = np.full(c_out, b_user[()], dtype=b_user.dtype)
        elif b_user.ndim == 1 and b_user.shape[0] == c_out:
            b = b_user
        else:
            raise InputError(
                f"b has shape {_fmt_shape(b_user.shape)} but the layer has {c_out} output channel"
                f"{'s' if c_out != 1 else ''} (W {_fmt_shape(W_user.shape)}): b needs one value per output channel"
            )
    dZ = _upstream(fields, form, geom, domain, need_dZ, allow_nonfinite, limits)
    arrays = _one_dtype(domain, float64, A, W, b, dZ)
    problem = Problem(*arrays, geom, form, domain, params["mode"], allow_nonfinite, kind.name, params)
    if domain.dtype == object:
        check_exact_work(problem, limits)
    return problem


def _build_matrix(
    kind: ColumnKind,
    fields: Mapping[str, Any],
    *,
    need_dZ: bool,
    domain: Domain,
    allow_nonfinite: bool,
    float64: bool,
    limits: Limits,
) -> Problem:
    """A kind whose W is a matrix over features (dense): A_prev (N, in) or (in,), W as the kind reads
    it (``kind.user_form`` gives the form from A_prev's shape and the W layout, ``kind.canonical_W``
    brings W to (out, in)), b (out,) or one number; ``kind.configure`` checks the sizes."""
    for key in ("A_prev", "W"):
        if fields.get(key) is None:
            raise InputError(f"{key} is missing: give it in the input JSON or with {option(key)}")
    symbolic = isinstance(domain, SymbolicDomain)
    A_user = to_array(fields["A_prev"], "A_prev", domain, allow_nonfinite, limits)
    W_user = to_array(fields["W"], "W", domain, allow_nonfinite, limits)
    if fields.get("layout") is not None:
        parse_layout_field(fields["layout"])  # checked, though (N, features) reads the same either way
    if 0 in A_user.shape or 0 in W_user.shape:
        raise InputError(f"A_prev {_fmt_shape(A_user.shape)} and W {_fmt_shape(W_user.shape)} must not be empty")
    layout = kind.parse_W_layout(fields.get("W_layout"))  # type: ignore[attr-defined]
    form = kind.user_form(A_user.shape, layout)  # type: ignore[attr-defined]
    A = form.activation_to_canonical(A_user)
    spec = {"W_layout": layout, "A_shape": A.shape, "W_shape": W_user.shape}
    params = kind.configure(spec, domain)
    W = kind.canonical_W(W_user, layout)  # type: ignore[attr-defined]
    kind.accept(A_user)
    geom = kind.geometry(A.shape, params)
    out = geom.out_channels
    b = None
    b_value = fields.get("b")
    if b_value is None and symbolic:
        b_value = {"shape": [out]}
    if b_value is not None:
        b_user = _bias_array(b_value, domain, allow_nonfinite, limits)
        if b_user.ndim == 0:
            b = np.full(out, b_user[()], dtype=b_user.dtype)
        elif b_user.shape == (out,):
            b = b_user
        else:
            raise InputError(
                f"{kind.name}: b has shape {_fmt_shape(b_user.shape)} but W {_fmt_shape(W_user.shape)} has "
                f"{out} output unit{'s' if out != 1 else ''}: b needs one value per unit, ({out},)"
            )
    dZ = _upstream(fields, form, geom, domain, need_dZ, allow_nonfinite, limits)
    arrays = _one_dtype(domain, float64, A, W, b, dZ)
    problem = Problem(*arrays, geom, form, domain, kind.name, allow_nonfinite, kind.name, params)
    if domain.dtype == object:
        check_exact_work(problem, limits)
    return problem


def _one_dtype(
    domain: Domain, float64: bool, A: np.ndarray, W: np.ndarray, b: np.ndarray | None, dZ: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A, W, b, dZ in one float dtype: float32 only when every one given was float32 (and not
    --float64); exact and symbolic arrays (object) as they are."""
    if domain.dtype == object:
        return A, W, b, dZ
    single = not float64 and all(x.dtype == np.float32 for x in (A, W, b, dZ) if x is not None)
    dtype = np.float32 if single else np.float64
    return (
        A.astype(dtype, copy=False),
        W.astype(dtype, copy=False),
        None if b is None else b.astype(dtype, copy=False),
        None if dZ is None else dZ.astype(dtype, copy=False),
    )


def _bias_array(value: Any, domain: Domain, allow_nonfinite: bool, limits: Limits) -> np.ndarray:
    # A shape spec of [] names the one bias "b" (entry_names of a scalar is the prefix alone).
    if isinstance(value, dict) and value.get("shape") == []:
        unknown = set(value) - {"shape", "prefix"}
        if unknown:
            raise InputError(
                f'b is an object; as an array spec it takes "shape" and optionally "prefix", '
                f"not {echo_text(sorted(unknown)[0])}"
            )
        if not isinstance(domain, SymbolicDomain):
            raise InputError("b is given by its shape only", hint=f"naming its entries needs {option('symbolic')}")
        prefix = check_name(value.get("prefix", "b"), "b prefix")  # the same check as every other name
        return np.array(domain.symbol(prefix, "b", automatic=True), dtype=object)
    return to_array(value, "b", domain, allow_nonfinite, limits)


def _given(fields: Mapping[str, Any], name: str, default: Any) -> Any:
    value = fields.get(name)
    return default if value is None else value
