"""The primary contrasts under a sequential seed design, from the filtered store rows.

A primary contrast (target, A, B) is the report's: the per-seed difference of the two conditions'
means over the target's averaged languages (``report.rows``). ``look_decisions`` decides one look
for the contrasts still undecided (what ``xstilts run`` records after each look);
``sequential_outcome`` follows a contrast through every look (the recorded decisions first) for the
report, whose numbers are then those of the look where the contrast stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import averaged_in, target_rows
from xstilts.results.sequential.design import Boundaries
from xstilts.results.sequential.outcome import SequentialOutcome, analyse_sequence, decide_look
from xstilts.results.sequential.planning import plan_bounds, plan_contrasts
from xstilts.results.sequential.record import DecisionRecord, Key
from xstilts.results.statistics import paired_seed_scores
from xstilts.study.plan import Plan


@dataclass(frozen=True)
class SequentialSetting:
    """What the report needs of a sequential design: its boundaries, the study's seed order and
    the decisions a run recorded (look -> decision, per contrast)."""

    bounds: Boundaries
    seed_order: tuple[int, ...]
    recorded: Mapping[Key, Mapping[int, str]] = field(default_factory=dict)


def study_setting(plan: Plan) -> SequentialSetting:
    """The report's view of a study's sequential design and the decisions its run recorded (a
    record of another design is refused in one line)."""
    bounds = plan_bounds(plan)
    record = DecisionRecord.open(plan.study.output_dir, bounds, plan.study.seeds, plan_contrasts(plan))
    return SequentialSetting(bounds, tuple(plan.study.seeds), record.decided())


@dataclass(frozen=True)
class Differences:
    """One primary contrast's per-seed differences A - B and the rows (eval ids) behind each seed."""

    task: str
    languages: tuple[str, ...]
    values: dict[int, float]
    rows: dict[int, list[str]]
    runs: dict[int, tuple[float, float]] = field(default_factory=dict)  # per seed: A's and B's scores


def seed_differences(scores: pd.DataFrame, a: str, b: str, languages: Sequence[str]) -> Differences:
    """Per seed where both conditions have every language: mean(A) - mean(B) over ``languages``."""
    seeds, values_a, values_b = paired_seed_scores(scores, a, b, languages)
    differences = values_a.mean(axis=1) - values_b.mean(axis=1) if seeds else []
    rows: dict[int, list[str]] = {}
    if "eval_id" in scores:
        wanted, chosen = set(seeds), {a, b}
        allowed = set(languages)
        for condition, seed, lang, eval_id in zip(scores["condition"].to_numpy(), scores["seed"].to_numpy(),
                                                  scores["lang"].to_numpy(), scores["eval_id"].to_numpy()):
            if condition in chosen and lang in allowed and not pd.isna(seed) and int(seed) in wanted:
                rows.setdefault(int(seed), []).append(str(eval_id))
    task = str(scores["task"].iloc[0]) if len(scores) else ""
    runs = {int(seed): (float(a), float(b)) for seed, a, b in zip(seeds, values_a.mean(axis=1), values_b.mean(axis=1))} \
        if seeds else {}
    return Differences(task, tuple(languages), {int(s): float(d) for s, d in zip(seeds, differences)},
                       {seed: sorted(set(ids)) for seed, ids in rows.items()}, runs)


# What the contrasts read of a row (the rest, e.g. the trainings' JSON, is only copied around).
_COLUMNS = ("target", "task", "metric", "split", "role", "condition", "seed", "lang", "value", "contaminated", "eval_id")


def primary_differences(rows: pd.DataFrame, contrasts: Sequence[Key], include_contaminated: bool = False
                        ) -> dict[Key, Differences]:
    """Every listed contrast's per-seed differences (contrasts whose target has no rows left out)."""
    found: dict[Key, Differences] = {}
    conditions = condition_rows(rows)
    conditions = conditions[[column for column in _COLUMNS if column in conditions]]
    by_target = dict(tuple(conditions.groupby("target", sort=False)))
    wanted: dict[str, list[Key]] = {}
    for key in contrasts:
        wanted.setdefault(key[0], []).append(key)
    for target, keys in wanted.items():
        if target not in by_target:
            continue
        scores = target_rows(by_target[target], target)
        languages = averaged_in(scores, include_contaminated)
        present = set(scores["condition"])
        for key in keys:
            if languages and {key[1], key[2]} <= present:
                found[key] = seed_differences(scores, key[1], key[2], languages)
    return found


def look_decisions(rows: pd.DataFrame, bounds: Boundaries, seed_order: Sequence[int], look: int,
                   contrasts: Sequence[Key], include_contaminated: bool = False) -> dict[Key, dict[str, Any]]:
    """The decision of each of ``contrasts`` at ``look`` (an index) from the rows of its seeds,
    with what made it; a contrast that lacks one of the look's seeds gets decision None."""
    seeds = list(seed_order[:bounds.design.looks[look]])
    chosen = rows[rows["seed"].isin(seeds)]
    differences = primary_differences(chosen, contrasts, include_contaminated)
    decisions: dict[Key, dict[str, Any]] = {}
    for key in contrasts:
        found = differences.get(key)
        if found is None:
            decisions[key] = {"decision": None, "reason": "no paired result at all"}
            continue
        test, t, decision, reason = decide_look(bounds, look, found.values, seeds, found.runs)
        if test is None:
            decisions[key] = {"decision": None, "reason": reason}
            continue
        decisions[key] = {
            "decision": decision, "reason": reason, "seeds": len(seeds), "t": t, "df": test.df,
            "mean_difference": test.mean_difference, "se": test.se, "efficacy": _finite(bounds.efficacy[look]),
            "futility": bounds.futility[look], "languages": list(found.languages),
            "rows": sorted({row for seed in seeds for row in found.rows.get(seed, [])}),
        }
    return decisions


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def sequential_outcome(differences: Differences, setting: SequentialSetting, key: Key) -> SequentialOutcome:
    return analyse_sequence(differences.values, setting.seed_order, setting.bounds, setting.recorded.get(key),
                            runs=differences.runs)


def stopping_seeds(outcome: SequentialOutcome, seed_order: Sequence[int]) -> list[int]:
    """The seeds a contrast's numbers come from: those of its deciding (or last made) look."""
    return list(seed_order[:outcome.seeds]) if outcome.look >= 0 else []
