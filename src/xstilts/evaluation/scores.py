"""Score in-memory predictions against gold examples with the exact XTREME metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xstilts.tasks.types import Example, Metric, TaskKind, TaskSpec


def score_predictions(task: TaskSpec, lang: str, examples: Sequence[Example], predictions: Any) -> dict[str, float]:
    """Metrics (x100) of ``predictions`` in the scorer's format (see KindAdapter.decode)."""
    from xstilts.metrics import classification, qa, tagging

    if task.kind in (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION):
        return classification.accuracy([ex.label for ex in examples], list(predictions))
    if task.kind is TaskKind.MULTIPLE_CHOICE:
        return classification.accuracy([str(ex.label) for ex in examples], [str(p) for p in predictions])
    if task.kind is TaskKind.TAGGING:
        gold = [list(ex.tags) for ex in examples]
        if task.metric is Metric.POS_F1:
            return tagging.pos_metrics(gold, predictions)
        if task.metric is Metric.SPAN_F1:
            return tagging.ner_metrics(gold, predictions)
        flat_gold = [t for sent in gold for t in sent]
        flat_pred = [t for sent in predictions for t in sent]
        return classification.accuracy(flat_gold, flat_pred)
    if task.kind is TaskKind.EXTRACTIVE_QA:
        gold = {ex.guid: [a.text for a in ex.answers] for ex in examples}
        if task.metric is Metric.MLQA:
            return qa.mlqa_metrics(gold, predictions, lang)
        if task.allow_no_answer:
            return qa.squad_v2_metrics(gold, predictions)
        return qa.squad_metrics(gold, predictions)
    if task.kind is TaskKind.MLM:
        from xstilts.metrics.language_model import masked_lm_metrics

        return masked_lm_metrics(predictions["nll_sum"], predictions["correct"], predictions["tokens"])
    raise ValueError(f"{task.name}: retrieval tasks are scored by xstilts.evaluation.retrieval")
