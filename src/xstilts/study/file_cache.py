"""Facts computed from data files (content hashes, example counts), cached per (path, size, mtime).

Planning a study hashes and counts every file its stages and targets read. Those facts only
change when a file changes, so they are kept in one small JSON file under the user cache and
looked up by the file's resolved path, size and modification time: an edited file is re-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xstilts.files import write_text_atomic
from xstilts.paths import cache_dir

CACHE_FILE = "file-facts.json"


def cache_file() -> Path:
    return cache_dir() / "study" / CACHE_FILE


def file_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class FileFacts:
    """A persistent map from (kind of fact, files, extra key) to a JSON value."""

    def __init__(self, path: Path | None = None):
        self.path = path or cache_file()
        self._facts: dict[str, Any] | None = None
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        if self._facts is None:
            try:
                self._facts = json.loads(self.path.read_text())
            except (OSError, ValueError):
                # A missing or damaged cache is rebuilt, never an error.
                self._facts = {}
        return self._facts

    def get(self, kind: str, files: Sequence[Path], extra: str, compute: Callable[[], Any]) -> Any:
        key = "||".join([kind, extra, *(file_key(f) for f in files)])
        facts = self._load()
        if key not in facts:
            facts[key] = compute()
            self._dirty = True
        return facts[key]

    def save(self) -> None:
        """Write the cache (atomically: parallel planners may lose an entry, never corrupt the file)."""
        if not self._dirty or self._facts is None:
            return
        write_text_atomic(self.path, json.dumps(self._facts, sort_keys=True))
        self._dirty = False
