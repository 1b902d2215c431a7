"""The contamination guard for ``xstilts evaluate`` on a finished run directory.

``plan`` flags a cell when a training on its model's path read the rows it evaluates; a model
trained outside a study must pass the same guard before it is scored. The path is read from the
runs' own records: ``RUN_DIR/run.json`` holds what the run trained and selected on (a study node:
``{"parent": ID, "tasks": [{"train": ..., "dev": ...}], "config": ...}`` with its parent in the
sibling folder ``ID``; ``xstilts train``: ``{"model": SOURCE, "train": ..., "dev": ..., "config": ...}``
where SOURCE may be an earlier run's model). Parallel sets, shared and derived sets count as in
``xstilts.study.contamination``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xstilts.study.contamination import SELECTED_ON, TRAINED_ON, UsedData, contaminated_cells, footprints
from xstilts.study.data_facts import DataFacts, DataInspector
from xstilts.tasks.selection import DataSelection

RUN_FILE = "run.json"  # xstilts.training.trainer.RUN_FILE (not imported: that pulls in torch)


def run_dir_of(model: str | Path) -> Path | None:
    """The run directory a model belongs to (RUN_DIR or RUN_DIR/model given), None for an encoder."""
    path = Path(str(model))
    for candidate in (path, path.parent):
        if (candidate / RUN_FILE).is_file() and (candidate / "model").is_dir():
            return candidate
    return None


def _record(run_dir: Path) -> dict[str, Any]:
    try:
        record = json.loads((run_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def lineage_records(run_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(run dir, run.json) from the first training down to ``run_dir``."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    current: Path | None = run_dir
    seen: set[Path] = set()
    while current is not None and current not in seen:
        seen.add(current)
        record = _record(current)
        chain.append((current, record))
        if record.get("parent"):
            parent = current.parent / str(record["parent"])
            current = parent if (parent / RUN_FILE).is_file() else None
        elif record.get("model"):
            current = run_dir_of(record["model"])
        else:
            current = None
    return chain[::-1]


def _selection(entry: dict[str, Any]) -> DataSelection:
    return DataSelection(entry["task"], entry.get("lang", "en"), entry.get("split", "train"), entry.get("slice"),
                         tuple(entry.get("files") or ()))


def _facts(selection: DataSelection, entry: dict[str, Any], inspector: DataInspector) -> DataFacts:
    if not selection.files or all(Path(f).is_file() for f in selection.files):
        return inspector.facts(selection)
    # Study records keep file names only, with the files' content hash.
    return DataFacts((), str(entry.get("data") or "unknown"), None, None)


def used_by_run(run_dir: Path, inspector: DataInspector) -> list[UsedData]:
    """What every training from the base model down to ``run_dir`` read, in that order."""
    used: list[UsedData] = []
    for directory, record in lineage_records(run_dir):
        config = record.get("config") or {}
        dev_matters = config.get("select_best", True) or config.get("early_stopping_patience") is not None
        tasks = record.get("tasks") or [{"train": record.get("train"), "dev": record.get("dev")}]
        where = f"run {directory.name}"
        for task in tasks:
            for role, entry, limit in ((TRAINED_ON, task.get("train"), config.get("max_train_examples")),
                                       (SELECTED_ON, task.get("dev"), config.get("max_eval_examples"))):
                if not entry or (role == SELECTED_ON and not dev_matters):
                    continue
                selection = _selection(entry)
                used.append(UsedData(role, selection, footprints(selection, _facts(selection, entry, inspector), limit),
                                     where))
    return used


def contamination_of_run(model: str | Path, task: str, langs: list[str], split: str, eval_slice: str | None,
                         data_dir: Path | None) -> dict[str, str]:
    """Language -> why evaluating ``model`` there scores rows its trainings used ({} when clean,
    or when ``model`` is not a run directory)."""
    run_dir = run_dir_of(model)
    if run_dir is None:
        return {}
    inspector = DataInspector(data_dir)
    evaluated = {}
    for lang in langs:
        selection = DataSelection(task, lang, split, eval_slice)
        evaluated[lang] = footprints(selection, inspector.facts(selection))
    flagged = contaminated_cells(evaluated, used_by_run(run_dir, inspector))
    inspector.save()
    return flagged


def refusal(model: str | Path, task: str, split: str, flagged: dict[str, str]) -> str:
    """The one-line error: the overlap and the two fixes."""
    langs = sorted(flagged)
    first = flagged[langs[0]]
    return (f"{model}: evaluating {task} {split} for {' '.join(langs)} would score rows this model's training "
            f"used ({langs[0]}: {first}); evaluate a labelled test split (--split test) or keep the rows "
            f"disjoint (train/dev slices and --slice), or pass --allow-contaminated to record them as contaminated")
