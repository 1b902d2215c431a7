"""Stage trajectories: a target's score after each stage of every order, per seed and summarised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import target_rows, trainings_of


def stage_trajectories(rows: pd.DataFrame, target: str, languages: Sequence[str],
                       conditions: Sequence[str]) -> pd.DataFrame:
    """For every condition with stages: the target's score (mean over ``languages``) after 0, 1, ...
    of its stages, per seed: the evaluations of the models after each prefix of the condition
    (trajectory points, or another condition's result when a shorter order is that prefix)."""
    scores = target_rows(rows, target, trajectory=True)
    scores = scores[scores["lang"].isin(languages)]
    per_model: dict[tuple[tuple[str, ...], Any], tuple[float, str]] = {}
    for (training, seed), part in scores.groupby([scores["training"].map(_stage_nodes), "seed"]):
        if part["lang"].nunique() == len(languages):
            per_model[(training, seed)] = (float(part.groupby("lang")["value"].first().mean()),
                                           str(part["eval_node"].iloc[0]))
    final = condition_rows(scores)
    records = []
    for condition in conditions:
        one = final[final["condition"] == condition]
        for seed, part in one.groupby("seed"):
            stages = [t for t in trainings_of(part["training"].iloc[0]) if not t.get("is_target")]
            if not stages:
                continue
            nodes = tuple(stage["node"] for stage in stages)
            for after in range(len(stages) + 1):
                found = per_model.get((nodes[:after], seed))
                if found is not None:
                    label = "none" if after == 0 else stages[after - 1]["label"]
                    records.append((condition, seed, after, label, *found))
    return pd.DataFrame(records, columns=["order", "seed", "after_stages", "stage", "value", "eval_node"])


def _stage_nodes(training: Any) -> tuple[str, ...]:
    return tuple(t["node"] for t in trainings_of(training) if not t.get("is_target"))


def trajectory_summary(points: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and number of seeds per (order, stages done); no std where every seed has
    the same evaluation (the untrained encoder)."""
    if points.empty:
        return pd.DataFrame(columns=["order", "after_stages", "stage", "mean", "std", "seeds"])
    summary = points.groupby(["order", "after_stages", "stage"], sort=False).agg(
        mean=("value", "mean"), std=("value", "std"), seeds=("value", "size"),
        evaluations=("eval_node", "nunique")).reset_index()
    summary.loc[summary["evaluations"] == 1, "std"] = float("nan")
    return summary.drop(columns="evaluations")

