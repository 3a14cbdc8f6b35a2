"""The Python API: forms, layouts, results in the user's form, errors as exceptions."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad
from convgrad import InputError


def test_bare_3d_volume_needs_dims():
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal((4, 2, 4)), rng.standard_normal((2, 2, 2))
    r = convgrad.backward(A, W, dZ=np.ones((3, 1, 3)), dims=3)
    assert r.Z.shape == (3, 1, 3) and r.dW.shape == (2, 2, 2) and r.dA_prev.shape == (4, 2, 4)
    assert np.ndim(r.db) == 0
    # Without dims the same ranks read as channels-first 1-D: (N, C, L) and (C_out, C_in, k).
    r1 = convgrad.forward(A, W)
    assert r1.config["form"] == "batched" and r1.config["dims"] == 1


def test_unbatched_and_batched_channels_first():
    rng = np.random.default_rng(1)
    A, W, b = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    unbatched = convgrad.backward(A, W, np.ones((3, 3, 3)), b)
    batched = convgrad.backward(A[None], W, np.ones((1, 3, 3, 3)), b)
    assert unbatched.Z.shape == (3, 3, 3) and batched.Z.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(unbatched.Z, batched.Z[0])
    np.testing.assert_allclose(unbatched.dA_prev, batched.dA_prev[0])
    np.testing.assert_allclose(unbatched.dW, batched.dW)
    assert unbatched.db.shape == (3,)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(0, 2**31), st.sampled_from(["NHWC", "channels_last", "NWC", "channels-last"]))
def test_channels_last_is_channels_first_transposed(dims, seed, name):
    rng = np.random.default_rng(seed)
    N, c_in, c_out = 2, 2, 3
    S, K = (4,) * dims, (2,) * dims
    A = rng.standard_normal((N, c_in) + S)
    W = rng.standard_normal((c_out, c_in) + K)
    dZ = rng.standard_normal((N, c_out) + (3,) * dims)
    first = convgrad.backward(A, W, dZ, padding=0, layout="NCHW")
    last = convgrad.backward(
        np.moveaxis(A, 1, -1), np.transpose(W, tuple(range(2, 2 + dims)) + (1, 0)), np.moveaxis(dZ, 1, -1), layout=name
    )
    np.testing.assert_allclose(np.moveaxis(last.Z, -1, 1), first.Z)
    np.testing.assert_allclose(np.moveaxis(last.dA_prev, -1, 1), first.dA_prev)
    np.testing.assert_allclose(np.transpose(last.dW, (dims + 1, dims) + tuple(range(dims))), first.dW)
    np.testing.assert_allclose(last.db, first.db)
    for a, b in zip(last.overlays(), first.overlays()):
        np.testing.assert_allclose(np.moveaxis(a.dW, -1, 0), b.dW)
        np.testing.assert_allclose(np.moveaxis(a.A_slice, -1, 0), b.A_slice)


def test_overlays_are_lazy():
    r = convgrad.backward(np.ones((1, 1, 200, 200)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 198, 198)))
    overlays = r.overlays()
    assert inspect.isgenerator(overlays)
    first = next(overlays)
    assert first.position == (0, 0) and first.Z == 9


def test_overlay_selection_text():
    r = convgrad.backward([1, 2, 3, 4], [1, 1], dZ=[1, 2, 3])
    assert [o.position for o in r.overlays("2-3")] == [(1,), (2,)]
    assert [o.position for o in r.overlays("pos=0")] == [(0,)]


def test_convolution_mode_flips_the_kernel_and_reports_dW_for_W_as_given():
    r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], mode="convolution")
    np.testing.assert_allclose(r.Z, [0.5 * 1 + 0.3 * 2, 0.5 * 2 + 0.3 * 3])
    # dL/dW[0] meets A[i+1], dL/dW[1] meets A[i]: [2*-0.1 + 3*0.2, 1*-0.1 + 2*0.2]
    np.testing.assert_allclose(r.dW, [0.4, 0.3])
    np.testing.assert_allclose(r.dA_prev, [-0.05, 0.07, 0.06])


def test_scalar_dZ_applies_to_every_output():
    r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=1)
    np.testing.assert_allclose(r.dW, [3, 5])


def test_errors_are_exceptions_with_the_cli_message():
    with pytest.raises(InputError, match=r"dZ has shape \(3,\) but Z has shape \(2,\)"):
        convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[1, 2, 3])
    with pytest.raises(InputError, match="unknown key 'strides_x'"):
        convgrad.forward([1, 2, 3], [1], strides_x=2)
    with pytest.raises(ValueError):  # InputError is a ValueError for callers that catch those
        convgrad.forward([1, 2, 3], [1], stride=0)
    with pytest.raises(InputError, match="numpy array of bool"):
        convgrad.forward(np.array([True, False]), [1])


def test_float32_arrays_accepted():
    r = convgrad.backward(np.ones(4, dtype=np.float32), np.ones(2, dtype=np.float32), dZ=np.ones(3, dtype=np.float32))
    np.testing.assert_allclose(r.dW, [3, 3])


def test_config_describes_everything():
    r = convgrad.forward(
        np.ones((1, 2, 5, 5)), np.ones((4, 1, 3, 3)), groups=2, padding=[[1, 0], [0, 1]], stride=[2, 1], dilation=[1, 2]
    )
    c = r.config
    assert c["padding"] == [[1, 0], [0, 1]] and c["stride"] == [2, 1] and c["dilation"] == [1, 2]
    assert c["output_size"] == [2, 2] and c["overlay_count"] == 1 * 4 * 4
    assert c["shapes"]["Z"] == [1, 4, 2, 2]


def test_bias_is_an_alias_of_b():
    np.testing.assert_allclose(convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=1, bias=1).Z, [2.3, 3.1])


def test_overlay_number_counts_from_1_like_the_cli(cli):
    sample = ROOT / "samples" / "stride2_pad1.json"
    doc = json.loads(cli("backward", sample, "--json", "-o", "3,5").stdout)
    result = convgrad.backward(**{k: v for k, v in json.loads(sample.read_text()).items() if k != "description"})
    overlays = list(result.overlays("3,5"))
    assert [o.number for o in overlays] == [o["number"] for o in doc["overlays"]] == [3, 5]
    assert [o.index for o in overlays] == [2, 4]
