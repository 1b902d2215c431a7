"""Sizing a study from a finished pilot: ``xstilts plan STUDY --pilot PILOT``.

The pilot's primary contrasts give the SD of per-seed differences (the seed variance that a
paired test of two orders faces). Each contrast the new study will make takes the pilot's SD of
the same (target, A, B); else the pooled SD of the pilot's contrasts on the same task; else the
pooled SD of all of them (pooled: the variances averaged with their degrees of freedom as
weights). From it: the seeds the paired t-test needs to detect ``effect`` with 80% power (and
with the SD's 80% upper confidence bound, since a pilot of a few seeds estimates it poorly).
``pilot_advice`` re-plans the study at each seed count found and costs it (the planner's estimate,
and the pilot's measured seconds per training and evaluation where it recorded them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.results.report import ReportOptions, compute_contrasts
from xstilts.results.statistics import AVERAGE, ContrastResult
from xstilts.results.power import minimum_detectable_effect, seeds_needed, sd_upper_bound
from xstilts.results.store import ResultStore
from xstilts.study import Plan, StudySpec, build_plan
from xstilts.study.cost import estimate_cost


def _pooled(contrasts: Sequence[ContrastResult]) -> tuple[float, int] | None:
    """Pooled SD of per-seed differences and its degrees of freedom."""
    usable = [(c.test.sd, c.n_seeds - 1) for c in contrasts if c.test.sd is not None and c.n_seeds >= 2]
    df = sum(d for _, d in usable)
    if not df:
        return None
    return math.sqrt(sum(sd**2 * d for sd, d in usable) / df), df


def pilot_seed_sizes(pilot: Sequence[ContrastResult], planned: Sequence[tuple[str, str, str, str]],
                     seeds_now: int, effect: float) -> pd.DataFrame:
    """Per planned contrast ``(target, task, A, B)``: the pilot SD it borrows (and from where),
    the difference the study's current seeds detect, and the seeds ``effect`` needs."""
    primary = [c for c in pilot if c.lang == AVERAGE]
    by_pair = {(c.target, c.condition_a, c.condition_b): c for c in primary}
    records = []
    for target, task, a, b in planned:
        same = by_pair.get((target, a, b)) or by_pair.get((target, b, a))
        if same is not None and same.test.sd is not None and same.n_seeds >= 2:
            sd, df, source = same.test.sd, same.n_seeds - 1, f"pilot {target}: {same.condition_a} - {same.condition_b}"
        else:
            found = _pooled([c for c in primary if c.task == task]) or _pooled(primary)
            if found is None:
                records.append({"target": target, "contrast": f"{a} - {b}", "sd_source": "none (the pilot has no "
                                "contrast with 2+ seeds)", "pilot_sd": None, "pilot_df": None,
                                "detectable_now": None, "seeds_needed": None, "seeds_needed_cautious": None})
                continue
            sd, df = found
            scope = f"{task} contrasts" if any(c.task == task and c.test.sd is not None for c in primary) else "contrasts"
            source = f"pooled over the pilot's {scope}"
        upper = sd_upper_bound(sd, df + 1)
        records.append({
            "target": target, "contrast": f"{a} - {b}", "sd_source": source, "pilot_sd": sd, "pilot_df": df,
            "detectable_now": minimum_detectable_effect(sd, seeds_now), "seeds_needed": seeds_needed(sd, effect),
            "seeds_needed_cautious": seeds_needed(upper, effect) if upper is not None else None,
        })
    return pd.DataFrame(records)


def measured_seconds(store: ResultStore) -> dict[str, list[float]]:
    """The wall seconds of every finished training and evaluation a study's store recorded."""
    return {kind: [n["wall_seconds"] for n in store.nodes(kind=kind, status="done") if n.get("wall_seconds")]
            for kind in ("train", "eval")}


def pilot_advice(spec: StudySpec, run_plan: Plan, pilot_spec: StudySpec, pilot_rows: pd.DataFrame,
                 measured: Mapping[str, Sequence[float]], effect: float, *, pilot: str,
                 data_dir_override: Path | None = None) -> dict[str, Any]:
    """The seeds this study's contrasts need to detect ``effect``, from the pilot's seed variance
    (its current plan's filtered rows), and what the study costs at each seed count found."""
    contrasts = compute_contrasts(pilot_rows, None, ReportOptions(listed_contrasts=tuple(
        tuple(pair) for pair in pilot_spec.report.contrasts)))
    planned = [(target.label, target.task, c.a, c.b) for c in run_plan.comparisons() for target in spec.targets]
    sizes = pilot_seed_sizes(contrasts, planned, len(spec.seeds), effect)
    costs = []
    for column in ("seeds_needed", "seeds_needed_cautious"):
        needed = sizes[column].dropna() if column in sizes else []
        if len(needed) == 0:
            continue
        count = int(max(needed))
        seeds = list(spec.seeds) + [seed for seed in range(max(spec.seeds) + 1, max(spec.seeds) + 1 + count)][
            :max(0, count - len(spec.seeds))]
        sized = build_plan(spec.model_copy(update={"seeds": seeds[:count]}), data_dir_override=data_dir_override)
        cost = estimate_cost(sized)
        at_pilot_speed = None
        if measured["train"] and measured["eval"]:
            at_pilot_speed = round(len(sized.train_nodes) * sum(measured["train"]) / len(measured["train"])
                                   + len(sized.eval_nodes) * sum(measured["eval"]) / len(measured["eval"]))
        costs.append({"sizing": column, "seeds": count, "trainings": len(sized.train_nodes),
                      "evaluations": len(sized.eval_nodes), "estimated_seconds": cost["total_seconds"],
                      "seconds_at_pilot_speed": at_pilot_speed})
    records = sizes.astype(object).where(sizes.notna(), None).to_dict(orient="records")
    return {"pilot": pilot, "effect": effect, "seeds_now": len(spec.seeds), "contrasts": records, "cost": costs}
