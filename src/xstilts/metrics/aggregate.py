"""From per-language scores to task, group and XTREME scores, as xtreme's evaluate.py does.

* A task's average of a metric is the plain mean over its scored languages, English included.
* A task's score: mean F1 for span/chunk/pair-F1 tasks (UD-POS, PAN-X, BUCC), mean accuracy for
  XNLI, PAWS-X and Tatoeba, and (mean F1 + mean EM) / 2 for the QA tasks.
* A group score is the mean of its tasks' scores when all of them are scored (``GROUPS``).
* The XTREME score is the unweighted mean of the nine target tasks' scores, only when all nine
  are scored; otherwise None.

XTREME's scorer reads a file for every official language of a task. Here a task counts as scored
for group/XTREME scores only when all its official languages are present, unless
``require_all_languages=False`` (then any scored language makes the task count: the numbers are
then not comparable with published XTREME scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xstilts.tasks.registry import GROUPS, TARGET_TASKS, get_task
from xstilts.tasks.types import Metric

LanguageScores = Mapping[str, Mapping[str, float]]  # language -> metric name -> value

_QA_METRICS = (Metric.SQUAD, Metric.MLQA)
_F1_METRICS = (Metric.POS_F1, Metric.SPAN_F1, Metric.BUCC_F1)


# Metrics where a smaller value is the better model.
LOWER_IS_BETTER = frozenset({"perplexity"})


def primary_metric(task: str) -> str:
    """The one metric that ranks models on ``task``: model selection, tables (QA: F1; MLM: perplexity)."""
    metric = get_task(task).metric
    if metric is Metric.PERPLEXITY:
        return "perplexity"
    return "accuracy" if metric in (Metric.ACCURACY, Metric.TATOEBA_ACCURACY) else "f1"


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def metric_averages(per_language: LanguageScores) -> dict[str, float]:
    """Mean of every metric over the languages that report it."""
    names = {name for scores in per_language.values() for name in scores}
    return {name: _mean([scores[name] for scores in per_language.values() if name in scores])
            for name in sorted(names)}


def task_score(task: str, averages: Mapping[str, float]) -> float:
    """The single number XTREME reports for ``task`` given its metric averages."""
    metric = get_task(task).metric
    if metric in _QA_METRICS:
        return (averages["f1"] + averages["exact_match"]) / 2
    return averages["f1"] if metric in _F1_METRICS else averages["accuracy"]


def _task_summary(task: str, per_language: LanguageScores) -> dict[str, Any]:
    averages = metric_averages(per_language)
    official = get_task(task).languages
    return {
        "languages": {lang: dict(scores) for lang, scores in per_language.items()},
        "average": averages,
        "score": task_score(task, averages),
        "missing_languages": [lang for lang in official if lang not in per_language],
    }


def aggregate(scores: Mapping[str, LanguageScores], *, require_all_languages: bool = True) -> dict[str, Any]:
    """Summarise ``scores`` (task -> language -> metric -> value, x100).

    Returns ``{"tasks": {task: {"languages", "average", "score", "missing_languages"}},
    "groups": {group: score or None}, "xtreme_score": score or None}``.
    """
    tasks = {task: _task_summary(task, per_language) for task, per_language in scores.items() if per_language}
    counted = {task: summary["score"] for task, summary in tasks.items()
               if not (require_all_languages and summary["missing_languages"])}
    groups = {group: _mean_if_all(counted, members) for group, members in GROUPS.items()}
    return {"tasks": tasks, "groups": groups, "xtreme_score": _mean_if_all(counted, TARGET_TASKS)}


def _mean_if_all(task_scores: Mapping[str, float], tasks: tuple[str, ...]) -> float | None:
    if any(task not in task_scores for task in tasks):
        return None
    return _mean([task_scores[task] for task in tasks])


def _mean(values: list[float]) -> float:
    # sum / len rather than statistics.fmean, to match the reference's floating-point result.
    return sum(values) / len(values)
