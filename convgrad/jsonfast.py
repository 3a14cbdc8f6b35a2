"""Many records of numbers as JSON lines, fast, in the project's exact text (see render/jsonout.py).

The layout is the standard library's ``json.dumps`` default: ``", "`` and ``": "`` between items,
every float as its ``repr`` (the shortest text that reads back to the same double). orjson writes
the same numbers some ten times faster, but compactly and with two float spellings of its own:
a float from 1e-5 up to 1e-4 positionally (0.00007 where repr says 7e-05) and a one-digit
negative exponent without its leading zero (1e-7 where repr says 1e-07). Both are rewritten here,
on the records that hold such a value, so the text is the same whichever library wrote it; the
standard library is used when orjson is not installed.

Records hold ints, finite floats, nested lists of them and float64 arrays (C-contiguous) only: no strings (the separators are
put in by replacing "," and ":" in the compact text), no NaN or infinities (JSON has none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library writes the same text
    orjson = None  # type: ignore[assignment]

#: Below this magnitude orjson may spell a float otherwise than repr (see the module docstring).
_TINY = 1e-4
_SHORT_EXPONENT = re.compile(rb"e-(\d)(?!\d)")
_POSITIONAL = re.compile(rb"0\.0000([1-9]\d*)")


def tiny_rows(*arrays: np.ndarray | None) -> np.ndarray | None:
    """(T,) bool: which records hold a nonzero float below 1e-4 in magnitude in any of ``arrays``
    (each with a leading record axis T); None when the writer spells every float as repr does."""
    if orjson is None:
        return None
    rows: np.ndarray | None = None
    for array in arrays:
        if array is None:
            continue
        magnitude = np.abs(array.reshape(len(array), -1))
        hit = ((magnitude < _TINY) & (magnitude > 0)).any(axis=1)
        rows = hit if rows is None else rows | hit
    return rows


def lines(records: Sequence[dict[str, Any]], tiny: np.ndarray | None = None) -> str:
    """Each record as one line of JSON, lines joined by newlines (no newline at the end).

    ``tiny``: from ``tiny_rows``, the records whose float spellings need checking.
    """
    if not records:
        return ""
    if orjson is None:
        compact = json.dumps(records, separators=(",", ":"), default=_plain).encode()
    else:
        compact = orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY)
    text = compact[1:-1].replace(b"},{", b"}\n{")  # between records only: a record holds no objects
    if tiny is not None and tiny.any():
        rows = text.split(b"\n")
        for row in np.flatnonzero(tiny):
            rows[row] = _as_repr(rows[row])
        text = b"\n".join(rows)
    return text.replace(b",", b", ").replace(b":", b": ").decode("ascii")


def _plain(value: Any) -> Any:
    """A numpy array as the standard library can write it."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _as_repr(text: bytes) -> bytes:
    """orjson's compact text with every float spelled as repr spells it."""
    text = _SHORT_EXPONENT.sub(rb"e-0\1", text)
    return _POSITIONAL.sub(_positional_as_repr, text)


def _positional_as_repr(match: re.Match[bytes]) -> bytes:
    """0.0000ddd (a float from 1e-5 to 1e-4) as d.dde-05; a match inside a longer number is kept."""
    start = match.start()
    if start and match.string[start - 1 : start] in b"0123456789.":
        return match.group(0)
    digits = match.group(1)
    return digits[:1] + (b"." + digits[1:] if len(digits) > 1 else b"") + b"e-05"
