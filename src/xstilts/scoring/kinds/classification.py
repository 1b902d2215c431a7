"""Sentence and sentence-pair classification: one label per line, scored by accuracy, and by
macro F1 beside it when the task's metric is ``f1_macro``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.metrics import classification, per_example, predictions
from xstilts.scoring.kinds.base import KindScorer, gold_field, is_label_only
from xstilts.tasks.types import ClassificationExample, Example, Metric, TaskKind, TaskSpec


def _metrics(task: TaskSpec, gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    scores = classification.accuracy(gold, pred)
    if task.metric is Metric.F1_MACRO:
        scores.update(classification.f1_macro(gold, pred))
    return scores


class ClassificationScorer(KindScorer):
    kinds = (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION)

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        predictions.write_labels(path, predictions_)

    def _gold(self, gold: Sequence[Example], gold_name: str) -> list[str]:
        return [gold_field(example, ClassificationExample, "label", gold_name) for example in gold]

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        labels = self._gold(gold, gold_name)
        return _metrics(task, labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame:
        labels = self._gold(gold, gold_name)
        predicted = predictions.read_labels(pred, labels=task.labels, count=len(labels))
        units = per_example.accuracy_units(labels, predicted)
        if task.metric is Metric.F1_MACRO:
            units = pd.concat([units, per_example.f1_macro_units(labels, predicted)], axis=1)
        return units

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        return _metrics(task, [ex.label for ex in examples], list(predictions_))

    def is_label_file(self, task: TaskSpec, lang: str, gold: Path) -> bool:
        return is_label_only(gold)

    def score_label_file(self, task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
        """Gold from a label-only file, read like evaluate.py's ``read_label``."""
        labels = predictions.read_labels(gold, labels=task.labels)
        return _metrics(task, labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))
