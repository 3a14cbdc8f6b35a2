"""Writing output files: whole or not at all, never replacing what is not a regular file.

The command line (--save, --html, --svg, ...) and the Python API (``Result.save``) share
these, so a file is written by the same rules from either.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError, option


def save_npz(result: Any, path: str) -> None:
    """Z (and dW, db, dA_prev) in the user's form, as float arrays in one .npz, written whole or not at all.

    The same for the CLI's --save and ``Result.save``; messages name the output as each says it."""
    import io

    import numpy as np

    if result.problem.domain.dtype == object:
        raise UsageError(
            f"{option('save')} writes numpy float arrays; {result.problem.domain.name} results are in {option('json')}"
        )
    check_writable(path, option("save"))
    arrays = {"Z": result.Z}
    if result.is_backward:
        if result.problem.has_weights:
            arrays.update({"dW": result.dW, "db": np.asarray(result.db)})
        arrays["dA_prev"] = result.dA_prev
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_file_atomically(path, buffer.getvalue())


def check_writable(path: str, flag: str) -> None:
    """Refuse an output path that cannot be written, or must not be replaced, before any work happens.

    Only a regular file (or a new one) is ever replaced, by renaming a finished temporary file
    over it. A character device such as /dev/null is written by opening it, never replaced;
    a directory, a FIFO, a socket, a block device, or a symbolic link to one is refused.
    """
    import os
    import stat
    from pathlib import Path

    from .errors import InputError

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

    from .errors import InputError

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
