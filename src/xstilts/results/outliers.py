"""Collapsed and outlying runs: a run far below the rest of its condition (a fine-tuning that
collapsed to the majority class, an all-"O" tagger) is named, and contrasts are recomputed without
it BESIDE (never instead of) the primary ones.

The rule: within a condition of at least 3 runs, a run whose modified z-score (Iglewicz & Hoaglin:
(score - median) / (1.4826 x MAD); 1.2533 x the mean absolute deviation when the MAD is 0) is
below -``OUTLIER_MADS`` is outlying. Only runs far BELOW are flagged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

OUTLIER_MADS = 3.5  # a run is outlying when its robust z-score is below -3.5 (Iglewicz & Hoaglin)


def outlying_runs(runs: pd.DataFrame, k: float = OUTLIER_MADS, by: Sequence[str] = ("condition",)) -> pd.DataFrame:
    """Runs far below the other runs of their condition: collapsed (e.g. to the majority class) or
    broken. ``runs`` has one row per run (``seed``, ``value``: its score, e.g. the mean over its
    languages) and the ``by`` columns. Within each group of at least 3 runs, a run is outlying when
    its robust z-score (value - median) / (1.4826 x MAD) is below -k (k = 3.5, Iglewicz & Hoaglin's
    modified z-score; with MAD = 0, 1.2533 x the mean absolute deviation is the scale). Only runs
    BELOW are named: a run far above is not a failure mode of training. Returns the outlying runs
    with their group's ``median``, ``threshold`` (the score below which a run is outlying) and
    ``runs`` (the group's size), ordered by group and value."""
    columns = [*by, "seed", "value", "median", "threshold", "runs"]
    found = []
    for key, group in runs.groupby(list(by), sort=False, dropna=False):
        values = group["value"].to_numpy(dtype=float)
        if len(values) < 3:
            continue
        median = float(np.median(values))
        scale = 1.4826 * float(np.median(np.abs(values - median)))
        if scale == 0:
            scale = 1.2533 * float(np.mean(np.abs(values - median)))
        if scale == 0:
            continue
        threshold = median - k * scale
        low = group[values < threshold]
        if not low.empty:
            found.append(low.assign(median=median, threshold=threshold, runs=len(values)))
    if not found:
        return pd.DataFrame(columns=columns)
    result = pd.concat(found, ignore_index=True)[columns]
    return result.sort_values([*by, "value"], kind="stable").reset_index(drop=True)


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
