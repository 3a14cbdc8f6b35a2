"""Course and framework shapes: a bias with axes of size 1 around its filters (Coursera's
(1, 1, 1, n_C), PyTorch-style (C_out, 1, 1)), db returned in that shape everywhere, and
Coursera's hparameters object."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

import convgrad
from convgrad.api import solve
from convgrad.errors import InputError
from convgrad.problem import build_problem, canonical_fields

COURSERA = ROOT / "samples" / "coursera_nhwc.json"

RNG = np.random.default_rng(11)
A_NHWC = RNG.integers(-3, 4, (1, 4, 4, 2)).astype(float)
W_NHWC = RNG.integers(-3, 4, (2, 2, 2, 3)) / 2
DZ_NHWC = RNG.integers(-3, 4, (1, 3, 3, 3)) / 2
BIAS = np.array([0.5, -1.0, 2.0])


def _loops_db(dZ: np.ndarray) -> np.ndarray:
    """db by the definition: the sum of dZ over every position and sample, per filter (last axis)."""
    out = np.zeros(dZ.shape[-1])
    for index in np.ndindex(*dZ.shape):
        out[index[-1]] += dZ[index]
    return out


@pytest.mark.parametrize(
    "shape",
    [(3,), (1, 1, 1, 3), (1, 3), (3, 1), (1, 1, 3), (3, 1, 1), (1, 3, 1, 1)],
)
def test_every_bias_shape_gives_the_same_layer_and_db_in_that_shape(shape):
    flat = convgrad.backward(A_NHWC, W_NHWC, DZ_NHWC, b=BIAS, layout="NHWC")
    shaped = convgrad.backward(A_NHWC, W_NHWC, DZ_NHWC, b=BIAS.reshape(shape), layout="NHWC")
    assert np.array_equal(shaped.Z, flat.Z)
    assert shaped.db.shape == shape
    assert np.allclose(shaped.db.reshape(-1), _loops_db(DZ_NHWC))
    assert shaped.config["shapes"]["b"] == list(shape) == shaped.config["shapes"]["db"]
    # The bias really is added per filter: Z minus Z without a bias is the bias in every position.
    bare = convgrad.backward(A_NHWC, W_NHWC, DZ_NHWC, layout="NHWC")
    assert np.allclose((shaped.Z - bare.Z)[0, 1, 2], BIAS)


def test_a_1d_nhwc_bias_and_a_channels_first_bias():
    A = RNG.integers(-3, 4, (1, 5, 2)).astype(float)  # (N, W, C) one-dimensional NHWC
    W = RNG.integers(-3, 4, (2, 2, 3)).astype(float)  # (k, C_in, C_out)
    r = convgrad.backward(A, W, np.ones((1, 4, 3)), b=[[[1, 2, 3]]], layout="NWC")
    assert r.db.shape == (1, 1, 3) and r.db.tolist() == [[[4, 4, 4]]]
    r = convgrad.backward(np.ones((2, 4, 4)), np.ones((3, 2, 2, 2)), np.ones((3, 3, 3)), b=[[[1]], [[2]], [[3]]])
    assert r.db.shape == (3, 1, 1) and r.db.reshape(-1).tolist() == [9, 9, 9]


@pytest.mark.parametrize(
    "b,message",
    [
        (
            [[1, 2], [3, 4]],
            "b has shape (2, 2) but W has 3 filters (shape (2, 2, 2, 3)): b needs one value per filter, "
            "as (3,) or with axes of size 1 such as (1, 1, 1, 3)",
        ),
        (
            [[[[1, 2, 3]]]] * 2,
            "b has shape (2, 1, 1, 3) but W has 3 filters (shape (2, 2, 2, 3)): b needs one value per filter, "
            "as (3,) or with axes of size 1 such as (1, 1, 1, 3)",
        ),
        (
            [[[[[[1, 2, 3]]]]]],
            "b has shape (1, 1, 1, 1, 1, 3) but W has 3 filters (shape (2, 2, 2, 3)): b needs one value per filter, "
            "as (3,) or with axes of size 1 such as (1, 1, 1, 3)",
        ),
    ],
)
def test_other_bias_shapes_are_refused(b, message):
    with pytest.raises(InputError) as err:
        convgrad.backward(A_NHWC, W_NHWC, DZ_NHWC, b=b, layout="NHWC")
    assert err.value.message == message


def test_hparameters_are_the_stride_and_padding():
    fields = canonical_fields({"A_prev": [1], "W": [1], "hparameters": {"stride": 2, "pad": 1}}, "p.json")
    assert fields == {"A_prev": [1], "W": [1], "stride": 2, "padding": 1}
    by_keys = convgrad.backward(A_NHWC, W_NHWC, 1, layout="NHWC", stride=2, padding=1)
    by_hparameters = convgrad.backward(A_NHWC, W_NHWC, 1, layout="NHWC", hparameters={"stride": 2, "pad": 1})
    assert np.array_equal(by_keys.Z, by_hparameters.Z) and by_keys.config == by_hparameters.config


@pytest.mark.parametrize(
    "raw,message",
    [
        (
            {"stride": 1, "hparameters": {"stride": 2}},
            "stride is given twice in p.json, as 'stride' and 'hparameters.stride'",
        ),
        (
            {"hparameters": {"pad": 2}, "padding": 1},
            "padding is given twice in p.json, as 'hparameters.pad' and 'padding'",
        ),
        (
            {"hparameters": {"pad": 2, "padding": 1}},
            "padding is given twice in p.json, as 'hparameters.pad' and 'hparameters.padding'",
        ),
        ({"hparameters": {"f": 2}}, "unknown key 'f' in hparameters in p.json: hparameters takes stride and pad"),
        ({"hparameters": [1, 2]}, 'hparameters in p.json must be an object such as {"stride": 1, "pad": 2}'),
    ],
)
def test_hparameters_clashes_and_unknown_keys_are_refused(raw, message):
    with pytest.raises(InputError) as err:
        canonical_fields(raw, "p.json")
    assert err.value.message == message


def test_the_coursera_sample_through_the_cli(cli, tmp_path):
    doc = json.loads(cli("backward", COURSERA, "--json", "-o", "none").stdout)
    sample = json.loads(COURSERA.read_text())
    assert np.array(doc["db"]).shape == (1, 1, 1, 3)
    assert np.allclose(np.array(doc["db"]).reshape(-1), _loops_db(np.array(sample["dZ"])))
    assert doc["config"]["stride"] == [2, 2] and doc["config"]["padding"] == [[1, 1], [1, 1]]
    assert doc["config"]["shapes"]["db"] == [1, 1, 1, 3]
    table = cli("backward", COURSERA, "-o", "none").stdout
    assert "db       [3, 1.5, 1]  shape (1, 1, 1, 3)" in table
    # --cell names the bias entry in the shape it was given
    cell = cli("backward", COURSERA, "--cell", "b[0,0,0,1]").stdout
    assert cell.rstrip().endswith("db[0, 0, 0, 1] = sum of the 9 terms = 1.5")
    # an answer may give db in the same shape, or flat
    for db in ([[[[3, 1.5, 1]]]], [3, 1.5, 1]):
        answer = tmp_path / "a.json"
        answer.write_text(json.dumps({"db": db}))
        result = cli("check", COURSERA, "--answer", answer, "--json")
        assert result.exit_code == 0, result.stdout
    answer.write_text(json.dumps({"db": [3, 1.5, 2]}))
    assert cli("check", COURSERA, "--answer", answer).exit_code == 1


def test_db_keeps_its_shape_in_exact_numbers():
    fields = canonical_fields(json.loads(COURSERA.read_text()), "coursera")
    fields["exact"] = True
    result = solve(build_problem(fields, need_dZ=True))
    assert np.asarray(result.db).shape == (1, 1, 1, 3)
