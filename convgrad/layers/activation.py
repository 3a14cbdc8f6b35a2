"""Element-wise activations: relu, leaky-relu, sigmoid, tanh. One overlay is one entry of A_prev.

The overlay rule, for the entry ``i`` (any shape, canonical channels-first):

    window:   the one entry A_prev[i]
    forward:  Z[i] = f(A_prev[i])
    local:    f'(A_prev[i])           (taken at the input, never at Z)
    backward: dA_prev[i] = dZ[i] * f'(A_prev[i])

There are no weights and no bias. ReLU's derivative at 0 is 0 and leaky ReLU's
is its slope, as PyTorch defines them (``A_prev > 0`` picks the identity
branch). relu and leaky-relu compute with exact rationals; sigmoid and tanh
are not rational and compute in floats or, under --symbolic, as formulas.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InputError, option
from ..geometry import Geometry
from ..numbers import describe_value
from .base import Column, Factor, Record, Takes, Term, Totals, is_number, refuse_names

#: The default slope of leaky ReLU for negative inputs (PyTorch's negative_slope).
DEFAULT_SLOPE = Fraction(1, 100)


@dataclass(frozen=True)
class Activation:
    """One element-wise kind. ``value(a, params)`` and ``derivative(a, params)`` act on one entry
    (any number type); ``value_array`` / ``derivative_array`` on float arrays at once."""

    name: str
    sentence: str
    rational: bool  # exact rationals work (the branch kinds); sigmoid and tanh are not rational
    branches: bool  # the rule compares A_prev with 0 (needs numbers, not names)
    value: Callable[[Any, Mapping[str, Any]], Any]
    derivative: Callable[[Any, Mapping[str, Any]], Any]
    value_array: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]
    derivative_array: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]
    keys: tuple[str, ...] = ()

    # -- what a problem of this kind holds ------------------------------------------------------

    @property
    def takes(self) -> Takes:
        return Takes(weights=False, bias=False, keys=self.keys)

    @property
    def columns(self) -> tuple[Column, ...]:
        return (
            Column("A_prev", "A_prev"),
            Column("Z", "Z"),
            Column("derivative", f"{self.name}'"),
            Column("dZ", "dZ", backward=True),
            Column("dA_prev", "dA_prev", backward=True),
        )

    def configure(self, fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
        """The kind's own parameters from the problem's fields; refuses what cannot apply."""
        if domain.name == "exact" and not self.rational:
            raise InputError(
                f"{self.name} is not rational (it needs exp), so {option('exact')} cannot compute it: "
                f"leave out {option('exact')} to compute in floats, or use {option('symbolic')} for formulas"
            )
        params: dict[str, Any] = {}
        if "slope" in self.keys:
            raw = fields.get("slope")
            if raw is None:
                slope = domain.convert(str(DEFAULT_SLOPE), "slope") if domain.dtype == object else 0.01
            else:
                if isinstance(raw, (bool, list, tuple, dict)):
                    raise InputError(f"slope must be one number such as 0.01 or 1/100, got {describe_value(raw)}")
                slope = domain.convert(raw, "slope")
            if not is_number(slope):
                raise InputError(f"slope is the name {slope}: the slope must be a number")
            params["slope"] = slope
        return params

    def accept(self, A_prev: np.ndarray) -> None:
        """Refuse what the rule cannot compute: a name under --symbolic where a branch is decided."""
        if self.branches:
            refuse_names(
                A_prev,
                f"{self.name} needs numbers to decide its branch (A_prev > 0 or not)",
                hint="give A_prev numbers; dZ may stay names",
            )

    def kinks(self, A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
        """Entries within ``step`` of a kink (relu and leaky-relu at 0), where finite differences
        straddle two branches; none for the smooth sigmoid and tanh."""
        if not self.branches:
            return np.zeros(A_prev.shape, dtype=bool)
        return np.vectorize(lambda a: abs(a) <= step, otypes=[bool])(A_prev)

    # -- the geometry ------------------------------------------------------------------------

    def geometry(self, A_shape: tuple[int, ...], params: Mapping[str, Any]) -> Geometry:
        """Z has A_prev's shape: one overlay per entry (a depthwise 1-tap window, stride 1)."""
        batch, channels, *size = A_shape
        dims = len(size)
        return Geometry.build(
            batch=batch,
            in_channels=channels,
            out_channels=channels,
            groups=channels,
            input_size=tuple(size),
            kernel_size=(1,) * dims,
            stride=(1,) * dims,
            dilation=(1,) * dims,
            padding="valid",
        )

    # -- one overlay, top to bottom ------------------------------------------------------------

    def record(self, index: int, A_prev: np.ndarray, dZ: np.ndarray | None, params: Mapping[str, Any]) -> Record:
        """Overlay ``index``: the entry, its forward value, the local derivative, its gradient."""
        entry = tuple(int(i) for i in np.unravel_index(index, A_prev.shape))  # window: one entry
        a = A_prev[entry]
        Z = self.value(a, params)  # forward
        local = self.derivative(a, params)  # local derivative at the input
        dz = None if dZ is None else dZ[entry]
        dA = None if dz is None else _no_negative_zero(dz * local)  # backward: this overlay's whole share of dA_prev
        n, c, *position = entry
        return Record(
            index=index,
            n=n,
            channel=c,
            position=tuple(position),
            reads=(entry,),
            writes=(entry,),
            values={"A_prev": a, "Z": Z, "derivative": local, "dZ": dz, "dA_prev": dA},
        )

    def records(
        self,
        A_prev: np.ndarray,
        W: Any,
        b: Any,
        dZ: np.ndarray | None,
        geom: Geometry,
        params: Mapping[str, Any],
        indices: Iterable[int] | None = None,
    ) -> Iterator[Record]:
        for index in range(A_prev.size) if indices is None else indices:
            yield self.record(index, A_prev, dZ, params)

    # -- the totals at once ------------------------------------------------------------------

    def _map(self, func: Callable[[Any, Mapping[str, Any]], Any], A_prev: np.ndarray, params: Mapping[str, Any]):
        out = np.empty(A_prev.shape, dtype=object)
        for index, value in np.ndenumerate(A_prev):
            out[index] = func(value, params)
        return out

    def totals(
        self,
        A_prev: np.ndarray,
        W: Any,
        b: Any,
        dZ: np.ndarray | None,
        geom: Geometry,
        params: Mapping[str, Any],
    ) -> Totals:
        """Z and dA_prev at once (dW and db: None, the kind has no weights)."""
        if A_prev.dtype == object:
            Z = self._map(self.value, A_prev, params)
            local = self._map(self.derivative, A_prev, params)
        else:
            Z = self.value_array(A_prev, params).astype(A_prev.dtype, copy=False)
            local = self.derivative_array(A_prev, params).astype(A_prev.dtype, copy=False)
        if dZ is None:
            return Totals(Z=Z)
        return Totals(Z=Z, dA_prev=_no_negative_zero(dZ * local))

    def entry_terms(
        self,
        quantity: str,
        index: tuple[int, ...],
        A_prev: np.ndarray,
        W: Any,
        b: Any,
        dZ: np.ndarray | None,
        geom: Geometry,
        params: Mapping[str, Any],
    ) -> list[Term]:
        """The one term of Z[index] or dA_prev[index]: the overlay of that entry."""
        overlay = int(np.ravel_multi_index(index, A_prev.shape))
        a = A_prev[index]
        if quantity == "Z":
            return [Term(overlay, (Factor("Z", index, self.value(a, params)),))]
        if quantity == "dA_prev" and dZ is not None:
            return [
                Term(
                    overlay,
                    (
                        Factor("dZ", index, dZ[index]),
                        Factor("derivative", index, self.derivative(a, params)),
                    ),
                )
            ]
        raise ValueError(f"{self.name} has no {quantity}: it has Z and dA_prev")


# -- the four functions ----------------------------------------------------------------------


def _sympy() -> Any:
    import sympy

    return sympy


def _no_negative_zero(value: Any) -> Any:
    """dZ·0 is -0.0 in floats where dZ < 0; a gradient of nothing is 0."""
    return (
        value + 0.0
        if isinstance(value, (float, np.floating, np.ndarray)) and np.asarray(value).dtype != object
        else value
    )


def _zero(a: Any) -> Any:
    """0 of a's own number type (0.0 for a float, never -0.0 or NaN)."""
    return 0.0 if isinstance(a, (float, np.floating)) else a - a


# NaN (only with --allow-nonfinite) goes where PyTorch sends it: relu keeps it and passes the
# gradient (its test is a <= 0), leaky relu keeps it and scales the gradient (its test is a > 0).


def _relu(a: Any, params: Mapping[str, Any]) -> Any:
    return _zero(a) if a <= 0 else a


def _relu_d(a: Any, params: Mapping[str, Any]) -> Any:
    return _zero(a) if a <= 0 else _zero(a) + 1  # 0 at 0, as PyTorch


def _leaky(a: Any, params: Mapping[str, Any]) -> Any:
    return a if a > 0 else params["slope"] * a


def _leaky_d(a: Any, params: Mapping[str, Any]) -> Any:
    return _zero(a) + 1 if a > 0 else _zero(a) + params["slope"]  # the slope at 0, as PyTorch


def _sigmoid(a: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(a, (float, np.floating)):
        return float(_sigmoid_array(np.array(a, dtype=float), params))
    sympy = _sympy()
    return 1 / (1 + sympy.exp(-a))


def _sigmoid_d(a: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(a, (float, np.floating)):
        return float(_sigmoid_d_array(np.array(a, dtype=float), params))
    sympy = _sympy()
    return sympy.exp(-a) / (1 + sympy.exp(-a)) ** 2


def _sigmoid_array(a: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    # Stable on both sides: exp of a non-positive number only.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_d_array(a: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    # s(a) * (1 - s(a)) = s(a) * s(-a), without the cancellation of 1 - s(a)
    return _sigmoid_array(a, params) * _sigmoid_array(-a, params)


def _tanh(a: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(a, (float, np.floating)):
        return float(np.tanh(a))
    return _sympy().tanh(a)


def _tanh_d(a: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(a, (float, np.floating)):
        return float(1 / np.cosh(a) ** 2)
    return 1 - _sympy().tanh(a) ** 2


RELU = Activation(
    name="relu",
    sentence="relu(a) = a where a > 0, else 0; relu'(a) = 1 where a > 0, else 0 (0 at a = 0, as PyTorch)",
    rational=True,
    branches=True,
    value=_relu,
    derivative=_relu_d,
    value_array=lambda a, p: np.where(a <= 0, 0.0, a),
    derivative_array=lambda a, p: (~(a <= 0)).astype(a.dtype),
)
LEAKY_RELU = Activation(
    name="leaky-relu",
    sentence="leaky-relu(a) = a where a > 0, else slope·a; its derivative is 1 where a > 0, else slope (slope at 0, as PyTorch)",
    rational=True,
    branches=True,
    value=_leaky,
    derivative=_leaky_d,
    value_array=lambda a, p: np.where(a > 0, a, p["slope"] * a),
    derivative_array=lambda a, p: np.where(a > 0, 1.0, p["slope"]),
    keys=("slope",),
)
SIGMOID = Activation(
    name="sigmoid",
    sentence="sigmoid(a) = 1/(1 + exp(-a)); sigmoid'(a) = sigmoid(a)·(1 - sigmoid(a)), taken at A_prev",
    rational=False,
    branches=False,
    value=_sigmoid,
    derivative=_sigmoid_d,
    value_array=_sigmoid_array,
    derivative_array=_sigmoid_d_array,
)
TANH = Activation(
    name="tanh",
    sentence="tanh'(a) = 1 - tanh(a)², taken at A_prev",
    rational=False,
    branches=False,
    value=_tanh,
    derivative=_tanh_d,
    value_array=lambda a, p: np.tanh(a),
    derivative_array=lambda a, p: 1 / np.cosh(a) ** 2,  # sech², without the cancellation of 1 - tanh²
)

ACTIVATIONS: tuple[Activation, ...] = (RELU, LEAKY_RELU, SIGMOID, TANH)
