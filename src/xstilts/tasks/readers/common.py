"""Helpers shared by the readers: line iteration, JSON lines, column lookup and label checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from xstilts.errors import DataFormatError, decode_error

# Every reader, by function name (what a layout's ``reader`` names); filled by ``@reader``.
READERS: dict[str, Callable] = {}


def reader(*, labels: bool = False, companions: bool = False) -> Callable[[Callable], Callable]:
    """Register a reader and what it needs. ``labels``: it takes the task's label set and rejects
    anything outside it; ``companions``: it also opens files next to its path (an English side, a
    gold or label file, the other pool languages), so its results are not cached by path."""
    def register(function: Callable) -> Callable:
        function.takes_labels = labels
        function.reads_companions = companions
        READERS[function.__name__] = function
        return function
    return register



def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without its line ending); a UTF-8 BOM is dropped."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise decode_error(path, error) from None


def json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line of a JSON-lines file."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, number, f"expected one JSON object per line ({error.msg})") from None
        if not isinstance(row, dict):
            raise DataFormatError(path, number, f"expected a JSON object, found {type(row).__name__}")
        yield number, row


def field(row: dict, key: str, path: Path, line: int | None) -> object:
    """``row[key]``, or a DataFormatError naming the missing field."""
    if key not in row:
        raise DataFormatError(path, line, f"missing field {key!r} (fields: {', '.join(map(str, row))})")
    return row[key]


def text_field(row: dict, key: str, path: Path, line: int | None) -> str:
    value = field(row, key, path, line)
    if not isinstance(value, str):
        raise DataFormatError(path, line, f"field {key!r} should be a string, found {type(value).__name__}")
    return value


def column_index(column: int | str, header: Sequence[str] | None, path: Path) -> int:
    """Resolve a layout's column option (an index, or a header name when the file has a header)."""
    if isinstance(column, int):
        return column
    if header is None:
        raise DataFormatError(path, 1, f"column {column!r} is named but the layout declares no header row")
    if column not in header:
        raise DataFormatError(path, 1, f"header has no column {column!r}; columns: {', '.join(header)}")
    return list(header).index(column)


class LabelNormalizer:
    """Maps a file's label spelling onto the task's label set and rejects anything else."""

    def __init__(self, label_map: Sequence[tuple[str, str]] = (), labels: Sequence[str] | None = None):
        self.label_map = dict(label_map)
        self.labels = frozenset(labels) if labels is not None else None
        self._expected = " ".join(labels) if labels is not None else ""

    def __call__(self, raw: object, path: Path, line: int | None) -> str:
        label = self.label_map.get(str(raw), str(raw))
        if self.labels is not None and label not in self.labels:
            raise DataFormatError(path, line, f"unknown label {raw!r}; expected one of {self._expected}")
        return label


def choice_index(letter: str, letters: Sequence[str], path: Path, line: int) -> int:
    """Index of an answer key such as "B" among the choice letters."""
    if letter not in letters:
        raise DataFormatError(path, line, f"answer key {letter!r} is not one of {' '.join(letters)}")
    return list(letters).index(letter)
