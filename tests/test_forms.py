"""The array forms (bare, channels-first, channels-last; batched or not) and their canonical form,
called directly: shapes, single indices and layout names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad.forms import BARE, BATCHED, UNBATCHED, Form, parse_layout

KINDS = [BARE, UNBATCHED, BATCHED]


@pytest.mark.parametrize(
    "dims,last,layout",
    [
        (1, False, "NCW"),
        (2, False, "NCHW"),
        (3, False, "NCDHW"),
        (1, True, "NWC"),
        (2, True, "NHWC"),
        (3, True, "NDHWC"),
        (4, False, "NCSSSS"),
    ],
)
def test_layout_letters(dims, last, layout):
    assert Form(BATCHED, last, dims).layout == layout


def test_canonical_shapes_of_each_form():
    """Canonical: activations (N, C, *spatial), kernels (C_out, C_in/G, *k)."""
    a = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # N=2, C=3, 4x5
    w = np.arange(6 * 3 * 2 * 2).reshape(6, 3, 2, 2)  # C_out=6, C_in=3, 2x2
    assert Form(BARE, False, 2).activation_to_canonical(a[0, 0]).shape == (1, 1, 4, 5)
    assert Form(BARE, False, 2).kernel_to_canonical(w[0, 0]).shape == (1, 1, 2, 2)
    assert Form(UNBATCHED, False, 2).activation_to_canonical(a[0]).shape == (1, 3, 4, 5)
    np.testing.assert_array_equal(Form(BATCHED, False, 2).activation_to_canonical(a), a)
    nhwc = np.moveaxis(a, 1, -1)  # (2, 4, 5, 3)
    np.testing.assert_array_equal(Form(BATCHED, True, 2).activation_to_canonical(nhwc), a)
    np.testing.assert_array_equal(Form(UNBATCHED, True, 2).activation_to_canonical(nhwc[1]), a[1:2])
    hwio = np.transpose(w, (2, 3, 1, 0))  # TensorFlow's (kh, kw, C_in, C_out)
    np.testing.assert_array_equal(Form(BATCHED, True, 2).kernel_to_canonical(hwio), w)


def test_windows_and_bias_in_the_users_form():
    window = np.arange(3 * 2 * 2).reshape(3, 2, 2)  # (C_in/G, kh, kw)
    np.testing.assert_array_equal(Form(BARE, False, 2).window_from_canonical(window[:1]), window[0])
    np.testing.assert_array_equal(Form(BATCHED, False, 2).window_from_canonical(window), window)
    assert Form(UNBATCHED, True, 2).window_from_canonical(window).shape == (2, 2, 3)
    assert Form(BARE, False, 1).bias_from_canonical(np.array([0.5])) == 0.5
    np.testing.assert_array_equal(Form(BATCHED, True, 1).bias_from_canonical(np.array([1, 2])), [1, 2])
    assert Form(BARE, False, 1).bias_index(0) == () and Form(UNBATCHED, True, 2).bias_index(3) == (3,)


@pytest.mark.parametrize(
    "kind,last,role,text",
    [
        (BARE, False, "A_prev", "(*spatial)"),
        (BARE, True, "b", "a scalar"),
        (UNBATCHED, False, "A_prev", "(C_in, *spatial)"),
        (BATCHED, False, "dZ", "(N, C_out, *out)"),
        (BATCHED, True, "A_prev", "(N, *spatial, C_in)"),
        (BATCHED, True, "W", "(*k, C_in/groups, C_out)"),
        (UNBATCHED, False, "W", "(C_out, C_in/groups, *k)"),
    ],
)
def test_describe(kind, last, role, text):
    assert Form(kind, last, 2).describe(role) == text


@pytest.mark.parametrize(
    "text,channels_last",
    [
        ("NCHW", False),
        ("NCW", False),
        ("NCL", False),
        ("NCDHW", False),
        ("CHW", False),
        ("nchw", False),
        ("NHWC", True),
        ("NWC", True),
        ("NLC", True),
        ("NDHWC", True),
        ("HWC", True),
        ("channels_first", False),
        ("channels-last", True),
        ("Channels Last", True),
        ("first", False),
        ("last", True),
        ("NXY", None),
        ("C", None),
        ("NC", None),
        ("N", None),
        ("NHCW", None),
        ("NCHWN", None),
        ("NC1", None),
        ("", None),
    ],
)
def test_parse_layout(text, channels_last):
    assert parse_layout(text) is channels_last


# -- properties: user form <-> canonical form ------------------------------------------------------

forms = st.builds(Form, st.sampled_from(KINDS), st.booleans(), st.integers(1, 3))


def _user_shapes(draw, form: Form) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of an activation and a kernel in ``form``."""
    size = st.integers(1, 3)
    spatial = tuple(draw(size) for _ in range(form.dims))
    taps = tuple(draw(size) for _ in range(form.dims))
    if form.kind == BARE:
        return spatial, taps
    n, c_in, c_out = draw(size), draw(size), draw(size)
    if form.channels_last:
        activation, kernel = spatial + (c_in,), taps + (c_in, c_out)
    else:
        activation, kernel = (c_in,) + spatial, (c_out, c_in) + taps
    return ((n,) + activation if form.kind == BATCHED else activation), kernel


@st.composite
def form_and_arrays(draw):
    form = draw(forms)
    a_shape, w_shape = _user_shapes(draw, form)
    return form, np.arange(int(np.prod(a_shape))).reshape(a_shape), np.arange(int(np.prod(w_shape))).reshape(w_shape)


@settings(max_examples=150, deadline=None)
@given(form_and_arrays())
def test_user_form_to_canonical_and_back(case):
    form, a, w = case
    canonical_a, canonical_w = form.activation_to_canonical(a), form.kernel_to_canonical(w)
    assert canonical_a.ndim == canonical_w.ndim == form.dims + 2
    np.testing.assert_array_equal(form.activation_from_canonical(canonical_a), a)
    np.testing.assert_array_equal(form.kernel_from_canonical(canonical_w), w)


@settings(max_examples=150, deadline=None)
@given(form_and_arrays())
def test_single_indices_follow_the_arrays(case):
    """Each entry's index converted alone lands on the same value as the whole array converted."""
    form, a, w = case
    canonical_a, canonical_w = form.activation_to_canonical(a), form.kernel_to_canonical(w)
    for index in np.ndindex(*a.shape):
        to = form.activation_index_to_canonical(index)
        assert canonical_a[to] == a[index]
        assert form.activation_index(to) == index
    for index in np.ndindex(*canonical_w.shape):
        user = form.kernel_index(index)
        assert w[user] == canonical_w[index]
        assert form.kernel_index_to_canonical(user) == index


@settings(max_examples=60, deadline=None)
@given(form_and_arrays())
def test_channels_last_is_channels_first_with_the_channel_axis_moved(case):
    form, a, _ = case
    if form.kind == BARE:
        return
    first, last = Form(form.kind, False, form.dims), Form(form.kind, True, form.dims)
    canonical = first.activation_to_canonical(a)
    moved = np.moveaxis(a, -form.dims - 1, -1)  # the channel axis, just before the spatial ones, goes last
    np.testing.assert_array_equal(last.activation_to_canonical(moved), canonical)
    np.testing.assert_array_equal(last.activation_from_canonical(canonical), moved)
