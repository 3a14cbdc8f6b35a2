"""What every layer kind provides, and the records its computations return. Pure: no I/O.

A layer kind is one module (``convgrad/layers/conv.py`` is the first) that
satisfies ``LayerKind``: a module is a valid implementation of a Protocol, so
the registry in ``convgrad/layers/__init__.py`` maps a name to the module
itself. The module says, top to bottom, what one overlay is and its forward
term and gradient shares, then computes the same totals at once; the tests
check the overlay sums against those totals.

Arrays are canonical (channels-first, batched):
    A_prev  (N, C_in, *spatial)       input activations
    W       (C_out, C_in/G, *k)       filters (None for a kind without weights)
    b       (C_out,) or None          bias
    Z, dZ   (N, C_out, *out)          output and upstream gradient dL/dZ
Entries may be floats or any Python numbers in object arrays (Fraction, sympy
expressions): a kind's code must compute all of them with the same steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..geometry import Geometry


@dataclass(frozen=True, kw_only=True)
class Overlay:
    """One application of one filter at one output position of one sample.

    index: place in the overlay order (n, then c_out, then position row-major), 0-based;
    ``number`` is the same place counted from 1, as the table, ``--overlays`` and the JSON "number" count.
    n, c_out, position: the sample, the filter and the output position (*out index).
    window_start: A_prev coordinates of the first tap (negative in leading padding);
    the window covers window_start + dilation * i along each spatial dim.
    in_input: (*k) bool, False where a tap falls in the padding.
    channels: the input channels this filter reads (its group's).
    A_slice: (C_in/G, *k) the input under the taps (0 in the padding).
    kernel: (C_in/G, *k) the weights as applied (W[c_out], flipped in convolution mode).
    bias: b[c_out], or 0 without a bias.
    Z: sum(kernel * A_slice) + bias, a scalar.
    dZ, db: dL/dZ at this output, which is also this overlay's db contribution.
    dW: (C_in/G, *k) contribution to dW[c_out] (dZ * A_slice), aligned with W as given.
    dA_prev: (C_in/G, *k) contribution to dA_prev on the window taps (dZ * kernel),
    aligned with A_slice; the taps outside the input are discarded.
    The gradient fields are None in a forward pass.
    """

    index: int
    n: int
    c_out: int
    position: tuple[int, ...]
    window_start: tuple[int, ...]
    in_input: np.ndarray
    channels: range
    A_slice: np.ndarray
    kernel: np.ndarray
    bias: Any
    Z: Any
    dZ: Any = None
    dW: np.ndarray | None = None
    db: Any = None
    dA_prev: np.ndarray | None = None

    @property
    def number(self) -> int:
        """The overlay's number as the CLI and JSON show it: ``index + 1``."""
        return self.index + 1


class Gradients(NamedTuple):
    """The backward totals: dW like W, db (C_out,), dA_prev like A_prev (or padded, if asked)."""

    dW: Any
    db: Any
    dA_prev: Any


class Totals(NamedTuple):
    """A pass's totals: Z (N, C_out, *out); the gradients, shaped as in Gradients, None after a forward pass."""

    Z: Any
    dW: Any = None
    db: Any = None
    dA_prev: Any = None


class NoiseScales(NamedTuple):
    """Per entry, the sum of the magnitudes of the terms behind each total, shaped like it.

    dA_padded is (N, C_in, *padded): the gradient of the padded input, padding kept.
    The gradient fields are None after a forward pass.
    """

    Z: Any
    dW: Any = None
    db: Any = None
    dA_padded: Any = None


@dataclass(frozen=True)
class Factor:
    """One operand of a term: which array ("W", "A_prev", "dZ", "b"), its canonical index, its value."""

    array: str
    index: tuple[int, ...]
    value: Any


@dataclass(frozen=True)
class Term:
    """One summand of one entry: the overlay it comes from (None for the bias in Z) and its factors."""

    overlay: int | None
    factors: tuple[Factor, ...]

    @property
    def number(self) -> int:
        """The 1-based number of the overlay this term comes from (every gradient term has one)."""
        if self.overlay is None:
            raise ValueError("the bias term of Z comes from no overlay")
        return self.overlay + 1

    @property
    def value(self) -> Any:
        result = self.factors[0].value
        for factor in self.factors[1:]:
            result = result * factor.value
        return result


@dataclass(frozen=True)
class Column:
    """One column a kind's overlay table shows: the key of the value in ``Record.values``, its title,
    and whether it exists only after a backward pass (its value is then None in a forward pass)."""

    key: str
    title: str
    backward: bool = False


@dataclass(frozen=True, kw_only=True)
class Record:
    """One overlay of a kind that declares its own columns (every kind but convolution so far).

    index: place in the overlay order, 0-based.
    n, channel, position: the sample, the channel and the position the overlay belongs to
    (an activation: the entry itself; pooling: the output window; conv-transpose: the input entry).
    reads: canonical A_prev indices the overlay reads (its window, taps in the input only), in
    window order; a window-shaped dA_prev share in ``values`` lands on these entries.
    writes: canonical Z indices the overlay writes (an activation or pooling window: one;
    conv-transpose: its output window).
    values: the overlay's fields by column key (see ``Column``): scalars or small arrays, exact
    where the domain is; None for a backward column in a forward pass.
    """

    index: int
    n: int
    channel: int
    position: tuple[int, ...]
    reads: tuple[tuple[int, ...], ...]
    writes: tuple[tuple[int, ...], ...]
    values: dict[str, Any]


@dataclass(frozen=True)
class Takes:
    """What a problem of this kind may hold: arrays beyond A_prev and dZ, and its own config keys
    (canonical names; each parsed by the kind's ``configure``)."""

    weights: bool
    bias: bool
    keys: tuple[str, ...] = ()


class LayerKind(Protocol):
    """One layer kind: its geometry, its overlays, its totals at once, the terms of one entry.

    Satisfied by a module with these names at top level (see docs/adding-a-layer-kind.md).
    Shapes as in the module docstring; ``geom`` is what ``geometry`` returned.
    """

    name: str
    """The kind's name in problems and the registry ("conv")."""

    takes: Takes
    """W and b accepted, and the kind's own configuration keys."""

    def geometry(self, *args: Any, **config: Any) -> Geometry:
        """The resolved configuration and every shape, output shape included, from the input
        shape and the layer's configuration (keyword arguments of the kind's own)."""
        ...

    def iter_overlays(
        self,
        A_prev: np.ndarray,
        W: np.ndarray,
        b: np.ndarray | None,
        dZ: np.ndarray | None,
        geom: Geometry,
        indices: Iterable[int] | None = None,
    ) -> Iterator[Overlay]:
        """Frozen overlays in the overlay order (or those at ``indices``), built lazily one at a
        time; gradient fields None when dZ is None."""
        ...

    def forward(self, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, geom: Geometry) -> np.ndarray:
        """Z (N, C_out, *out) at once, equal to the overlays' Z."""
        ...

    def backward(
        self, A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray, geom: Geometry, keep_padding: bool = False
    ) -> Gradients:
        """dW, db, dA_prev at once, equal to the sums of the overlays' shares; with
        keep_padding, dA_prev is the gradient of the padded input (N, C_in, *padded)."""
        ...

    def entry_terms(
        self,
        quantity: str,
        index: tuple[int, ...],
        A_prev: np.ndarray,
        W: np.ndarray,
        b: np.ndarray | None,
        dZ: np.ndarray | None,
        geom: Geometry,
    ) -> Iterable[Term]:
        """The summands of one entry of ``quantity`` ("Z", "dW", "db" or "dA_prev") at the
        canonical ``index``, each naming the overlay it comes from, in overlay order."""
        ...


class ColumnKind(Protocol):
    """A layer kind that declares what it takes and its overlay's columns (every kind after conv).

    The shared parser (problem.py) reads A_prev, dZ, W and b as ``takes`` allows, the layout
    and the number domain, then asks the kind for its parameters and geometry; the API, JSON,
    table, exports, --cell, check and gradcheck are generic over ``Record.values`` and
    ``columns``. ``params`` is what ``configure`` returned. See docs/adding-a-layer-kind.md.
    """

    @property
    def name(self) -> str:
        """The kind's name in problems and the registry ("relu", "max-pool")."""
        ...

    @property
    def sentence(self) -> str:
        """One line saying the rule, for --explain and the docs."""
        ...

    @property
    def takes(self) -> Takes:
        """Whether W and b are accepted, and the kind's own config keys."""
        ...

    @property
    def rational(self) -> bool:
        """Whether exact rationals can compute it (--exact; check's exact reference)."""
        ...

    @property
    def columns(self) -> tuple[Column, ...]:
        """The overlay table's value columns, in order, keys into ``Record.values``."""
        ...

    def configure(self, fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
        """Parse and check the kind's own keys (and refuse a number domain it cannot compute in)."""
        ...

    def accept(self, A_prev: np.ndarray) -> None:
        """Refuse entries the rule cannot compute (a name where a branch is decided); A_prev as the
        user gave it, so that a message names the entry by the user's index."""
        ...

    def kinks(self, A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
        """A bool mask like A_prev: entries within ``step`` of a kink or tie, which gradcheck skips."""
        ...

    def geometry(self, A_shape: tuple[int, ...], params: Mapping[str, Any]) -> Geometry:
        """Shapes from the canonical A_prev shape: output_size, batch, channels, overlay_count."""
        ...

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
        """The overlays in order (or those at ``indices``), lazily; backward values None without dZ."""
        ...

    def totals(
        self, A_prev: np.ndarray, W: Any, b: Any, dZ: np.ndarray | None, geom: Geometry, params: Mapping[str, Any]
    ) -> Totals:
        """Z and the gradients at once (dW and db None without weights); equal to the overlay sums."""
        ...

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
        """The summands of one entry of ``quantity`` at a canonical index, naming their overlays."""
        ...


def is_number(value: Any) -> bool:
    """Whether an entry is a number (sympy expressions say so themselves; floats and Fractions are)."""
    return not hasattr(value, "is_number") or bool(value.is_number)


def refuse_names(A_prev: np.ndarray, need: str, hint: str) -> None:
    """Refuse the first entry of A_prev that is a name (--symbolic) where the kind decides a branch:
    one line, ``need`` saying what needs numbers, the entry named by its path."""
    from ..errors import InputError
    from ..numbers import entry_path

    if A_prev.dtype != object:
        return
    for index, value in np.ndenumerate(A_prev):
        if not is_number(value):
            raise InputError(
                f"{need}, but {entry_path('A_prev', tuple(int(i) for i in index))} is the name {value}", hint=hint
            )
