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
from math import prod
from pathlib import Path
from typing import Any

from .errors import InputError
from .limits import DEFAULT, LimitExceeded, Limits, check_input_size, size_text
from .numbers import DECIMAL_TEXT, echo_text

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


def parse_json(text: str, source: str, limits: Limits = DEFAULT) -> Any:
    """Parse a JSON document, numbers kept exact and bounded; errors name the line and column.

    Every number becomes a Python object (about 120 bytes), so a document may hold at most
    ``limits.max_json_numbers``: past that the parse stops there, before the rest is built.
    """
    text = text.removeprefix("\ufeff")  # a byte order mark some editors write
    number_int, number_float = _json_number_hooks(source)
    if text.count(",") >= limits.max_json_numbers:  # more numbers are possible: count them as parsed
        count = 0

        def counted(kind: Any) -> Any:
            def parse(token: str) -> Any:
                nonlocal count
                count += 1
                if count > limits.max_json_numbers:
                    raise LimitExceeded(
                        f"{source} holds more than {limits.max_json_numbers:,} numbers, over the limit for JSON",
                        hint="store large arrays in .npy or .npz files, or raise the limit with --max-elements",
                    )
                return kind(token)

            return parse

        number_int, number_float = counted(number_int), counted(number_float)
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


#: Bytes of stdin read at a time: invalid UTF-8 is refused at the first chunk that holds it.
_CHUNK = 1 << 20


def _read_stream(stream: Any, source: str, limits: Limits) -> str:
    """A stream (stdin, a pipe, a device) as UTF-8 text, read in chunks: refused as soon as it is
    not UTF-8, is not JSON from its first character, or passes the input limit."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    parts: list[str] = []
    total = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        if not total and chunk.startswith(_UTF16_32_BOMS):
            raise InputError(f"{source} is UTF-16 or UTF-32 text, not UTF-8", hint="save it as UTF-8")
        total += len(chunk)
        if total > limits.max_input_bytes:
            raise LimitExceeded(
                f"{source} holds more than the {size_text(limits.max_input_bytes)} input limit",
                hint="raise it with --max-input-mb; large arrays read fastest from .npy or .npz files",
            )
        try:
            parts.append(decoder.decode(chunk))
        except UnicodeDecodeError as err:
            raise InputError(
                f"{source} is not UTF-8 text (byte {total - len(chunk) + err.start} cannot be decoded)"
            ) from None
        if len(parts) == 1 and parts[0].lstrip()[:1] not in _JSON_STARTS:
            break  # not JSON from its first character: the parser says where, without reading the rest
    try:
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text (it ends inside a character, at byte {total})") from None
    return "".join(parts)


#: The first character of a JSON value, or of the shorthand nothing else accepts.
_JSON_STARTS = set('{["-0123456789tfnNI') | {""}


def read_text(path: str, limits: Limits = DEFAULT, what: str = "input file") -> str:
    """The text of a file, or of stdin for "-", refused past the input size limit before it is read.

    what: the file's role in messages ("input file", "the answer file")."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stream (some test runners): its text is what we get
            text = sys.stdin.read(limits.max_input_bytes + 1)
            check_input_size(len(text.encode("utf-8", "surrogatepass")), "stdin", limits)
            return text
        return _read_stream(stream, "stdin", limits)
    file = Path(path)
    try:
        import stat

        if not stat.S_ISREG(file.stat().st_mode) and not file.is_dir():  # a pipe or a device: no size
            with file.open("rb") as handle:
                return _read_stream(handle, f"{what} {path!r}", limits)
        check_input_size(file.stat().st_size, f"{what} {path!r}", limits)
        # Read at most one byte past the limit: a pipe or a device has no size to check beforehand.
        with file.open("rb") as handle:
            data = handle.read(limits.max_input_bytes + 1)
        if len(data) > limits.max_input_bytes:
            raise LimitExceeded(
                f"{what} {path!r} holds more than the {size_text(limits.max_input_bytes)} input limit",
                hint="raise it with --max-input-mb",
            )
        return decode_text(data, f"{what} {path!r}")
    except FileNotFoundError:
        raise InputError(f"{what} {path!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path!r} is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {path!r} is not UTF-8 text") from None
    except OSError as err:
        raise InputError(f"cannot read {what} {path!r}: {err.strerror}") from None


def read_problem_document(
    path: str, expected: str = "object with A_prev, W, ...", limits: Limits = DEFAULT, what: str = "input file"
) -> dict[str, Any]:
    """The JSON object in a problem (or answer) file; "-" reads stdin. what: the file's role in messages."""
    source = "stdin" if path == "-" else path
    text = read_text(path, limits, what)
    if not text.strip():
        raise InputError(f"{source} is empty: expected a JSON {expected}")
    document = parse_json(text, source, limits)
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
        if DECIMAL_TEXT.fullmatch(text):
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
    if stripped[0] in '[{"' or stripped in ("true", "false", "null"):
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
        only = parsed[0]
        return only[0] if len(only) == 1 else only
    return parsed


# -- array files -------------------------------------------------------------------------------
#
# Every way an array file can be broken ends in one InputError naming the file and what is wrong:
# the header is read and checked (magic bytes, format, shape against --max-elements, dtype, the
# bytes it promises against the bytes there) before numpy reads any data, and nothing is ever
# unpickled. numpy and zipfile raise a dozen exception types on broken input (EOFError,
# TokenError, BadZipFile, zlib.error, NotImplementedError, MemoryError...): each is turned into
# that one line here.

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


class _ArrayFileError(Exception):
    """What is wrong with one array file (or one member of an .npz), worded for people."""


def _npy_header(handle: Any, available: int, limits: Limits) -> tuple[tuple[int, ...], Any]:
    """Shape and dtype from a .npy header, refusing what cannot be read safely.

    ``handle`` is at the start of the .npy data; ``available`` is the number of bytes from
    there to the end of the file or member.
    """
    from numpy.lib import format as npformat

    start = handle.read(len(_NPY_MAGIC))
    if not start:
        raise _ArrayFileError("it is empty")
    if start.startswith(_ZIP_MAGIC[: len(start)]) and len(start) >= 4:
        raise _ArrayFileError("it is a zip archive (an .npz?), not a single .npy array")
    if start != _NPY_MAGIC:
        if _looks_like_text(start):
            raise _ArrayFileError(f"it is text ({start.decode('ascii').strip()[:6]!r}...), not a .npy array")
        raise _ArrayFileError("it is not a .npy array (it does not start with the .npy magic bytes)")
    try:
        version = handle.read(2)
        if len(version) < 2:
            raise EOFError
        if (version[0], version[1]) == (1, 0):
            shape, _fortran, dtype = npformat.read_array_header_1_0(handle)
        elif (version[0], version[1]) in ((2, 0), (3, 0)):
            shape, _fortran, dtype = npformat.read_array_header_2_0(handle)
        else:
            raise _ArrayFileError(f"it uses .npy format version {version[0]}.{version[1]}, which numpy cannot read")
    except _ArrayFileError:
        raise
    except Exception:
        raise _ArrayFileError("its .npy header is malformed or cut off") from None
    if dtype.hasobject:
        raise _ArrayFileError("it holds Python objects, which convgrad does not load (never unpickled)")
    count = prod(shape)
    shown = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    if count > limits.max_elements:
        raise _ArrayFileError(
            f"its header declares shape {shown}, {count:,} entries, over the limit of "
            f"{limits.max_elements:,} (raise it with --max-elements)"
        )
    needed = count * dtype.itemsize
    left = available - handle.tell()
    if needed > left:
        raise _ArrayFileError(
            f"it is truncated: its header declares shape {shown} of {dtype}, "
            f"{needed:,} bytes of data, but only {max(left, 0):,} follow"
        )
    return tuple(shape), dtype


def _looks_like_text(start: bytes) -> bool:
    try:
        start.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(32 <= b < 127 or b in b"\t\r\n" for b in start)


def _read_npy_data(handle: Any) -> Any:
    """The array after a checked header (``handle`` rewound to the magic bytes)."""
    from numpy.lib import format as npformat

    try:
        return npformat.read_array(handle, allow_pickle=False)
    except MemoryError:
        raise _ArrayFileError("there is not enough memory to load it") from None
    except _ArrayFileError:
        raise
    except Exception as err:
        raise _ArrayFileError(_damage(err)) from None


def _damage(err: BaseException) -> str:
    import zipfile
    import zlib

    text = str(err).strip()
    if isinstance(err, zipfile.BadZipFile):
        return f"the archive is damaged ({text[:80] or 'bad zip data'})"
    if isinstance(err, zlib.error):
        return "its compressed data is corrupt"
    if isinstance(err, EOFError):
        return "it is cut off before the end of its data"
    return f"its data cannot be read ({type(err).__name__}{': ' + text[:80] if text else ''})"


def load_npy(path: Path, field: str, limits: Limits = DEFAULT) -> Any:
    """One array from a .npy file (never unpickled: no code runs from a file), its size checked first."""
    try:
        _regular_file(path, field)
        size = path.stat().st_size
        check_input_size(size, f"{field}'s file {str(path)!r}", limits)
        with path.open("rb") as handle:
            _npy_header(handle, size, limits)
            handle.seek(0)
            return _read_npy_data(handle)
    except FileNotFoundError:
        raise InputError(f"{field} names the file {str(path)!r}, which does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{field} names {str(path)!r}, which is a directory") from None
    except _ArrayFileError as err:
        raise InputError(f"{field}: cannot read {str(path)!r} as a .npy array: {err}") from None
    except OSError as err:
        raise InputError(f"{field}: cannot read {str(path)!r} as a .npy array ({err.strerror or err})") from None


def _regular_file(path: Path, what: str) -> None:
    """Array files are read by seeking; a pipe or a device (/dev/zero) is refused."""
    import stat

    mode = path.stat().st_mode  # FileNotFoundError is the caller's to word
    if not stat.S_ISREG(mode):
        raise InputError(f"{what}: {str(path)!r} is not a regular file")


def resolve_array_paths(
    document: dict[str, Any], base: Path, fields: tuple[str, ...], limits: Limits = DEFAULT
) -> dict[str, Any]:
    """Array fields given as "name.npy" are read from that file, relative to ``base`` (read only)."""
    out = dict(document)
    for key, value in document.items():
        if key in fields and isinstance(value, str) and value.strip().lower().endswith(".npy"):
            out[key] = load_npy(base / value.strip(), key, limits)
    return out


def _read_npz_members(path: str, limits: Limits) -> dict[str, Any]:
    """Every member of an .npz, each checked from the zip directory and its .npy header first.

    The zip directory gives each member's unpacked size (a small .npz can hold a huge
    array: zipfile never unpacks past it) and its compression and encryption; the .npy
    header gives the shape, checked against --max-elements, before any data is inflated.
    """
    import zipfile

    members: dict[str, Any] = {}
    if Path(path).stat().st_size == 0:
        raise _ArrayFileError("it is empty")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _ArrayFileError("it is not a zip archive (or it is cut off), so not an .npz") from None
    except (EOFError, ValueError, NotImplementedError, OverflowError) as err:
        raise _ArrayFileError(f"its zip directory is damaged ({type(err).__name__})") from None
    with archive:
        infos = archive.infolist()
        if not infos:
            raise _ArrayFileError("it holds no arrays")
        unpacked = sum(info.file_size for info in infos)  # zipfile never inflates a member past its size
        if unpacked > limits.max_input_bytes:
            raise _ArrayFileError(
                f"it unpacks to {size_text(unpacked)}, over the {size_text(limits.max_input_bytes)} "
                "input limit (raise it with --max-input-mb)"
            )
        for info in infos:
            name = info.filename.removesuffix(".npy")
            shown = f"member {name[:60]!r}"
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _ArrayFileError(f"{shown} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _ArrayFileError(
                    f"{shown} uses zip compression method {info.compress_type}; an .npz uses stored or deflated members"
                )
            if info.file_size > 16 * limits.max_elements + 4096:
                raise _ArrayFileError(
                    f"{shown} unpacks to {info.file_size:,} bytes, over the limit of "
                    f"{limits.max_elements:,} entries (raise it with --max-elements)"
                )
            if not info.filename.endswith(".npy"):
                raise _ArrayFileError(f"{shown} is not a .npy array (an .npz holds only name.npy members)")
            try:
                with archive.open(info) as handle:
                    try:
                        _npy_header(handle, info.file_size, limits)
                    except _ArrayFileError as err:
                        raise _ArrayFileError(f"{shown}: {err}") from None
                with archive.open(info) as handle:
                    try:
                        members[name] = _read_npy_data(handle)
                    except _ArrayFileError as err:
                        raise _ArrayFileError(f"{shown}: {err}") from None
            except _ArrayFileError:
                raise
            except MemoryError:
                raise _ArrayFileError(f"{shown}: there is not enough memory to load it") from None
            except Exception as err:
                raise _ArrayFileError(f"{shown}: {_damage(err)}") from None
    return members


def read_npz_problem(path: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """A problem stored as .npz: arrays under the JSON keys, configuration as small arrays.

    Numbers in configuration entries become ints (stride, padding...), strings
    stay strings ("same", "NHWC").
    """
    try:
        _regular_file(Path(path), f"input file {path!r}")
        check_input_size(Path(path).stat().st_size, f"input file {path!r}", limits)
        with open(path, "rb") as handle:
            start = handle.read(len(_NPY_MAGIC))
        if start == _NPY_MAGIC:
            raise InputError(f"{path!r} holds a single array: an .npz problem stores A_prev, W, ... by name")
        document = _read_npz_members(path, limits)
    except FileNotFoundError:
        raise InputError(f"input file {path!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input file {path!r} is a directory") from None
    except _ArrayFileError as err:
        raise InputError(f"cannot read {path!r} as an .npz archive: {err}") from None
    except OSError as err:
        raise InputError(f"cannot read {path!r} as an .npz archive ({err.strerror or err})") from None
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
