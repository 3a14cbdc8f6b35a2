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
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError, option

#: A number written as text: a decimal (1, -0.25, 1e-3, .5) or a fraction (1/3, -2/7).
#: (Digits after a dot only: "\d+\.?\d*" could split a run of digits n ways, quadratic on long text.)
DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FRACTION_TEXT = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")
#: A symbol name a user may give in symbolic mode; nothing else is ever turned into a symbol.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Significant digits shown by default: enough for any hand-made problem, few
# enough that binary rounding noise (0.30000000000000004) never shows.
DEFAULT_SIGNIFICANT_DIGITS = 12
FLOAT32_SIGNIFICANT_DIGITS = 7


def entry_path(field: str, index: tuple[int, ...]) -> str:
    """Where an entry sits in the input, for messages: "A_prev[0][1][2]" (the field alone for a scalar)."""
    return field + "".join(f"[{i}]" for i in index)


def index_label(name: str, index: Iterable[int], sep: str = ", ") -> str:
    """An entry named for people: "A_prev[0, 1, 2]" (``sep=","``: "A_prev[0,1,2]"); the name alone for a scalar."""
    index = tuple(index)
    return name + ("[" + sep.join(map(str, index)) + "]" if index else "")


#: The most digits a typed number may have (integer, decimal, or each part of a fraction), and the
#: largest exponent it may carry: checked on the text, before any int, Decimal or Fraction is built.
#: Far beyond any real problem; past them Python's int/str conversion, exact arithmetic and even
#: Decimal's own parsing take seconds to hours (an exponent of 1e7 alone takes 8 s).
MAX_DIGITS = 1000
MAX_EXPONENT = 1000
#: The most digits of an exact result entry's numerator or denominator: its text is written whole.
MAX_RESULT_DIGITS = 4000

#: Longer text made only of number characters is refused by its length alone, before any pattern runs.
_MAX_NUMBER_CHARS = 2 * MAX_DIGITS + 32
_NUMBER_CHARS = frozenset("0123456789+-./eE \t")
_EXPONENT_TEXT = re.compile(r"[eE]([+-]?)0*(\d*)$")


def check_number_text(text: str, where: str) -> None:
    """Refuse a number whose text has more than MAX_DIGITS digits or an exponent past MAX_EXPONENT.

    ``text`` is a decimal, an integer or one side of a fraction as typed (JSON or a flag); only its
    characters are looked at, so the check costs nothing even for a megabyte of digits.
    """
    m = _EXPONENT_TEXT.search(text)
    mantissa = text[: m.start()] if m else text
    if len(mantissa) <= MAX_DIGITS:  # no more digits than characters
        digits = 0
    else:
        digits = sum(ch.isdigit() for ch in mantissa) if len(mantissa) <= 4 * MAX_DIGITS else MAX_DIGITS + 1
    if digits > MAX_DIGITS:
        raise InputError(f"{where} has {_count_text(mantissa)} digits, more than the {MAX_DIGITS:,} convgrad reads")
    if m and m.group(2):
        exponent = m.group(2)
        if len(exponent) > 6 or int(exponent) > MAX_EXPONENT:
            shown = exponent if len(exponent) <= 12 else exponent[:6] + "..."
            raise InputError(
                f"{where} has the exponent {m.group(1)}{shown}, beyond the \u00b1{MAX_EXPONENT:,} convgrad reads"
            )


#: An int past this many bits has more than MAX_DIGITS digits (log2(10) = 3.32...).
_MAX_BITS = int(MAX_DIGITS * 3.3219280948873626) + 1


def check_number_value(value: Any, where: str) -> None:
    """The same bounds for a number given as a Python object (the API, numpy object arrays).

    An int past MAX_DIGITS digits, a Decimal with too many digits or too large an exponent,
    or a Fraction with too large a part is refused, without converting it to text.
    """
    if isinstance(value, bool):
        return
    if isinstance(value, (int, np.integer)):
        if int(value).bit_length() > _MAX_BITS:
            raise InputError(
                f"{where} has about {int(int(value).bit_length() / 3.3219):,} digits, "
                f"more than the {MAX_DIGITS:,} convgrad reads"
            )
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return
        digits = value.as_tuple().digits
        if len(digits) > MAX_DIGITS:
            raise InputError(f"{where} has {len(digits):,} digits, more than the {MAX_DIGITS:,} convgrad reads")
        if abs(value.adjusted()) > MAX_EXPONENT:
            raise InputError(
                f"{where} has the exponent {value.adjusted():+,}, beyond the \u00b1{MAX_EXPONENT:,} convgrad reads"
            )
    elif isinstance(value, Fraction):
        check_number_value(value.numerator, where)
        check_number_value(value.denominator, where)


def _count_text(mantissa: str) -> str:
    return f"{sum(ch.isdigit() for ch in mantissa):,}"


def check_option_number(value: float | None, flag: str, low: float, high: float, low_open: bool = False) -> None:
    """A numeric option must be finite and within [low, high] ((low, high] with low_open)."""
    if value is None:
        return
    if not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number, got {value}")
    if value > high or value < low or (low_open and value == low):
        bound = f"{'above' if low_open else 'at least'} {low:g} and at most {high:g}"
        raise InputError(f"{flag} must be {bound}, got {value:g}")


def parse_number_text(text: str, where: str = "a number") -> Fraction | None:
    """The exact value of a number written as text ("0.3", "1/3", "-2e-2"), else None.

    Too many digits or too large an exponent is refused (check_number_text) before anything is built.
    """
    s = text.strip()
    if len(s) > _MAX_NUMBER_CHARS and _NUMBER_CHARS.issuperset(s):
        raise InputError(
            f"{where} has {len(s):,} characters, more than a number convgrad reads ({MAX_DIGITS:,} digits) can have"
        )
    if DECIMAL_TEXT.fullmatch(s):
        check_number_text(s, where)
        return Fraction(Decimal(s))
    m = _FRACTION_TEXT.fullmatch(s)
    if m:
        check_number_text(m.group(1), where)
        check_number_text(m.group(2), where)
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


#: The most characters of a user's text (an unknown key, a bad value) echoed in a message.
ECHO_LIMIT = 60


def echo_text(text: str) -> str:
    """repr() of user text for a message, cut to about ECHO_LIMIT characters (a 1 MB key is not echoed whole)."""
    if len(text) <= ECHO_LIMIT:
        return repr(text)
    return repr(text[: ECHO_LIMIT - 3]) + f"... ({len(text):,} characters)"


class Domain:
    """How entries of one kind are made, shown and written."""

    name: str = ""
    #: numpy dtype of arrays in this domain
    dtype: Any = object

    def convert(self, value: Any, path: str) -> Any:
        """One raw entry (int, Decimal, str, float, ...) as a value of this domain."""
        raise NotImplementedError

    def from_numeric_array(self, array: np.ndarray, path: str) -> np.ndarray:
        """A numeric numpy array (int, float, bool refused) as an array of this domain, entry by entry."""
        out = np.empty(array.shape, dtype=object)
        for index, value in np.ndenumerate(array):
            out[index] = self.convert(value, entry_path(path, index))
        return out

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def finalize(self, array: np.ndarray) -> np.ndarray:
        """Bring computed results to their final form (symbolic: expand and collect)."""
        return array

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        """A value as shown to people, rounded to ``precision`` significant digits where it is a float.

        ``scale`` is accepted for the renderers' sake and ignored: no value is ever hidden for being
        small next to the terms that made it (see ShownFloatDomain for how float noise is avoided).
        """
        raise NotImplementedError


class FloatDomain(Domain):
    name = "float"

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)

    def convert(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or value is None:
            raise InputError(f"{path} is {describe_value(value)}, not a number")
        if isinstance(value, Decimal) and value.is_nan():
            return math.nan  # sNaN too: float() of it would raise; validation refuses NaN unless allowed
        if isinstance(value, (int, float, Decimal, Fraction, np.integer, np.floating)):
            check_number_value(value, path)
            return finite_float(value, path)
        if isinstance(value, str):
            exact = parse_number_text(value, path)
            if exact is not None:
                return finite_float(exact, path, value.strip())
            if NAME_PATTERN.fullmatch(value.strip()):
                raise InputError(
                    f"{path} is the name {describe_value(value)}, not a number",
                    hint=f"names need {option('symbolic')}",
                )
        raise InputError(f"{path} is {describe_value(value)}, not a number")

    def from_numeric_array(self, array: np.ndarray, path: str) -> np.ndarray:
        # float32 is kept (the problem decides later whether everything is float32); the rest is float64.
        return np.asarray(array, dtype=np.float32 if array.dtype == np.float32 else self.dtype)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=self.dtype)

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        if precision is None and isinstance(value, np.float32):
            precision = FLOAT32_SIGNIFICANT_DIGITS  # what float32 holds; more digits would be noise
        return format_float(float(value), precision)


def finite_float(value: Any, path: str, typed: str | None = None) -> float:
    """float(value); a finite number beyond float64 is refused as too large, never made an infinity
    (not even under --allow-nonfinite, which is for NaN and infinities typed as such)."""
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if math.isinf(x) and not (isinstance(value, float) or (isinstance(value, Decimal) and value.is_infinite())):
        raise too_large(path, value if typed is None else typed)
    return x


def too_large(path: str, value: Any) -> InputError:
    """The error for a finite number past float64's range, shown as typed (or its magnitude)."""
    if isinstance(value, str):
        shown = value if len(value) <= 24 else value[:12] + "..."
    elif isinstance(value, Decimal):
        shown = f"{value:g}" if len(value.as_tuple().digits) <= 12 else f"{value:.3e}"
    else:
        q = Fraction(value)
        shown = f"{Decimal(q.numerator) / Decimal(q.denominator):.3e}"
    return InputError(
        f"{path} is {shown}, which overflows float64 (the largest is about 1.8e308)",
        hint=f"{option('exact')} computes with it exactly",
    )


def format_float(x: float, precision: int | None = None) -> str:
    """A float for people: rounded to ``precision`` significant digits (default 12), never zeroed.

    0.1 + 0.2 shows as 0.3, 2.0 as 2, -0.0 as 0, 1e-20 as 1e-20. Nothing is dropped for being small:
    a value hidden by a rule about magnitudes would be a wrong value (1e10 - 1e10 + 0.001 is 0.001).
    Where a float sum carries rounding noise (0.1 - 0.3 + 0.2 is 2.8e-17), the views show the exact
    value instead when they can afford it (see ShownFloatDomain).
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    digits = DEFAULT_SIGNIFICANT_DIGITS if precision is None else max(1, precision)
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


_MAX_RESULT_BITS = int(MAX_RESULT_DIGITS * 3.3219280948873626)


def check_result_size(q: Fraction) -> None:
    """Refuse an exact value whose numerator or denominator has more than MAX_RESULT_DIGITS digits.

    Denominators multiply: 300 entries 1/p for distinct 16-digit primes sum to a fraction of 4,800
    digits. Its text would be as long, and Python refuses to convert ints past 4,300 digits to text.
    """
    bits = max(q.numerator.bit_length(), q.denominator.bit_length())
    if bits > _MAX_RESULT_BITS:
        raise InputError(
            f"an exact result has about {int(bits / 3.3219280948873626):,} digits, more than the "
            f"{MAX_RESULT_DIGITS:,} convgrad writes for one value",
            hint="the denominators of the inputs multiply up; round the inputs, or compute in floats",
        )


def format_fraction(q: Fraction) -> str:
    """An exact value for people: a terminating decimal as decimal (0.3), else p/q (5/3)."""
    text = finite_decimal_text(q)
    return text if text is not None else f"{q.numerator}/{q.denominator}"


class ExactDomain(Domain):
    """Exact rationals: every value exactly as typed (the text 0.3 is 3/10)."""

    name = "exact"
    dtype = object

    def from_numeric_array(self, array: np.ndarray, path: str) -> np.ndarray:
        """``convert`` of each entry; a finite float64 array at once (each float is the shortest text
        that reads back to it, as ``convert`` takes it), anything else entry by entry."""
        if array.dtype != np.float64 or not np.isfinite(array).all():
            return super().from_numeric_array(array, path)
        out = np.empty(array.size, dtype=object)
        out[:] = [Fraction(Decimal(repr(value))) for value in array.ravel().tolist()]
        return out.reshape(array.shape)

    def convert(self, value: Any, path: str) -> Fraction:
        if isinstance(value, bool) or value is None:
            raise InputError(f"{path} is {describe_value(value)}, not a number")
        if isinstance(value, (int, np.integer)):
            check_number_value(value, path)
            return Fraction(int(value))
        if isinstance(value, (Decimal, Fraction)):
            if isinstance(value, Decimal) and not value.is_finite():
                raise InputError(f"{path} is {value}: exact arithmetic has no NaN or infinity")
            check_number_value(value, path)
            return Fraction(value)
        if isinstance(value, (float, np.floating)):
            if not math.isfinite(value):
                raise InputError(f"{path} is {value}: exact arithmetic has no NaN or infinity")
            # The shortest text that reads back to this float is what was typed: 0.3 -> 3/10.
            return Fraction(Decimal(repr(float(value)) if isinstance(value, float) else str(value)))
        if isinstance(value, str):
            exact = parse_number_text(value, path)
            if exact is not None:
                return exact
            if NAME_PATTERN.fullmatch(value.strip()):
                raise InputError(
                    f"{path} is the name {describe_value(value)}, not a number", hint=f"names need {option('symbolic')}"
                )
        raise InputError(f"{path} is {describe_value(value)}, not a number")

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.full(shape, Fraction(0), dtype=object)

    def finalize(self, array: np.ndarray) -> np.ndarray:
        """Every result as a Fraction, its text refused past MAX_RESULT_DIGITS (before any output)."""
        out = np.empty(np.shape(array), dtype=object)
        for index, value in np.ndenumerate(np.asarray(array, dtype=object)):
            q = value if isinstance(value, Fraction) else Fraction(value)
            check_result_size(q)
            out[index] = q
        return out

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        q = value if isinstance(value, Fraction) else Fraction(value)
        check_result_size(q)
        return format_fraction(q)


#: The longest name accepted (longer ones are typing accidents, and would be echoed in messages).
MAX_NAME_LENGTH = 60


def check_name(name: Any, path: str) -> str:
    """The one check every name, prefix and label goes through before it becomes a symbol or is printed.

    A name is ASCII letters, digits and _, not starting with a digit, at most MAX_NAME_LENGTH
    characters: nothing in it can be code, markup or an escape in JSON, LaTeX or Markdown.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        shown = echo_text(name) if isinstance(name, str) else describe_value(name)
        raise InputError(
            f"{path} is {shown}, not a name: a name is letters, digits and _, not starting "
            f"with a digit, at most {MAX_NAME_LENGTH} characters"
        )
    return name


class ShownFloatDomain(ExactDomain):
    """A float problem as people see it: exact rationals on the values as typed, each shown rounded
    to the float's significant digits. 1e10 - 1e10 + 0.001 shows 0.001, 0.1 + 0.2 shows 0.3 and
    0.1 - 0.3 + 0.2 shows 0: the true values, with no rule that could hide one."""

    name = "float"

    def __init__(self, digits: int = DEFAULT_SIGNIFICANT_DIGITS) -> None:
        self.digits = digits

    def finalize(self, array: np.ndarray) -> np.ndarray:
        out = np.empty(np.shape(array), dtype=object)
        for index, value in np.ndenumerate(np.asarray(array, dtype=object)):
            out[index] = value if isinstance(value, Fraction) else Fraction(value)
        return out

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        q = value if isinstance(value, Fraction) else Fraction(value)
        digits = self.digits if precision is None else max(1, precision)
        try:
            return format_float(float(q), digits)
        except OverflowError:  # a running total past float64's range: still a finite number
            return significant_text(q, digits)


def exact_of_float(value: Any) -> Fraction:
    """The number a float was typed as: the shortest text that reads back to it (0.1 -> 1/10).

    float32 values use float32's shortest text, float64 values float64's.
    """
    return Fraction(Decimal(str(value) if isinstance(value, np.floating) else repr(float(value))))


def significant_text(q: Fraction, digits: int) -> str:
    """q rounded to ``digits`` significant digits, in the style of format_float, at any magnitude."""
    from decimal import localcontext

    if q == 0:
        return "0"
    with localcontext() as context:
        context.prec = digits + 5
        text = f"{Decimal(q.numerator) / Decimal(q.denominator):.{digits - 1}e}"
    mantissa, exponent = text.split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


class SymbolicDomain(Domain):
    """sympy expressions over names the user gave; numbers are exact rationals.

    Names are turned into symbols directly (``sympy.Symbol(name)``); user text
    is never parsed or evaluated by sympy.
    """

    name = "symbolic"
    dtype = object

    def __init__(self) -> None:
        import sympy  # only symbolic runs pay for sympy

        self.sympy = sympy
        self._exact = ExactDomain()
        self._symbols: dict[str, Any] = {}
        self._first_use: dict[str, tuple[str, bool]] = {}  # name -> (path, named automatically)

    def symbol(self, name: str, path: str, automatic: bool = False) -> Any:
        """The symbol for a name, refusing names that would not read back as a symbol.

        A name may stand for several entries when the user typed it so; a name
        convgrad made up (``automatic``) must not meet the same name used for
        another array, or two different quantities would become one symbol.
        """
        check_name(name, path)
        if name in self._symbols:
            first, first_automatic = self._first_use[name]
            if (automatic or first_automatic) and first.split("[")[0] != path.split("[")[0]:
                made, typed = (path, first) if automatic else (first, path)
                field = made.split("[")[0]
                fix = 'give b a value ("b": 0 for no bias)' if field == "b" else f"give {field} values"
                raise InputError(
                    f"the name {name!r} is both {typed} and the automatic name of {made}",
                    hint=f"rename the one you typed, or {fix}",
                )
            return self._symbols[name]
        if name in RESERVED_NAMES or (name.startswith("__") and name.endswith("__")) or hasattr(self.sympy, name):
            raise InputError(
                f"{path} is the name {name!r}, which sympy reads as something other than a plain symbol",
                hint=f"pick another name, such as {name}_1",
            )
        symbol = self.sympy.Symbol(name)
        self._symbols[name] = symbol
        self._first_use[name] = (path, automatic)
        return symbol

    def convert(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            text = value.strip()
            exact = parse_number_text(text, path)
            if exact is not None:
                return self.sympy.Rational(exact.numerator, exact.denominator)
            if NAME_PATTERN.fullmatch(text):
                return self.symbol(text, path)
            raise InputError(
                f"{path} is {describe_value(value)}, neither a number nor a name "
                f"(a name is letters, digits and _, not starting with a digit)"
            )
        if isinstance(value, self.sympy.Basic):
            return value
        q = self._exact.convert(value, path)
        return self.sympy.Rational(q.numerator, q.denominator)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.full(shape, self.sympy.Integer(0), dtype=object)

    def finalize(self, array: np.ndarray) -> np.ndarray:
        out = np.empty(np.shape(array), dtype=object)
        for index, value in np.ndenumerate(np.asarray(array, dtype=object)):
            expr = self.sympy.expand(value)
            for number in expr.atoms(self.sympy.Rational):  # coefficients grow like exact results do
                check_result_size(Fraction(int(number.p), int(number.q)))
            out[index] = expr
        return out

    def format(self, value: Any, precision: int | None = None, scale: Any = None) -> str:
        return formula_text(self.sympy.expand(value))


def formula_text(expr: Any) -> str:
    """A sympy expression as text sympy parses back, highest degree first: w11*x11 + w12*x12 + b."""
    import sympy

    return sympy.sstr(expr, order="grlex")


#: Names that do not read back as a plain symbol: Python keywords and builtins sympy's parser knows.
RESERVED_NAMES = frozenset(
    [
        "False",
        "None",
        "True",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "else",
        "except",
        "finally",
        "for",
        "from",
        "global",
        "if",
        "import",
        "in",
        "is",
        "lambda",
        "nonlocal",
        "not",
        "or",
        "pass",
        "raise",
        "return",
        "try",
        "while",
        "with",
        "yield",
        "abs",
        "all",
        "any",
        "bool",
        "complex",
        "dict",
        "divmod",
        "eval",
        "exec",
        "float",
        "int",
        "len",
        "list",
        "max",
        "min",
        "pow",
        "range",
        "round",
        "set",
        "str",
        "sum",
        "tuple",
        "type",
    ]
)


FLOAT64 = FloatDomain(np.float64)


def make_domain(exact: bool = False, symbolic: bool = False) -> Domain:
    """The domain for a run: symbolic (its numbers are exact) over exact over float."""
    if symbolic:
        return SymbolicDomain()
    if exact:
        return ExactDomain()
    return FLOAT64
