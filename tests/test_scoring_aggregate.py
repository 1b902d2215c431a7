"""Task, group and XTREME scores as xtreme's evaluate.py aggregates them."""

from __future__ import annotations

import pytest

from xstilts.scoring.aggregate import aggregate, metric_averages, task_score
from xstilts.tasks.registry import get_task, suite_tasks

XTREME_TASKS = [task.name for task in suite_tasks("xtreme")]

# One constant per task so the expected numbers are easy to compute by hand.
_TASK_VALUE = {"xnli": 80.0, "pawsx": 86.0, "udpos": 72.0, "panx": 64.0, "xquad": 70.0, "mlqa": 60.0,
               "tydiqa": 50.0, "bucc2018": 66.0, "tatoeba": 56.0}


def _language_scores(task: str, value: float) -> dict[str, float]:
    metric = get_task(task).metric.value
    if metric in ("squad", "mlqa"):
        return {"f1": value + 5, "exact_match": value - 15}  # QA score = mean(F1, EM) = value - 5
    if metric in ("pos_f1", "span_f1"):
        return {"f1": value, "precision": 0.0, "recall": 0.0, "accuracy": 99.0}  # F1 counts, not accuracy
    if metric == "bucc_f1":
        return {"f1": value, "precision": 0.0, "recall": 0.0}
    return {"accuracy": value}


def _full_scores() -> dict[str, dict[str, dict[str, float]]]:
    return {task: {lang: _language_scores(task, _TASK_VALUE[task]) for lang in get_task(task).languages}
            for task in XTREME_TASKS}


def test_averages_include_english_and_qa_score_is_mean_of_f1_and_em():
    per_language = {"en": {"f1": 90.0, "exact_match": 80.0}, "de": {"f1": 70.0, "exact_match": 50.0}}
    averages = metric_averages(per_language)
    assert averages == {"exact_match": 65.0, "f1": 80.0}
    assert task_score("xquad", averages) == 72.5


def test_task_score_picks_f1_or_accuracy_by_task():
    averages = {"f1": 60.0, "accuracy": 90.0, "precision": 0.0, "recall": 0.0}
    assert task_score("udpos", averages) == 60.0
    assert task_score("panx", averages) == 60.0
    assert task_score("bucc2018", averages) == 60.0
    assert task_score("xnli", averages) == 90.0
    assert task_score("tatoeba", averages) == 90.0


def test_full_benchmark_gives_groups_and_xtreme_score():
    summary = aggregate(_full_scores())
    task_scores = {task: summary["tasks"][task]["score"] for task in XTREME_TASKS}
    assert task_scores == pytest.approx({**_TASK_VALUE, "xquad": 65.0, "mlqa": 55.0, "tydiqa": 45.0})
    assert summary["groups"] == pytest.approx({"classification": 83.0, "structured_prediction": 68.0,
                                               "question_answering": 55.0, "retrieval": 61.0})
    assert summary["xtreme_score"] == pytest.approx(sum(task_scores.values()) / 9)
    assert summary["tasks"]["xnli"]["missing_languages"] == []


def test_missing_language_or_task_withholds_the_combined_scores():
    scores = _full_scores()
    del scores["pawsx"]["ko"]
    summary = aggregate(scores)
    assert summary["tasks"]["pawsx"]["missing_languages"] == ["ko"]
    assert summary["tasks"]["pawsx"]["score"] == pytest.approx(86.0)  # still reported on its own
    assert summary["groups"]["classification"] is None
    assert summary["groups"]["retrieval"] == pytest.approx(61.0)
    assert summary["xtreme_score"] is None
    relaxed = aggregate(scores, require_all_languages=False)
    assert relaxed["groups"]["classification"] == pytest.approx(83.0)
    del scores["tatoeba"]
    assert aggregate(scores, require_all_languages=False)["xtreme_score"] is None
