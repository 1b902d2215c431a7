"""From per-language scores to task, group and suite scores, as xtreme's evaluate.py does.

* A task's average of a metric is the plain mean over its scored languages, English included;
  for a task of the suite, over the suite's languages of it (``TaskSpec.suite_languages``).
* Task, group and suite scores follow the suite's rules (``xstilts.tasks.suites``; XTREME's: a
  task's score is its primary metric's average, (mean F1 + mean EM) / 2 for QA; a group score and
  the XTREME score are means over all their tasks, defined only when all of them are scored).

XTREME's scorer reads a file for every official language of a task. Here a task counts as scored
for group/suite scores only when all its official languages are present, unless
``require_all_languages=False`` (then any scored language makes the task count: the numbers are
then not comparable with published XTREME scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xstilts.tasks.registry import DEFAULT_SUITE, get_suite, get_task, suite_tasks
from xstilts.tasks.suites import mean

__all__ = ["aggregate", "metric_averages", "primary_metric", "task_score"]

LanguageScores = Mapping[str, Mapping[str, float]]  # language -> metric name -> value


def primary_metric(task: str) -> str:
    """The one metric that ranks models on ``task`` (``TaskSpec.primary_metric``)."""
    return get_task(task).primary_metric


def metric_averages(per_language: LanguageScores) -> dict[str, float]:
    """Mean of every metric over the languages that report it."""
    names = {name for scores in per_language.values() for name in scores}
    return {name: mean([scores[name] for scores in per_language.values() if name in scores])
            for name in sorted(names)}


def task_score(task: str, averages: Mapping[str, float], suite: str = DEFAULT_SUITE) -> float:
    """The single number the suite reports for ``task`` given its metric averages."""
    return get_suite(suite).task_score(get_task(task), averages)


def _task_summary(task: str, per_language: LanguageScores, suite: str) -> dict[str, Any]:
    spec = get_task(task)
    official = spec.suite_languages(suite)
    # A member task averages over the suite's languages only (PAN-X: XTREME's 40 of its 48).
    counted = {lang: scores for lang, scores in per_language.items() if lang in official}
    averages = metric_averages(counted if spec.member_of(suite) is not None and counted else per_language)
    return {
        "languages": {lang: dict(scores) for lang, scores in per_language.items()},
        "average": averages,
        "score": task_score(task, averages, suite),
        "missing_languages": [lang for lang in official if lang not in per_language],
    }


def aggregate(scores: Mapping[str, LanguageScores], *, require_all_languages: bool = True,
              suite: str = DEFAULT_SUITE) -> dict[str, Any]:
    """Summarise ``scores`` (task -> language -> metric -> value, x100) under ``suite``'s rules.

    Returns ``{"tasks": {task: {"languages", "average", "score", "missing_languages"}},
    "groups": {group: score or None}, "xtreme_score": score or None}`` (the suite's score; the
    key keeps its name for every suite).
    """
    rules = get_suite(suite)
    members = suite_tasks(suite)
    tasks = {task: _task_summary(task, per_language, suite) for task, per_language in scores.items() if per_language}
    counted = {task: summary["score"] for task, summary in tasks.items()
               if not (require_all_languages and summary["missing_languages"])}
    return {"tasks": tasks, "groups": rules.group_scores(members, counted), "xtreme_score": rules.score(members, counted)}
