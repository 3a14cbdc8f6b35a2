"""A small course problem and a simulated class of answers, each built here with plain numpy loops
(independently of convgrad's engine and variants), for the grading tests and the benchmark.

The problem: a batch of 1, 2 input channels 5x5 (channels-first, NCHW), 2 filters 3x3 with a bias,
stride 2, no padding: Z and dZ are (1, 2, 2, 2), dW (2, 2, 3, 3), dA_prev (1, 2, 5, 5).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STRIDE = 2


def problem(seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 4, size=(1, 2, 5, 5))
    W = rng.integers(-5, 6, size=(2, 2, 3, 3)) / 10
    W[W == 0] = 0.3
    b = np.array([0.5, -0.2])
    dZ = rng.integers(-5, 6, size=(1, 2, 2, 2)) / 10
    dZ[dZ == 0] = 0.4
    return {
        "description": "A simulated course problem: NCHW, 2 channels, 2 filters 3x3, stride 2.",
        "A_prev": A.tolist(),
        "W": W.tolist(),
        "b": b.tolist(),
        "stride": STRIDE,
        "dZ": dZ.tolist(),
    }


def _arrays(p: dict):
    return (np.array(p["A_prev"], float), np.array(p["W"], float), np.array(p["b"], float), np.array(p["dZ"], float))


def forward(p: dict, stride: int = STRIDE, out: int | None = None) -> np.ndarray:
    """Z by loops; ``out`` positions per axis (default: the right output size for this stride)."""
    A, W, b, _ = _arrays(p)
    n_, _, h, _ = A.shape
    c_out, _, k, _ = W.shape
    out = (h - k) // stride + 1 if out is None else out
    Z = np.zeros((n_, c_out, out, out))
    for n in range(n_):
        for co in range(c_out):
            for i in range(out):
                for j in range(out):
                    window = A[n, :, i * stride : i * stride + k, j * stride : j * stride + k]
                    Z[n, co, i, j] = np.sum(window * W[co]) + b[co]
    return Z


def backward(p: dict, last_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dW, db, dA_prev by loops (``last_only``: = instead of +=)."""
    A, W, _, dZ = _arrays(p)
    k = W.shape[-1]
    dW, db, dA = np.zeros(W.shape), np.zeros(W.shape[0]), np.zeros(A.shape)
    for n in range(dZ.shape[0]):
        for co in range(dZ.shape[1]):
            for i in range(dZ.shape[2]):
                for j in range(dZ.shape[3]):
                    rows, cols = slice(i * STRIDE, i * STRIDE + k), slice(j * STRIDE, j * STRIDE + k)
                    g = dZ[n, co, i, j]
                    if last_only:
                        dW[co] = g * A[n, :, rows, cols]
                        db[co] = g
                    else:
                        dW[co] += g * A[n, :, rows, cols]
                        db[co] += g
                    dA[n, :, rows, cols] += g * W[co]
    return dW, db, dA


def _list(array: np.ndarray, decimals: int = 6) -> list:
    return np.round(array, decimals).tolist()


def right_answer(p: dict) -> dict:
    dW, db, dA = backward(p)
    return {"Z": _list(forward(p)), "dW": _list(dW), "db": _list(db), "dA_prev": _list(dA)}


def nhwc(array: np.ndarray) -> np.ndarray:
    return np.transpose(array, (0, 2, 3, 1))


#: What each planted answer should get: (mistakes named, quantities wrong, missing-required, note).
def submissions(p: dict) -> dict[str, tuple[object, dict]]:
    """{file name: (content, expectations)}; content a dict (JSON) or a str (raw text)."""
    right = right_answer(p)
    dW, db, dA = backward(p)
    lW, ldb, _ = backward(p, last_only=True)
    out = {}
    out["s001.json"] = ({"student": "Right Rita", **right}, {"mistakes": [], "wrong": [], "score": 10})
    # Rounded: dA_prev to 1 decimal (it has 2): imprecise with 2 decimals required.
    rounded = {**right, "dA_prev": _list(dA, 1), "name": "Rounded Ron"}
    out["s002.json"] = (rounded, {"mistakes": [], "wrong": [], "imprecise": ["dA_prev"]})
    out["s003.json"] = (
        {"student": "Ivy Incomplete", "Z": right["Z"], "dW": right["dW"]},
        {"missing": ["db", "dA_prev"]},
    )
    out["s004.JSON"] = ({"id": 4004, **right}, {"mistakes": [], "wrong": [], "score": 10})  # upper-case .JSON
    swapped = {**right, "dW": _list(dA), "dA_prev": _list(dW), "student": "Sam Swap"}
    out["s005.json"] = (swapped, {"mistakes": ["names_swapped"], "wrong": ["dW", "dA_prev"]})
    z_stride1 = forward(p, stride=1, out=2)  # the right positions, windows one step apart
    out["s006.json"] = (
        {"student": "Stu Stride", "Z": _list(z_stride1)},
        {"mistakes": ["stride_ignored"], "wrong": ["Z"]},
    )
    layout = {"Z": _list(nhwc(forward(p))), "dW": right["dW"], "db": right["db"], "dA_prev": _list(nhwc(dA))}
    out["s007.json"] = (
        {"student": "Lee Layout", **layout},
        {"mistakes": ["layout_transposed"], "wrong": ["Z", "dA_prev"]},
    )
    averaged = {**right, "dW": _list(dW / 4), "db": _list(db / 4), "student": "Ava Average"}
    out["s008.json"] = (averaged, {"mistakes": ["averaged_not_summed"], "wrong": ["dW", "db"]})
    last = {**right, "dW": _list(lW), "db": _list(ldb), "student": "Lars Last"}
    out["s009.json"] = (last, {"mistakes": ["last_overlay_only"], "wrong": ["dW", "db"]})
    out["s010.json"] = ('{"student": "Mal Formed", "Z": [', {"error": "is not valid JSON"})
    extra = {**right, "student": "Ed Extra", "hobby": "chess", "dZ": p["dZ"]}
    out["s011.json"] = (extra, {"mistakes": [], "wrong": [], "score": 10, "warnings": ["'hobby'", "'dZ'"]})
    declared = {
        "student": "Nia NHWC",
        "layout": "NHWC",
        "Z": _list(nhwc(forward(p))),
        "dW": _list(np.transpose(dW, (2, 3, 1, 0))),  # (k, k, C_in, C_out), TensorFlow's
        "db": right["db"],
        "dA_prev": _list(nhwc(dA)),
    }
    out["s012.json"] = (declared, {"mistakes": [], "wrong": [], "score": 10})
    out["notes.txt"] = ("remember to grade by Friday", {"skipped": True})
    return out


def write_class(folder: Path, p: dict) -> dict[str, dict]:
    """Write the simulated class into ``folder``; the expectations by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (content, expect) in submissions(p).items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / name).write_text(text, encoding="utf-8")
        expected[name] = expect
    return expected
