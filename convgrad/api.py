"""The Python API: ``convgrad.forward`` and ``convgrad.backward`` for notebooks and scripts.

    >>> from convgrad.api import backward
    >>> r = backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
    >>> r.dW.round(12).tolist(), round(float(r.db), 12), r.dA_prev.round(12).tolist()
    ([0.3, 0.4], 0.1, [-0.03, 0.01, 0.1])

``convgrad.forward`` and ``convgrad.backward`` (render/notebook.py) return the same Result
with its displays added; their docstrings list every keyword.

Arrays come back in the form and layout they were given in; overlays are
produced lazily, one at a time, only when iterated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any

import numpy as np

from .errors import InputError, UsageError, option
from .layers import conv
from .layers.base import Overlay, Record, Totals
from .limits import DEFAULT as DEFAULT_LIMITS
from .limits import Limits, exact_terms
from .numbers import (
    DEFAULT_SIGNIFICANT_DIGITS,
    FLOAT32_SIGNIFICANT_DIGITS,
    ShownFloatDomain,
    exact_of_float,
    index_label,
)
from .problem import Problem, build_problem, canonical_fields, host_array
from .selection import ALL, Selection, parse_selection

# Skipping more overlays than this recomputes the running totals at once instead.
_WALK_JUMP = 64
#: Float problems up to this many multiply-adds are shown from exact arithmetic on the values as
#: typed (about 0.1 s); larger ones show their floats rounded to the significant digits asked for.
DISPLAY_EXACT_TERMS = 50_000


class Result:
    """A forward or backward pass, totals in the user's form and layout.

    Z: shaped like dZ (bare (*out), else (C_out, *out) / (N, C_out, *out) or channels-last);
    dW: like W; db: a scalar (bare), else shaped like b as given ((C_out,), or Coursera's
    (1, 1, 1, C_out) and the like); dA_prev: like A_prev.
    The gradients are None after a forward pass.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    @classmethod
    def with_totals(cls, problem: Problem, totals: Totals) -> Result:
        """A result whose totals were computed elsewhere (canonical, final, equal to what ``_totals``
        would compute): the checker computes an exact problem's totals on integers (see check.py)."""
        result = cls(problem)
        for array in totals:
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
        result.__dict__["_totals"] = totals  # the cached_property's own slot
        return result

    @property
    def is_backward(self) -> bool:
        return self.problem.dZ is not None

    @cached_property
    def _totals(self) -> Totals:
        p = self.problem
        finalize = p.domain.finalize
        kind = p.kind
        with np.errstate(all="ignore"):  # overflow is reported below, as one clear error
            if kind is not None:
                raw = kind.totals(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
                totals = Totals(*(None if array is None else finalize(array) for array in raw))
            else:
                Z = finalize(conv.forward(p.A_prev, p.W, p.b, p.geom))
                totals = Totals(Z=Z)
            if kind is None and p.dZ is not None:
                dW, db, dA_prev = conv.backward(p.A_prev, p.W, p.dZ, p.geom)
                totals = Totals(Z=Z, dW=finalize(dW), db=finalize(db), dA_prev=finalize(dA_prev))
        for array in totals:  # r.Z[0] = 5 must not change what r.overlays() and r.shown() describe
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
        if not p.allow_nonfinite and p.domain.dtype != object:
            for name, array in zip(Totals._fields, totals):
                if array is not None and not np.isfinite(array).all():
                    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
                    form = p.form
                    where = (
                        form.kernel_index(index)
                        if name == "dW"
                        else form.bias_index(index[0])
                        if name == "db"
                        else form.activation_index(index)
                    )
                    label = index_label(name, where)
                    value = array[index]
                    largest = f"{float(np.finfo(array.dtype).max):.1e}".replace("e+", "e")
                    what = (
                        "NaN (inf - inf)" if np.isnan(value) else (f"{'-' if value < 0 else ''}beyond about {largest}")
                    )
                    raise InputError(
                        f"the result overflows {array.dtype}: {label} is {what}",
                        hint=f"the inputs are too large for floats; {option('exact')} computes without overflow",
                    )
        return totals

    @property
    def scales(self) -> None:
        """No noise scales: nothing shown is zeroed for being small (kept for the renderers' signature).

        Values people see come from ``for_display()``: exact on the values as typed when affordable.
        """
        return None

    @cached_property
    def _display(self) -> Result:
        p = self.problem
        if p.domain.name != "float" or p.domain.dtype == object or p.kind is not None:
            return self  # exact and symbolic show themselves; a column kind shows its floats rounded
        if exact_terms(p) > DISPLAY_EXACT_TERMS:
            return self
        arrays = [x for x in (p.A_prev, p.W, p.b, p.dZ) if x is not None]
        if not all(np.isfinite(x).all() for x in arrays):
            return self  # NaN and infinities have no exact value: the floats are shown as they are
        digits = FLOAT32_SIGNIFICANT_DIGITS if p.A_prev.dtype == np.float32 else DEFAULT_SIGNIFICANT_DIGITS

        def exact(array: np.ndarray) -> np.ndarray:
            out = np.empty(array.shape, dtype=object)
            for index, value in np.ndenumerate(array):
                out[index] = exact_of_float(value)
            return out

        shown = dataclasses.replace(
            p,
            A_prev=exact(p.A_prev),
            W=exact(p.W),
            b=None if p.b is None else exact(p.b),
            dZ=None if p.dZ is None else exact(p.dZ),
            domain=ShownFloatDomain(digits),
        )
        return Result(shown)

    def for_display(self) -> Result:
        """The result as people should see it (tables, Markdown, LaTeX).

        A float problem of at most DISPLAY_EXACT_TERMS multiply-adds is recomputed in exact rationals
        on the values as typed (0.1 is 1/10), and every value is shown rounded to the float's
        significant digits: 1e10 - 1e10 + 0.001 shows 0.001 and 0.1 - 0.3 + 0.2 shows 0, both true.
        Larger float problems show their floats rounded, never zeroed. Other domains: the result itself.
        """
        return self._display

    def shown(self, name: str) -> Any:
        """A total in the user's form as people should see it (see for_display).

        name: "Z", "dW", "db" or "dA_prev".
        """
        return getattr(self.for_display(), name)

    @property
    def Z(self) -> np.ndarray:
        return self.problem.form.activation_from_canonical(self._totals.Z)

    @property
    def dW(self) -> np.ndarray | None:
        dW = self._totals.dW
        return None if dW is None else self.problem.form.kernel_from_canonical(dW)

    @property
    def db(self) -> Any:
        db = self._totals.db
        return None if db is None else self.problem.form.bias_from_canonical(db)

    @property
    def dA_prev(self) -> np.ndarray | None:
        dA = self._totals.dA_prev
        return None if dA is None else self.problem.form.activation_from_canonical(dA)

    @property
    def canonical_totals(self) -> Totals:
        """Z, dW, db, dA_prev in the canonical channels-first form (see layers/base.py)."""
        return self._totals

    @property
    def overlay_count(self) -> int:
        return self.problem.geom.overlay_count

    def records(self, indices: Iterable[int] | None = None) -> Iterator[Record]:
        """A column kind's overlays (see layers/base.py ``Record``), values final, lazily."""
        p = self.problem
        kind = p.kind
        if kind is None:
            raise ValueError("convolution's overlays are Overlay records: use canonical_overlays")
        finalize = p.domain.finalize
        windows = getattr(kind, "window_keys", ())  # window-shaped values, shown in the user's form
        for record in kind.records(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params, indices):
            values = {
                key: p.form.window_from_canonical(np.asarray(value)) if key in windows and value is not None else value
                for key, value in record.values.items()
            }
            values = {
                key: None
                if value is None
                else value
                if isinstance(value, str)  # words, such as where a conv-transpose scatter lands
                else finalize(np.asarray(value, dtype=object))[()]
                if p.domain.dtype == object
                else value
                for key, value in values.items()
            }
            yield dataclasses.replace(record, values=values)

    def canonical_overlays(self, indices: Iterable[int] | None = None) -> Iterator[Overlay]:
        """Engine overlays (channels-first arrays), lazily, in order or at ``indices``."""
        p = self.problem
        finalize = p.domain.finalize
        for overlay in conv.iter_overlays(p.A_prev, p.W, p.b, p.dZ, p.geom, indices):
            yield finalize_overlay(overlay, finalize)

    def overlay_tiles(self, indices: Iterable[int] | None = None, size: int = 256) -> Iterator[conv.OverlayTile]:
        """Overlays in tiles of up to ``size`` (see conv.OverlayTile), window arrays in the user's form.

        Float problems only: exact and symbolic values are brought to their final form one overlay
        at a time (``overlays``).
        """
        p = self.problem
        if p.kind is not None or p.A_prev.dtype == object:
            raise ValueError("overlay tiles are for float convolution problems: use overlays()")
        form = p.form
        for tile in conv.iter_tiles(p.A_prev, p.W, p.b, p.dZ, p.geom, indices, size):
            yield tile_in_form(tile, form)

    def walk(self, indices: Iterable[int]) -> Iterator[tuple[Overlay, conv.RunningTotals]]:
        """Overlays at ``indices`` (ascending) with the running totals just after each.

        The totals object is updated in place: read it before asking for the next overlay.
        A long stretch of skipped overlays is jumped in one vectorised step.
        """
        p = self.problem
        if p.dZ is None:
            raise UsageError("running totals need a backward pass")
        maker = conv.OverlayMaker(p.A_prev, p.W, p.b, p.dZ, p.geom)
        finalize = p.domain.finalize
        running = conv.RunningTotals(p.A_prev, p.W, p.geom)
        for index in indices:
            if index - running.count > _WALK_JUMP:
                running = conv.RunningTotals.before(index, p.A_prev, p.W, p.dZ, p.geom)
            for skipped in range(running.count, index):
                running.add(maker.make(skipped))
            overlay = maker.make(index)
            running.add(overlay)
            yield finalize_overlay(overlay, finalize), running

    def overlays(self, selection: Selection | str | None = None) -> Iterator[Overlay]:
        """Overlays with window-shaped arrays in the user's form, lazily.

        ``selection``: a Selection or its text ("all", "1-5", "n=0 pos=1,2"); default all.
        """
        if isinstance(selection, str):
            selection = parse_selection(selection)
        chosen = (selection or ALL).indices(self.problem.geom)
        form = self.problem.form
        for overlay in self.canonical_overlays(chosen):
            yield overlay_in_form(overlay, form)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved configuration and every shape, as plain JSON-able values."""
        return describe_config(self.problem)


def finalize_overlay(overlay: Overlay, finalize: Any) -> Overlay:
    """Bring an overlay's values to the domain's final form (symbolic: expanded)."""
    changes = {"Z": finalize(np.asarray(overlay.Z))[()]}
    if overlay.dW is not None:
        changes["dW"] = finalize(overlay.dW)
        changes["dA_prev"] = finalize(overlay.dA_prev)
    return dataclasses.replace(overlay, **changes)


def overlay_in_form(overlay: Overlay, form: Any) -> Overlay:
    """The same overlay with A_slice, kernel, dW and dA_prev in the user's form."""
    window = form.window_from_canonical
    changes: dict[str, Any] = {"A_slice": window(overlay.A_slice), "kernel": window(overlay.kernel)}
    if overlay.dW is not None:
        changes["dW"] = window(overlay.dW)
        changes["dA_prev"] = window(overlay.dA_prev)
    return dataclasses.replace(overlay, **changes)


def tile_in_form(tile: conv.OverlayTile, form: Any) -> conv.OverlayTile:
    """The same tile with A_slice, dW and dA_prev (T, C_in/G, *k) in the user's form, each overlay's
    window as ``overlay_in_form`` gives it: (T, *k) bare, (T, *k, C_in/G) channels-last."""

    def window(array: np.ndarray) -> np.ndarray:
        if form.kind == "bare":
            return array[:, 0]
        return np.moveaxis(array, 1, -1) if form.channels_last else array

    if tile.dW is None or tile.dA_prev is None:
        return tile._replace(A_slice=window(tile.A_slice))
    return tile._replace(A_slice=window(tile.A_slice), dW=window(tile.dW), dA_prev=window(tile.dA_prev))


def describe_config(problem: Problem) -> dict[str, Any]:
    g, form = problem.geom, problem.form
    if problem.kind is not None:
        config: dict[str, Any] = {
            "layer": problem.layer,
            "form": form.kind,
            "layout": form.layout,
            "dims": g.dims,
            "batch": g.batch,
            "channels": g.in_channels,
            "input_size": list(g.input_size),
            "output_size": list(g.output_size),
        }
        config.update({key: _plain(value) for key, value in problem.params.items()})
        config.update({"shapes": problem.user_shapes, "overlay_count": g.overlay_count, "numbers": problem.domain.name})
        return config
    return {
        "form": form.kind,
        "layout": form.layout,
        "mode": problem.mode_name,
        "dims": g.dims,
        "stride": list(g.stride),
        "padding": [list(pair) for pair in g.padding],
        "dilation": list(g.dilation),
        "groups": g.groups,
        "batch": g.batch,
        "in_channels": g.in_channels,
        "out_channels": g.out_channels,
        "input_size": list(g.input_size),
        "kernel_size": list(g.kernel_size),
        "output_size": list(g.output_size),
        "shapes": problem.user_shapes,
        "overlay_count": g.overlay_count,
        "numbers": problem.domain.name,
    }


def _plain(value: Any) -> Any:
    """A parameter as JSON can hold it: a Fraction as its text ("1/100"), a float as it is."""
    from fractions import Fraction

    if getattr(value, "is_Rational", False):
        return Fraction(int(value.p), int(value.q))
    return value


def _solve(arrays: dict[str, Any], config: dict[str, Any], need_dZ: bool) -> Result:
    allow_nonfinite = bool(config.pop("allow_nonfinite", False))
    limits = _limits(config.pop("max_elements", None))
    # The caller's arrays are copied: changing them afterwards (W -= 0.1 * r.dW) must not change the
    # problem a Result describes, whose totals are computed at once and whose overlays come later.
    given = {
        name: value.copy() if isinstance(value, np.ndarray) else host_array(value, name)
        for name, value in arrays.items()
        if value is not None
    }  # b=None: no bias given; a torch tensor (or any __array__ / DLPack array) as a numpy copy
    fields = canonical_fields({**given, **config}, source="the arguments")
    try:
        problem = build_problem(fields, need_dZ=need_dZ, allow_nonfinite=allow_nonfinite, limits=limits)
    except RecursionError:
        raise InputError("an argument is nested too deeply to read") from None
    return Result(freeze(problem))


def _limits(max_elements: Any) -> Limits:
    """The limits of one call: ``max_elements`` entries per array (None: the default)."""
    if max_elements is None:
        return DEFAULT_LIMITS
    if isinstance(max_elements, bool) or not isinstance(max_elements, (int, np.integer)) or max_elements < 1:
        raise UsageError(f"{option('max_elements')} must be a whole number of at least 1, got {max_elements!r}")
    return Limits.from_options(max_elements=int(max_elements))


def freeze(problem: Problem) -> Problem:
    """The problem with every array read-only (they are the Result's own copies)."""
    for array in (problem.A_prev, problem.W, problem.b, problem.dZ):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return problem


def forward(A_prev: Any, W: Any = None, b: Any = None, **config: Any) -> Result:
    """Forward pass. ``config``: layer ("conv" by default, or "relu", "leaky-relu", "sigmoid",
    "tanh"), stride, padding, dilation, groups, layout, mode, dims, slope (as in the JSON)."""
    return _solve({"A_prev": A_prev, "W": W, "b": b}, config, need_dZ=False)


def backward(A_prev: Any, W: Any = None, dZ: Any = None, b: Any = None, **config: Any) -> Result:
    """Forward and backward pass for upstream gradient ``dZ`` (shaped like Z).

    A kind without weights takes no W: ``backward(x, dZ=g, layer="relu")``."""
    return _solve({"A_prev": A_prev, "W": W, "b": b, "dZ": dZ}, config, need_dZ=True)


def solve(problem: Problem) -> Result:
    """The result of an already validated problem."""
    return Result(problem)
