"""User-facing errors.

Every mistake a user can make (bad file, unknown task, wrong config) raises a subclass of
``XstiltsError`` whose message is ONE line naming the file and line or the field. The CLI
prints that line and exits non-zero; it never shows a traceback for these.

They cross process boundaries (a study node fails in a worker process or a Ray task and the
study process reports it), so each one must survive pickling: ``XstiltsError.__reduce__`` rebuilds
any subclass from its ``args`` and attributes without calling its ``__init__``, whatever that
``__init__``'s signature (pickle's default calls ``cls(*args)``, which fails for
``DataFormatError(path, line, message)`` and took a whole process pool down with it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class XstiltsError(Exception):
    """Base class of all user-facing errors (printed as one line by the CLI)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[Exception], args: tuple[Any, ...], attributes: dict[str, Any]) -> Exception:
    error = cls.__new__(cls, *args)  # BaseException.__new__ sets .args; __init__ is not called
    error.args = args
    error.__dict__.update(attributes)
    return error


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


class FieldValueError(ValueError):
    """A validator's complaint about one part of the value it checks: ``subpath`` continues the
    field's path (``columns.label``), so the one-line error names the innermost field."""

    def __init__(self, subpath: str, message: str):
        self.subpath = subpath
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # a ValueError (pydantic wants one), pickled like ours
        return _rebuild, (type(self), self.args, self.__dict__)


class WorkerDiedError(XstiltsError):
    """The process running a node ended without a result (a signal, an OOM kill, a segfault,
    ``os._exit``): the node is failed with this, the other nodes go on."""


class WorkerError(XstiltsError):
    """An exception from a worker that could not travel back as itself (it does not survive
    pickling): its type name and one-line message instead."""

    def __init__(self, type_name: str, message: str):
        self.type_name = type_name
        super().__init__(message)


def decode_error(path: str | Path, error: UnicodeDecodeError) -> DataFormatError:
    """A DataFormatError naming the line of the first byte that is not UTF-8.

    ``error.start`` counts bytes of the chunk the decoder saw, so the line is found again by
    decoding the whole file; a BOM does not shift it.
    """
    try:
        raw = Path(path).read_bytes()
        try:
            raw.decode("utf-8")
            start = error.start
        except UnicodeDecodeError as whole:
            start = whole.start
        line: int | None = raw[:start].count(b"\n") + 1
    except OSError:
        start, line = error.start, None
    return DataFormatError(path, line, f"not UTF-8 text ({error.reason} at byte {start}); save the file as UTF-8")


def one_line(message: object) -> str:
    """A message on one line (continuation lines joined), for printing and for the store."""
    lines = [part.strip() for part in str(message).strip().splitlines() if part.strip()]
    return " | ".join(lines)
