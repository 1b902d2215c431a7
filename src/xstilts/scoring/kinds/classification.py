"""Sentence and sentence-pair classification: one label per line, scored by accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.metrics import classification, per_example, predictions
from xstilts.scoring.kinds.base import KindScorer, gold_field, is_label_only
from xstilts.tasks.types import ClassificationExample, Example, TaskKind, TaskSpec


class ClassificationScorer(KindScorer):
    kinds = (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION)

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        predictions.write_labels(path, predictions_)

    def _gold(self, gold: Sequence[Example], gold_name: str) -> list[str]:
        return [gold_field(example, ClassificationExample, "label", gold_name) for example in gold]

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        labels = self._gold(gold, gold_name)
        return classification.accuracy(labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame:
        labels = self._gold(gold, gold_name)
        return per_example.accuracy_units(labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        return classification.accuracy([ex.label for ex in examples], list(predictions_))

    def is_label_file(self, task: TaskSpec, lang: str, gold: Path) -> bool:
        return is_label_only(gold)

    def score_label_file(self, task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
        """Gold from a label-only file, read like evaluate.py's ``read_label``."""
        labels = predictions.read_labels(gold, labels=task.labels)
        return classification.accuracy(labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))
