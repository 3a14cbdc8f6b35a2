"""Shared by the commands: gathering a problem from a file and flags, and writing output."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..limits import Limits
from ..options import OutputOptions, ProblemOptions

#: Problem fields that have a flag, and the flag's name.
FIELD_FLAGS = {
    "A_prev": "A-prev",
    "W": "W",
    "b": "b",
    "dZ": "dZ",
    "stride": "stride",
    "padding": "padding",
    "dilation": "dilation",
    "groups": "groups",
    "layout": "layout",
    "mode": "mode",
    "dims": "dims",
    "layer": "layer",
    "slope": "slope",
}


def problem_path(options: ProblemOptions) -> str | None:
    """The problem file named by FILE or --input (not both)."""
    file, path = options.file, options.input
    if file is not None and path is not None:
        raise UsageError(f"give the problem file once: as FILE ({file!r}) or --input ({path!r}), not both")
    return path if path is not None else file


def gather_fields(options: ProblemOptions, limits: Limits, *, require: bool = True) -> dict[str, Any]:
    """The problem's fields: the input file's (read within ``limits``), overridden by any flags given."""
    from ..problem import canonical_fields
    from ..reader import parse_flag_value

    path = problem_path(options)
    fields: dict[str, Any] = {}
    if path is not None:
        fields = canonical_fields(read_problem(path, limits), source="stdin" if path == "-" else path)
    values = options.flag_values()
    for name, flag in FIELD_FLAGS.items():
        text = values[name]
        if text is None:
            continue
        fields[name] = text.strip() if name in ("layout", "mode", "layer") else parse_flag_value(text, flag)
    for name, shape in options.shapes().items():
        if shape is None:
            continue
        if values[name] is not None:
            raise UsageError(f"give {name} once: as values (--{FIELD_FLAGS[name]}) or as a shape, not both")
        fields[name] = {"shape": shape}
    if options.exact is not None:
        fields["exact"] = options.exact
    if options.symbolic is not None:
        fields["symbolic"] = options.symbolic
    if require and "A_prev" not in fields and "W" not in fields:
        raise UsageError("no problem given: pass a problem file (--input FILE, - for stdin) or -x/--A-prev and -w/--W")
    return fields


def read_problem(path: str, limits: Any) -> dict[str, Any]:
    """A problem document from JSON (arrays may name .npy files beside it) or from an .npz archive."""
    from pathlib import Path

    from ..problem import ARRAY_FIELDS, CANONICAL_NAMES
    from ..reader import read_npz_problem, read_problem_document, resolve_array_paths

    if path != "-" and path.lower().endswith(".npz"):
        return read_npz_problem(path, limits)
    document = read_problem_document(path, limits=limits)
    base = Path.cwd() if path == "-" else Path(path).resolve().parent
    array_keys = tuple(k for k in document if CANONICAL_NAMES.get(k, k) in ARRAY_FIELDS)
    return resolve_array_paths(document, base, array_keys, limits)


def note(message: str) -> None:
    """A message for the person at the terminal: stderr, never mixed into the result."""
    print(f"note: {message}", file=sys.stderr)


def stdout_console(record: bool = False) -> Any:
    """A rich console on stdout whose broken pipe reaches the CLI's handler (rich would exit 1)."""
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return PipeAwareConsole(highlight=False, soft_wrap=False, record=record)


def write_json(obj: Any) -> None:
    """One JSON document on stdout, numbers written faithfully (see render.jsonout)."""
    from ..render.jsonout import dumps

    sys.stdout.write(dumps(obj) + "\n")


def json_format(options: OutputOptions) -> str:
    """The output format from --json and --format, refusing a contradiction."""
    fmt = None if options.format is None else options.format.value
    if options.json:
        if fmt is not None and fmt != "json":
            raise UsageError(f"--json and --format {fmt} disagree: give one of them")
        return "json"
    return fmt or "table"


def check_writable(path: str, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work or output happens."""
    import os
    from pathlib import Path

    from ..errors import InputError

    target = Path(path)
    directory = target.resolve().parent if target.exists() or target.is_symlink() else target.parent
    directory = directory if str(directory) else Path(".")
    if target.is_dir():
        raise InputError(f"{flag} {path!r} is a directory")
    if not directory.is_dir():
        raise InputError(f"cannot write {path!r} ({flag}): the folder {str(directory)!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"cannot write {path!r} ({flag}): the folder {str(directory)!r} is not writable")


def write_file_atomically(path: str, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, renamed over it when complete."""
    import os
    import tempfile
    from pathlib import Path

    from ..errors import InputError

    target = Path(path).resolve() if Path(path).is_symlink() else Path(path)  # write through a link
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise InputError(f"cannot write {path!r}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        # mkstemp makes the file private; give it the mode a plain open() would (or the old file's).
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise InputError(f"cannot write {path!r}: {err.strerror}") from None
        raise


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
