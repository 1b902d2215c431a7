"""The contamination guard for ``xstilts evaluate`` on a finished run directory.

``plan`` flags a cell when a training on its model's path read the rows it evaluates; a model
trained outside a study must pass the same guard before it is scored. The path is read from the
runs' own records (``run.json``, one format for study nodes and ``xstilts train``:
``xstilts.modeling.reference``), parent by parent. Parallel sets, shared and derived sets count
as in ``xstilts.study.contamination``; a dev set counts as the plan counts it (``dev_selects``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.modeling.run_folders import run_dir_of, run_lineage
from xstilts.study.contamination import SELECTED_ON, TRAINED_ON, UsedData, contaminated_cells, footprints
from xstilts.study.data_facts import DataFacts, DataInspector
from xstilts.tasks.selection import DataSelection
from xstilts.training.config import dev_selects


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
    for directory, record in run_lineage(run_dir):
        config = record.get("config") or {}
        selecting = dev_selects(config)
        where = f"run {directory.name}"
        for task in record.get("tasks") or []:
            for role, entry, limit in ((TRAINED_ON, task.get("train"), config.get("max_train_examples")),
                                       (SELECTED_ON, task.get("dev"), config.get("max_eval_examples"))):
                if not entry or (role == SELECTED_ON and not selecting):
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
