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


def check_writable(path: str, flag: str) -> None:
    """Refuse an output path that cannot be written, or must not be replaced, before any work happens.

    Only a regular file (or a new one) is ever replaced, by renaming a finished temporary file
    over it. A character device such as /dev/null is written by opening it, never replaced;
    a directory, a FIFO, a socket, a block device, or a symbolic link to one is refused.
    """
    import os
    import stat
    from pathlib import Path

    from ..errors import InputError

    target = Path(path)
    if target.is_symlink() and not target.exists():
        raise InputError(
            f"{flag} {path!r} is a symbolic link to {os.readlink(path)!r}, which does not exist: "
            "give the path of a file to write"
        )
    if target.exists():
        mode = target.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{flag} {path!r} is a directory")
        if stat.S_ISCHR(mode):
            if not os.access(path, os.W_OK):
                raise InputError(f"cannot write {path!r} ({flag}): the device is not writable")
            return  # written by opening it, never replaced
        if not stat.S_ISREG(mode):
            raise InputError(
                f"{flag} {path!r} is {_file_kind(mode)}, not a regular file: convgrad replaces only regular files",
                hint="give the path of a file to write",
            )
    directory = target.resolve().parent if target.exists() else target.parent
    directory = directory if str(directory) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {path!r} ({flag}): the folder {str(directory)!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"cannot write {path!r} ({flag}): the folder {str(directory)!r} is not writable")


def _file_kind(mode: int) -> str:
    import stat

    for test, kind in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


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


def write_file_atomically(path: str, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, renamed over it when complete.

    A character device (/dev/null) is opened and written, never replaced; anything else that
    is not a regular file is refused. The temporary file is removed when the write fails or
    is interrupted by SIGINT, SIGTERM or SIGHUP (the process then ends by that signal).
    """
    import errno
    import os
    import secrets
    import signal
    import stat
    from pathlib import Path

    from ..errors import InputError

    data = text.encode("utf-8") if isinstance(text, str) else text
    target = Path(os.path.realpath(path))  # write through a link, never replace the link
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise InputError(f"cannot write {path!r}: {err.strerror}") from None
    if mode is not None and stat.S_ISCHR(mode):
        try:
            with open(target, "wb", buffering=0) as device:
                device.write(data)
        except OSError as err:
            raise InputError(f"cannot write {path!r}: {err.strerror}") from None
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"{path!r} is {_file_kind(mode)}, not a regular file: convgrad replaces only regular files")
    directory = target.parent if str(target.parent) else Path(".")

    class Terminated(BaseException):
        """SIGTERM or SIGHUP arrived while the temporary file existed."""

    def on_signal(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    handled = (signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    except ValueError:  # not the main thread: signals cannot be caught here
        previous = {}
    tmp = None
    try:
        # The name is chosen before the file is made, so that a signal arriving at any point
        # after it exists finds the name to remove (mkstemp would hold it until it returns).
        for _ in range(100):
            tmp = str(directory / f".{target.name}.{secrets.token_hex(6)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                tmp = None  # someone else's file: never removed
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary file name")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # The file was made private; give it the mode a plain open() would (or the old file's).
        os.chmod(tmp, mode & 0o7777 if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
        tmp = None
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, Terminated):
            signum = err.args[0]
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)  # end as the signal would have ended the run
        if isinstance(err, OSError):
            raise InputError(f"cannot write {path!r}: {err.strerror}") from None
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
