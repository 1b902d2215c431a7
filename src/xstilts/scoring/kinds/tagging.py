"""Tagging: one tag per word per line, a blank line between sentences. UD-POS and PAN-X report
chunk F1 (XTREME's seqeval 0.0.12 semantics) with token accuracy; other tag sets token accuracy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.metrics import per_example, predictions, tagging
from xstilts.scoring.kinds.base import KindScorer, gold_field, is_label_only
from xstilts.tasks.types import Example, Metric, TaggingExample, TaskKind, TaskSpec

Sentences = Sequence[Sequence[str]]

# Metrics that count chunks (and token accuracy beside them); any other tagging metric is token accuracy.
CHUNK_METRICS: dict[Metric, Callable[[Sentences, Sentences], dict[str, float]]] = {
    Metric.POS_F1: tagging.pos_metrics, Metric.SPAN_F1: tagging.ner_metrics,
}


def _metrics(task: TaskSpec, gold: Sentences, pred: Sentences) -> dict[str, float]:
    if task.metric in CHUNK_METRICS:
        return CHUNK_METRICS[task.metric](gold, pred)
    return {"accuracy": tagging.token_accuracy(gold, pred) * 100}


class TaggingScorer(KindScorer):
    kinds = (TaskKind.TAGGING,)

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        predictions.write_tag_sentences(path, predictions_)

    def _read(self, task: TaskSpec, gold: Sequence[Example], gold_name: str, pred: Path) -> tuple[list, list]:
        sentences = [list(gold_field(example, TaggingExample, "tags", gold_name)) for example in gold]
        return sentences, predictions.read_tag_sentences(pred, labels=task.labels, lengths=[len(s) for s in sentences])

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        return _metrics(task, *self._read(task, gold, gold_name, pred))

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame:
        units = per_example.tagging_units(*self._read(task, gold, gold_name, pred))
        return units if task.metric in CHUNK_METRICS else units[["accuracy_num", "accuracy_den"]]

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        return _metrics(task, [list(ex.tags) for ex in examples], predictions_)

    def is_label_file(self, task: TaskSpec, lang: str, gold: Path) -> bool:
        return is_label_only(gold)

    def score_label_file(self, task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
        """Gold from a tag-only file, read like evaluate.py's ``read_tag``."""
        sentences = predictions.read_tag_sentences(gold, labels=task.labels)
        predicted = predictions.read_tag_sentences(pred, labels=task.labels, lengths=[len(s) for s in sentences])
        return _metrics(task, sentences, predicted)
