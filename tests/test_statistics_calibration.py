"""The report's tests make the error rate they claim, checked by simulation through the report's
own code path (``report.compute_contrasts``): many independent synthetic studies in one call, each
a target with two orders of the same two stages, the seed (training run) the unit.

Null: both orders have the same true score; a seed moves every language of a run together
(SD 1.3 points) plus a small per-language noise. The share of primary contrasts with p < 0.05
must be 0.05 within Monte Carlo error at 2, 3, 5 and 10 seeds (the hierarchical bootstrap this
replaces called 51%, 25%, 16% and 10%). Power at a true difference of twice the seed SD with 5
seeds must match the paired t-test's (noncentral t) within Monte Carlo error.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from xstilts.results.report import ReportOptions, compute_contrasts
from xstilts.results.power import t_test_power

LANGS = ("en", "de", "sw")
SEED_SD = 1.3
STUDIES = 1000


def _training(first: str, second: str) -> str:
    def stage(lang: str) -> dict:
        return {"node": f"{lang}", "label": f"nli_{lang}", "is_target": False, "config": {"lr": 1e-5},
                "train": [{"task": "xnli", "lang": lang, "split": "dev", "slice": None}]}
    return json.dumps([stage(first), stage(second)])


def synthetic_rows(rng: np.random.Generator, seeds: int, effect: float, studies: int = STUDIES) -> pd.DataFrame:
    """Store-shaped rows of ``studies`` independent targets; English-first is better by ``effect``."""
    orders = {"nli_en>nli_de": (_training("en", "de"), effect), "nli_de>nli_en": (_training("de", "en"), 0.0)}
    count = studies * len(orders) * seeds * len(LANGS)
    seed_effects = rng.normal(0, SEED_SD, size=(studies, len(orders), seeds, 1))
    values = 60.0 + seed_effects + rng.normal(0, 0.3, size=(studies, len(orders), seeds, len(LANGS)))
    values[:, 0] += effect
    index = pd.MultiIndex.from_product([range(studies), list(orders), range(1, seeds + 1), LANGS],
                                       names=["study", "condition", "seed", "lang"]).to_frame(index=False)
    frame = index.assign(value=values.reshape(count))
    frame["target"] = "t" + frame["study"].astype(str)
    frame["training"] = frame["condition"].map({name: training for name, (training, _) in orders.items()})
    frame["eval_node"] = frame["target"] + frame["condition"] + frame["seed"].astype(str)
    return frame.assign(task="xnli", metric="accuracy", split="dev", role="condition", contaminated=False,
                        examples_ref=None).drop(columns="study")


def _significant_share(rows: pd.DataFrame) -> tuple[float, int]:
    contrasts = [c for c in compute_contrasts(rows, None, ReportOptions()) if c.lang == "avg"]
    assert {c.relation for c in contrasts} == {"orders"} and all(c.condition_a == "nli_en>nli_de" for c in contrasts)
    return sum(c.p < 0.05 for c in contrasts) / len(contrasts), len(contrasts)


@pytest.mark.parametrize("seeds", [2, 3, 5, 10])
def test_null_contrasts_are_called_at_the_nominal_rate(seeds: int):
    rate, studies = _significant_share(synthetic_rows(np.random.default_rng(seeds), seeds, effect=0.0))
    error = math.sqrt(0.05 * 0.95 / studies)
    assert abs(rate - 0.05) <= 3.5 * error, f"{seeds} seeds: {rate:.3f} of null contrasts called significant"


def test_power_at_twice_the_seed_sd_matches_the_paired_t_test():
    rows = synthetic_rows(np.random.default_rng(7), 5, effect=2 * SEED_SD)
    rate, studies = _significant_share(rows)
    # The per-seed difference of language averages: two runs' seed effects and the languages' noise.
    sd = math.sqrt(2 * SEED_SD**2 + 2 * 0.3**2 / len(LANGS))
    expected = t_test_power(2 * SEED_SD, sd, 5)
    assert expected > 0.5
    assert abs(rate - expected) <= 3.5 * math.sqrt(expected * (1 - expected) / studies), (rate, expected)


def test_the_family_is_adjusted_and_its_intervals_agree_with_it():
    rows = synthetic_rows(np.random.default_rng(11), 3, effect=0.0, studies=200)
    contrasts = [c for c in compute_contrasts(rows, None, ReportOptions()) if c.lang == "avg"]
    assert all(c.family_size == 200 for c in contrasts)
    assert sum(c.significant for c in contrasts) <= 1  # Holm over 200 null contrasts
    for c in contrasts:
        assert c.interval is not None and (c.interval[0] > 0 or c.interval[1] < 0) == c.significant
