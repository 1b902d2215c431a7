"""What a data selection reads: its files, their content hash and how many examples they hold.

Planning needs these facts without training anything: the content hash goes into the identity
of every node that reads the data, the example count resolves slices for the contamination
guard and the cost estimate. Data that is not on disk is reported, not fatal: its hash is
``missing`` and its count unknown, so a study can be planned before its data is downloaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import xstilts.tasks as tasks_package
from xstilts.errors import MissingDataError, XstiltsError
from xstilts.study.file_cache import FileFacts
from xstilts.study.hashing import MISSING, files_sha256
from xstilts.tasks.declared import row_content_hash
from xstilts.tasks.load import has_gold, load_examples, locate
from xstilts.tasks.registry import get_task
from xstilts.tasks.slices import slice_range
from xstilts.tasks.types import RetrievalSet, TaskSpec
from xstilts.tasks.selection import DataSelection

# Stands in for the row count of a file that is not on disk when a slice has absolute bounds.
UNBOUNDED = 2**62


@dataclass(frozen=True)
class DataFacts:
    """One (task, language, split) or explicit file list, whole (before any slice)."""

    files: tuple[Path, ...]
    sha256: str  # MISSING when the data is not on disk
    rows: int | None  # examples; None when missing
    units: int | None  # what inference cost scales with: examples, or sentences of a retrieval set
    missing: str | None = None  # why the data is not there
    # Hash of the parsed examples: a reader change that alters them makes new node ids, one that
    # does not keeps them. None when missing.
    examples: str | None = None
    labelled: bool = False  # whether the examples carry gold (blanked test sets do not)
    # Per row, a hash of its content (``row_content_hash``), for tasks whose rows are compared by
    # content (``DataRelations.content_rows``: tasks declared in a study file); else None.
    row_hashes: tuple[str, ...] | None = None

    @property
    def present(self) -> bool:
        return self.missing is None


def estimated_examples(selection: DataSelection, rows: int | None, limit: int | None) -> int | None:
    """Training examples a selection yields; the reference size stands in for missing data."""
    if rows is None and not selection.files:
        rows = get_task(selection.task).data.reference_rows(selection.split)
    selected = selected_rows(selection.slice, rows, limit)
    if selected is None or selected.stop >= UNBOUNDED:
        return None
    return len(selected)


def selected_rows(slice_spec: str | None, rows: int | None, limit: int | None = None) -> range | None:
    """The rows a slice (then a "first N" limit) selects. Without a row count only absolute bounds
    are known ("[:1245]", "[1245:]" runs to UNBOUNDED); percentages or negative bounds give None."""
    if rows is None:
        if slice_spec and ("%" in slice_spec or "-" in slice_spec):
            return None
        rows = UNBOUNDED
    selected = slice_range(slice_spec, rows)
    return selected[:limit] if limit else selected


class DataInspector:
    """Looks selections up under one data directory; facts are memoised and cached on disk."""

    def __init__(self, data_dir: Path | None, cache: FileFacts | None = None):
        self.data_dir = data_dir
        self.cache = cache or FileFacts()
        self._seen: dict[tuple, DataFacts] = {}

    def facts(self, selection: DataSelection) -> DataFacts:
        key = (selection.task, selection.lang, selection.split, selection.files)
        if key not in self._seen:
            self._seen[key] = self._inspect(selection)
        return self._seen[key]

    def save(self) -> None:
        self.cache.save()

    def _inspect(self, selection: DataSelection) -> DataFacts:
        task = get_task(selection.task)
        try:
            files = self._files(task, selection)
            # Keyed by the readers' source too: edited reader code re-parses (then the fingerprint
            # tells whether the examples changed).
            # A declared task's meaning (columns, labels) is not code: its hash keys the parse too.
            declared = f"|{task.declaration_hash}" if task.declaration_hash else ""
            rows, units, fingerprint, labelled, *row_hashes = self.cache.get(
                "examples", files,
                f"{task.name}|{selection.lang}|{selection.split}|{reader_code_hash()}{declared}",
                lambda: self._count(task, selection))
        except MissingDataError as error:
            return DataFacts((), MISSING, None, None, missing=str(error))
        return DataFacts(tuple(files), files_sha256(files, self.cache), rows, units, examples=fingerprint,
                         labelled=labelled, row_hashes=tuple(row_hashes[0]) if row_hashes else None)

    def _files(self, task: TaskSpec, selection: DataSelection) -> list[Path]:
        if selection.files:
            paths = [Path(f) for f in selection.files]
            absent = [str(p) for p in paths if not p.is_file()]
            if absent:
                raise MissingDataError(f"{selection.describe()}: no such file {absent[0]}")
            return paths
        if self.data_dir is None and task.needs_data_dir:
            raise MissingDataError(f"{selection.describe()}: no data directory (set data_dir or XSTILTS_DATA)")
        if task.components:
            # ANLI+ reads its components' files one after the other.
            parts = [DataSelection(name, selection.lang, selection.split) for name in task.components]
            return [path for part in parts for path in self._files(get_task(part.task), part)]
        return locate(task, selection.lang, selection.split, self.data_dir)[1]

    def _count(self, task: TaskSpec, selection: DataSelection) -> list[int | str | bool]:
        files = [Path(f) for f in selection.files] or None
        try:
            examples = load_examples(task, selection.lang, selection.split, self.data_dir, files=files)
        except XstiltsError as error:
            # Unreadable data is the data checker's business; here it only leaves the count unknown.
            raise MissingDataError(f"{selection.describe()}: {error}") from None
        units = sum(len(ex.source) + len(ex.target) if isinstance(ex, RetrievalSet) else 1 for ex in examples)
        facts = [len(examples), units, examples_fingerprint(examples), has_gold(examples)]
        if task.data.content_rows:
            facts.append([row_content_hash(example) for example in examples])
        return facts


def examples_fingerprint(examples: list) -> str:
    """sha256 over the examples' reprs (frozen dataclasses: every field, in order)."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(repr(example).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def reader_code_hash() -> str:
    """Hash of the source of the modules that turn files into examples (readers, task files)."""
    root = Path(tasks_package.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("*.py"), *root.glob("readers/*.py"), *root.glob("catalog/*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
