"""Row queries: the conditions, the targets and one target's rows, languages and per-run scores,
from the filtered store rows. Rows are keyed by TARGET (a study may evaluate one task twice, e.g.
``panx`` and ``panx2`` on another train slice); what is compared is found from what each condition
trained (``study.comparisons``), never from order names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xstilts.scoring.aggregate import primary_metric, task_score
from xstilts.results.filtering import condition_rows
from xstilts.results.statistics import language_order
from xstilts.study.comparisons import ConditionPath, condition_path
from xstilts.tasks.registry import display_name, suite_tasks


def trainings_of(value: Any) -> list[dict[str, Any]]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def condition_paths(rows: pd.DataFrame) -> dict[str, ConditionPath]:
    """Each condition's stages, from the ``training`` its result rows record."""
    paths: dict[str, ConditionPath] = {}
    for condition, training in condition_rows(rows)[["condition", "training"]].itertuples(index=False):
        if condition not in paths:
            paths[condition] = condition_path(condition, trainings_of(training))
    return paths


def ordered_conditions(paths: Mapping[str, ConditionPath]) -> list[str]:
    """No intermediate stage first, then by number of stages, a mixed stage after its singles."""
    return sorted(paths, key=lambda name: (len(paths[name].stages),
                                           sum(len(stage.data) for stage in paths[name].stages), name))


def baseline_condition(paths: Mapping[str, ConditionPath]) -> str | None:
    """The condition without intermediate training, if the study has one."""
    return next((name for name in ordered_conditions(paths) if not paths[name].stages), None)


def target_task(rows: pd.DataFrame, target: str) -> str:
    return str(rows.loc[rows["target"] == target, "task"].iloc[0])


def ordered_targets(rows: pd.DataFrame) -> list[str]:
    """XTREME's task order, then other tasks; a task's targets in name order."""
    rank = {task.name: index for index, task in enumerate(suite_tasks())}
    pairs = rows[["target", "task"]].drop_duplicates()
    return [target for target, task in sorted(pairs.itertuples(index=False),
                                              key=lambda pair: (rank.get(pair[1], len(rank)), pair[1], pair[0]))]


def target_name(rows: pd.DataFrame, target: str) -> str:
    """``PAN-X``, or ``PAN-X (panx2)`` for a second target of the task."""
    task = target_task(rows, target)
    name = display_name(task)
    return name if target == task else f"{name} ({target})"


def target_rows(rows: pd.DataFrame, target: str, metric: str | None = None, *, trajectory: bool = False
                ) -> pd.DataFrame:
    """The target's rows of one metric (default: its primary metric) on one split; conditions'
    results only, unless ``trajectory`` (then trajectory points too)."""
    chosen = rows if trajectory else condition_rows(rows)
    chosen = chosen[chosen["target"] == target]
    if chosen.empty:
        return chosen
    chosen = chosen[chosen["metric"] == (metric or primary_metric(str(chosen["task"].iloc[0])))]
    splits = sorted(set(chosen["split"]))
    return chosen[chosen["split"] == splits[0]] if splits else chosen


def contaminated_languages(rows: pd.DataFrame, target: str) -> list[str]:
    return contaminated_in(target_rows(rows, target))


def contaminated_in(scores: pd.DataFrame) -> list[str]:
    return sorted(set(scores.loc[scores["contaminated"].astype(bool), "lang"]))


def averaged_languages(rows: pd.DataFrame, target: str, include_contaminated: bool) -> list[str]:
    return averaged_in(target_rows(rows, target), include_contaminated)


def averaged_in(scores: pd.DataFrame, include_contaminated: bool) -> list[str]:
    """The languages of a target's average: all of them, or the clean ones."""
    languages = language_order(scores["lang"])
    if include_contaminated:
        return languages
    dropped = set(contaminated_in(scores))
    return [lang for lang in languages if lang not in dropped]


def target_scores_per_run(rows: pd.DataFrame, target: str, languages: Sequence[str]) -> pd.DataFrame:
    """Per (condition, seed): XTREME's task score over ``languages`` (QA: (mean F1 + mean EM) / 2)."""
    frame = condition_rows(rows)
    frame = frame[(frame["target"] == target) & frame["lang"].isin(languages)]
    split = sorted(set(target_rows(rows, target)["split"]))[:1]
    frame = frame[frame["split"].isin(split)]
    task = target_task(rows, target)
    averages = frame.groupby(["condition", "seed", "metric"]).agg(value=("value", "mean"), n=("lang", "nunique"))
    averages = averages[averages["n"] == len(languages)]["value"].unstack("metric")
    records = []
    for (condition, seed), metrics in averages.iterrows():
        try:
            records.append((condition, seed, task_score(task, metrics.dropna().to_dict())))
        except KeyError:  # a metric of the task score is missing for this run
            continue
    return pd.DataFrame(records, columns=["condition", "seed", "value"])

