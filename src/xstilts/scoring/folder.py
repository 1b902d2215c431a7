"""Scoring a whole prediction folder like xtreme's evaluate.py: per language, task, group and suite."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, MissingDataError
from xstilts.scoring import aggregate
from xstilts.scoring.kinds import scorer_for
from xstilts.scoring.score import score_examples, score_file
from xstilts.tasks.load import load_examples, locate
from xstilts.tasks.registry import DEFAULT_SUITE, all_tasks
from xstilts.tasks.types import TaskSpec

_PREDICTION_NAME = re.compile(r"(?P<split>[a-z]+)-(?P<lang>[a-z]{2,3})\.(?P<suffix>tsv|json)")


def score_folder(pred_dir: Path, gold_dir: Path, *, require_all_languages: bool = True,
                 suite: str = DEFAULT_SUITE) -> dict[str, Any]:
    """Score every prediction file of the layout above and aggregate like xtreme's evaluate.py
    under ``suite``'s rules (its tasks, their languages in it, groups, score).

    Returns ``aggregate.aggregate``'s dict plus, per task, ``split`` and ``files``, and a top-level
    ``ignored_files`` (files that are not an official language's prediction of a registered task).
    """
    pred_dir, gold_dir = Path(pred_dir), Path(gold_dir)
    if not pred_dir.is_dir():
        raise MissingDataError(f"{pred_dir}: prediction folder not found")
    tasks = {task.name: task for task in all_tasks()}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    details: dict[str, dict[str, Any]] = {}
    ignored: list[str] = []
    for folder in sorted(path for path in pred_dir.iterdir() if path.is_dir()):
        if folder.name not in tasks:
            ignored.append(str(folder))
            continue
        task = tasks[folder.name]
        files, skipped = _prediction_files(task, folder)
        ignored.extend(skipped)
        if not files:
            continue
        split = _single_split(folder, files)
        scores[task.name] = {lang: _score_language(task, lang, split, gold_dir, path)
                             for (_, lang), path in sorted(files.items())}
        details[task.name] = {"split": split, "files": {lang: str(path) for (_, lang), path in sorted(files.items())}}
    if not scores:
        raise MissingDataError(f"{pred_dir}: no prediction files found (expected TASK/SPLIT-LANG.tsv or .json, "
                               "e.g. xnli/test-de.tsv)")
    summary = aggregate.aggregate(scores, require_all_languages=require_all_languages, suite=suite)
    for name, extra in details.items():
        summary["tasks"][name].update(extra)
    summary["ignored_files"] = ignored
    summary["suite"] = suite
    return summary


def _prediction_files(task: TaskSpec, folder: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """{(split, lang): path} of the official languages' prediction files, and the other files."""
    found: dict[tuple[str, str], Path] = {}
    skipped: list[str] = []
    for path in sorted(folder.iterdir()):
        match = _PREDICTION_NAME.fullmatch(path.name)
        if (match and path.is_file() and match["lang"] in task.languages
                and match["suffix"] == scorer_for(task).file_suffix(task)):
            found[(match["split"], match["lang"])] = path
        else:
            skipped.append(str(path))
    return found, skipped


def _single_split(folder: Path, files: dict[tuple[str, str], Path]) -> str:
    splits = sorted({split for split, _ in files})
    if len(splits) > 1:
        raise ConfigError(f"{folder}: predictions for several splits ({', '.join(splits)}); "
                          "keep one split per task folder")
    return splits[0]


def label_file(task: TaskSpec, lang: str, split: str, gold_dir: Path) -> Path | None:
    """XTREME's label-folder file ``GOLD_DIR/TASK/SPLIT-LANG.tsv|json`` when there is one."""
    path = Path(gold_dir) / task.name / f"{split}-{lang}.{scorer_for(task).file_suffix(task)}"
    return path if path.is_file() else None


def _score_language(task: TaskSpec, lang: str, split: str, gold_dir: Path, pred: Path) -> dict[str, float]:
    labels = label_file(task, lang, split, gold_dir)
    if labels is not None:
        return score_file(task.name, lang, labels, pred)
    _, gold_files = locate(task, lang, split, gold_dir)
    gold_name = str(gold_files[0]) if len(gold_files) == 1 else f"{task.name} {split} {lang} gold under {gold_dir}"
    return score_examples(task, lang, load_examples(task, lang, split, gold_dir), gold_name, pred)
