"""The usual wrong ways to do a convolution's backward pass, computed so they can be recognised.

Each variant recomputes the problem the way a student who made that mistake
would, and returns the quantities it changes in the user's form. ``check``
compares a wrong answer with these. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from .geometry import Geometry, applied_kernel, flip_taps
from .layers import conv
from .problem import Problem

#: Variants that walk every overlay are skipped above this many overlays.
WALK_LIMIT = 20000


@dataclass(frozen=True)
class Variant:
    """A named mistake: its key, and how to compute the quantities it changes.

    compute(problem) -> {quantity: [(label, user-form array), ...]}: one or more
    candidate results per quantity (several when the mistake has several forms,
    such as "one sample only" for each sample).
    """

    key: str
    compute: Callable[[Problem], dict[str, list[tuple[str, Any]]]]
    sentence: Callable[[Problem, str, str], str]


def _user(problem: Problem, quantity: str, canonical: Any) -> Any:
    form = problem.form
    if quantity in ("Z", "dA_prev"):
        return form.activation_from_canonical(canonical)
    if quantity == "dW":
        return form.kernel_from_canonical(canonical)
    return form.bias_from_canonical(canonical)


def _finalize(problem: Problem, quantity: str, canonical: Any) -> Any:
    return _user(problem, quantity, problem.domain.finalize(canonical))


def _zeros(problem: Problem, shape: tuple[int, ...]) -> np.ndarray:
    """Zeros of the problem's number kind (Fraction zeros for an exact problem)."""
    return problem.domain.zeros(shape) if problem.A_prev.dtype == object else np.zeros(shape, problem.A_prev.dtype)


def _backward(problem: Problem, geom: Geometry | None = None, dZ: Any = None, keep_padding: bool = False):
    geom = geom or problem.geom
    return conv.backward(
        problem.A_prev, problem.W, problem.upstream if dZ is None else dZ, geom, keep_padding=keep_padding
    )


# -- 1. the kernel flipped, or not flipped ----------------------------------------------------


def _flipped(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    geom = dataclasses.replace(problem.geom, flip=not problem.geom.flip)
    Z = conv.forward(problem.A_prev, problem.W, problem.b, geom)
    if problem.dZ is None:
        return {"Z": [("", _finalize(problem, "Z", Z))]}
    dW, _, dA = _backward(problem, geom)
    # A student sliding the rotated kernel reports dW for the rotated kernel or for W as given: both.
    dW_as_slid = applied_kernel(dW, geom)
    return {
        "Z": [("", _finalize(problem, "Z", Z))],
        "dW": [("", _finalize(problem, "dW", dW)), ("rotated", _finalize(problem, "dW", dW_as_slid))],
        "dA_prev": [("", _finalize(problem, "dA_prev", dA))],
    }


def _flipped_sentence(problem: Problem, quantity: str, label: str) -> str:
    if problem.geom.flip:
        return (
            f"your {quantity} is what the kernel gives without flipping it: this problem says "
            f"convolution, so rotate W 180° before sliding it (or use cross-correlation's rule if that was meant)"
        )
    return (
        f"your {quantity} is what the kernel rotated 180° gives: this problem is cross-correlation "
        f"(what deep-learning frameworks compute), so slide W as given, without flipping it"
    )


# -- 2. the stride treated as 1 ----------------------------------------------------------------


def _stride_one(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if all(s == 1 for s in g.stride):
        return {}
    ones = (1,) * g.dims
    full = Geometry.build(
        batch=g.batch,
        in_channels=g.in_channels,
        out_channels=g.out_channels,
        groups=g.groups,
        input_size=g.input_size,
        kernel_size=g.kernel_size,
        stride=ones,
        dilation=g.dilation,
        padding=g.padding,
        flip=g.flip,
    )
    Z = conv.forward(problem.A_prev, problem.W, problem.b, full)
    # Z at stride 1 whole, and cut to the right output size (a loop over the right positions whose
    # windows start at i, not i·stride).
    leading = (slice(None), slice(None)) + tuple(slice(0, n) for n in g.output_size)
    Zs = [("", _finalize(problem, "Z", Z)), ("cut", _finalize(problem, "Z", np.ascontiguousarray(Z[leading])))]
    if problem.dZ is None:
        return {"Z": Zs}
    # Backward with the given dZ, windows placed one step apart instead of s apart.
    placed = dataclasses.replace(g, stride=ones)
    dW, _, dA = _backward(problem, placed)
    return {
        "Z": Zs,
        "dW": [("", _finalize(problem, "dW", dW))],
        "dA_prev": [("", _finalize(problem, "dA_prev", dA))],
    }


def _stride_sentence(problem: Problem, quantity: str, label: str) -> str:
    s = problem.geom.stride
    stride = str(s[0]) if len(set(s)) == 1 else str(tuple(s))
    return (
        f"your {quantity} places the windows as if the stride were 1: with stride {stride}, "
        f"output position i's window starts at i·{stride} (minus the padding), not at i"
    )


# -- 3. padding not cropped from dA_prev, or cropped on the wrong side ---------------------


def _padding(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if problem.dZ is None:
        return {}
    if all(b == 0 and a == 0 for b, a in g.padding):
        return {}
    _, _, dA_pad = _backward(problem, keep_padding=True)
    out = [("uncropped", _finalize(problem, "dA_prev", dA_pad))]
    # A crop of the right size taken from the wrong place: along each axis from the start, at
    # the right offset or from the end; every mix but the right one.
    offsets = [sorted({0, b, b + a}) for b, a in g.padding]
    right = tuple(b for b, _ in g.padding)
    for start in itertools.product(*offsets):
        if start == right:
            continue
        crop = (slice(None), slice(None)) + tuple(slice(o, o + n) for o, n in zip(start, g.input_size))
        out.append(("wrong side", _finalize(problem, "dA_prev", dA_pad[crop])))
    return {"dA_prev": out}


def _padding_sentence(problem: Problem, quantity: str, label: str) -> str:
    pads = problem.geom.padding
    if label == "wrong side":
        sides = ", ".join(f"{b} before and {a} after" for b, a in pads)
        return (
            f"your dA_prev is the padded input's gradient cropped on the wrong side: the padding "
            f"is {sides} (per spatial dim), so crop that many from those sides"
        )
    if all(b == a for b, a in pads) and len({b for b, _ in pads}) == 1:
        p = pads[0][0]
        unit = {1: "entry", 2: "row and column"}.get(problem.geom.dims, "slice along every axis")
        plural = {1: "entries", 2: "rows and columns"}.get(problem.geom.dims, "slices along every axis")
        what = f"{p} {unit if p == 1 else plural}"
        return (
            f"your dA_prev equals the gradient of the padded input: crop {what} from each side "
            f"(the padding is not part of A_prev)"
        )
    sides = ", ".join(f"{b} before and {a} after" for b, a in pads)
    return (
        f"your dA_prev equals the gradient of the padded input: crop the padding ({sides}, per "
        f"spatial dim) off, since it is not part of A_prev"
    )


# -- 4. dW and db not summed over the batch --------------------------------------------------


def _batch(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if problem.dZ is None:
        return {}
    if g.batch < 2:
        return {}
    dW_list, db_list = [], []
    for n in range(g.batch):
        dZ = _zeros(problem, problem.dZ.shape)
        dZ[n] = problem.dZ[n]
        dW, db, _ = _backward(problem, dZ=dZ)
        dW_list.append((f"sample {n}", _finalize(problem, "dW", dW)))
        db_list.append((f"sample {n}", _finalize(problem, "db", db)))
    dW, db, _ = _backward(problem)
    mean = (lambda x: x / g.batch) if problem.dZ.dtype != object else (lambda x: x * _inverse(problem, g.batch))
    dW_list.append(("mean", _finalize(problem, "dW", mean(dW))))
    db_list.append(("mean", _finalize(problem, "db", mean(db))))
    return {"dW": dW_list, "db": db_list}


def _inverse(problem: Problem, n: int) -> Any:
    return problem.domain.convert(f"1/{n}", "batch")


def _batch_sentence(problem: Problem, quantity: str, label: str) -> str:
    if label == "mean":
        return (
            f"your {quantity} is the mean over the batch: {quantity} sums every sample's "
            f"contributions (divide by N only when the loss itself is a mean and dZ does not already include it)"
        )
    return (
        f"your {quantity} is {label}'s contribution alone: {quantity} sums the contributions "
        f"of every sample in the batch ({problem.geom.batch} here)"
    )


# -- 5. only the last overlay's contribution (= instead of +=) ---------------------------------


def _overwrite(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if problem.dZ is None:
        return {}
    if g.overlay_count > WALK_LIMIT or g.overlay_count < 2:
        return {}
    dW, db = _zeros(problem, problem.W.shape), _zeros(problem, (g.out_channels,))
    dA_pad = _zeros(problem, problem.A_prev.shape[:2] + g.padded_size)
    for overlay in conv.iter_overlays(problem.A_prev, problem.W, problem.b, problem.dZ, g):
        dW[overlay.c_out] = overlay.dW
        db[overlay.c_out] = overlay.db
        taps = (overlay.n, slice(overlay.channels.start, overlay.channels.stop)) + conv.window_taps(
            overlay.window_start, g
        )
        dA_pad[taps] = overlay.dA_prev
    return {
        "dW": [("", _finalize(problem, "dW", dW))],
        "db": [("", _finalize(problem, "db", db))],
        "dA_prev": [("", _finalize(problem, "dA_prev", dA_pad[conv.interior(g)]))],
    }


def _overwrite_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        f"your {quantity} holds only the last overlay's contribution: every overlay adds its share "
        f"to {quantity} (+=) instead of overwriting it (=); weight sharing means the shares are summed"
    )


# -- 6. dW and dA_prev swapped roles ---------------------------------------------------------


def _swapped(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dW adding dZ·kernel and dA_prev adding dZ·A_slice, from the totals at once: summed over a
    filter's overlays, dZ·kernel is W[c_out]·db[c_out]; and an entry's share dZ·A_prev[x] summed
    over the windows that cover it is A_prev[x] times the backward pass of an all-ones kernel."""
    g = problem.geom
    dZ = problem.dZ
    if dZ is None:
        return {}
    db = dZ.sum(axis=(0,) + tuple(range(2, 2 + g.dims)))
    dW = problem.W * db.reshape((-1,) + (1,) * (problem.W.ndim - 1))
    ones = np.ones(problem.W.shape, dtype=problem.W.dtype)
    if ones.dtype == object:
        ones[...] = 1
    covered = conv.backward(problem.A_prev, ones, dZ, g).dA_prev  # sum of dZ over the windows covering x
    return {
        "dW": [("", _finalize(problem, "dW", dW))],
        "dA_prev": [("", _finalize(problem, "dA_prev", problem.A_prev * covered))],
    }


def _swapped_sentence(problem: Problem, quantity: str, label: str) -> str:
    if quantity == "dW":
        return (
            "your dW adds dZ × the kernel, which is dA_prev's rule: dW adds dZ × the input slice "
            "under the window (dW[i] += dZ · A_slice[i])"
        )
    return (
        "your dA_prev adds dZ × the input slice, which is dW's rule: dA_prev adds dZ × the kernel "
        "onto the window (dA_prev[window] += dZ · W)"
    )


# -- 7. dZ rotated 180° in dW --------------------------------------------------------------------


def _rotated_dZ(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if problem.dZ is None:
        return {}
    rotated = flip_taps(problem.dZ, g.dims)
    dW, _, _ = _backward(problem, dZ=np.ascontiguousarray(rotated))
    return {"dW": [("", _finalize(problem, "dW", dW))]}


def _rotated_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        "your dW used dZ rotated 180°: dW is the cross-correlation of A_prev with dZ as it is "
        "(only dA_prev involves a rotated kernel, and only in convolution-as-correlation form)"
    )


# -- 8./9. the bias once per kernel element, or left out ---------------------------------------


def _bias_results(problem: Problem) -> tuple[Any, Any, Any] | None:
    g = problem.geom
    if problem.b is None or not any(problem.b != 0):
        return None
    Z = conv.forward(problem.A_prev, problem.W, problem.b, g)
    return Z, problem.b.reshape((1, -1) + (1,) * g.dims), g.in_per_group * prod(g.kernel_size)


def _bias_per_element(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    found = _bias_results(problem)
    if found is None:
        return {}
    Z, b, taps = found
    return {"Z": [("", _finalize(problem, "Z", Z + (taps - 1) * b))]}


def _bias_left_out(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    found = _bias_results(problem)
    return {} if found is None else {"Z": [("", _finalize(problem, "Z", found[0] - found[1]))]}


def _per_element_sentence(problem: Problem, quantity: str, label: str) -> str:
    taps = problem.geom.in_per_group * prod(problem.geom.kernel_size)
    return (
        f"your Z adds the bias once per kernel element ({taps}·b, as np.sum(A_slice * W + b) does): "
        f"it is added once per output, Z = np.sum(A_slice * W) + b"
    )


def _left_out_sentence(problem: Problem, quantity: str, label: str) -> str:
    return "your Z leaves out the bias: every output adds b once (Z = sum of W·A_slice + b)"


# -- 10. dW and db averaged over the overlays instead of summed ----------------------------------


def _averaged(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dW and db divided by the overlays per filter (N·P), or by the positions per map (P)."""
    g = problem.geom
    if problem.dZ is None:
        return {}
    dW, db, _ = _backward(problem)
    counts = [("overlays", g.batch * g.positions_per_map)]
    if g.batch > 1:
        counts.append(("positions", g.positions_per_map))
    out: dict[str, list[tuple[str, Any]]] = {"dW": [], "db": []}
    for label, count in counts:
        if count < 2:
            continue
        out["dW"].append((label, _finalize(problem, "dW", _divided(problem, dW, count))))
        out["db"].append((label, _finalize(problem, "db", _divided(problem, db, count))))
    return out if out["dW"] else {}


def _divided(problem: Problem, array: Any, count: int) -> Any:
    """array / count in the problem's numbers (exactly, for an exact problem)."""
    return array / count if problem.A_prev.dtype != object else array * _inverse(problem, count)


def _averaged_sentence(problem: Problem, quantity: str, label: str) -> str:
    g = problem.geom
    if label == "positions":
        count = f"the {g.positions_per_map} output positions"
    else:
        count = f"the {g.batch * g.positions_per_map} overlays of each filter"
        if g.batch > 1:
            count += f" ({g.batch} samples × {g.positions_per_map} positions)"
    return (
        f"your {quantity} is the mean over {count}, not the sum: every overlay adds its whole "
        f"share to {quantity} (weight sharing), so the shares are summed, never averaged"
    )


# -- 11. dA_prev without the overlap: each entry gets one overlay's share -----------------------


def _overlap_once(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """Each dA_prev entry takes only the share of the first overlay (in overlay order) that reaches it."""
    g = problem.geom
    if problem.dZ is None:
        return {}
    if g.overlay_count > WALK_LIMIT:
        return {}
    dA_pad = _zeros(problem, problem.A_prev.shape[:2] + g.padded_size)
    seen = np.zeros(dA_pad.shape, dtype=bool)
    for overlay in conv.iter_overlays(problem.A_prev, problem.W, problem.b, problem.dZ, g):
        taps = (overlay.n, slice(overlay.channels.start, overlay.channels.stop)) + conv.window_taps(
            overlay.window_start, g
        )
        region, fresh = dA_pad[taps], ~seen[taps]  # views into the padded gradient and the mask
        region[fresh] = np.asarray(overlay.dA_prev)[fresh]
        seen[taps] = True
    return {"dA_prev": [("first", _finalize(problem, "dA_prev", dA_pad[conv.interior(g)]))]}


def _overlap_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        "your dA_prev gives each input entry only one overlay's share (the first window that "
        "covers it): where windows overlap, an entry receives dZ·W from every window that covers "
        "it, and the shares are summed (dA_prev[window] += dZ · W)"
    )


# -- 12. dW from A_prev instead of the padded input ------------------------------------------------


def _unpadded_dW(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dW with every window read from A_prev at its padded-input coordinates: the padding put after the input."""
    g = problem.geom
    if problem.dZ is None or all(b == 0 for b, _ in g.padding):
        return {}
    shifted = dataclasses.replace(g, padding=tuple((0, b + a) for b, a in g.padding))
    dW, _, _ = _backward(problem, shifted)
    return {"dW": [("", _finalize(problem, "dW", dW))]}


def _unpadded_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        "your dW slides the windows over A_prev instead of the padded input: the window at output "
        "position i starts at i·stride in the padded input, which is i·stride − padding in A_prev "
        "(the slices must come from A_prev padded with zeros, a_prev_pad, not from A_prev)"
    )


# -- 13. dZ transposed (2-D, square output) -------------------------------------------------------


def _transposed_dZ(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    g = problem.geom
    if problem.dZ is None or g.dims != 2 or g.output_size[0] != g.output_size[1]:
        return {}
    transposed = np.ascontiguousarray(np.swapaxes(problem.dZ, -1, -2))
    dW, _, dA = _backward(problem, dZ=transposed)
    return {"dW": [("", _finalize(problem, "dW", dW))], "dA_prev": [("", _finalize(problem, "dA_prev", dA))]}


def _transposed_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        f"your {quantity} used dZ transposed (rows and columns swapped): dZ[h, w] belongs to the "
        "window at row h and column w"
    )


# -- 14. dW and dA_prev given under each other's names --------------------------------------------


def _names_swapped(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """The right dA_prev given as dW, and the right dW as dA_prev."""
    if problem.dZ is None:
        return {}
    dW, _, dA = _backward(problem)
    return {"dW": [("", _finalize(problem, "dA_prev", dA))], "dA_prev": [("", _finalize(problem, "dW", dW))]}


def _names_sentence(problem: Problem, quantity: str, label: str) -> str:
    other = "dA_prev" if quantity == "dW" else "dW"
    return (
        f"your {quantity} is the right {other}: the two are given under each other's names "
        f"(dW has W's shape, dA_prev has A_prev's)"
    )


# -- 15. the answer in the other layout (NHWC for NCHW, or the reverse) ---------------------------------


def _other_layout(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """The right answers written in the other layout (channels-last for channels-first, or the reverse)."""
    form = problem.form
    if form.kind == "bare":
        return {}
    other = dataclasses.replace(form, channels_last=not form.channels_last)
    Z = conv.forward(problem.A_prev, problem.W, problem.b, problem.geom)
    out = {"Z": [(other.layout, other.activation_from_canonical(problem.domain.finalize(Z)))]}
    if problem.dZ is not None:
        dW, _, dA = _backward(problem)
        out["dW"] = [(other.layout, other.kernel_from_canonical(problem.domain.finalize(dW)))]
        out["dA_prev"] = [(other.layout, other.activation_from_canonical(problem.domain.finalize(dA)))]
    return out


def _layout_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        f"your {quantity} is the right one written in the {label} layout: this problem is "
        f'{problem.form.layout} (give the answer in the problem\'s layout, or say "layout": "{label}" '
        "in the answer file)"
    )


VARIANTS: tuple[Variant, ...] = (
    Variant("flipped_kernel", _flipped, _flipped_sentence),
    Variant("stride_ignored", _stride_one, _stride_sentence),
    Variant("padding_not_cropped", _padding, _padding_sentence),
    Variant("batch_not_summed", _batch, _batch_sentence),
    Variant("last_overlay_only", _overwrite, _overwrite_sentence),
    Variant("roles_swapped", _swapped, _swapped_sentence),
    Variant("dZ_rotated", _rotated_dZ, _rotated_sentence),
    Variant("bias_per_element", _bias_per_element, _per_element_sentence),
    Variant("bias_left_out", _bias_left_out, _left_out_sentence),
    Variant("averaged_not_summed", _averaged, _averaged_sentence),
    Variant("overlap_not_summed", _overlap_once, _overlap_sentence),
    Variant("unpadded_input", _unpadded_dW, _unpadded_sentence),
    Variant("dZ_transposed", _transposed_dZ, _transposed_sentence),
    Variant("names_swapped", _names_swapped, _names_sentence),
    Variant("layout_transposed", _other_layout, _layout_sentence),
)


# -- the mistakes of kinds that declare their columns, by kind -----------------------------------


def _activation_dA(problem: Problem, derivative_at: Any) -> dict[str, list[tuple[str, Any]]]:
    kind = problem.kind
    assert kind is not None
    dZ = problem.upstream
    local = np.empty(dZ.shape, dtype=object)
    for index, value in np.ndenumerate(derivative_at):
        local[index] = kind.derivative(value, problem.params)  # type: ignore[attr-defined]
    return {"dA_prev": [("", _finalize(problem, "dA_prev", dZ * local))]}


def _derivative_at_Z(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """The derivative evaluated at the output Z = f(A_prev) instead of at the input."""
    if problem.dZ is None:
        return {}
    kind = problem.kind
    assert kind is not None
    Z = kind.totals(problem.A_prev, None, None, None, problem.geom, problem.params).Z
    return _activation_dA(problem, Z)


def _derivative_at_Z_sentence(problem: Problem, quantity: str, label: str) -> str:
    f = problem.layer
    return (
        f"dA_prev looks like dZ·{f}'(Z): the derivative was taken at the output Z = {f}(A_prev) instead of at "
        f"the input A_prev (in terms of the output it is "
        + ("Z·(1 - Z)" if f == "sigmoid" else "1 - Z²" if f == "tanh" else f"{f}'(A_prev)")
        + f", not {f}'(Z))"
    )


def _passes_negative(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dZ passed through unchanged everywhere, also where A_prev < 0."""
    if problem.dZ is None:
        return {}
    return {"dA_prev": [("", _finalize(problem, "dA_prev", problem.dZ))]}


def _passes_negative_sentence(problem: Problem, quantity: str, label: str) -> str:
    f = problem.layer
    below = "0" if f == "relu" else "the slope"
    return (
        f"dA_prev looks like dZ passed through everywhere: where A_prev < 0 (and at 0) {f}'s derivative is "
        f"{below}, so dA_prev there is dZ·{below}, not dZ"
    )


DERIVATIVE_AT_Z = Variant("derivative_at_Z", _derivative_at_Z, _derivative_at_Z_sentence)
PASSES_NEGATIVE = Variant("dZ_passed_where_negative", _passes_negative, _passes_negative_sentence)

# -- conv-transpose's mistakes ----------------------------------------------------------------


def _transpose_with(problem: Problem, W: Any, params: dict[str, Any], backward: bool = True) -> tuple[Any, Any]:
    """The kind's totals with other weights or settings (the geometry rebuilt from them); the
    gradients only with ``backward`` (when the settings keep Z's shape, so dZ fits)."""
    kind = problem.kind
    assert kind is not None
    geom = kind.geometry(problem.A_prev.shape, params)
    dZ = problem.dZ if backward else None
    return geom, kind.totals(problem.A_prev, W, problem.b, dZ, geom, params)


def _output_padding_ignored(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """Z computed as if output_padding were 0: shorter by output_padding along each such axis."""
    params = dict(problem.params)
    if not any(params.get("output_padding", ())):
        return {}
    params["output_padding"] = (0,) * len(params["output_padding"])
    geom, totals = _transpose_with(problem, problem.W, params, backward=False)
    if min(geom.output_size) < 1:
        return {}
    return {"Z": [("", _finalize(problem, "Z", totals.Z))]}


def _output_padding_sentence(problem: Problem, quantity: str, label: str) -> str:
    extra = ", ".join(map(str, problem.params["output_padding"]))
    return (
        f"your Z looks like output_padding was ignored: output_padding ({extra}) adds that many entries at the end "
        "of each axis, out = (n - 1)·s - p_before - p_after + d·(k - 1) + output_padding + 1"
    )


def _channel_axes_swapped(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """W (C_in, C_out/G, *k) read as a convolution's (C_out, C_in/G, *k): its first two axes swapped
    within each group (only possible when C_in/G = C_out/G)."""
    W, geom = problem.W, problem.geom
    if W is None or geom.in_per_group != geom.out_per_group or geom.in_per_group == 1:
        return {}
    G, c = geom.groups, geom.in_per_group
    grouped = W.reshape((G, c, c) + geom.kernel_size)
    swapped = grouped.swapaxes(1, 2).reshape(W.shape)
    _, totals = _transpose_with(problem, np.ascontiguousarray(swapped), dict(problem.params))
    found = {"Z": [("", _finalize(problem, "Z", totals.Z))]}
    if problem.dZ is not None:
        dW = totals.dW.reshape((G, c, c) + geom.kernel_size).swapaxes(1, 2).reshape(W.shape)
        found["dA_prev"] = [("", _finalize(problem, "dA_prev", totals.dA_prev))]
        found["dW"] = [("", _finalize(problem, "dW", np.ascontiguousarray(dW)))]
    return found


def _channel_axes_sentence(problem: Problem, quantity: str, label: str) -> str:
    order = "(*k, C_out/groups, C_in)" if problem.form.channels_last else "(C_in, C_out/groups, *k)"
    return (
        f"your {quantity} looks like W's two channel axes were swapped: a transposed convolution's W is "
        f"{order}, the other way round from a convolution's"
    )


def _crop_wrong_side(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """The crop of padding taken from the wrong side: all of it from the end, all from the start, or
    p_before and p_after exchanged (each only where it differs from the right crop)."""
    pairs = tuple(tuple(p) for p in problem.params["padding"])
    if not any(b or a for b, a in pairs):
        return {}
    candidates = {
        "all from the end": tuple((0, b + a) for b, a in pairs),
        "all from the start": tuple((b + a, 0) for b, a in pairs),
        "before and after exchanged": tuple((a, b) for b, a in pairs),
    }
    found: dict[str, list[tuple[str, Any]]] = {}
    seen = {pairs}
    for label, wrong in candidates.items():
        if wrong in seen:
            continue
        seen.add(wrong)
        _, totals = _transpose_with(problem, problem.W, {**problem.params, "padding": wrong})
        found.setdefault("Z", []).append((label, _finalize(problem, "Z", totals.Z)))
        if problem.dZ is not None:
            found.setdefault("dA_prev", []).append((label, _finalize(problem, "dA_prev", totals.dA_prev)))
            found.setdefault("dW", []).append((label, _finalize(problem, "dW", totals.dW)))
    return found


def _crop_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        f"your {quantity} looks like the crop was taken from the wrong side ({label}): padding removes p_before "
        "entries from the start and p_after from the end of the full output, and output_padding adds its "
        "entries at the end"
    )


def _kernel_not_flipped(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """Through the identities: Z as a stride-1 convolution of the zero-inserted input with the kernel
    not flipped (it needs the flip), and dA_prev as a convolution of dZ with W flipped (it needs none)."""
    from .layers import conv_transpose

    W, geom = problem.W, problem.geom
    if W is None or all(k == 1 for k in geom.kernel_size):
        return {}
    Z = conv_transpose.forward_via_convolution(problem.A_prev, W, problem.b, geom, flipped=False)
    found = {"Z": [("Z", _finalize(problem, "Z", Z))]}
    if problem.dZ is not None:
        dA = conv_transpose.dA_via_convolution(W, problem.dZ, geom, flipped=True)
        found["dA_prev"] = [("dA_prev", _finalize(problem, "dA_prev", dA))]
    return found


def _not_flipped_sentence(problem: Problem, quantity: str, label: str) -> str:
    if quantity == "Z":
        return (
            "your Z looks like the zero-insertion identity without the flip: Z is a stride-1 convolution of the "
            "zero-inserted, padded A_prev with the kernel rotated 180°, not as given"
        )
    return (
        "your dA_prev looks like dZ convolved with W rotated 180°: dA_prev is a convolution forward pass of dZ "
        "with W as given (the flip belongs to the forward pass's zero-insertion view, not here)"
    )


OUTPUT_PADDING_IGNORED = Variant("output_padding_ignored", _output_padding_ignored, _output_padding_sentence)
CHANNEL_AXES_SWAPPED = Variant("channel_axes_swapped", _channel_axes_swapped, _channel_axes_sentence)
CROP_WRONG_SIDE = Variant("crop_wrong_side", _crop_wrong_side, _crop_sentence)
KERNEL_NOT_FLIPPED = Variant("kernel_not_flipped", _kernel_not_flipped, _not_flipped_sentence)


# -- pooling's mistakes -------------------------------------------------------------------------


def _pool_walk(problem: Problem, share: Callable[[Any, Any], list[Any]], overwrite: bool = False) -> np.ndarray:
    """dA_prev from the pooling overlays in order, each window's share recomputed by ``share(record,
    dz)``; ``overwrite``: ``=`` instead of ``+=``, so a later window replaces what an earlier one left."""
    kind = problem.kind
    assert kind is not None
    dA = _zeros(problem, problem.A_prev.shape)
    for record in kind.records(problem.A_prev, None, None, problem.dZ, problem.geom, problem.params):
        for x, part in zip(record.reads, share(record, record.values["dZ"])):
            dA[x] = part if overwrite else dA[x] + part
    return dA


def _pool_other_rule(problem: Problem, **changed: Any) -> dict[str, list[tuple[str, Any]]]:
    kind = problem.kind
    assert kind is not None
    totals = kind.totals(problem.A_prev, None, None, problem.upstream, problem.geom, {**problem.params, **changed})
    return {
        "Z": [("", _finalize(problem, "Z", totals.Z))],
        "dA_prev": [("", _finalize(problem, "dA_prev", totals.dA_prev))],
    }


def _whole_window(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """max-pool: dZ given to every entry of the window, not only to the maximum."""
    if problem.dZ is None or problem.geom.overlay_count > WALK_LIMIT:
        return {}
    return {"dA_prev": [("", _finalize(problem, "dA_prev", _pool_walk(problem, lambda r, dz: [dz] * len(r.reads))))]}


def _whole_window_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        "dA_prev looks like dZ given to every entry of each window: max pooling passes it to the maximum only "
        "(dA_prev[window] += dZ·mask, the mask 1 on the maximum, 0 elsewhere)"
    )


def _tie_rule(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """max-pool: another tie rule than the problem's (every tied maximum, or only the first)."""
    if problem.dZ is None:
        return {}
    other = "all" if problem.params["ties"] != "all" else "first"
    return {"dA_prev": _pool_other_rule(problem, ties=other)["dA_prev"]}


def _tie_rule_sentence(problem: Problem, quantity: str, label: str) -> str:
    if problem.params["ties"] == "all":
        return (
            "dA_prev looks like only the first tied maximum got the gradient: with ties all every entry equal "
            "to the window's maximum gets dZ (the x == max mask)"
        )
    rule = (
        "only the first maximum in row-major window order" if problem.params["ties"] == "first" else "dZ shared equally"
    )
    return (
        "dA_prev looks like every tied maximum got the whole gradient (an x == max mask): with ties "
        f"{problem.params['ties']} a window's gradient goes to {rule}"
    )


def _not_accumulated(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """Pooling: dA_prev[window] = share instead of +=, so overlapping windows overwrite each other."""
    if problem.dZ is None or problem.geom.overlay_count > WALK_LIMIT:
        return {}
    key = "mask" if problem.layer == "max-pool" else "share"

    def shares(record: Any, dz: Any) -> list[Any]:
        local = record.values[key]
        return [dz * m for m in local] if key == "mask" else [dz * local] * len(record.reads)

    return {"dA_prev": [("", _finalize(problem, "dA_prev", _pool_walk(problem, shares, overwrite=True)))]}


def _not_accumulated_sentence(problem: Problem, quantity: str, label: str) -> str:
    return (
        "dA_prev looks like each window overwrote it (dA_prev[window] = ...) instead of adding to it: where "
        "windows overlap, every window's share adds up (+=)"
    )


def _not_divided(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """avg-pool: the sum of the window, and dZ on every tap, without dividing by the count."""
    kind = problem.kind
    assert kind is not None
    Z = _zeros(problem, (problem.geom.batch, problem.geom.out_channels) + problem.geom.output_size)
    for record in kind.records(problem.A_prev, None, None, None, problem.geom, problem.params):
        window = list(record.values["window"])
        Z[record.writes[0]] = sum(window[1:], window[0])
    found = {"Z": [("", _finalize(problem, "Z", Z))]}
    if problem.dZ is not None and problem.geom.overlay_count <= WALK_LIMIT:
        found["dA_prev"] = [("", _finalize(problem, "dA_prev", _pool_walk(problem, lambda r, dz: [dz] * len(r.reads))))]
    return found


def _not_divided_sentence(problem: Problem, quantity: str, label: str) -> str:
    what = "Z looks like the window's sum" if quantity == "Z" else "dA_prev looks like dZ on every tap"
    return (
        f"{what}, not divided by the window's count: average pooling divides by it (Z = sum/count, dA_prev += dZ/count)"
    )


def _wrong_count(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """avg-pool: the other divisor where a window hangs over the padding (count_padding flipped)."""
    return _pool_other_rule(problem, count_padding=not problem.params["count_padding"])


def _wrong_count_sentence(problem: Problem, quantity: str, label: str) -> str:
    if problem.params["count_padding"]:
        return (
            f"{quantity} looks divided by the taps inside A_prev where a window covers padding: with count_padding "
            "true (PyTorch's default) every window divides by its full size"
        )
    return (
        f"{quantity} looks divided by the full window size where a window covers padding: with count_padding "
        "false (TensorFlow's SAME) a window divides by its taps inside A_prev"
    )


WHOLE_WINDOW = Variant("gradient_to_whole_window", _whole_window, _whole_window_sentence)
TIE_RULE = Variant("wrong_tie_rule", _tie_rule, _tie_rule_sentence)
NOT_ACCUMULATED = Variant("overlaps_not_accumulated", _not_accumulated, _not_accumulated_sentence)
NOT_DIVIDED = Variant("not_divided_by_count", _not_divided, _not_divided_sentence)
WRONG_COUNT = Variant("wrong_count_at_padding", _wrong_count, _wrong_count_sentence)

#: Each kind's named mistakes; convolution's are VARIANTS above.
from . import kind_variants as _kinds  # noqa: E402 - flatten's and dense's mistakes

FLATTEN_OTHER_ORDER = Variant("flatten_other_order", _kinds.flatten_other_order, _kinds.flatten_other_order_sentence)
DENSE_DW_TRANSPOSED = Variant("dense_dW_transposed", _kinds.dense_dW_transposed, _kinds.dense_dW_transposed_sentence)
DENSE_ONE_SAMPLE = Variant("dense_one_sample", _kinds.dense_one_sample, _kinds.dense_one_sample_sentence)

VARIANTS_BY_KIND: dict[str, tuple[Variant, ...]] = {
    "conv": VARIANTS,
    "relu": (PASSES_NEGATIVE,),
    "leaky-relu": (PASSES_NEGATIVE,),
    "sigmoid": (DERIVATIVE_AT_Z,),
    "tanh": (DERIVATIVE_AT_Z,),
    "conv-transpose": (OUTPUT_PADDING_IGNORED, CHANNEL_AXES_SWAPPED, CROP_WRONG_SIDE, KERNEL_NOT_FLIPPED),
    "max-pool": (WHOLE_WINDOW, TIE_RULE, NOT_ACCUMULATED),
    "avg-pool": (NOT_DIVIDED, WRONG_COUNT, NOT_ACCUMULATED),
    "flatten": (FLATTEN_OTHER_ORDER,),
    "dense": (DENSE_DW_TRANSPOSED, DENSE_ONE_SAMPLE),
}

#: Every variant of every kind, each key once (for the schema's list of mistakes).
ALL_VARIANTS: tuple[Variant, ...] = tuple(
    {v.key: v for variants in VARIANTS_BY_KIND.values() for v in variants}.values()
)


def variants_for(problem: Problem) -> tuple[Variant, ...]:
    """The mistakes check tries for this problem's kind (none for a kind without a list)."""
    return VARIANTS_BY_KIND.get(problem.layer, ())
