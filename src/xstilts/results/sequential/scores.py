"""A sequential design applied to per-seed scores made anywhere: ``xstilts stats contrast FILE
--sequential 3,5,8`` gives each primary contrast's decision (effect, no effect, continue), so any
lab can run the design by hand: train the first look's seeds, ask, train the next look's.

A file's seeds are taken in ascending order (look k reads the k-th smallest seed counts of them,
every one of them needed by both conditions); the family sharing alpha is the contrasts analysed
together (one group and task, as the correction's). Numbers are those of the look where each
contrast stopped (or of the last look the file allows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from xstilts.results.sequential.design import Design, boundaries
from xstilts.results.sequential.outcome import analyse_sequence, with_outcome
from xstilts.results.statistics import AVERAGE, ContrastResult, paired_contrast, paired_seed_scores


def sequential_primary(scores: pd.DataFrame, primary: Sequence[ContrastResult],
                       languages: Mapping[tuple[str, str], Sequence[str]], looks: Sequence[int]
                       ) -> list[ContrastResult]:
    """``primary`` (one family's language-average contrasts) read through the design with ``looks``."""
    if not primary:
        return list(primary)
    bounds = boundaries(Design(tuple(looks), len(primary)))
    results = []
    for result in primary:
        a, b = result.condition_a, result.condition_b
        shared = list(languages[(a, b)])
        seeds, values_a, values_b = paired_seed_scores(scores, a, b, shared)
        means_a, means_b = (values_a.mean(axis=1), values_b.mean(axis=1)) if seeds else ([], [])
        differences = {seed: x - y for seed, x, y in zip(seeds, means_a, means_b)}
        runs = {seed: (x, y) for seed, x, y in zip(seeds, means_a, means_b)}
        order = sorted({int(seed) for seed in scores.loc[scores["condition"].isin([a, b]), "seed"]})
        outcome = analyse_sequence(differences, order, bounds, runs=runs)
        chosen = order[:outcome.seeds] if outcome.look >= 0 else []
        again = paired_contrast(scores[scores["seed"].isin(chosen)], target=result.target, task=result.task,
                                metric="score", condition_a=a, condition_b=b, languages=shared)
        average = next(r for r in again if r.lang == AVERAGE)
        results.append(with_outcome(replace(average, relation=result.relation), outcome))
    return results
