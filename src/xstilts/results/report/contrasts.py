"""The contrasts: every planned pair of conditions on every target, tested and adjusted within its
family, and their numbers as tables (every contrast; the seeds advisor per primary contrast).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xstilts.scoring.aggregate import primary_metric
from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import averaged_in, condition_paths, ordered_conditions, ordered_targets, target_rows
from xstilts.results.report.sequential import seed_differences, sequential_outcome, stopping_seeds
from xstilts.results.sequential.outcome import with_outcome
from xstilts.results.report.types import ReportOptions
from xstilts.results.statistics import ALPHA, AVERAGE, ContrastResult, ExampleLoader, adjust_family, paired_contrast
from xstilts.results.power import seed_advice
from xstilts.study.comparisons import planned_contrasts


def compute_contrasts(rows: pd.DataFrame, load_examples: ExampleLoader | None,
                      options: ReportOptions = ReportOptions()) -> list[ContrastResult]:
    """Every planned contrast on every target where both conditions have results: the primary
    (language-average) contrasts adjusted as one family, the per-language ones as a second. Under a
    sequential design (``options.sequential``) every number of a contrast comes from the seeds of
    the look where it stopped, and its primary contrast carries the design's adjusted p and
    repeated interval instead of Holm's or BH's."""
    paths = condition_paths(rows)
    planned = planned_contrasts([paths[name] for name in ordered_conditions(paths)],
                                [pair for pair in options.listed_contrasts if set(pair) <= set(paths)])
    results: list[ContrastResult] = []
    conditions = condition_rows(rows)
    by_target = dict(tuple(conditions.groupby("target", sort=False)))
    for target in ordered_targets(conditions):
        scores = target_rows(by_target[target], target)  # one target's rows: cheap on large studies
        task = str(scores["task"].iloc[0])
        languages = averaged_in(scores, options.include_contaminated)
        present = set(scores["condition"])
        for contrast in planned:
            if {contrast.a, contrast.b} <= present and languages:
                chosen, outcome = scores, None
                if options.sequential is not None:
                    outcome = sequential_outcome(seed_differences(scores, contrast.a, contrast.b, languages),
                                                 options.sequential, (target, contrast.a, contrast.b))
                    chosen = scores[scores["seed"].isin(stopping_seeds(outcome, options.sequential.seed_order))]
                found = paired_contrast(chosen, target=target, task=task, metric=primary_metric(task),
                                        condition_a=contrast.a, condition_b=contrast.b, languages=languages,
                                        relation=contrast.relation, method=options.test, load_examples=load_examples)
                results.extend(with_outcome(c, outcome) if outcome is not None and c.lang == AVERAGE else c
                               for c in found)
    primary = [c for c in results if c.lang == AVERAGE]
    primary = primary if options.sequential is not None else adjust_family(primary, options.correction)
    per_language = adjust_family([c for c in results if c.lang != AVERAGE], options.correction)
    by_key = {_key(c): c for c in [*primary, *per_language]}
    return [by_key[_key(c)] for c in results]


def _key(contrast: ContrastResult) -> tuple[str, str, str, str]:
    return contrast.target, contrast.condition_a, contrast.condition_b, contrast.lang


def oriented(contrast: ContrastResult) -> tuple[str, str, float, tuple[float, float] | None]:
    """(winner, loser, difference >= 0, interval of winner - loser): the sentence's direction."""
    interval = contrast.interval
    if contrast.mean_difference >= 0:
        return contrast.condition_a, contrast.condition_b, contrast.mean_difference, interval
    flipped = (-interval[1], -interval[0]) if interval else None
    return contrast.condition_b, contrast.condition_a, -contrast.mean_difference, flipped


def contrast_values(contrasts: Sequence[ContrastResult]) -> pd.DataFrame:
    """Every contrast's numbers (for the CSV and the plots)."""
    records = []
    for c in contrasts:
        low, high = c.interval or (None, None)
        raw_low, raw_high = c.unadjusted_interval() or (None, None)
        records.append({
            "target": c.target, "task": c.task, "contrast": f"{c.condition_a} - {c.condition_b}",
            "relation": c.relation, "lang": c.lang, "family": "primary" if c.lang == AVERAGE else "per-language",
            "seeds": c.n_seeds, "seed_list": " ".join(map(str, c.seeds)), "mean_difference": c.mean_difference,
            "sd_of_differences": c.test.sd, "method": c.method, "df": c.test.df, "p": c.p, "adjusted_p": c.adjusted_p,
            "family_size": c.family_size, "ci_level": c.interval_level, "ci_low": low, "ci_high": high,
            "ci95_unadjusted_low": raw_low, "ci95_unadjusted_high": raw_high, "significant": c.significant,
            "signed_rank_p": c.rank_p, "note": c.test.note or "",
            **(_sequential_values(c) if any(other.sequential is not None for other in contrasts) else {}),
        })
    return pd.DataFrame(records)


def _sequential_values(c: ContrastResult) -> dict:
    """Where a contrast of a sequential design stopped (empty for its per-language contrasts)."""
    outcome = c.sequential
    if outcome is None:
        return {"decision": None, "decision_reason": None, "look": None, "max_seeds": None, "stagewise_p": None,
                "efficacy_bound": None, "futility_bound": None}
    return {"decision": outcome.decision, "decision_reason": outcome.reason, "look": outcome.look + 1,
            "max_seeds": outcome.max_seeds, "stagewise_p": outcome.stagewise_p,
            "efficacy_bound": outcome.efficacy_bound, "futility_bound": outcome.futility_bound}


def seed_advice_table(contrasts: Sequence[ContrastResult], effect: float) -> pd.DataFrame:
    """Per primary contrast: what its seeds detect, and the seeds ``effect`` needs."""
    records = []
    for c in contrasts:
        if c.lang != AVERAGE:
            continue
        advice = seed_advice(c.test.sd, c.n_seeds, effect)
        adjusted = seed_advice(c.test.sd, c.n_seeds, effect, alpha=ALPHA / max(1, c.family_size))
        records.append({
            "target": c.target, "contrast": f"{c.condition_a} - {c.condition_b}", "seeds": c.n_seeds,
            "sd_of_differences": advice.sd, "detectable_80": advice.detectable,
            "detectable_80_family": adjusted.detectable, "effect": effect, "seeds_needed": advice.seeds_needed,
            "seeds_needed_cautious": advice.seeds_needed_cautious, "seeds_needed_family": adjusted.seeds_needed,
        })
    return pd.DataFrame(records)

