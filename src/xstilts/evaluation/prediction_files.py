"""Where and in which XTREME prediction format evaluation writes its predictions.

Layout: ``PRED_DIR/{task}/{split}-{lang}.{tsv|json}``, the layout ``xstilts score-folder`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.metrics import predictions as formats
from xstilts.tasks.types import TaskKind, TaskSpec


def prediction_path(task: TaskSpec, pred_dir: Path, split: str, lang: str) -> Path:
    suffix = "json" if task.kind is TaskKind.EXTRACTIVE_QA else "tsv"
    return Path(pred_dir) / task.name / f"{split}-{lang}.{suffix}"


def write_predictions(task: TaskSpec, pred_dir: Path, split: str, lang: str, predictions: Any) -> Path:
    path = prediction_path(task, pred_dir, split, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    if task.kind in (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION):
        formats.write_labels(path, predictions)
    elif task.kind is TaskKind.MULTIPLE_CHOICE:
        formats.write_indices(path, predictions)
    elif task.kind is TaskKind.TAGGING:
        formats.write_tag_sentences(path, predictions)
    elif task.kind is TaskKind.EXTRACTIVE_QA:
        formats.write_qa_predictions(path, predictions)
    elif task.name == "bucc2018":
        formats.write_id_pairs(path, predictions)
    else:
        formats.write_indices(path, predictions)
    return path
