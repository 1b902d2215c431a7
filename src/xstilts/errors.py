"""User-facing errors.

Every mistake a user can make (bad file, unknown task, wrong config) raises a subclass of
``XstiltsError`` whose message is ONE line naming the file and line or the field. The CLI
prints that line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

from pathlib import Path


class XstiltsError(Exception):
    """Base class of all user-facing errors (printed as one line by the CLI)."""


class DataFormatError(XstiltsError):
    """A data or prediction file does not have the expected format."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class UnknownTaskError(XstiltsError):
    pass


class UnknownLanguageError(XstiltsError):
    pass


class MissingDataError(XstiltsError):
    pass


class ConfigError(XstiltsError):
    pass
