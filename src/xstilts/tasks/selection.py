"""Which rows of which files a training or an evaluation reads: ``DataSelection``.

A selection names a task, a language, a split and optionally a slice of its rows or explicit
files (translated or native data of the user's). It is recorded with every result, hashed into
node identities and compared by the contamination guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xstilts.errors import ConfigError
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import check_language, get_task
from xstilts.tasks.slices import apply_slice
from xstilts.tasks.types import Example, TaskSpec


@dataclass(frozen=True)
class DataSelection:
    """Which rows of which files a stage uses; recorded with every result."""

    task: str
    lang: str = "en"
    split: str = "train"
    slice: str | None = None
    files: tuple[str, ...] = ()

    def describe(self) -> str:
        where = ",".join(self.files) if self.files else f"{self.split}-{self.lang}"
        return f"{self.task}:{where}{self.slice or ''}"

    def record(self) -> dict[str, object]:
        """The selection as run.json and result rows record it."""
        return {"task": self.task, "lang": self.lang, "split": self.split, "slice": self.slice, "files": list(self.files)}


def stage_selections(task: TaskSpec, *, lang: str = "en", split: str = "train", train_slice: str | None = None,
                     files: tuple[str, ...] = (), dev: bool = True, dev_lang: str = "en", dev_split: str = "dev",
                     dev_slice: str | None = None, dev_files: tuple[str, ...] = ()
                     ) -> tuple[DataSelection, DataSelection | None]:
    """What one task of a training reads: its training rows, and the dev rows that select its
    checkpoint (English dev by default; None without a dev set).

    A corpus without a dev split (masked LM, ``TaskSpec.held_out_percent``) measures dev on a
    held-out share of the same lines: the last N % unless slices are given.
    """
    if task.held_out_percent:
        cut = 100 - task.held_out_percent
        train = DataSelection(task.name, lang, split, train_slice or (f"[:{cut}%]" if dev else None), tuple(files))
        held_out = DataSelection(task.name, lang, split, dev_slice or f"[{cut}%:]", tuple(files)) if dev else None
        return train, held_out
    train = DataSelection(task.name, lang, split, train_slice, tuple(files))
    return train, DataSelection(task.name, dev_lang, dev_split, dev_slice, tuple(dev_files)) if dev else None


def load_selection(selection: DataSelection, data_dir: Path | None) -> list[Example]:
    task = get_task(selection.task)
    lang = check_language(task, selection.lang)
    files = [Path(f) for f in selection.files] or None
    if files is None and data_dir is None and task.needs_data_dir:
        raise ConfigError(f"{selection.task}: no data directory given (--data DIR) and no explicit files")
    examples = load_examples(task, lang, selection.split, data_dir, files=files)
    return apply_slice(examples, selection.slice)
