"""Problem parsing, called directly: aliases, shapes, padding forms, per-dim options, modes,
layouts, and build_problem's validation into canonical arrays."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad.errors import InputError
from convgrad.forms import BARE, BATCHED, UNBATCHED, Form
from convgrad.problem import (
    ALIASES,
    build_problem,
    canonical_fields,
    parse_layout_field,
    parse_mode,
    parse_padding,
    parse_shape,
    per_dim,
)


def _message(call) -> str:
    with pytest.raises(InputError) as err:
        call()
    return err.value.message


# -- keys and aliases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,alias", [(name, alias) for name, aliases in ALIASES.items() for alias in aliases])
def test_every_alias_means_its_field(name, alias):
    assert canonical_fields({alias: 1, "description": "kept"}) == {name: 1, "description": "kept"}


def test_unknown_and_repeated_keys():
    assert (
        _message(lambda: canonical_fields({"strid": 1}, "p.json"))
        == "unknown key 'strid' in p.json: did you mean 'stride'?"
    )
    assert _message(lambda: canonical_fields({"Bias": 1})) == "unknown key 'Bias' in the input: did you mean 'b'?"
    assert _message(lambda: canonical_fields({"zzz": 1})).startswith(
        "unknown key 'zzz' in the input (known keys: A_prev, W,"
    )
    assert (
        _message(lambda: canonical_fields({"W": [1], "kernel": [2]}))
        == "W is given twice in the input, as 'W' and 'kernel'"
    )


# -- shapes, padding, per-dim options, mode, layout -----------------------------------------------------


@pytest.mark.parametrize(
    "text,shape",
    [
        ("3x3", (3, 3)),
        ("3,3", (3, 3)),
        ("3 3", (3, 3)),
        ("(1, 2, 3)", (1, 2, 3)),
        ("[4]", (4,)),
        ([2, 5], (2, 5)),
        ((7,), (7,)),
    ],
)
def test_parse_shape(text, shape):
    assert parse_shape(text, "A_prev") == shape


@pytest.mark.parametrize(
    "value,message",
    [
        ("", "A_prev shape must be a list of sizes such as [3, 3] or 3x3"),
        ([], "A_prev shape must be a list of sizes such as [3, 3] or 3x3"),
        ("3x0", "A_prev shape[1] must be a whole number >= 1, got 0"),
    ],
)
def test_bad_shapes(value, message):
    assert _message(lambda: parse_shape(value, "A_prev")) == message


@pytest.mark.parametrize(
    "value,dims,pairs",
    [
        (0, 1, ((0, 0),)),
        (1, 2, ((1, 1), (1, 1))),
        ([1, 2], 2, ((1, 1), (2, 2))),  # one number per dim
        ([1, 2], 1, ((1, 2),)),  # in 1-D a flat pair is [before, after]
        ([[1, 2], [0, 3]], 2, ((1, 2), (0, 3))),
        ([[1, 2], 3], 2, ((1, 2), (3, 3))),
        (np.array([1, 2]), 2, ((1, 1), (2, 2))),
        ("valid", 2, "valid"),
        (" SAME ", 2, "same"),
        ("Full", 1, "full"),
    ],
)
def test_padding_forms(value, dims, pairs):
    assert parse_padding(value, dims) == pairs


@pytest.mark.parametrize(
    "value,dims,message",
    [
        (-1, 1, "padding must be a whole number >= 0, got -1"),
        ("middle", 1, "padding 'middle' is not one of: a number, a list, 'valid', 'same', 'full'"),
        (
            [1],
            2,
            (
                "padding has 1 entries but the problem has 2 spatial dims: give one number, one per dim, "
                "or [before, after] per dim"
            ),
        ),
        ([[1, 2, 3]], 1, "padding[0] has 3 entries: a per-dim padding pair is [before, after]"),
        ([[1, -2], 0], 2, "padding[0][1] must be a whole number >= 0, got -2"),
    ],
)
def test_bad_padding(value, dims, message):
    assert _message(lambda: parse_padding(value, dims)) == message


def test_per_dim_options():
    assert per_dim(2, "stride", 3, 1) == (2, 2, 2)
    assert per_dim([1, 2], "dilation", 2, 1) == (1, 2)
    assert _message(lambda: per_dim(True, "stride", 2, 1)) == "stride must be a whole number >= 1, got true"
    assert _message(lambda: per_dim(1.5, "stride", 1, 1)) == "stride must be a whole number >= 1, got 1.5"
    assert _message(lambda: per_dim([1, 1], "dilation", 1, 1)) == (
        "dilation has 2 entries but the problem has 1 spatial dim: give one number, or one per dim"
    )


@pytest.mark.parametrize(
    "text,flip",
    [
        ("cross-correlation", False),
        ("Cross Correlation", False),
        ("xcorr", False),
        ("correlation", False),
        ("convolution", True),
        ("conv", True),
        ("convolve", True),
    ],
)
def test_modes(text, flip):
    assert parse_mode(text) is flip


def test_bad_mode_and_layout():
    assert _message(lambda: parse_mode("conv2")) == "mode must be 'cross-correlation' or 'convolution', got 'conv2'"
    assert parse_layout_field("NHWC") is True and parse_layout_field("channels_first") is False
    assert _message(lambda: parse_layout_field("NXY")) == (
        "layout must be channels-first (NCHW, NCW, ...) or channels-last (NHWC, NWC, ...), got 'NXY'"
    )


# -- build_problem: forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields,form,canonical_A,canonical_W",
    [
        ({"A_prev": np.ones(5), "W": np.ones(2)}, Form(BARE, False, 1), (1, 1, 5), (1, 1, 2)),
        ({"A_prev": np.ones((5, 5)), "W": np.ones((2, 2))}, Form(BARE, False, 2), (1, 1, 5, 5), (1, 1, 2, 2)),
        (
            {"A_prev": np.ones((4, 4, 4)), "W": np.ones((2, 2, 2)), "dims": 3},
            Form(BARE, False, 3),
            (1, 1, 4, 4, 4),
            (1, 1, 2, 2, 2),
        ),
        ({"A_prev": np.ones((3, 5)), "W": np.ones((2, 3, 2))}, Form(UNBATCHED, False, 1), (1, 3, 5), (2, 3, 2)),
        (
            {"A_prev": np.ones((2, 3, 5, 5)), "W": np.ones((4, 3, 3, 3))},
            Form(BATCHED, False, 2),
            (2, 3, 5, 5),
            (4, 3, 3, 3),
        ),
        (
            {"A_prev": np.ones((2, 5, 5, 3)), "W": np.ones((3, 3, 3, 4)), "layout": "NHWC"},
            Form(BATCHED, True, 2),
            (2, 3, 5, 5),
            (4, 3, 3, 3),
        ),
        (
            {"A_prev": np.ones((5, 3)), "W": np.ones((2, 3, 4)), "layout": "channels_last"},
            Form(UNBATCHED, True, 1),
            (1, 3, 5),
            (4, 3, 2),
        ),
        (
            {"A_prev": [1, 2, 3], "W": 2},
            Form(BARE, False, 1),
            (1, 1, 3),
            (1, 1, 1),
        ),  # a single number: a one-tap kernel
    ],
)
def test_forms_are_inferred_and_made_canonical(fields, form, canonical_A, canonical_W):
    problem = build_problem(fields, need_dZ=False)
    assert problem.form == form
    assert problem.A_prev.shape == canonical_A and problem.W.shape == canonical_W
    assert problem.user_shapes["A_prev"] == list(np.shape(fields["A_prev"]))


def test_the_seed_problem():
    problem = build_problem(
        canonical_fields({"x": [1, 2, 3], "kernel": [0.3, 0.5], "grad_output": [-0.1, 0.2]}), need_dZ=True
    )
    assert problem.geom.output_size == (2,) and problem.geom.padding == ((0, 0),)
    assert problem.mode_name == "cross-correlation" and problem.b is None
    assert problem.dZ.tolist() == [[[-0.1, 0.2]]]
    assert problem.user_shapes == {
        "A_prev": [3],
        "W": [2],
        "b": [],
        "Z": [2],
        "dZ": [2],
        "dW": [2],
        "db": [],
        "dA_prev": [3],
    }


def test_padding_stride_and_layout_together():
    problem = build_problem(
        {
            "A_prev": np.ones((2, 5, 5, 3)),
            "W": np.ones((3, 3, 3, 4)),
            "layout": "NHWC",
            "padding": "same",
            "stride": 2,
            "mode": "convolution",
        },
        need_dZ=False,
    )
    assert problem.geom.padding == ((1, 1), (1, 1)) and problem.geom.output_size == (3, 3)
    assert problem.geom.flip and problem.mode_name == "convolution"
    assert problem.user_shapes["Z"] == [2, 3, 3, 4]


def test_scalars_spread_over_their_shape():
    problem = build_problem({"A_prev": [1, 2, 3], "W": [1, 1], "b": 0.5, "dZ": 2}, need_dZ=True)
    assert problem.b.tolist() == [0.5]
    assert problem.dZ.tolist() == [[[2.0, 2.0]]]


def test_number_kinds():
    exact = build_problem({"A_prev": [1, 2, 3], "W": ["1/3", 1], "exact": True}, need_dZ=False)
    assert exact.W.dtype == object and exact.W[0, 0, 0] == Fraction(1, 3)
    single = {"A_prev": np.ones(3, np.float32), "W": np.ones(2, np.float32)}
    assert build_problem(single, need_dZ=False).A_prev.dtype == np.float32  # all float32: kept
    assert build_problem(single, need_dZ=False, float64=True).A_prev.dtype == np.float64
    mixed = {"A_prev": np.ones(3, np.float32), "W": [1, 1]}
    assert build_problem(mixed, need_dZ=False).A_prev.dtype == np.float64


@pytest.mark.parametrize(
    "fields,need_dZ,message",
    [
        ({"W": [1]}, False, "A_prev is missing: give it in the input JSON or with A_prev="),
        (
            {"A_prev": [1, 2, 3], "W": [1, 1]},
            True,
            'dZ is missing: backward needs the upstream gradient (dZ= or "dZ" in the input)',
        ),
        ({"A_prev": [1, 2, 3], "W": [1, 1], "dZ": [1, 2, 3]}, True, "dZ has shape (3,) but Z has shape (2,)"),
        ({"A_prev": [1, 2], "W": [1], "exact": "yes"}, False, "exact must be true or false, got 'yes'"),
        ({"A_prev": [[[1, 2, 3]]], "W": 2}, False, "W is a single number; a kernel needs at least one spatial axis"),
        (
            {"A_prev": [1, 2, 3], "W": [1, 1], "b": [1, 2]},
            False,
            "b has shape (2,) but W has 1 filter (shape (2,)): b needs one value per filter",
        ),
        (
            {"A_prev": np.ones((3, 3)), "W": np.ones((2, 1, 2)), "groups": 2},
            False,
            "A_prev has 3 channels (shape (3, 3)), not divisible by groups = 2",
        ),
        (
            {"A_prev": [1, 2, 3], "W": [1, 1], "groups": 2},
            False,
            "groups = 2 needs channels: a bare A_prev has one channel",
        ),
        (
            {"A_prev": [1, 2, 3], "W": [1, 1, 1, 1, 1]},
            False,
            (
                "the kernel does not fit along spatial axis 0: W has shape (5,) (dilated extent 5) but A_prev has shape (3,) "
                "(3 + padding 0+0 = 3)"
            ),
        ),
    ],
)
def test_build_problem_refusals(fields, need_dZ, message):
    assert _message(lambda: build_problem(fields, need_dZ=need_dZ)) == message


# -- properties -------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.tuples(st.just(d), st.lists(st.integers(0, 5), min_size=d, max_size=d))))
def test_padding_written_three_ways_is_one_padding(case):
    dims, pads = case
    per_dim_pairs = tuple((p, p) for p in pads)
    assert parse_padding([[p, p] for p in pads], dims) == per_dim_pairs
    assert parse_padding(pads, dims) == per_dim_pairs
    if len(set(pads)) == 1:
        assert parse_padding(pads[0], dims) == per_dim_pairs


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 4),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
    word=st.sampled_from([None, "same", "full", "valid"]),
)
def test_output_size_follows_the_formula(n, k, s, d, before, after, word):
    """out = floor((n + before + after - d·(k-1) - 1) / s) + 1; 'same' at stride 1 keeps n; 'full' gives n + d·(k-1)."""
    padding = [[before, after]] if word is None else word
    span = d * (k - 1) + 1
    fields = {"A_prev": np.ones(n), "W": np.ones(k), "stride": s, "dilation": d, "padding": padding}
    pb, pa = (
        (before, after) if word is None else {"valid": (0, 0), "full": (span - 1, span - 1)}.get(word, (None, None))
    )
    if word == "same":
        problem = build_problem(fields, need_dZ=False)
        pb, pa = problem.geom.padding[0]
        assert problem.geom.output_size == (-(-n // s),)  # ceil(n / s), as TensorFlow
        return
    if n + pb + pa < span:
        with pytest.raises(InputError, match="the kernel does not fit"):
            build_problem(fields, need_dZ=False)
        return
    problem = build_problem(fields, need_dZ=False)
    assert problem.geom.padding == ((pb, pa),)
    assert problem.geom.output_size == ((n + pb + pa - span) // s + 1,)
    if word == "full" and s == 1:
        assert problem.geom.output_size == (n + span - 1,)


# -- shape errors that suggest the fix ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields,intent",
    [
        # a kernel without its channel axis, on an input without one
        ({"A_prev": np.ones((4, 4)), "W": np.ones((3, 2, 2))}, "W (3, 1, 2, 2) with A_prev (1, 4, 4)"),
        # a batch axis missing from A_prev while dZ has it
        (
            {"A_prev": np.ones((3, 4, 4)), "W": np.ones((2, 3, 2, 2)), "dZ": np.ones((1, 2, 3, 3))},
            "A_prev (1, 3, 4, 4)",
        ),
        # channels-last data without a layout, batched and not, 2-D and 1-D
        ({"A_prev": np.ones((1, 4, 4, 2)), "W": np.ones((2, 2, 2, 3)), "dZ": 1}, '"layout": "NHWC"'),
        ({"A_prev": np.ones((4, 4, 2)), "W": np.ones((2, 2, 2, 3)), "dZ": np.ones((3, 3, 3))}, '"layout": "NHWC"'),
        ({"A_prev": np.ones((1, 5, 2)), "W": np.ones((2, 2, 3)), "dZ": 1}, '"layout": "NWC"'),
        # single-channel samples given without their channel axis
        ({"A_prev": np.ones((2, 4, 4)), "W": np.ones((3, 1, 2, 2)), "dZ": 1}, "A_prev (2, 1, 4, 4)"),
    ],
)
def test_a_shape_error_suggests_the_intent_that_validates(fields, intent):
    message = _message(lambda: build_problem(fields, need_dZ="dZ" in fields))
    assert message.endswith(f"; did you mean {intent}?")
    # the suggestion is real: the problem with it applied validates
    fixed = dict(fields)
    for part in intent.split(" with "):
        if part.startswith('"layout"'):
            fixed["layout"] = part.split(": ")[1].strip('"')
        else:
            name, shape = part.split(" ", 1)
            fixed[name] = np.asarray(fields[name]).reshape(parse_shape(shape, name))
    build_problem(fixed, need_dZ="dZ" in fields)


def test_the_kernel_without_its_channel_axis_message_in_full():
    message = _message(lambda: build_problem({"A_prev": np.ones((4, 4)), "W": np.ones((3, 2, 2))}, need_dZ=False))
    assert message == (
        "W has shape (3, 2, 2), 2 input channels per filter, but A_prev has shape (4, 4), 4 channels "
        "(NCW: W is (C_out, C_in/groups, *k)); did you mean W (3, 1, 2, 2) with A_prev (1, 4, 4)?"
    )


def test_no_suggestion_when_nothing_fits_or_the_layout_was_chosen():
    nothing = _message(lambda: build_problem({"A_prev": np.ones((5, 5)), "W": np.ones((2, 2, 7))}, need_dZ=False))
    assert "did you mean" not in nothing
    chosen = {"A_prev": np.ones((1, 4, 4, 2)), "W": np.ones((2, 2, 2, 3)), "layout": "NCHW"}
    assert "did you mean" not in _message(lambda: build_problem(chosen, need_dZ=False))
