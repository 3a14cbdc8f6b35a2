"""Max and average pooling, 1-3 D: one overlay is one window of one channel of one sample.

The overlay rule, for output position ``p`` of channel ``c`` of sample ``n``:

    window:   the taps x = p*s - pad_before + d*t (t = 0..size-1 per axis, row-major); those inside
              A_prev are read (max pooling pads with minus infinity, average pooling with 0)
    forward:  max:  Z = max(window)
              avg:  Z = sum(window) / count, count = the window's size (count_padding, PyTorch's
                    default) or the taps inside A_prev (count_padding false, TensorFlow's 'SAME')
    local:    max:  mask = 1 on the maximum that gets the gradient (ties: first, all or split), else 0
              avg:  share = 1/count on every tap
    backward: dA_prev[window] += dZ[n, c, p] * mask (or * share)   -- += : overlapping windows add up

There are no weights and no bias. The output length per axis is
``floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1``, or with ceil_mode the ceiling, less one
when the last window would start past the input and its leading padding (PyTorch's rule). Max
pooling compares, so it needs numbers (a name under --symbolic is refused); both compute exactly
with rationals. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import product
from math import prod
from typing import Any

import numpy as np

from ..errors import InputError
from ..geometry import Geometry, resolve_padding
from ..numbers import describe_value
from .base import Column, Factor, Record, Takes, Term, Totals, refuse_names

TIES = ("first", "all", "split")


def _one(value: Any) -> Any:
    """1 of value's own number type (1.0 for a float, Fraction(1) for a Fraction, sympy's 1)."""
    return 1.0 if isinstance(value, (float, np.floating)) else value - value + 1


# -- reading the keys ------------------------------------------------------------------------


def _whole(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.lstrip("-").isdigit() else value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, Decimal, Fraction, float)):
        raise InputError(f"{field} must be a whole number >= {minimum}, got {describe_value(value)}")
    if (isinstance(value, float) and not np.isfinite(value)) or value != int(value) or int(value) < minimum:
        raise InputError(f"{field} must be a whole number >= {minimum}, got {describe_value(value)}")
    return int(value)


def _steps(value: Any, field: str, minimum: int = 1) -> int | tuple[int, ...]:
    """One whole number for every axis, or one per axis (checked against the rank in ``geometry``)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if not value:
            raise InputError(f"{field} is an empty list: give one number, or one per spatial axis")
        return tuple(_whole(v, f"{field}[{i}]", minimum) for i, v in enumerate(value))
    return _whole(value, field, minimum)


def _padding(value: Any) -> str | int | tuple[Any, ...]:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("valid", "same"):
            return word
        raise InputError(f"padding {value!r} is not one of: a number, a list, 'valid', 'same'")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        entries: list[Any] = []
        for i, entry in enumerate(value):
            if isinstance(entry, (list, tuple)):
                if len(entry) != 2:
                    raise InputError(f"padding[{i}] has {len(entry)} entries: a per-axis pair is [before, after]")
                entries.append((_whole(entry[0], f"padding[{i}][0]", 0), _whole(entry[1], f"padding[{i}][1]", 0)))
            else:
                entries.append(_whole(entry, f"padding[{i}]", 0))
        return tuple(entries)
    return _whole(value, "padding", 0)


def _per_axis(value: int | tuple[int, ...], field: str, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    if len(value) != dims:
        raise InputError(
            f"{field} has {len(value)} entries but A_prev has {dims} spatial "
            f"ax{'es' if dims != 1 else 'is'}: give one number, or one per axis"
        )
    return value


def _pairs(value: Any, dims: int) -> Any:
    """The padding as "valid", "same" or [before, after] per axis."""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return ((value, value),) * dims
    if dims == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return ((value[0], value[1]),)  # in 1-D a flat pair is [before, after]
    if len(value) != dims:
        raise InputError(
            f"padding has {len(value)} entries but A_prev has {dims} spatial ax{'es' if dims != 1 else 'is'}: "
            "give one number, one per axis, or [before, after] per axis"
        )
    return tuple((v, v) if isinstance(v, int) else v for v in value)


def _flag(fields: Mapping[str, Any], key: str, default: bool) -> bool:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, got {describe_value(value)}")
    return value


# -- the output size -----------------------------------------------------------------------


def pooled_length(size: int, k: int, s: int, d: int, before: int, after: int, ceil_mode: bool) -> int:
    """Output length along one axis.

    Notes
    -----
    out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1; with ceil_mode the ceiling instead,
    then one less if the last window would start at or past n + p_before (PyTorch's rule: every
    window starts inside the input or its leading padding).
    """
    span = size + before + after - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + before:
        out -= 1
    return out


# -- the kind --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """Max pooling (``maximum``) or average pooling, over windows of each channel separately."""

    name: str
    sentence: str
    maximum: bool
    keys: tuple[str, ...]
    rational: bool = True
    kink_name: str = "a tie"  # what gradcheck says it skips (max pooling: ties; avg pooling has none)
    overlay_unit: str = "one per window"
    overlay_story: str = (
        "Each overlay is one window of one channel: it reads the window's entries of A_prev and writes one entry of Z"
    )

    @property
    def takes(self) -> Takes:
        return Takes(weights=False, bias=False, keys=self.keys)

    @property
    def backward_rule(self) -> str:
        """The backward rule in the table's title."""
        return "dZ·mask added to dA_prev on the window" if self.maximum else "dZ/count added to dA_prev on the window"

    @property
    def columns(self) -> tuple[Column, ...]:
        local = Column("mask", "mask") if self.maximum else Column("share", "1/count")
        return (
            Column("window", "window"),
            local,
            Column("Z", "Z"),
            Column("dZ", "dZ", backward=True),
            Column("dA_prev", "dA_prev share", backward=True),
            Column("running", "dA_prev so far", backward=True),
        )

    def configure(self, fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
        """size, stride (default: the size), padding, dilation (max), ceil_mode, ties (max) or
        count_padding (avg), each as given (one number or one per axis); ``geometry`` checks them
        against the rank."""
        if fields.get("size") is None:
            raise InputError(
                f'{self.name} needs size: the window size, one number or one per spatial axis (such as "size": 2)'
            )
        size = _steps(fields["size"], "size")
        params: dict[str, Any] = {"size": size}
        params["stride"] = size if fields.get("stride") is None else _steps(fields["stride"], "stride")
        params["padding"] = 0 if fields.get("padding") is None else _padding(fields["padding"])
        if self.maximum:
            params["dilation"] = 1 if fields.get("dilation") is None else _steps(fields["dilation"], "dilation")
        params["ceil_mode"] = _flag(fields, "ceil_mode", False)
        if self.maximum:
            ties = fields.get("ties", "first") if fields.get("ties") is not None else "first"
            word = ties.strip().lower() if isinstance(ties, str) else None
            if word not in TIES:
                raise InputError(f"ties must be one of {', '.join(TIES)}, got {describe_value(ties)}")
            params["ties"] = word
        else:
            params["count_padding"] = _flag(fields, "count_padding", True)
        return params

    def accept(self, A_prev: np.ndarray) -> None:
        """Max pooling compares the window's entries, so it needs numbers (dZ may stay names)."""
        if self.maximum:
            refuse_names(
                A_prev,
                "max-pool needs numbers to decide which entry is the maximum",
                hint="give A_prev numbers; dZ may stay names, and avg-pool takes names",
            )

    def kinks(self, A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
        """Max pooling: the entries of a window within ``step`` of its maximum when more than one is
        (a tie, or one a step would make): a difference quotient there straddles two choices."""
        near = np.zeros(A_prev.shape, dtype=bool)
        if not self.maximum:
            return near
        geom = self.geometry(A_prev.shape, params)
        for n, c in np.ndindex(geom.batch, geom.out_channels):
            for position in np.ndindex(*geom.output_size):
                reads = _reads(geom, n, c, position)
                values = [A_prev[x] for x in reads]
                top = max(values)
                close = [x for x, v in zip(reads, values) if top - v <= step]
                if len(close) > 1:
                    for x in close:
                        near[x] = True
        return near

    # -- the geometry ------------------------------------------------------------------------

    def geometry(self, A_shape: tuple[int, ...], params: Mapping[str, Any]) -> Geometry:
        """Convolution's Geometry with one window per channel (groups = channels), the output size
        by ``pooled_length``; refuses a window larger than the padded input or one that lies
        wholly in the padding."""
        batch, channels, *sizes = A_shape
        dims = len(sizes)
        k = _per_axis(params["size"], "size", dims)
        s = _per_axis(params["stride"], "stride", dims)
        d = _per_axis(params.get("dilation", 1), "dilation", dims)
        pairs = resolve_padding(_pairs(params["padding"], dims), tuple(sizes), k, s, d)
        out = []
        for axis, (n, kk, ss, dd, (before, after)) in enumerate(zip(sizes, k, s, d, pairs)):
            span = dd * (kk - 1) + 1
            if span > n + before + after:
                extent = f"size {kk}" + (f" (dilated extent {span})" if dd != 1 else "")
                raise InputError(
                    f"the {self.name} window does not fit along spatial axis {axis}: {extent} but A_prev is "
                    f"{n} long there ({n} + padding {before}+{after} = {n + before + after})"
                )
            length = pooled_length(n, kk, ss, dd, before, after, params["ceil_mode"])
            for p in range(length):
                taps = [p * ss - before + dd * t for t in range(kk)]
                if not any(0 <= x < n for x in taps):
                    raise InputError(
                        f"the {self.name} window at output {p} along spatial axis {axis} covers only padding "
                        f"(A_prev indices {taps[0]}..{taps[-1]}, A_prev is {n} long): lower the padding"
                    )
            out.append(length)
        return Geometry(
            batch=batch,
            in_channels=channels,
            out_channels=channels,
            groups=channels,
            input_size=tuple(sizes),
            kernel_size=k,
            stride=s,
            dilation=d,
            padding=pairs,
            output_size=tuple(out),
        )

    def shape_formulas(self, geom: Geometry, params: Mapping[str, Any]) -> list[str]:
        """Per axis, the output-size formula with the numbers filled in (``pooled_length``)."""
        lines = []
        ceil_mode = params["ceil_mode"]
        for axis, (n, k, s, d, (before, after), out) in enumerate(
            zip(geom.input_size, geom.kernel_size, geom.stride, geom.dilation, geom.padding, geom.output_size)
        ):
            span = n + before + after - d * (k - 1) - 1
            rounded = -(-span // s) if ceil_mode else span // s
            text = (
                f"axis {axis}: {'ceil' if ceil_mode else 'floor'}(({n} + {before} + {after} - {d}·({k} - 1) - 1) / {s})"
                f" + 1 = {rounded + 1}"
            )
            if rounded + 1 != out:
                text += f", less the window that would start at {rounded * s - before} >= {n} (past A_prev) = {out}"
            lines.append(text)
        return lines

    # -- one overlay, top to bottom ------------------------------------------------------------

    def record(
        self,
        index: int,
        A_prev: np.ndarray,
        dZ: np.ndarray | None,
        geom: Geometry,
        params: Mapping[str, Any],
        running: dict[tuple[int, ...], Any],
    ) -> Record:
        """Overlay ``index``: its window, the mask or share, Z, the dA_prev share, and (in
        ``running``, updated) dA_prev so far on the window's entries."""
        n, c, *position = (int(i) for i in np.unravel_index(index, (geom.batch, geom.out_channels) + geom.output_size))
        reads = _reads(geom, n, c, tuple(position))  # window: the taps inside A_prev, row-major
        window = [A_prev[x] for x in reads]
        if self.maximum:
            Z = _maximum(window)  # forward: the padding is minus infinity, never the maximum
            local = _mask(window, Z, params["ties"])  # which entries get the gradient
        else:
            count = _count(geom, tuple(position), params["count_padding"])
            share = _one(window[0]) / count
            with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in PyTorch (--allow-nonfinite only)
                Z = sum(window[1:], window[0]) * share if A_prev.dtype == object else sum(window) / count
            local = [share] * len(reads)
        values: dict[str, Any] = {
            "window": np.array(window, dtype=object),
            "mask" if self.maximum else "share": np.array(local, dtype=object) if self.maximum else share,
            "Z": Z,
            "dZ": None,
            "dA_prev": None,
            "running": None,
        }
        if dZ is not None:
            dz = dZ[(n, c) + tuple(position)]
            shares = [_no_negative_zero(dz * m) for m in local]  # backward: dZ times the mask or 1/count
            for x, part in zip(reads, shares):
                running[x] = running[x] + part if x in running else part  # += : windows that overlap add up
            values.update(
                dZ=dz,
                dA_prev=np.array(shares, dtype=object),
                running=np.array([running[x] for x in reads], dtype=object),
            )
        return Record(
            index=index,
            n=n,
            channel=c,
            position=tuple(position),
            reads=tuple(reads),
            writes=((n, c) + tuple(position),),
            values=values,
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
        """Every overlay in order, or those at ``indices``; the running dA_prev counts every overlay
        before them (the ones not shown too)."""
        running: dict[tuple[int, ...], Any] = {}
        if indices is None:
            for index in range(geom.overlay_count):
                yield self.record(index, A_prev, dZ, geom, params, running)
            return
        wanted = list(indices)
        if dZ is None:
            for index in wanted:
                yield self.record(index, A_prev, dZ, geom, params, running)
            return
        by_index: dict[int, Record] = {}
        chosen = set(wanted)
        for index in range(max(chosen, default=-1) + 1):
            made = self.record(index, A_prev, dZ, geom, params, running)
            if index in chosen:
                by_index[index] = made
        for index in wanted:
            yield by_index[index]

    # -- the totals at once --------------------------------------------------------------------

    def totals(
        self,
        A_prev: np.ndarray,
        W: Any,
        b: Any,
        dZ: np.ndarray | None,
        geom: Geometry,
        params: Mapping[str, Any],
    ) -> Totals:
        """Z and dA_prev at once: one strided slice of the padded input per window tap."""
        dims = geom.dims
        obj = A_prev.dtype == object
        before = tuple(b for b, _ in geom.padding)
        reach = tuple(
            (o - 1) * s + d * (k - 1) + 1
            for o, s, d, k in zip(geom.output_size, geom.stride, geom.dilation, geom.kernel_size)
        )
        full = tuple(max(n + b + a, r) for n, (b, a), r in zip(geom.input_size, geom.padding, reach))
        fill: Any = (-np.inf if self.maximum else 0) if obj else (-np.inf if self.maximum else 0.0)
        padded = np.full(A_prev.shape[:2] + full, fill, dtype=object if obj else A_prev.dtype)
        inner = (slice(None), slice(None)) + tuple(slice(b, b + n) for b, n in zip(before, geom.input_size))
        padded[inner] = A_prev
        taps = list(np.ndindex(*geom.kernel_size))

        def at(tap: tuple[int, ...]) -> tuple[slice, ...]:
            return (slice(None), slice(None)) + tuple(
                slice(d * t, d * t + s * (o - 1) + 1, s)
                for t, s, d, o in zip(tap, geom.stride, geom.dilation, geom.output_size)
            )

        stack = np.stack([padded[at(t)] for t in taps])  # (T, N, C, *out)
        inside = np.zeros(full, dtype=bool)
        inside[inner[2:]] = True
        in_input = np.stack([inside[at(t)[2:]] for t in taps])  # (T, *out): taps inside A_prev
        if self.maximum:
            Z = stack.max(axis=0)  # NaN wherever a window holds one (only with --allow-nonfinite), as PyTorch
            if dZ is None:
                return Totals(Z=Z)
            # (T, N, C, *out): the maxima of each window inside A_prev (a window of -inf: not the padding)
            hits = (stack == Z[None]).astype(bool) & in_input[:, None, None]
            if not obj:
                hits |= np.isnan(stack) & np.isnan(Z)[None]
            if params["ties"] == "first":  # the first maximum in window order only
                chosen = np.arange(len(taps)).reshape((-1,) + (1,) * (dims + 2)) == np.argmax(hits, axis=0)[None]
            else:
                chosen = hits
            if obj:
                one = np.vectorize(_one, otypes=[object])(Z)
                unit = one / hits.sum(axis=0) if params["ties"] == "split" else one
                weight = np.where(chosen, unit[None], (one - one)[None])
            else:
                weight = chosen / hits.sum(axis=0)[None] if params["ties"] == "split" else chosen.astype(A_prev.dtype)
            grads = weight * dZ[None]
        else:
            count = _count_array(geom, params["count_padding"])  # (*out)
            if obj:
                Z = stack.sum(axis=0) * np.vectorize(lambda q: Fraction(1, q), otypes=[object])(count)
            else:
                with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in PyTorch
                    Z = stack.sum(axis=0) / count
            if dZ is None:
                return Totals(Z=Z)
            share = np.vectorize(lambda q: Fraction(1, q), otypes=[object])(count) if obj else 1.0 / count
            grads = np.broadcast_to(dZ * share, (len(taps),) + dZ.shape)
        dA = np.zeros(padded.shape, dtype=object) if obj else np.zeros(padded.shape, dtype=A_prev.dtype)
        for t, tap in enumerate(taps):
            dA[at(tap)] += grads[t]  # += : windows that overlap add up
        dA = dA[inner]
        return Totals(Z=Z, dA_prev=dA if obj else dA + 0.0)

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
        """Z: the maximum (max) or each window entry times 1/count (avg), from its one overlay;
        dA_prev: one term per window that reads the entry, dZ times its mask or share there."""
        shape = (geom.batch, geom.out_channels) + geom.output_size
        if quantity == "Z":
            overlay = int(np.ravel_multi_index(index, shape))
            record = self.record(overlay, A_prev, None, geom, params, {})
            if self.maximum:
                mask = record.values["mask"]
                chosen = next(i for i, m in enumerate(mask) if m != 0)
                return [Term(overlay, (Factor("A_prev", record.reads[chosen], record.values["window"][chosen]),))]
            share = record.values["share"]
            return [
                Term(overlay, (Factor("A_prev", x, a), Factor("share", index, share)))
                for x, a in zip(record.reads, record.values["window"])
            ]
        if quantity == "dA_prev" and dZ is not None:
            n, c, *where = index
            terms = []
            for position in _positions_reading(geom, tuple(where)):
                overlay = int(np.ravel_multi_index((n, c) + tuple(position), shape))
                record = self.record(overlay, A_prev, None, geom, params, {})
                tap = record.reads.index(tuple(index))
                key = "mask" if self.maximum else "share"
                local = record.values[key][tap] if self.maximum else record.values[key]
                terms.append(
                    Term(
                        overlay,
                        (
                            Factor("dZ", (n, c) + tuple(position), dZ[(n, c) + tuple(position)]),
                            Factor(key, tuple(index), local),
                        ),
                    )
                )
            return terms
        raise ValueError(f"{self.name} has no {quantity}: it has Z and dA_prev")


# -- the windows -----------------------------------------------------------------------------


def _axis_taps(geom: Geometry, axis: int, p: int) -> list[int]:
    """A_prev indices of the taps of window ``p`` along ``axis`` (any, padding included)."""
    s, d, k, (before, _) = geom.stride[axis], geom.dilation[axis], geom.kernel_size[axis], geom.padding[axis]
    return [p * s - before + d * t for t in range(k)]


def _reads(geom: Geometry, n: int, c: int, position: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Canonical A_prev indices of the window's taps inside the input, in row-major window order."""
    per_axis = [
        [x for x in _axis_taps(geom, axis, p) if 0 <= x < size]
        for axis, (p, size) in enumerate(zip(position, geom.input_size))
    ]
    return [(n, c) + x for x in product(*per_axis)]


def _count(geom: Geometry, position: tuple[int, ...], count_padding: bool) -> int:
    """The divisor of average pooling at one window: the taps inside the padded input (the window's
    size, unless ceil_mode lets it hang past the padding) or, without count_padding, inside A_prev."""
    counts = []
    for axis, (p, size) in enumerate(zip(position, geom.input_size)):
        before, after = geom.padding[axis]
        low, high = (-before, size + after) if count_padding else (0, size)
        counts.append(sum(1 for x in _axis_taps(geom, axis, p) if low <= x < high))
    return prod(counts)


def _count_array(geom: Geometry, count_padding: bool) -> np.ndarray:
    count = np.empty(geom.output_size, dtype=np.int64)
    for position in np.ndindex(*geom.output_size):
        count[position] = _count(geom, position, count_padding)
    return count


def _positions_reading(geom: Geometry, where: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The output positions whose windows have a tap on A_prev index ``where``, row-major."""
    per_axis = [
        [p for p in range(geom.output_size[axis]) if where[axis] in _axis_taps(geom, axis, p)]
        for axis in range(geom.dims)
    ]
    return list(product(*per_axis))


def _maximum(window: list[Any]) -> Any:
    """The window's maximum; a NaN (only with --allow-nonfinite) is the maximum, as in PyTorch."""
    for value in window:
        if value != value:  # NaN
            return value
    return max(window)


def _mask(window: list[Any], top: Any, ties: str) -> list[Any]:
    """1 where the gradient goes, 0 elsewhere: the first maximum in window order (first), every tied
    maximum (all), or 1/(number of maxima) on each (split)."""
    hits = [v == top or (v != v and top != top) for v in window]  # NaN: every NaN is "the" maximum
    one, zero = _one(top), _one(top) - _one(top)
    if ties == "first":
        first = hits.index(True)
        return [one if i == first else zero for i in range(len(window))]
    if ties == "all":
        return [one if hit else zero for hit in hits]
    share = one / sum(hits)
    return [share if hit else zero for hit in hits]


def _no_negative_zero(value: Any) -> Any:
    """dZ·0 is -0.0 in floats where dZ < 0; a gradient of nothing is 0."""
    return value + 0.0 if isinstance(value, (float, np.floating)) else value


MAX_POOL = Pool(
    name="max-pool",
    sentence=(
        "Z = max(window), padding counting as minus infinity; dA_prev += dZ·mask on the window, the mask 1 on "
        "the maximum that gets the gradient (ties: first, all or split), 0 elsewhere"
    ),
    maximum=True,
    keys=("size", "stride", "padding", "dilation", "ceil_mode", "ties"),
)
AVG_POOL = Pool(
    name="avg-pool",
    sentence=(
        "Z = sum(window)/count; dA_prev += dZ/count on every tap of the window, count the window's size "
        "(count_padding true) or its taps inside A_prev (false)"
    ),
    maximum=False,
    keys=("size", "stride", "padding", "ceil_mode", "count_padding"),
)

POOLS: tuple[Pool, ...] = (MAX_POOL, AVG_POOL)
