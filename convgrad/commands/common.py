"""Shared by the commands: gathering a problem from a file and flags, and writing output."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..files import check_writable
from ..files import write_file_atomically as write_file_atomically  # the commands write through this name
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
    _inputs_read.clear()
    if path is not None:
        document = read_problem(path, limits)
        source = "stdin" if path == "-" else path
        if "layers" in document:  # a chain: its top-level keys only, each layer's are read in chains
            from ..chains import chain_fields

            fields = chain_fields(document, source=source)
        else:
            fields = canonical_fields(document, source=source)
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
    import os
    from pathlib import Path

    from ..problem import ARRAY_FIELDS, CANONICAL_NAMES
    from ..reader import read_npz_problem, read_problem_document, resolve_array_paths

    if path != "-":
        _inputs_read.append(os.path.realpath(path))
    if path != "-" and path.lower().endswith(".npz"):
        return read_npz_problem(path, limits)
    document = read_problem_document(path, limits=limits)
    base = Path.cwd() if path == "-" else Path(path).resolve().parent
    array_keys = tuple(k for k in document if CANONICAL_NAMES.get(k, k) in ARRAY_FIELDS)
    for key in array_keys:  # the .npy files it names are inputs too
        value = document[key]
        if isinstance(value, str) and value.strip().lower().endswith(".npy"):
            _inputs_read.append(os.path.realpath(base / value.strip()))
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

    console = PipeAwareConsole(highlight=False, soft_wrap=False, record=record)
    if not console.is_terminal:  # a pipe or a file: no line ends in the padding rich adds
        console.file = TrailingSpaceStripper(sys.stdout)  # type: ignore[assignment]
    return console


class TrailingSpaceStripper:
    """A text stream that writes each finished line to ``stream`` without its trailing spaces."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self.pending:  # an unfinished line (rich ends every print with one, so rarely)
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


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


#: The files the current run reads (the problem file and the .npy files it names), as real paths;
#: set by gather_fields, so that no output can be one of them.
_inputs_read: list[str] = []


def check_outputs(outputs: list[tuple[str, str]]) -> None:
    """Refuse, before any work, an output that is an input of this run or another output of it.

    ``outputs``: (flag, path) pairs. Paths are compared after resolving symbolic links, so
    ./p.json, p.json and a link to it are one file. A character device (/dev/null) may take
    any number of outputs.
    """
    import os
    import stat

    from ..errors import InputError

    seen: dict[str, str] = {}
    for flag, path in outputs:
        check_writable(path, flag)
        real = os.path.realpath(path)
        try:
            if stat.S_ISCHR(os.stat(real).st_mode):
                continue
        except OSError:
            pass
        if real in _inputs_read:
            raise InputError(
                f"{flag} {path!r} is a file this run reads: convgrad never overwrites its input",
                hint="write the output to another file",
            )
        if real in seen:
            raise InputError(
                f"{seen[real]} and {flag} both name {path!r}: one output would overwrite the other",
                hint="give each output its own file",
            )
        seen[real] = flag
