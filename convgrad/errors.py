"""The project's exceptions.

The library raises these; the CLI catches them in one place and turns them into
one line on stderr with the exit status the class names.
"""

from __future__ import annotations


class ConvgradError(Exception):
    """Base class of every error convgrad raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class InputError(ConvgradError, ValueError):
    """The problem given (values, shapes or configuration) cannot be computed."""


class UsageError(ConvgradError):
    """The command line or API call is malformed (conflicting or missing options)."""
