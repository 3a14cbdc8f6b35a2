"""The tiled JSON path writes the same bytes as one overlay at a time, with orjson or without."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convgrad
from convgrad import jsonfast
from convgrad.layers import conv
from convgrad.render import jsonout

EDGE_FLOATS = [
    1e-5,
    -1e-5,
    1.00001e-5,
    9.999999999999999e-5,
    1e-4,
    3e-7,
    -1.5e-9,
    1e-10,
    5e-324,
    2.2250738585072014e-308,
    0.0,
    -0.0,
    10.00001,
    100000.00001,
    0.1,
    1e16,
    9.999999999999998e15,
    1.7976931348623157e308,
    123456789.0,
]


def _floats(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spread = rng.standard_normal(4000) * 10.0 ** rng.integers(-320, 300, 4000)
    decades = np.concatenate([[10.0**e, -1.5 * 10.0**e, 7.25 * 10.0**e] for e in range(-320, 300)])
    return np.concatenate([EDGE_FLOATS, spread, decades])


@pytest.mark.parametrize("writer", ["orjson", "stdlib"])
def test_lines_spell_every_float_as_repr(monkeypatch, writer):
    if writer == "stdlib":
        monkeypatch.setattr(jsonfast, "orjson", None)
    values = _floats(1)
    values = values[: len(values) // 3 * 3].reshape(-1, 3)
    records = [{"number": i + 1, "position": [i, -i], "x": row} for i, row in enumerate(values)]
    text = jsonfast.lines(records, jsonfast.tiny_rows(values))
    expected = "\n".join(json.dumps({**r, "x": r["x"].tolist()}) for r in records)
    assert text == expected


def test_lines_of_nothing_and_tiny_rows_without_orjson(monkeypatch):
    assert jsonfast.lines([]) == ""
    monkeypatch.setattr(jsonfast, "orjson", None)
    assert jsonfast.tiny_rows(np.ones((2, 3))) is None


def _random_problem(rng: np.random.Generator, exact_like: bool) -> convgrad.Result:
    dims = int(rng.integers(1, 4))
    G = int(rng.integers(1, 3))
    C_in, C_out, N = G * int(rng.integers(1, 3)), G * int(rng.integers(1, 3)), int(rng.integers(1, 3))
    k = tuple(int(x) for x in rng.integers(1, 4, dims))
    size = tuple(int(x) for x in rng.integers(5, 8, dims))
    A = rng.standard_normal((N, C_in) + size) * 10.0 ** rng.integers(-7, 3, (N, C_in) + size)
    if exact_like:
        A = np.round(A, 1)
    W = rng.standard_normal((C_out, C_in // G) + k)
    config = {
        "stride": [int(x) for x in rng.integers(1, 3, dims)],
        "dilation": [int(x) for x in rng.integers(1, 3, dims)],
        "padding": [[int(a), int(b)] for a, b in rng.integers(0, 3, (dims, 2))],
        "groups": G,
        "mode": "convolution" if rng.integers(0, 2) else "cross-correlation",
    }
    b = rng.standard_normal(C_out) if rng.integers(0, 2) else None
    forward = convgrad.forward(A, W, b, **config)
    if rng.integers(0, 2):
        last = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[dims]
        A_user = np.moveaxis(A, 1, -1)
        W_user = np.moveaxis(np.moveaxis(W, 1, -1), 0, -1)  # (*k, C_in/G, C_out)
        dZ = np.moveaxis(rng.standard_normal(forward.Z.shape), 1, -1)
        return convgrad.backward(A_user, W_user, dZ * 1e-3, b, layout=last, **config)
    dZ = rng.standard_normal(forward.Z.shape) * 10.0 ** rng.integers(-6, 2, forward.Z.shape)
    return convgrad.backward(A, W, dZ, b, **config)


@pytest.mark.parametrize("seed", range(12))
def test_tiled_overlays_are_the_overlays_one_at_a_time(monkeypatch, seed):
    if seed % 4 == 1:
        monkeypatch.setattr(jsonfast, "orjson", None)  # the standard library writes the same text
    rng = np.random.default_rng(seed)
    result = _random_problem(rng, exact_like=seed % 3 == 0)
    count = result.overlay_count
    chosen = list(range(count)) if seed % 2 else sorted(rng.choice(count, min(count, 40), replace=False).tolist())
    chosen = chosen + chosen[:3]  # indices need not be ascending nor distinct
    one_at_a_time = "\n".join(jsonout.overlay_texts(result, chosen))
    tiled = "\n".join(jsonout.overlay_blocks(result, chosen))
    assert len(chosen) >= jsonout.TILED_FROM or count < jsonout.TILED_FROM
    assert tiled == one_at_a_time


def test_tiles_hold_each_overlays_values():
    rng = np.random.default_rng(7)
    result = _random_problem(rng, exact_like=False)
    p = result.problem
    tiles = list(conv.iter_tiles(p.A_prev, p.W, p.b, p.dZ, p.geom, size=5))
    assert sum(len(t.indices) for t in tiles) == result.overlay_count
    for overlay in conv.iter_overlays(p.A_prev, p.W, p.b, p.dZ, p.geom):
        tile = tiles[overlay.index // 5]
        j = overlay.index % 5
        assert (tile.n[j], tile.c_out[j]) == (overlay.n, overlay.c_out)
        assert tuple(tile.position[j]) == overlay.position and tuple(tile.window_start[j]) == overlay.window_start
        np.testing.assert_array_equal(tile.A_slice[j], overlay.A_slice)
        assert tile.Z[j] == overlay.Z and tile.dZ[j] == overlay.dZ
        np.testing.assert_array_equal(tile.dW[j], overlay.dW)
        np.testing.assert_array_equal(tile.dA_prev[j], overlay.dA_prev)


def test_a_tile_with_nan_is_written_one_overlay_at_a_time():
    A = np.arange(64.0).reshape(1, 1, 8, 8)
    A[0, 0, 3, 3] = np.nan
    result = convgrad.backward(A, np.ones((1, 1, 2, 2)), np.ones((1, 1, 7, 7)), allow_nonfinite=True)
    tiled = "\n".join(jsonout.overlay_blocks(result, range(result.overlay_count)))
    assert tiled == "\n".join(jsonout.overlay_texts(result, range(result.overlay_count)))
    assert '"NaN"' in tiled
