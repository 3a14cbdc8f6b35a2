"""Numbers for people: no float noise; exact decimals and fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convgrad.numbers import finite_decimal_text, format_float, format_fraction, parse_number_text
from convgrad.reader import parse_flag_value


@pytest.mark.parametrize(
    "value,text",
    [
        (0.1 + 0.2, "0.3"),
        (2.0, "2"),
        (-0.0, "0"),
        (1e-20, "1e-20"),
        (-0.03, "-0.03"),
        (0.009999999999999995, "0.01"),
        (123456789.0, "123456789"),
        (1 / 3, "0.333333333333"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (2.5e20, "2.5e20"),
    ],
)
def test_format_float(value, text):
    assert format_float(value) == text


def test_format_float_never_zeroes_a_value():
    """The old noise rule (zero below 1e-13 of the terms' magnitudes) hid real values; it is gone.
    Cancellation noise is avoided by showing exact values instead (tests/test_display_values.py)."""
    noise = 0.1 - 0.3 + 0.2  # 2.7755575615628914e-17, the terms were about 0.6
    assert format_float(noise) == "2.77555756156e-17"
    assert format_float(1.5e-13) == "1.5e-13"


def test_precision():
    assert format_float(2 / 3, precision=3) == "0.667"


@pytest.mark.parametrize(
    "q,text",
    [
        (Fraction(3, 10), "0.3"),
        (Fraction(-3, 100), "-0.03"),
        (Fraction(5, 4), "1.25"),
        (Fraction(5, 3), "5/3"),
        (Fraction(-2, 7), "-2/7"),
        (Fraction(7), "7"),
        (Fraction(1, 1024), "0.0009765625"),
    ],
)
def test_format_fraction(q, text):
    assert format_fraction(q) == text


@given(st.fractions(max_denominator=10**6))
def test_finite_decimal_is_exact(q):
    text = finite_decimal_text(q)
    if text is not None:
        assert Fraction(text) == q


@pytest.mark.parametrize(
    "text,value",
    [
        ("0.3", Fraction(3, 10)),
        ("1/3", Fraction(1, 3)),
        ("-2/7", Fraction(-2, 7)),
        ("1.25", Fraction(5, 4)),
        ("1e-3", Fraction(1, 1000)),
        (".5", Fraction(1, 2)),
        ("x", None),
        ("1/0", None),
        ("nan", None),
    ],
)
def test_parse_number_text(text, value):
    assert parse_number_text(text) == value


def test_flag_shorthand():
    assert parse_flag_value("1 2; 3 4", "A-prev") == [[1, 2], [3, 4]]
    assert parse_flag_value("1, 2, 3", "W") == [1, 2, 3]
    assert parse_flag_value("1 2 3;", "W") == [[1, 2, 3]]
    assert parse_flag_value("[[1,2],[3,4]]", "W") == [[1, 2], [3, 4]]
    assert parse_flag_value("same", "padding") == "same"
    assert str(parse_flag_value("0.5", "b")) == "0.5"
