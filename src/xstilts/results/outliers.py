"""Collapsed and outlying runs: a run far below the rest of its condition (a fine-tuning that
collapsed to the majority class, an all-"O" tagger) is named, and contrasts are recomputed without
it BESIDE (never instead of) the primary ones. Only runs far BELOW are flagged.

The rule depends on how many runs a condition has, because a robust spread cannot be estimated
from a handful of runs (with 3 runs the MAD is the smaller of two gaps, and a run 1.3 points below
two runs 0.1 apart would look "8 robust SDs" low):

* 3-10 runs: Dixon's gap criterion: the widest gap above a low cluster of fewer than half of the
  runs, divided by the range, against Dixon's Q critical values at 95% (Rorabacher 1991;
  two-sided values, so one-sided 2.5%). For one low run this is Dixon's Q test; for two or more
  it keeps two collapsed runs from masking each other.
* more than 10: the modified z-score (Iglewicz & Hoaglin), (score - median) / (1.4826 x MAD) below
  -``OUTLIER_MADS`` (1.2533 x the mean absolute deviation when the MAD is 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

OUTLIER_MADS = 3.5  # a run is outlying when its robust z-score is below -3.5 (Iglewicz & Hoaglin)
# Dixon's Q (r10) at 95% for 3..10 runs (Rorabacher 1991, Anal. Chem. 63, 139).
DIXON_Q95 = {3: 0.970, 4: 0.829, 5: 0.710, 6: 0.625, 7: 0.568, 8: 0.526, 9: 0.493, 10: 0.466}


def outlying_runs(runs: pd.DataFrame, k: float = OUTLIER_MADS, by: Sequence[str] = ("condition",)) -> pd.DataFrame:
    """Runs far below the other runs of their condition: collapsed (e.g. to the majority class) or
    broken (the rule: the module's docstring). ``runs`` has one row per run (``seed``, ``value``:
    its score, e.g. the mean over its languages) and the ``by`` columns. Returns the outlying runs
    with their group's ``median``, ``threshold`` (the score below which a run is outlying) and
    ``runs`` (the group's size), ordered by group and value."""
    columns = [*by, "seed", "value", "median", "threshold", "runs"]
    found = []
    for _, group in runs.groupby(list(by), sort=False, dropna=False):
        values = group["value"].to_numpy(dtype=float)
        if len(values) < 3:
            continue
        median = float(np.median(values))
        threshold = outlying_below(values, k)
        low = group[values < threshold] if threshold is not None else group.iloc[:0]
        if not low.empty:
            found.append(low.assign(median=median, threshold=threshold, runs=len(values)))
    if not found:
        return pd.DataFrame(columns=columns)
    result = pd.concat(found, ignore_index=True)[columns]
    return result.sort_values([*by, "value"], kind="stable").reset_index(drop=True)


def outlying_below(values: np.ndarray, k: float = OUTLIER_MADS) -> float | None:
    """The score below which runs of one condition (``values``, 3 or more) are outlying; None when
    none is (fewer than 3 runs: never)."""
    if len(values) < 3:
        return None
    return _dixon_threshold(values) if len(values) in DIXON_Q95 else _mad_threshold(values, k)


def _mad_threshold(values: np.ndarray, k: float) -> float | None:
    median = float(np.median(values))
    scale = 1.4826 * float(np.median(np.abs(values - median)))
    if scale == 0:
        scale = 1.2533 * float(np.mean(np.abs(values - median)))
    return median - k * scale if scale > 0 else None


def _dixon_threshold(values: np.ndarray) -> float | None:
    """The score below which the low runs are outlying, None when none is: Dixon's gap criterion,
    (gap above the low runs) / range > the Q critical value, for a low cluster of fewer than half
    of the runs (one run: Dixon's Q itself; two or more: the same gap, so that two collapsed runs
    do not mask each other)."""
    ordered = np.sort(values)
    span = ordered[-1] - ordered[0]
    if span == 0:
        return None
    critical = DIXON_Q95[len(ordered)]
    best = max(range(1, (len(ordered) + 1) // 2), key=lambda j: ordered[j] - ordered[j - 1])
    if (ordered[best] - ordered[best - 1]) / span <= critical:
        return None
    return float(ordered[best - 1] + ordered[best]) / 2  # between the low cluster and the rest


def run_scores(scores: pd.DataFrame, languages: Sequence[str], by: Sequence[str] = ("condition",)) -> pd.DataFrame:
    """One row per run (``by`` + ``seed``) that has every one of ``languages``: its mean over them."""
    present = scores[scores["lang"].isin(list(languages))]
    runs = present.groupby([*by, "seed"], sort=False).agg(value=("value", "mean"), n_lang=("lang", "nunique"))
    return runs[runs["n_lang"] == len(set(languages))].drop(columns="n_lang").reset_index()


def without_runs(scores: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``scores`` less every row of the runs (``condition``, ``seed``) in ``runs``."""
    if runs.empty:
        return scores
    excluded = set(zip(runs["condition"], runs["seed"].astype(int)))
    keep = [(condition, int(seed)) not in excluded for condition, seed in zip(scores["condition"], scores["seed"])]
    return scores[keep]


def describe_outlying(outlying: pd.DataFrame, digits: int = 2) -> list[str]:
    """Per condition: "bert-large: 5 of 75 runs (seed 103: 50.86, ...; median 93.12)"."""
    lines = []
    for condition, part in outlying.groupby("condition", sort=False):
        runs = ", ".join(f"seed {int(seed)}: {value:.{digits}f}" for seed, value in zip(part["seed"], part["value"]))
        lines.append(f"{condition}: {len(part)} of {int(part['runs'].iloc[0])} runs ({runs}; median "
                     f"{float(part['median'].iloc[0]):.{digits}f})")
    return lines
