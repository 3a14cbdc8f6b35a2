"""Transposed convolution (PyTorch ConvTranspose1d/2d/3d). One overlay is one entry of A_prev.

Canonical arrays (PyTorch's order; TensorFlow's (*k, C_out/G, C_in) becomes this one):

    A_prev (N, C_in, *n)   W (C_in, C_out/G, *k)   b (C_out,)   Z, dZ (N, C_out, *out)

The overlay rule, for the input entry ``A_prev[n, c_in, i]`` (group g = c_in // (C_in/G),
its output channels ``c_out = g*C_out/G + j``):

    window:   output positions o = i*s + d*t - p_before, one per kernel tap t, kept when
              0 <= o < out (the crop of ``padding`` and the end of the output drop the rest)
    forward:  Z[n, c_out, o] += A_prev[n, c_in, i] * K[c_in, j, t]        (the scatter)
    backward: dW share        = A_prev[n, c_in, i] * dZ[n, c_out, o]      (window-shaped)
              dA_prev[n,c_in,i] = sum over j, t of K[c_in, j, t] * dZ[n, c_out, o]

K is W as applied: W itself in cross-correlation mode (PyTorch), W flipped along every
spatial axis in convolution mode; a dW share is flipped back onto W as given. Z starts at
the bias, so the running Z after the last overlay is Z; db = sum of dZ over n and positions
belongs to no overlay.

Per spatial axis: out = (n - 1)*s - p_before - p_after + d*(k - 1) + output_padding + 1.

Pure: no I/O. Every function computes any number type (floats, Fractions, sympy).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..geometry import Geometry, PaddingPairs, flip_taps
from .base import Column, Factor, Record, Takes, Term, Totals

name = "conv-transpose"
sentence = (
    "each entry of A_prev scatters A_prev[n, c_in, i]·W[c_in] onto Z at o = i·s + d·t - p_before "
    "(Z starts at b); dW share = A_prev[n, c_in, i]·dZ window, dA_prev[n, c_in, i] = Σ W·dZ window"
)
takes = Takes(weights=True, bias=True, keys=("stride", "padding", "output_padding", "dilation", "groups", "mode"))
rational = True
title = "Z = conv-transpose(A_prev, W) + b: one overlay per entry of A_prev, scattering A_prev·W onto Z"
overlay_note = (
    "Each overlay is one entry of A_prev: it scatters A_prev·W[c_in] onto the window of Z it lands on "
    "(the positions cropped by padding drop out); Z starts at b and the overlays add up to Z. Backward: "
    "its dW share is A_prev times the dZ window, its dA_prev entry the sum of W times that window; "
    "db is the sum of dZ."
)
#: Values shaped like one W[c_in], (C_out/G, *k): the API and every view show them in the user's
#: form ((*k) bare, (*k, C_out/G) channels-last), as convolution shows its windows.
window_keys = ("share", "dZ", "dW")
columns = (
    Column("A_prev", "A_prev"),
    Column("lands", "lands on Z"),
    Column("share", "A_prev·W"),
    Column("Z_so_far", "Z so far"),
    Column("dZ", "dZ window", backward=True),
    Column("dW", "dW share", backward=True),
    Column("dA_prev", "dA_prev", backward=True),
)


# -- the geometry ------------------------------------------------------------------------------


def output_length(size: int, kernel: int, stride: int, dilation: int, before: int, after: int, extra: int) -> int:
    """out = (n - 1)*s - p_before - p_after + d*(k - 1) + output_padding + 1."""
    return (size - 1) * stride - before - after + dilation * (kernel - 1) + extra + 1


@dataclass(frozen=True)
class TransposeGeometry(Geometry):
    """Convolution's Geometry with the transposed output size; ``padding`` is the crop
    (before, after) per axis, ``output_padding`` the extra entries at the end.

    One overlay per input entry: ``overlay_count`` is N * C_in * prod(input_size)."""

    output_padding: tuple[int, ...] = ()

    @property
    def overlay_count(self) -> int:
        return self.batch * self.in_channels * int(np.prod(self.input_size, dtype=object))

    def overlay_axes(self) -> tuple[int, tuple[int, ...], Any]:
        """For ``--overlays`` selections: overlays run over input channels (``c_out=`` selects them)
        and input positions (``pos=``), numbered n, then c_in, then position row-major."""
        return self.in_channels, self.input_size, lambda n, c, position: overlay_number(n, c, position, self)

    def covered(self) -> tuple[tuple[bool, ...], ...]:
        """Every input entry is an overlay of its own (convolution's stride-leftover audit does not
        apply; an entry whose whole scatter is cropped shows "nowhere (all cropped)")."""
        return tuple((True,) * n for n in self.input_size)

    @property
    def full_size(self) -> tuple[int, ...]:
        """The uncropped output: (n - 1)*s + d*(k - 1) + 1 per axis (before output_padding)."""
        return tuple(
            (n - 1) * s + d * (k - 1) + 1
            for n, k, s, d in zip(self.input_size, self.kernel_size, self.stride, self.dilation)
        )


def same_or_valid(
    word: str, size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[PaddingPairs, tuple[int, ...]]:
    """TensorFlow's (Keras Conv*DTranspose) 'same' and 'valid' as a crop and an output_padding.

    'same' gives out = n*s: the crop is the padding conv 'same' would add to an input of n*s
    (extra after); 'valid' gives out = (n - 1)*s + max(d*(k - 1) + 1, s): no crop."""
    pairs = []
    extra = []
    for k, s, d in zip(kernel, stride, dilation):
        span = d * (k - 1) + 1
        if word == "valid":
            pairs.append((0, 0))
            extra.append(max(s - span, 0))
        else:
            total = span - s
            if total >= 0:
                pairs.append((total // 2, total - total // 2))
                extra.append(0)
            else:
                pairs.append((0, 0))
                extra.append(-total)
    return tuple(pairs), tuple(extra)


def configure(fields: Mapping[str, Any], domain: Any) -> dict[str, Any]:
    """The layer from parsed fields (problem.py parses the numbers per dim first):

    fields: A_shape (N, C_in, *n), W_shape (C_in, C_out/G, *k), stride, dilation, output_padding
    (tuples per dim), padding (pairs or "same"/"valid"), groups (int), flip (bool), and
    ``given``, the set of keys the user gave. Refuses what PyTorch refuses, in one line."""
    A_shape, W_shape = fields["A_shape"], fields["W_shape"]
    _, c_in, *size = A_shape
    w_in, out_per_group, *kernel = W_shape
    groups, stride, dilation = fields["groups"], fields["stride"], fields["dilation"]
    extra = fields["output_padding"]
    if c_in % groups:
        raise InputError(f"A_prev has {c_in} channels, not divisible by groups = {groups}")
    if w_in != c_in:
        raise InputError(
            f"W has shape {tuple(W_shape)}, {w_in} input channel{'s' if w_in != 1 else ''}, but A_prev has "
            f"{c_in}: a transposed convolution's W is (C_in, C_out/groups, *k) (TensorFlow: (*k, C_out, C_in))"
        )
    padding = fields["padding"]
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise InputError(f"padding {padding!r} is not for conv-transpose: give numbers, 'same' or 'valid'")
        if "output_padding" in fields["given"]:
            raise InputError(
                f"output_padding goes with explicit padding: padding {padding!r} decides the output size itself"
            )
        padding, extra = same_or_valid(padding, tuple(size), tuple(kernel), stride, dilation)
    for axis, (op, s, d) in enumerate(zip(extra, stride, dilation)):
        if op >= s and op >= d:
            raise InputError(
                f"output_padding {op} along spatial axis {axis} must be smaller than the stride ({s}) or the "
                f"dilation ({d}): it only picks among the output sizes that stride leaves open"
            )
    out = tuple(
        output_length(n, k, s, d, b, a, op)
        for n, k, s, d, (b, a), op in zip(size, kernel, stride, dilation, padding, extra)
    )
    for axis, length in enumerate(out):
        if length < 1:
            raise InputError(
                f"the crop is larger than the output along spatial axis {axis}: padding {padding[axis][0]}+"
                f"{padding[axis][1]} removes more than the {length + padding[axis][0] + padding[axis][1]} "
                "entries the layer makes"
            )
    return {
        "stride": tuple(stride),
        "padding": tuple(tuple(p) for p in padding),
        "output_padding": tuple(extra),
        "dilation": tuple(dilation),
        "groups": groups,
        "mode": "convolution" if fields["flip"] else "cross-correlation",
        "kernel_size": tuple(kernel),
        "out_channels": out_per_group * groups,
    }


def accept(A_prev: np.ndarray) -> None:
    """Linear in every input: names are fine under --symbolic."""


def kinks(A_prev: np.ndarray, step: Any, params: Mapping[str, Any]) -> np.ndarray:
    """None: the layer is linear, finite differences are exact up to rounding."""
    return np.zeros(A_prev.shape, dtype=bool)


def geometry(A_shape: tuple[int, ...], params: Mapping[str, Any]) -> TransposeGeometry:
    batch, channels, *size = A_shape
    kernel, stride, dilation = params["kernel_size"], params["stride"], params["dilation"]
    padding, extra = params["padding"], params["output_padding"]
    out = tuple(
        output_length(n, k, s, d, b, a, op)
        for n, k, s, d, (b, a), op in zip(size, kernel, stride, dilation, padding, extra)
    )
    return TransposeGeometry(
        batch=batch,
        in_channels=channels,
        out_channels=params["out_channels"],
        groups=params["groups"],
        input_size=tuple(size),
        kernel_size=tuple(kernel),
        stride=tuple(stride),
        dilation=tuple(dilation),
        padding=tuple(padding),
        output_size=out,
        flip=params["mode"] == "convolution",
        output_padding=tuple(extra),
    )


# -- helpers -----------------------------------------------------------------------------------


def _no_negative_zero(array: np.ndarray) -> np.ndarray:
    """-0.0 (a negative entry times a zero weight) shown as 0 in floats; other types as they are."""
    return array + 0.0 if array.dtype != object else array


def _zeros(shape: tuple[int, ...], like: np.ndarray) -> np.ndarray:
    """Zeros of ``like``'s number type (Fraction zeros for Fractions, sympy 0 for names)."""
    if like.dtype != object:
        return np.zeros(shape, dtype=like.dtype)
    return np.full(shape, like.reshape(-1)[0] * 0, dtype=object)


def applied(W: np.ndarray, geom: Geometry) -> np.ndarray:
    """W (C_in, C_out/G, *k) or one W[c_in] (C_out/G, *k) as scattered: flipped in convolution mode."""
    return flip_taps(W, geom.dims) if geom.flip else W


def landing(position: tuple[int, ...], tap: tuple[int, ...], geom: Geometry) -> tuple[int, ...] | None:
    """The output position input ``position`` and kernel tap ``tap`` meet at, or None if cropped."""
    out = []
    for i, t, s, d, (before, _), size in zip(position, tap, geom.stride, geom.dilation, geom.padding, geom.output_size):
        o = i * s + d * t - before
        if not 0 <= o < size:
            return None
        out.append(o)
    return tuple(out)


def overlay_entry(index: int, geom: Geometry) -> tuple[int, int, tuple[int, ...]]:
    """Overlay ``index`` -> (n, c_in, input position): n, then c_in, then position row-major."""
    n, c, *position = np.unravel_index(index, (geom.batch, geom.in_channels) + geom.input_size)
    return int(n), int(c), tuple(int(p) for p in position)


def overlay_number(n: int, c_in: int, position: tuple[int, ...], geom: Geometry) -> int:
    return int(np.ravel_multi_index((n, c_in) + tuple(position), (geom.batch, geom.in_channels) + geom.input_size))


def _out_channels(c_in: int, geom: Geometry) -> range:
    g = c_in // geom.in_per_group
    return range(g * geom.out_per_group, (g + 1) * geom.out_per_group)


# -- one overlay, top to bottom ----------------------------------------------------------------


def record(
    index: int, A_prev: np.ndarray, W: np.ndarray, dZ: np.ndarray | None, geom: Geometry, Z_running: np.ndarray
) -> Record:
    """Overlay ``index``: the input entry, where its scatter lands, Z so far; its gradient shares.

    ``Z_running`` (N, C_out, *out) holds Z before this overlay and is updated in place."""
    n, c_in, position = overlay_entry(index, geom)  # window: one input entry
    a = A_prev[(n, c_in) + position]
    kernel = applied(W[c_in], geom)  # (C_out/G, *k), as scattered
    share = _no_negative_zero(a * kernel)  # forward: this entry's whole contribution, window-shaped
    outs = _out_channels(c_in, geom)
    writes, so_far = [], []
    dZ_window = None if dZ is None else _zeros(kernel.shape, kernel)
    for tap in itertools.product(*(range(k) for k in geom.kernel_size)):
        o = landing(position, tap, geom)
        if o is None:
            continue  # cropped by padding or past the end of the output
        for j, c_out in enumerate(outs):
            Z_running[(n, c_out) + o] += share[(j,) + tap]
            writes.append((n, c_out) + o)
            if dZ_window is not None and dZ is not None:
                dZ_window[(j,) + tap] = dZ[(n, c_out) + o]
    for entry in writes:
        so_far.append(Z_running[entry])
    values: dict[str, Any] = {
        "A_prev": a,
        "lands": _lands_text(writes, geom),
        "share": share,
        "Z_so_far": np.array(so_far, dtype=object) if so_far else np.array([], dtype=object),
        "dZ": None,
        "dW": None,
        "dA_prev": None,
    }
    if dZ_window is not None:
        values["dZ"] = dZ_window
        values["dW"] = _no_negative_zero(applied(a * dZ_window, geom))  # backward: dW[c_in] += this (W as given)
        values["dA_prev"] = (kernel * dZ_window).sum()  # backward: the whole of dA_prev[n, c_in, i]
    return Record(
        index=index,
        n=n,
        channel=c_in,
        position=position,
        reads=((n, c_in) + position,),
        writes=tuple(writes),
        values=values,
    )


def _lands_text(writes: list[tuple[int, ...]], geom: Geometry) -> str:
    """Where the scatter lands on Z, in Z's spatial indices (each output channel's when several):
    "[0,1] [1,1]" or "c0 [0,1], c1 [0,1]"; "nowhere (all cropped)" when padding crops it all."""
    if not writes:
        return "nowhere (all cropped)"
    spots = ["[" + ",".join(str(i) for i in w[2:]) + "]" for w in writes]
    if geom.out_per_group == 1:
        return " ".join(spots)
    return ", ".join(f"c{w[1]} {spot}" for w, spot in zip(writes, spots))


def records(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
    indices: Iterable[int] | None = None,
) -> Iterator[Record]:
    """The overlays in order (or those at ``indices``); Z so far counts every overlay before."""
    wanted = None if indices is None else sorted(set(indices))
    Z_running = _start(A_prev, W, b, geom)
    if wanted is None:
        for index in range(geom.overlay_count):
            yield record(index, A_prev, W, dZ, geom, Z_running)
        return
    done = 0
    for index in wanted:
        for skipped in range(done, index):
            record(skipped, A_prev, W, None, geom, Z_running)
        yield record(index, A_prev, W, dZ, geom, Z_running)
        done = index + 1


def _start(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, geom: Geometry) -> np.ndarray:
    """Z before any overlay: the bias in every position (0 without one)."""
    Z = _zeros((geom.batch, geom.out_channels) + geom.output_size, A_prev if A_prev.dtype == object else W)
    if b is not None:
        Z += b.reshape((1, -1) + (1,) * geom.dims)
    return Z


# -- the totals at once ------------------------------------------------------------------------


def _tap_slices(tap: tuple[int, ...], geom: Geometry) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """Per axis, the input indices i whose landing i*s + d*t - p_before lies in the output, and
    the output positions they land on (a strided slice); None when no input entry lands."""
    ins, outs = [], []
    for t, n, s, d, (before, _), size in zip(
        tap, geom.input_size, geom.stride, geom.dilation, geom.padding, geom.output_size
    ):
        offset = d * t - before  # o = i*s + offset
        first = max(0, -(offset // s) if offset < 0 else 0)  # smallest i with o >= 0
        while first * s + offset < 0:
            first += 1
        last = min(n - 1, (size - 1 - offset) // s)
        if last < first:
            return None
        ins.append(slice(first, last + 1))
        outs.append(slice(first * s + offset, last * s + offset + 1, s))
    return tuple(ins), tuple(outs)


def totals(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
) -> Totals:
    """Z, and with dZ the gradients dW (like W), db (C_out,), dA_prev (like A_prev), at once:
    one grouped matrix product per kernel tap."""
    N, C_in, G = geom.batch, geom.in_channels, geom.groups
    cin_g, cout_g = C_in // G, geom.out_channels // G
    K = applied(W, geom).reshape((G, cin_g, cout_g) + geom.kernel_size)
    A = A_prev.reshape((N, G, cin_g) + geom.input_size)
    Z = _start(A_prev, W, b, geom).reshape((N, G, cout_g) + geom.output_size)
    dZg = None if dZ is None else dZ.reshape((N, G, cout_g) + geom.output_size)
    dA = None if dZg is None else _zeros(A.shape, A)
    dK = None if dZg is None else _zeros(K.shape, K)
    for tap in itertools.product(*(range(k) for k in geom.kernel_size)):
        slices = _tap_slices(tap, geom)
        if slices is None:
            continue
        ins, outs = slices
        k = K[(Ellipsis,) + tap]  # (G, C_in/G, C_out/G)
        a = A[(Ellipsis,) + ins]  # (N, G, C_in/G, *m)
        m = a.shape[3:]
        a_flat = a.reshape((N, G, cin_g, -1))
        Z[(Ellipsis,) + outs] += np.matmul(k.transpose(0, 2, 1), a_flat).reshape((N, G, cout_g) + m)
        if dZg is not None and dA is not None and dK is not None:
            g_flat = dZg[(Ellipsis,) + outs].reshape((N, G, cout_g, -1))
            dA[(Ellipsis,) + ins] += np.matmul(k, g_flat).reshape((N, G, cin_g) + m)
            dK[(Ellipsis,) + tap] += np.matmul(a_flat, g_flat.transpose(0, 1, 3, 2)).sum(axis=0)
    Z_out = Z.reshape((N, geom.out_channels) + geom.output_size)
    if dZ is None or dA is None or dK is None:
        return Totals(Z=Z_out)
    dW = applied(dK.reshape(W.shape), geom)
    db = dZ.sum(axis=(0,) + tuple(range(2, dZ.ndim)))
    return Totals(Z=Z_out, dW=np.ascontiguousarray(dW), db=db, dA_prev=dA.reshape(A_prev.shape))


# -- the terms of one entry --------------------------------------------------------------------


def entry_terms(
    quantity: str,
    index: tuple[int, ...],
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
) -> list[Term]:
    """The summands of one entry of Z, dW, db or dA_prev at a canonical index, in overlay order.

    A gradient term names dZ first, then the other factor (A_prev for dW, W for dA_prev); a Z term
    is A_prev then W, and the bias term of Z and the terms of db name no overlay."""
    taps = list(itertools.product(*(range(k) for k in geom.kernel_size)))
    cin_g, cout_g = geom.in_per_group, geom.out_per_group

    def w_index(c_in: int, j: int, tap: tuple[int, ...]) -> tuple[int, ...]:
        given = tuple(k - 1 - t for t, k in zip(tap, geom.kernel_size)) if geom.flip else tap
        return (c_in, j) + given

    terms: list[tuple[int, Term]] = []
    if quantity == "Z":
        n, c_out, *at = index
        o = tuple(at)
        g = c_out // cout_g
        j = c_out % cout_g
        for c_in in range(g * cin_g, (g + 1) * cin_g):
            for position in itertools.product(*(range(s) for s in geom.input_size)):
                for tap in taps:
                    if landing(position, tap, geom) == o:
                        number = overlay_number(n, c_in, position, geom)
                        a_at, w_at = (n, c_in) + position, w_index(c_in, j, tap)
                        factors = (Factor("A_prev", a_at, A_prev[a_at]), Factor("W", w_at, W[w_at]))
                        terms.append((number, Term(number, factors)))
        terms.sort(key=lambda pair: pair[0])
        result = [term for _, term in terms]
        if b is not None:
            result.append(Term(None, (Factor("b", (c_out,), b[c_out]),)))
        return result
    if dZ is None:
        raise ValueError(f"{name} has no {quantity} without dZ")
    if quantity == "db":
        (c_out,) = index
        return [
            Term(None, (Factor("dZ", at, dZ[at]),))
            for at in itertools.product(range(geom.batch), [c_out], *(range(s) for s in geom.output_size))
        ]
    if quantity == "dW":
        c_in, j, *given = index
        tap = tuple(k - 1 - t for t, k in zip(given, geom.kernel_size)) if geom.flip else tuple(given)
        c_out = (c_in // cin_g) * cout_g + j
        result = []
        for n in range(geom.batch):
            for position in itertools.product(*(range(s) for s in geom.input_size)):
                spot = landing(position, tap, geom)
                if spot is not None:
                    a_at, z_at = (n, c_in) + position, (n, c_out) + spot
                    factors = (Factor("dZ", z_at, dZ[z_at]), Factor("A_prev", a_at, A_prev[a_at]))
                    result.append(Term(overlay_number(n, c_in, position, geom), factors))
        return result
    if quantity == "dA_prev":
        n, c_in, *where = index
        entry = tuple(where)
        number = overlay_number(n, c_in, entry, geom)
        result = []
        for j, c_out in enumerate(_out_channels(c_in, geom)):
            for tap in taps:
                spot = landing(entry, tap, geom)
                if spot is not None:
                    w_at, z_at = w_index(c_in, j, tap), (n, c_out) + spot
                    result.append(Term(number, (Factor("dZ", z_at, dZ[z_at]), Factor("W", w_at, W[w_at]))))
        return result
    raise ValueError(f"{name} has no {quantity}: it has Z, dW, db and dA_prev")


# -- the identities --explain states and checks --------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A statement, both sides computed independently (canonical arrays), and whether they agree."""

    statement: str
    left: np.ndarray
    right: np.ndarray

    @property
    def agrees(self) -> bool:
        if self.left.shape != self.right.shape:
            return False
        if self.left.dtype == object or self.right.dtype == object:
            return bool(np.all(np.vectorize(lambda x: x == 0, otypes=[bool])(self.left - self.right)))
        scale = max(float(np.abs(self.left).max(initial=0.0)), 1.0)
        return bool(np.allclose(self.left, self.right, rtol=0, atol=1e-12 * scale))


def zero_inserted_padded(A_prev: np.ndarray, geom: Geometry) -> np.ndarray:
    """A_prev with s - 1 zeros between neighbours, then d*(k - 1) - p_before zeros before and
    d*(k - 1) - p_after + output_padding after per axis (a negative count crops instead)."""
    N, C = A_prev.shape[:2]
    spread = tuple((n - 1) * s + 1 for n, s in zip(geom.input_size, geom.stride))
    up = _zeros((N, C) + spread, A_prev)
    up[(Ellipsis,) + tuple(slice(None, None, s) for s in geom.stride)] = A_prev
    extra = getattr(geom, "output_padding", (0,) * geom.dims)
    for axis, (k, d, (before, after), op) in enumerate(zip(geom.kernel_size, geom.dilation, geom.padding, extra)):
        lead, trail = d * (k - 1) - before, d * (k - 1) - after + op
        ax = axis + 2
        if lead < 0:
            up = up[(slice(None),) * ax + (slice(-lead, None),)]
        if trail < 0:
            up = up[(slice(None),) * ax + (slice(None, up.shape[ax] + trail),)]
        shape = list(up.shape)
        shape[ax] = up.shape[ax] + max(lead, 0) + max(trail, 0)
        bigger = _zeros(tuple(shape), A_prev)
        bigger[(slice(None),) * ax + (slice(max(lead, 0), max(lead, 0) + up.shape[ax]),)] = up
        up = bigger
    return up


def as_convolution_kernel(W: np.ndarray, geom: Geometry, flipped: bool = True) -> np.ndarray:
    """W as applied (C_in, C_out/G, *k) -> a convolution's (C_out, C_in/G, *k), flipped: the
    kernel a stride-1 convolution of the zero-inserted input needs (``flipped=False``: the
    mistake of leaving it as it is)."""
    G = geom.groups
    cin_g, cout_g = geom.in_per_group, geom.out_per_group
    K = applied(W, geom).reshape((G, cin_g, cout_g) + geom.kernel_size)
    swapped = K.transpose((0, 2, 1) + tuple(range(3, 3 + geom.dims)))  # (G, C_out/G, C_in/G, *k)
    if flipped:
        swapped = flip_taps(swapped, geom.dims)
    return np.ascontiguousarray(swapped).reshape((G * cout_g, cin_g) + geom.kernel_size)


def forward_via_convolution(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, geom: Geometry, flipped: bool = True
) -> np.ndarray:
    """Z as a stride-1 convolution (convgrad's conv kind) of the zero-inserted, padded input with
    the flipped kernel, its channel axes swapped."""
    from . import conv

    spread = zero_inserted_padded(A_prev, geom)
    as_conv = Geometry.build(
        batch=geom.batch,
        in_channels=geom.in_channels,
        out_channels=geom.out_channels,
        groups=geom.groups,
        input_size=tuple(spread.shape[2:]),
        kernel_size=geom.kernel_size,
        stride=(1,) * geom.dims,
        dilation=geom.dilation,
        padding="valid",
    )
    return conv.forward(spread, as_convolution_kernel(W, geom, flipped), b, as_conv)


def dA_via_convolution(W: np.ndarray, dZ: np.ndarray, geom: Geometry, flipped: bool = False) -> np.ndarray:
    """dA_prev as a convolution forward pass (convgrad's conv kind) of dZ with W as applied, read as
    C_in filters over C_out channels, same stride, dilation and crop as padding (``flipped=True``:
    the mistake of flipping it too)."""
    from . import conv

    extra = getattr(geom, "output_padding", (0,) * geom.dims)
    after = tuple(max(a - op, 0) for (_, a), op in zip(geom.padding, extra))
    back = Geometry.build(
        batch=geom.batch,
        in_channels=geom.out_channels,
        out_channels=geom.in_channels,
        groups=geom.groups,
        input_size=geom.output_size,
        kernel_size=geom.kernel_size,
        stride=geom.stride,
        dilation=geom.dilation,
        padding=tuple((before, a) for (before, _), a in zip(geom.padding, after)),
    )
    kernel = applied(W, geom)
    if flipped:
        kernel = flip_taps(kernel, geom.dims)
    dA = conv.forward(dZ, np.ascontiguousarray(kernel), None, back)
    return dA[(Ellipsis,) + tuple(slice(0, n) for n in geom.input_size)]


def identities(
    A_prev: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    dZ: np.ndarray | None,
    geom: Geometry,
    params: Mapping[str, Any],
) -> list[Identity]:
    """The forward pass as a stride-1 convolution of the zero-inserted, padded input with the
    flipped kernel, and (with dZ) dA_prev as a convolution forward pass of dZ with W; the right
    sides computed by convgrad's own conv kind, the left by this kind's totals."""
    found = [
        Identity(
            "Z = a stride-1 convolution (cross-correlation, dilation d) of A_prev with s - 1 zeros "
            "inserted between entries and d·(k - 1) - p_before zeros before, d·(k - 1) - p_after + "
            "output_padding after, with the kernel flipped and its two channel axes swapped, plus b",
            totals(A_prev, W, b, None, geom, params).Z,
            forward_via_convolution(A_prev, W, b, geom),
        )
    ]
    if dZ is None:
        return found
    found.append(
        Identity(
            "dA_prev = a convolution forward pass (cross-correlation) of dZ with W as applied, "
            "W (C_in, C_out/G, *k) read as C_in filters over C_out channels, same stride, "
            "dilation and padding: no flip, no zero insertion",
            totals(A_prev, W, b, dZ, geom, params).dA_prev,
            dA_via_convolution(W, dZ, geom),
        )
    )
    return found


# -- the shape, in words -------------------------------------------------------------------------


def shape_formulas(geom: Geometry) -> list[str]:
    """Per spatial axis, the output-size formula with the numbers filled in."""
    extra = getattr(geom, "output_padding", (0,) * geom.dims)
    lines = []
    for axis, (n, k, s, d, (pb, pa), op, out) in enumerate(
        zip(geom.input_size, geom.kernel_size, geom.stride, geom.dilation, geom.padding, extra, geom.output_size)
    ):
        lines.append(
            f"axis {axis}: out = (n - 1)·s - p_before - p_after + d·(k - 1) + output_padding + 1 = "
            f"({n} - 1)·{s} - {pb} - {pa} + {d}·({k} - 1) + {op} + 1 = {out}"
        )
    return lines


def output_padding_notes(geom: Geometry) -> list[str]:
    """Per spatial axis, when output_padding is needed: a convolution with this kernel, stride and
    padding maps s input sizes onto n; output_padding picks which of them this layer gives back."""
    extra = getattr(geom, "output_padding", (0,) * geom.dims)
    notes = []
    for axis, (n, s, d, op, out) in enumerate(
        zip(geom.input_size, geom.stride, geom.dilation, extra, geom.output_size)
    ):
        base = out - op
        if max(s, d) == 1:
            notes.append(f"axis {axis}: stride and dilation 1, so output_padding must be 0")
            continue
        if s == 1:
            notes.append(
                f"axis {axis}: stride 1: a convolution maps only size {base} onto {n}; output_padding "
                f"{op} (allowed up to {d - 1} by the dilation) adds entries no input reaches"
            )
            continue
        sizes = ", ".join(str(base + e) for e in range(s))
        notes.append(
            f"axis {axis}: a stride-{s} convolution with the same kernel and padding maps each of the sizes "
            f"{sizes} onto {n}, so the size is ambiguous; output_padding (0 to {max(s, d) - 1}) picks one: "
            f"{op} gives {out}"
        )
    return notes
