"""The engine against oracles that share none of its code: plain loops (floats and exact
rationals), central finite differences, and its own overlay-by-overlay path."""

from __future__ import annotations

from fractions import Fraction
from types import ModuleType

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_backward, reference_forward

from convgrad.geometry import Geometry, applied_kernel, applied_tap, flip_taps, output_length, same_padding
from convgrad.layers import KINDS, conv
from convgrad.layers.base import Gradients, LayerKind


@st.composite
def layers(draw):
    """A random valid layer: geometry plus canonical arrays (float64)."""
    d = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    batch = draw(st.integers(1, 2))
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=d, max_size=d)))
    dilation = tuple(draw(st.lists(st.integers(1, 2), min_size=d, max_size=d)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=d, max_size=d)))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(d))
    size = tuple(
        max(1, dl * (k - 1) + 1 - pb - pa + draw(st.integers(0, 3)))
        for k, dl, (pb, pa) in zip(kernel, dilation, padding)
    )
    flip = draw(st.booleans())
    geom = Geometry.build(
        batch=batch,
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        input_size=size,
        kernel_size=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        flip=flip,
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((batch, c_in) + size)
    W = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out) if draw(st.booleans()) else None
    dZ = rng.standard_normal((batch, c_out) + geom.output_size)
    return geom, A, W, b, dZ


def _reference(geom, A, W, b, dZ, zero=0.0):
    Z = reference_forward(A, W, b, geom.stride, geom.dilation, geom.padding, geom.groups, geom.flip, zero)
    grads = reference_backward(A, W, dZ, geom.stride, geom.dilation, geom.padding, geom.groups, geom.flip, zero)
    return (Z,) + grads


@settings(max_examples=60, deadline=None)
@given(layers())
def test_totals_match_plain_loops(layer):
    geom, A, W, b, dZ = layer
    Z_ref, dW_ref, db_ref, dA_ref = _reference(geom, A, W, b, dZ)
    np.testing.assert_allclose(conv.forward(A, W, b, geom), Z_ref.astype(float), rtol=1e-12, atol=1e-12)
    dW, db, dA = conv.backward(A, W, dZ, geom)
    np.testing.assert_allclose(dW, dW_ref.astype(float), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, db_ref.astype(float), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dA, dA_ref.astype(float), rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(layers())
def test_overlay_contributions_sum_to_totals(layer):
    geom, A, W, b, dZ = layer
    Z = conv.forward(A, W, b, geom)
    dW, db, dA = conv.backward(A, W, dZ, geom)
    running = conv.RunningTotals(A, W, geom)
    count = 0
    for overlay in conv.iter_overlays(A, W, b, dZ, geom):
        assert overlay.index == count
        np.testing.assert_allclose(overlay.Z, Z[(overlay.n, overlay.c_out) + overlay.position], atol=1e-12)
        running.add(overlay)
        count += 1
    assert count == geom.overlay_count
    np.testing.assert_allclose(running.dW, dW, atol=1e-12)
    np.testing.assert_allclose(running.db, db, atol=1e-12)
    np.testing.assert_allclose(running.dA_prev, dA, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(layers(), st.data())
def test_running_totals_jump_equals_walk(layer, data):
    geom, A, W, b, dZ = layer
    index = data.draw(st.integers(0, geom.overlay_count - 1))
    walked = conv.RunningTotals(A, W, geom)
    for overlay in conv.iter_overlays(A, W, b, dZ, geom, range(index)):
        walked.add(overlay)
    jumped = conv.RunningTotals.before(index, A, W, dZ, geom)
    np.testing.assert_allclose(jumped.dW, walked.dW, atol=1e-12)
    np.testing.assert_allclose(jumped.db, walked.db, atol=1e-12)
    np.testing.assert_allclose(jumped.dA_prev, walked.dA_prev, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(layers())
def test_gradients_match_central_differences(layer):
    """dL/dx for L = sum(Z * dZ), by (L(x+h) - L(x-h)) / 2h on every entry of W, b and A."""
    geom, A, W, b, dZ = layer
    b = np.zeros(geom.out_channels) if b is None else b
    loss = lambda A_, W_, b_: float((conv.forward(A_, W_, b_, geom) * dZ).sum())  # noqa: E731
    dW, db, dA = conv.backward(A, W, dZ, geom)
    h = 1e-3  # L is linear in each argument, so the difference is exact up to rounding
    for array, grad, which in ((W, dW, 1), (b, db, 2), (A, dA, 0)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(*array.shape):
            args = [A, W, b]
            plus, minus = array.copy(), array.copy()
            plus[index] += h
            minus[index] -= h
            args[which] = plus
            up = loss(*args)
            args[which] = minus
            numeric[index] = (up - loss(*args)) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(layers())
def test_exact_rationals_match_plain_loops_exactly(layer):
    geom, A, W, b, dZ = layer
    to_q = np.vectorize(lambda x: Fraction(round(x * 8), 8), otypes=[object])
    A, W, dZ = to_q(A), to_q(W), to_q(dZ)
    b = None if b is None else to_q(b)
    Z_ref, dW_ref, db_ref, dA_ref = _reference(geom, A, W, b, dZ, zero=Fraction(0))
    assert (conv.forward(A, W, b, geom) == Z_ref).all()
    dW, db, dA = conv.backward(A, W, dZ, geom)
    assert (dW == dW_ref).all() and (db == db_ref).all() and (dA == dA_ref).all()


@settings(max_examples=25, deadline=None)
@given(layers(), st.data())
def test_entry_terms_sum_to_the_totals_exactly(layer, data):
    """The terms of one entry (what --cell and check's working show) add up to that entry."""
    geom, A, W, b, dZ = layer
    to_q = np.vectorize(lambda x: Fraction(round(x * 8), 8), otypes=[object])
    A, W, dZ = to_q(A), to_q(W), to_q(dZ)
    b = None if b is None else to_q(b)
    totals = {"Z": conv.forward(A, W, b, geom)} | conv.backward(A, W, dZ, geom)._asdict()
    for quantity, total in totals.items():
        index = tuple(data.draw(st.integers(0, n - 1)) for n in total.shape)
        terms = list(conv.entry_terms(quantity, index, A, W, b, dZ, geom))
        assert sum((term.value for term in terms), Fraction(0)) == total[index], quantity
        overlays = [term.overlay for term in terms if term.overlay is not None]
        assert overlays == sorted(overlays)


def test_every_kind_has_the_protocol_members():
    """Each registered kind is a module with every LayerKind member (mypy checks their types)."""
    members = [name for name in vars(LayerKind) if not name.startswith("_")] + list(LayerKind.__annotations__)
    assert {"name", "geometry", "iter_overlays", "forward", "backward", "entry_terms"} <= set(members)
    for key, kind in KINDS.items():
        assert kind.name == key
        if not isinstance(kind, ModuleType) or hasattr(kind, "columns"):
            continue  # a ColumnKind (conv-transpose is one as a module): tests/test_kinds.py and its own tests
        for member in members:
            assert hasattr(kind, member), (key, member)


def test_backward_names_its_gradients():
    geom = Geometry.build(
        batch=1,
        in_channels=1,
        out_channels=1,
        groups=1,
        input_size=(3,),
        kernel_size=(2,),
        stride=(1,),
        dilation=(1,),
        padding="valid",
    )
    gradients = conv.backward(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[0.3, 0.5]]]), np.array([[[-0.1, 0.2]]]), geom)
    assert isinstance(gradients, Gradients)
    np.testing.assert_allclose(gradients.dW, [[[0.3, 0.4]]])
    np.testing.assert_allclose(gradients.db, [0.1])
    np.testing.assert_allclose(gradients.dA_prev, [[[-0.03, 0.01, 0.1]]])


def test_one_flip_for_arrays_and_indices():
    """applied_kernel and applied_tap are the same flip, and each is its own inverse."""
    W = np.arange(2 * 1 * 3 * 4).reshape(2, 1, 3, 4)
    for flip in (False, True):
        geom = Geometry.build(
            batch=1,
            in_channels=1,
            out_channels=2,
            groups=1,
            input_size=(5, 6),
            kernel_size=(3, 4),
            stride=(1, 1),
            dilation=(1, 1),
            padding="valid",
            flip=flip,
        )
        applied = applied_kernel(W, geom)
        assert (applied_kernel(applied, geom) == W).all()
        for tap in np.ndindex(3, 4):
            assert applied[(1, 0) + tap] == W[(1, 0) + applied_tap(tap, geom)]
            assert applied_tap(applied_tap(tap, geom), geom) == tap
    assert (flip_taps(W, 2) == W[:, :, ::-1, ::-1]).all()


def test_output_length_formula():
    # floor((n + p_before + p_after - d(k-1) - 1)/s) + 1
    assert output_length(5, 3, 2, 1, 1, 1) == 3
    assert output_length(7, 3, 3, 1, 0, 0) == 2  # the last column is never reached
    assert output_length(5, 2, 1, 2, 0, 0) == 3
    assert output_length(3, 2, 1, 1, 0, 0) == 2


def test_same_padding_puts_the_extra_after():
    assert same_padding(5, 2, 1, 1) == (0, 1)
    assert same_padding(5, 4, 1, 1) == (1, 2)
    assert same_padding(7, 3, 2, 1) == (1, 1)  # out = ceil(7/2) = 4
    assert same_padding(6, 3, 2, 1) == (0, 1)  # out = 3, total 1
    assert same_padding(4, 1, 1, 1) == (0, 0)


def test_window_start_is_negative_in_leading_padding():
    geom = Geometry.build(
        batch=1,
        in_channels=1,
        out_channels=1,
        groups=1,
        input_size=(5,),
        kernel_size=(3,),
        stride=(2,),
        dilation=(1,),
        padding=((1, 1),),
    )
    assert [geom.window_start((p,)) for p in range(geom.output_size[0])] == [(-1,), (1,), (3,)]
