"""Problems for the oracle sweeps: every option on its own, then random combinations.

``make_case`` writes a problem in the user's form (as JSON would carry it)
and keeps the canonical arrays for oracles, converting between the two with
code written here from the definitions, not taken from convgrad.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def _pairs(padding, S, K, stride, dilation):
    """[before, after] per dim, from the definitions (TensorFlow's rule for "same")."""
    d = len(S)
    if padding == "valid":
        return [(0, 0)] * d
    if padding == "full":
        return [(dl * (k - 1), dl * (k - 1)) for k, dl in zip(K, dilation)]
    if padding == "same":
        pairs = []
        for n, k, s, dl in zip(S, K, stride, dilation):
            out = math.ceil(n / s)
            total = max((out - 1) * s + dl * (k - 1) + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        return pairs
    if isinstance(padding, int):
        return [(padding, padding)] * d
    if d == 1 and len(padding) == 2 and all(isinstance(p, int) for p in padding):
        return [tuple(padding)]
    return [tuple(p) if isinstance(p, list) else (p, p) for p in padding]


def _per_dim(value, d):
    return [value] * d if isinstance(value, int) else list(value)


def normal_values(rng, shape):
    return rng.standard_normal(shape)


def decimal_values(rng, shape):
    """One-decimal numbers in [-2, 2], as a person would type them (exact as Fractions)."""
    return rng.integers(-20, 21, size=shape) / 10


def make_case(rng, *, dims, form, last, groups, stride, dilation, padding, bias, mode, values=normal_values):
    """A problem dict (user form) plus the canonical arrays oracles need, and the form converters."""
    N = 2 if form == "batched" else 1
    c_in = 1 if form == "bare" else groups * int(rng.integers(1, 3))
    c_out = 1 if form == "bare" else groups * int(rng.integers(1, 3))
    K = tuple(int(k) for k in rng.integers(1, 4, size=dims))
    stride_l, dil_l = _per_dim(stride, dims), _per_dim(dilation, dims)
    S = tuple(int(dl * (k - 1) + 1 + rng.integers(0, 4)) for k, dl in zip(K, dil_l))
    A = values(rng, (N, c_in) + S)
    W = values(rng, (c_out, c_in // groups) + K)
    b = None if bias is None else (values(rng, c_out) if bias == "vector" else np.full(c_out, 0.75))
    pairs = _pairs(padding, S, K, stride_l, dil_l)
    O = tuple((n + p0 + p1 - dl * (k - 1) - 1) // s + 1 for n, k, s, dl, (p0, p1) in zip(S, K, stride_l, dil_l, pairs))
    dZ = values(rng, (N, c_out) + O)

    def user_act(x):  # canonical (N, C, *S) -> the user's form
        if form == "bare":
            return x[0, 0]
        if last:
            x = np.moveaxis(x, 1, -1)
        return x[0] if form == "unbatched" else x

    def user_kernel(w):
        if form == "bare":
            return w[0, 0]
        return np.transpose(w, tuple(range(2, 2 + dims)) + (1, 0)) if last else w

    problem = {
        "A_prev": user_act(A).tolist(),
        "W": user_kernel(W).tolist(),
        "dZ": user_act(dZ).tolist(),
        "stride": stride,
        "dilation": dilation,
        "padding": padding,
        "mode": mode,
    }
    if form != "bare":
        problem["groups"] = groups
        problem["layout"] = {1: "NWC", 2: "NHWC", 3: "channels_last"}[dims] if last else "NCHW"
    elif dims == 3:
        problem["dims"] = 3
    if bias == "scalar":
        problem["b"] = 0.75
    elif bias == "vector":
        problem["b"] = b.tolist() if form != "bare" else float(b[0])
    canonical = {
        "A": A,
        "W": W,
        "b": b,
        "dZ": dZ,
        "stride": stride_l,
        "dilation": dil_l,
        "pairs": pairs,
        "groups": groups,
        "flip": mode == "convolution",
    }
    return problem, canonical, (user_act, user_kernel)


def _sweep():
    cases = []
    # Every option on its own, then random combinations.
    base = {
        "dims": 2,
        "form": "batched",
        "last": False,
        "groups": 1,
        "stride": 1,
        "dilation": 1,
        "padding": 0,
        "bias": "vector",
        "mode": "cross-correlation",
    }
    variations = [
        {},
        {"dims": 1},
        {"dims": 3},
        {"form": "bare"},
        {"form": "bare", "dims": 1},
        {"form": "bare", "dims": 3},
        {"form": "unbatched"},
        {"last": True},
        {"last": True, "dims": 1},
        {"last": True, "dims": 3},
        {"last": True, "form": "unbatched"},
        {"groups": 2},
        {"groups": 3},
        {"stride": 2},
        {"stride": [2, 1]},
        {"dilation": 2},
        {"dilation": [1, 2]},
        {"padding": 1},
        {"padding": [1, 2]},
        {"padding": [[1, 0], [0, 2]]},
        {"padding": "valid"},
        {"padding": "same"},
        {"padding": "same", "stride": 2},
        {"padding": "full"},
        {"bias": None},
        {"bias": "scalar"},
        {"mode": "convolution"},
        {"mode": "convolution", "form": "bare", "dims": 1},
        {"dims": 1, "padding": [2, 1]},
        {"mode": "convolution", "last": True, "groups": 2, "padding": 1},
    ]
    for v in variations:
        cases.append({**base, **v})
    rng = np.random.default_rng(2026)
    for _ in range(40):
        dims = int(rng.integers(1, 4))
        form = str(rng.choice(["bare", "unbatched", "batched"]))
        case = {
            "dims": dims,
            "form": form,
            "last": bool(rng.integers(0, 2)),
            "groups": 1 if form == "bare" else int(rng.choice([1, 2, 3])),
            "stride": int(rng.integers(1, 4)) if rng.integers(0, 2) else [int(s) for s in rng.integers(1, 3, dims)],
            "dilation": int(rng.integers(1, 3)),
            "padding": [0, 1, 2, "valid", "same", "full", [[1, 2]] * dims][int(rng.integers(0, 7))],
            "bias": [None, "scalar", "vector"][int(rng.integers(0, 3))],
            "mode": str(rng.choice(["cross-correlation", "convolution"])),
        }
        cases.append(case)
    return cases


SWEEP = _sweep()


def as_fractions(array):
    """A float array of typed decimals as exact Fractions (the text each float was written as)."""
    out = np.empty(np.shape(array), dtype=object)
    for index, value in np.ndenumerate(np.asarray(array)):
        out[index] = Fraction(repr(float(value)))
    return out
