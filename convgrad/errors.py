"""The project's exceptions.

The library raises these; the CLI catches them in one place and turns them into
one line on stderr with the exit status the class names.

A message that names a setting does so with ``option(name)``, a marker that is worded
when the message is shown: ``--dZ`` on the command line, ``dZ=`` to Python. The CLI
words its errors inside ``surface("cli")``; everywhere else they read as Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Each setting a message may name: (how the command line says it, how Python says it).
OPTIONS: dict[str, tuple[str, str]] = {
    "A_prev": ("--A-prev", "A_prev="),
    "W": ("--W", "W="),
    "b": ("--b", "b="),
    "dZ": ("--dZ", "dZ="),
    "exact": ("--exact", "exact=True"),
    "symbolic": ("--symbolic", "symbolic=True"),
    "allow_nonfinite": ("--allow-nonfinite", "allow_nonfinite=True"),
    "max_elements": ("--max-elements", "max_elements="),
    "max_input_mb": ("--max-input-mb", "max_input_mb="),
    "max_output_mb": ("--max-output-mb", "max_output_mb="),
    "overlays": ("--overlays", "overlays="),
    "cell": ("--cell", "cell"),
    "json": ("--json", "to_dict()"),
    "save": ("--save", "save()"),
}
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: echoed user text shows them escaped
_MARKER = re.compile(f"{_OPEN}([A-Za-z_]+){_CLOSE}")
_SURFACE: ContextVar[str] = ContextVar("convgrad_surface", default="python")


def option(name: str) -> str:
    """A setting named in a message, worded when shown: ``--allow-nonfinite`` or ``allow_nonfinite=True``."""
    if name not in OPTIONS:
        raise KeyError(f"no wording for the option {name!r}")
    return f"{_OPEN}{name}{_CLOSE}"


def worded(text: str, surface: str | None = None) -> str:
    """``text`` with every option marker worded for ``surface`` ("cli" or "python"; default: the current one)."""
    column = 0 if (surface or _SURFACE.get()) == "cli" else 1
    return _MARKER.sub(lambda match: OPTIONS[match.group(1)][column], text)


@contextmanager
def surface(name: str) -> Iterator[None]:
    """Word the messages shown inside this block for ``name`` ("cli" or "python")."""
    token = _SURFACE.set(name)
    try:
        yield
    finally:
        _SURFACE.reset(token)


class ConvgradError(Exception):
    """Base class of every error convgrad raises on purpose.

    ``message`` and ``hint`` are worded for the current surface; ``template`` keeps the markers.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.template = message
        self.hint_template = hint

    @property
    def message(self) -> str:
        return worded(self.template)

    @property
    def hint(self) -> str | None:
        return None if self.hint_template is None else worded(self.hint_template)

    def text(self, surface: str | None = None) -> str:
        """The message and its hint in one line, worded for ``surface`` (default: the current one)."""
        line = self.template if self.hint_template is None else f"{self.template} ({self.hint_template})"
        return worded(line, surface)

    def __str__(self) -> str:
        return self.text()


class InputError(ConvgradError, ValueError):
    """The problem given (values, shapes or configuration) cannot be computed."""


class UsageError(ConvgradError):
    """The command line or API call is malformed (conflicting or missing options)."""
