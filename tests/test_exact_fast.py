"""The one-pass paths of check at scale agree with the entry-by-entry ones they replace."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad.check import _given
from convgrad.errors import InputError
from convgrad.numbers import ExactDomain, ShownFloatDomain, entry_path

FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(FLOATS, min_size=1, max_size=24))
def test_a_float64_array_becomes_the_fractions_of_its_entries(values):
    array = np.array(values, dtype=np.float64).reshape(len(values), 1)
    for domain in (ExactDomain(), ShownFloatDomain()):
        fast = domain.from_numeric_array(array, "A")
        one_by_one = [domain.convert(v, entry_path("A", i)) for i, v in np.ndenumerate(array)]
        assert fast.shape == array.shape
        assert fast.ravel().tolist() == one_by_one


def test_a_float64_array_with_a_nan_is_refused_by_its_entry():
    with pytest.raises(InputError, match=r"A\[1\]"):
        ExactDomain().from_numeric_array(np.array([1.0, np.nan]), "A")


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(0, 10**20),
    exponent=st.integers(-30, 30),
    sign=st.sampled_from(["", "-"]),
)
def test_the_decimals_of_an_answer_are_its_exponents(digits, exponent, sign):
    value = Decimal(f"{sign}{digits}E{exponent}")
    given = _given(value, "Z[0]")
    assert given.decimals == max(0, -value.as_tuple().exponent)
    assert given.text == str(value)
    assert given.value == value
