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
    g = problem.geom
    if problem.dZ is None:
        return {}
    if g.overlay_count > WALK_LIMIT:
        return {}
    dW = _zeros(problem, problem.W.shape)
    dA_pad = _zeros(problem, problem.A_prev.shape[:2] + g.padded_size)
    for overlay in conv.iter_overlays(problem.A_prev, problem.W, problem.b, problem.dZ, g):
        dW[overlay.c_out] = dW[overlay.c_out] + applied_kernel(overlay.dZ * overlay.kernel, g)
        taps = (overlay.n, slice(overlay.channels.start, overlay.channels.stop)) + conv.window_taps(
            overlay.window_start, g
        )
        dA_pad[taps] = dA_pad[taps] + overlay.dZ * overlay.A_slice
    return {
        "dW": [("", _finalize(problem, "dW", dW))],
        "dA_prev": [("", _finalize(problem, "dA_prev", dA_pad[conv.interior(g)]))],
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
