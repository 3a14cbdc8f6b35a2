"""Reading text into raw values: JSON documents and the short forms people type in flags.

Numbers are kept as typed: JSON decimals become ``decimal.Decimal`` (so 0.3 can
later be exactly 3/10), integers ``int``; strings stay strings. Nothing here
knows about convolutions; ``problem`` validates what this returns.
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputError
from .limits import DEFAULT, Limits, check_elements, check_input_size, size_text
from .numbers import echo_text

_NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"duplicate key {echo_text(key)} in a JSON object: give each key once")
        result[key] = value
    return result


def _json_number_hooks(source: str) -> tuple[Any, Any]:
    """parse_int and parse_float for json.loads: each number's text is bounded before it is built
    (a 5,000-digit integer or an exponent of 1e-999999999 would otherwise crash or hang)."""
    from .numbers import check_number_text

    def number_int(text: str) -> int:
        check_number_text(text, _where(text))
        return int(text)

    def number_float(text: str) -> Decimal:
        check_number_text(text, _where(text))
        return Decimal(text)

    def _where(text: str) -> str:
        return f"a number in {source} ({text if len(text) <= 24 else text[:12] + '...' + text[-6:]})"

    return number_int, number_float


def parse_json(text: str, source: str) -> Any:
    """Parse a JSON document, numbers kept exact; errors name the line and column."""
    text = text.removeprefix("\ufeff")  # a byte order mark some editors write
    number_int, number_float = _json_number_hooks(source)
    try:
        return json.loads(
            text,
            parse_int=number_int,
            parse_float=number_float,
            parse_constant=_NONFINITE.__getitem__,
            object_pairs_hook=_object_without_duplicates,
        )
    except json.JSONDecodeError as err:
        before = text[: err.pos].rstrip()
        following = text[err.pos : err.pos + 1]
        hint = "a trailing comma?" if before.endswith(",") and following and following in "]}" else None
        raise InputError(
            f"{source} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", hint=hint
        ) from None
    except RecursionError:
        raise InputError(f"{source} is nested too deeply to read") from None


_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text (a byte order mark allowed), the same for stdin and files: UTF-16 or UTF-32,
    invalid bytes and encoded lone surrogates are refused in one line naming the first bad byte."""
    if data.startswith(_UTF16_32_BOMS):
        raise InputError(f"{source} is UTF-16 or UTF-32 text, not UTF-8", hint="save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{source} is not UTF-8 text (byte {err.start} cannot be decoded)") from None


def read_text(path: str, limits: Limits = DEFAULT) -> str:
    """The text of a file, or of stdin for "-", refused past the input size limit before it is read."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:  # bytes, decoded exactly as a file's are
            data = stream.read(limits.max_input_bytes + 1)
            check_input_size(len(data), "stdin", limits)
            return decode_text(data, "stdin")
        try:
            text = sys.stdin.read(limits.max_input_bytes + 1)
        except UnicodeDecodeError as err:
            raise InputError(f"stdin is not UTF-8 text (byte {err.start} cannot be decoded)") from None
        check_input_size(len(text.encode("utf-8", "surrogatepass")) if len(text) > limits.max_input_bytes // 4
                         else len(text), "stdin", limits)
        return text
    file = Path(path)
    try:
        check_input_size(file.stat().st_size, f"input file {path!r}", limits)
        # Read at most one byte past the limit: a pipe or a device has no size to check beforehand.
        with file.open("rb") as handle:
            data = handle.read(limits.max_input_bytes + 1)
        if len(data) > limits.max_input_bytes:
            raise InputError(f"input file {path!r} holds more than the {size_text(limits.max_input_bytes)} "
                             "input limit", hint="raise it with --max-input-mb")
        return decode_text(data, f"input file {path!r}")
    except FileNotFoundError:
        raise InputError(f"input file {path!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input file {path!r} is a directory") from None
    except OSError as err:
        raise InputError(f"cannot read input file {path!r}: {err.strerror}") from None


def read_problem_document(path: str, expected: str = "object with A_prev, W, ...",
                          limits: Limits = DEFAULT) -> dict[str, Any]:
    """The JSON object in a problem (or answer) file; "-" reads stdin."""
    source = "stdin" if path == "-" else path
    text = read_text(path, limits)
    if not text.strip():
        raise InputError(f"{source} is empty: expected a JSON {expected}")
    document = parse_json(text, source)
    if not isinstance(document, dict):
        raise InputError(f"{source} holds a JSON {_json_kind(document)}, expected an {expected}")
    return document


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "number" if not isinstance(value, bool) else "boolean"


_ENTRY_SPLIT = re.compile(r"[\s,]+")


def _token(text: str, field: str = "") -> Any:
    """One shorthand entry: int, Decimal, or the text itself (a fraction or a name); bounded first."""
    from .numbers import check_number_text, parse_number_text

    if len(text) > 64:
        parse_number_text(text, f"--{field} {text[:12]}...")  # refuses a long number by its length first
    if re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
        check_number_text(text, f"--{field} {text if len(text) <= 24 else text[:12] + '...'}")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        if re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
            return Decimal(text)
    except ArithmeticError:  # pragma: no cover - the pattern admits only valid decimals
        pass
    return text


def parse_flag_value(text: str, field: str) -> Any:
    """A flag's value: JSON ("[[1,2],[3,4]]", "2"), or the matrix shorthand people type.

    Shorthand: rows split by ";", entries by spaces or commas: "1 2; 3 4" is
    [[1, 2], [3, 4]], "1, 2, 3" is [1, 2, 3], "0.5" is 0.5. A word (same,
    valid, NHWC) stays a string.
    """
    stripped = text.strip()
    if not stripped:
        raise InputError(f"--{field} is empty")
    if stripped[0] in "[{\"" or stripped in ("true", "false", "null"):
        return parse_json(stripped, f"--{field}")
    rows = [row.strip() for row in stripped.split(";")]
    if rows and rows[-1] == "":
        rows = rows[:-1]  # a trailing ";" is harmless
    parsed = []
    for row in rows:
        entries = [e for e in _ENTRY_SPLIT.split(row) if e]
        if not entries:
            raise InputError(f"--{field} has an empty row in {echo_text(text)}")
        parsed.append([_token(e, field) for e in entries])
    if len(parsed) == 1 and ";" not in stripped:
        row = parsed[0]
        return row[0] if len(row) == 1 else row
    return parsed


# -- array files -------------------------------------------------------------------------------


def load_npy(path: Path, field: str, limits: Limits = DEFAULT) -> Any:
    """One array from a .npy file (never unpickled: no code runs from a file), its size checked first."""
    import numpy as np

    try:
        _regular_file(path, field)
        check_input_size(path.stat().st_size, f"{field}'s file {str(path)!r}", limits)
        header = np.load(path, mmap_mode="r", allow_pickle=False)  # reads the header only
        check_elements(int(np.prod(header.shape)), field, limits)
        del header
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{field} names the file {str(path)!r}, which does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{field} names {str(path)!r}, which is a directory") from None
    except ValueError as err:
        objects = "pickle" in str(err) or "Python objects" in str(err)
        hint = "it holds Python objects, which convgrad does not load" if objects else str(err)
        raise InputError(f"{field}: cannot read {str(path)!r} as a .npy array ({hint})") from None
    except OSError as err:
        raise InputError(f"{field}: cannot read {str(path)!r} as a .npy array ({err})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{field}: {str(path)!r} is an .npz archive, not a single .npy array")
    return array


def _regular_file(path: Path, what: str) -> None:
    """Array files are read by seeking; a pipe or a device (/dev/zero) is refused."""
    import stat

    mode = path.stat().st_mode  # FileNotFoundError is the caller's to word
    if not stat.S_ISREG(mode):
        raise InputError(f"{what}: {str(path)!r} is not a regular file")


def resolve_array_paths(document: dict[str, Any], base: Path, fields: tuple[str, ...],
                        limits: Limits = DEFAULT) -> dict[str, Any]:
    """Array fields given as "name.npy" are read from that file, relative to ``base`` (read only)."""
    out = dict(document)
    for key, value in document.items():
        if key in fields and isinstance(value, str) and value.strip().lower().endswith(".npy"):
            out[key] = load_npy(base / value.strip(), key, limits)
    return out


def _check_npz_members(path: str, limits: Limits) -> None:
    """Uncompressed member sizes, before numpy inflates anything (a small .npz can hold a huge array)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > 16 * limits.max_elements + 4096:
                    raise InputError(f"{path}: {info.filename!r} unpacks to {info.file_size:,} bytes, over the "
                                     f"limit of {limits.max_elements:,} entries", hint="raise it with --max-elements")
    except zipfile.BadZipFile:
        raise InputError(f"cannot read {path!r} as an .npz archive (it is not a zip file)") from None


def read_npz_problem(path: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """A problem stored as .npz: arrays under the JSON keys, configuration as small arrays.

    Numbers in configuration entries become ints (stride, padding...), strings
    stay strings ("same", "NHWC").
    """
    import numpy as np

    try:
        _regular_file(Path(path), f"input file {path!r}")
        check_input_size(Path(path).stat().st_size, f"input file {path!r}", limits)
        _check_npz_members(path, limits)
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"input file {path!r} does not exist") from None
    except (ValueError, OSError) as err:
        raise InputError(f"cannot read {path!r} as an .npz archive ({err})") from None
    if not hasattr(archive, "files"):
        raise InputError(f"{path!r} holds a single array: an .npz problem stores A_prev, W, ... by name")
    document: dict[str, Any] = {}
    with archive:
        for key in archive.files:
            try:
                value = archive[key]
            except ValueError as err:
                raise InputError(f"{path}: entry {key!r} cannot be read without unpickling ({err})") from None
            document[key] = value
    from .problem import ARRAY_FIELDS, CANONICAL_NAMES

    for key, value in list(document.items()):
        if CANONICAL_NAMES.get(key, key) in ARRAY_FIELDS:
            continue  # arrays stay numpy arrays (float32 kept)
        if value.dtype.kind in "US":
            document[key] = str(value.item()) if value.ndim == 0 else value.tolist()
        elif value.dtype.kind == "b":
            document[key] = bool(value.item()) if value.ndim == 0 else value.tolist()
        else:
            document[key] = value.item() if value.ndim == 0 else value.tolist()
    return document
