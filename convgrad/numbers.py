"""Number domains: what one array entry is, how typed values become entries, and
how entries are written back for people (no float noise) and machines (faithful).

Three domains share one engine because numpy's object arrays run the same
arithmetic on any Python number type:

- ``float``: IEEE doubles (float32 stays float32 where the input array was float32);
- ``exact``: ``fractions.Fraction`` built from the digits as typed (0.3 is 3/10);
- ``symbolic``: sympy expressions over names the user chose (sympy imported lazily).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError

#: A number written as text: a decimal (1, -0.25, 1e-3, .5) or a fraction (1/3, -2/7).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FRACTION_TEXT = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")
#: A symbol name a user may give in symbolic mode; nothing else is ever turned into a symbol.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Significant digits shown by default: enough for any hand-made problem, few
# enough that binary rounding noise (0.30000000000000004) never shows.
DEFAULT_SIGNIFICANT_DIGITS = 12


def parse_number_text(text: str) -> Fraction | None:
    """The exact value of a number written as text ("0.3", "1/3", "-2e-2"), else None."""
    s = text.strip()
    if _DECIMAL_TEXT.fullmatch(s):
        return Fraction(Decimal(s))
    m = _FRACTION_TEXT.fullmatch(s)
    if m:
        numerator, denominator = int(m.group(1)), int(m.group(2))
        if denominator == 0:
            return None
        return Fraction(numerator, denominator)
    return None


def describe_value(value: Any) -> str:
    """How a bad entry is named in an error message (JSON spelling where there is one)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Domain:
    """How entries of one kind are made, shown and written."""

    name: str = ""
    #: numpy dtype of arrays in this domain
    dtype: Any = object

    def convert(self, value: Any, path: str) -> Any:
        """One raw entry (int, Decimal, str, float, ...) as a value of this domain."""
        raise NotImplementedError

    def from_numeric_array(self, array: np.ndarray, path: str) -> np.ndarray:
        """A numeric numpy array (int, float, bool refused) as an array of this domain."""
        raise NotImplementedError

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def finalize(self, array: np.ndarray) -> np.ndarray:
        """Bring computed results to their final form (symbolic: expand and collect)."""
        return array

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        """A value as shown to people.

        ``scale``: for a computed float, the sum of the magnitudes of the terms
        that made it; digits below the precision of that sum are rounding noise
        and are not shown (0.1 - 0.3 + 0.2 shows as 0, not 2.8e-17).
        """
        raise NotImplementedError


class FloatDomain(Domain):
    name = "float"

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)

    def convert(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or value is None:
            raise InputError(f"{path} is {describe_value(value)}, not a number")
        if isinstance(value, (int, float, Decimal, Fraction, np.integer, np.floating)):
            return float(value)
        if isinstance(value, str):
            exact = parse_number_text(value)
            if exact is not None:
                return float(exact)
            if NAME_PATTERN.fullmatch(value.strip()):
                raise InputError(
                    f"{path} is the name {describe_value(value)}, not a number",
                    hint="names need --symbolic",
                )
        raise InputError(f"{path} is {describe_value(value)}, not a number")

    def from_numeric_array(self, array: np.ndarray, path: str) -> np.ndarray:
        dtype = self.dtype
        if array.dtype == np.float32 and dtype == np.float64:
            dtype = np.dtype(np.float64)
        return np.asarray(array, dtype=dtype)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=self.dtype)

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        return format_float(float(value), precision, None if scale is None else float(scale))


def format_float(x: float, precision: int | None = None, scale: float | None = None) -> str:
    """A float for people: at most ``precision`` significant digits (default 12), no noise.

    0.1 + 0.2 shows as 0.3, 2.0 as 2, -0.0 as 0, 1e-20 as 1e-20. With ``scale``
    (the magnitude of the terms summed into x) digits finer than ``precision``
    significant digits of the scale are dropped: they are rounding noise.
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    digits = DEFAULT_SIGNIFICANT_DIGITS if precision is None else max(1, precision)
    if scale is not None and scale > 0 and math.isfinite(scale):
        x = round(x, digits - 1 - math.floor(math.log10(scale)))
    text = f"{x:.{digits}g}"
    if float(text) == 0:
        return "0"  # never "-0"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"  # 1e-05 -> 1e-5
    return text


def finite_decimal_text(q: Fraction) -> str | None:
    """The exact decimal expansion of q if it terminates (3/10 -> "0.3"), else None."""
    denominator = q.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return None
    places = max(twos, fives)
    scaled = abs(q.numerator) * (10**places // q.denominator)
    sign = "-" if q < 0 else ""
    if places == 0:
        return f"{sign}{scaled}"
    digits = str(scaled).rjust(places + 1, "0")
    whole, frac = digits[:-places], digits[-places:]
    return f"{sign}{whole}.{frac}"


def format_fraction(q: Fraction) -> str:
    """An exact value for people: a terminating decimal as decimal (0.3), else p/q (5/3)."""
    text = finite_decimal_text(q)
    return text if text is not None else f"{q.numerator}/{q.denominator}"


FLOAT64 = FloatDomain(np.float64)
