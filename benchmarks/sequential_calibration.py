"""Calibration of the sequential seed design, by simulation through the project's own code.

Each synthetic study is one target of store-shaped rows with ``contrasts`` independent pairs of
orders (the same two stages in both orders: the report finds each pair itself), 3 languages, and
per run (condition x seed) a seed effect that moves every language together plus a small
per-language noise (SD 0.3). Seed noise:

* ``normal``: N(0, 1.3 points);
* ``heavy``: 1.3 x t(3) / sqrt(3) (the same SD, heavy tails);
* ``collapse``: normal, and with probability 0.1 a run collapses (-10 points).

The run's looks are decided exactly as ``xstilts run`` decides them: at each look,
``results.report.sequential.look_decisions`` on the rows of the look's seeds, for the contrasts
still undecided, with the boundaries of ``results.sequential.design``. Measured per design (looks x
contrasts x noise):

* family-wise error: the share of null studies (no true difference) with any "effect" decision,
  which must be at most 0.05 (+ Monte Carlo error);
* at the difference that a FIXED design with the same maximum seeds detects with 80% power (paired
  t-test at alpha / contrasts, Bonferroni, as the seeds advisor's "family" column; found by
  simulation for each noise, the same noise): the power (share of "effect" decisions) and the
  expected seeds per contrast as a share of the maximum;
* under no difference: the expected seeds as a share of the maximum.

Targets (issue 25): error <= 0.05, power >= 0.75, expected seeds <= 0.9 x max at the effect and
<= 0.7 x max under no effect.

    python benchmarks/sequential_calibration.py --studies 4000
    python benchmarks/sequential_calibration.py --studies 2000 --efficacy-from 3   # no effect stop at 2 seeds
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xstilts.results.report.sequential import look_decisions, primary_differences
from xstilts.results.sequential.design import Boundaries, Design, boundaries
from xstilts.results.sequential.outcome import analyse_sequence

LANGS = ("en", "de", "sw")
SEED_SD = 1.3
LANG_SD = 0.3
NOISES = ("normal", "heavy", "collapse")
DESIGNS = ((3, 5, 8), (2, 4, 6))
CONTRASTS = (1, 2, 4)


def run_effects(rng: np.random.Generator, noise: str, shape: tuple[int, ...]) -> np.ndarray:
    """The seed effect of each run (points)."""
    if noise == "heavy":
        effects = SEED_SD * rng.standard_t(3, size=shape) / math.sqrt(3.0)
    else:
        effects = rng.normal(0.0, SEED_SD, size=shape)
    if noise == "collapse":
        effects = effects - 10.0 * (rng.random(shape) < 0.1)
    return effects


def _training(first: str, second: str, j: int) -> str:
    def stage(lang: str) -> dict:
        return {"node": f"{lang}{j}", "label": f"nli{j}_{lang}", "is_target": False, "config": {"lr": 1e-5},
                "train": [{"task": "xnli", "lang": lang, "split": "dev", "slice": f"[{j}:]"}]}
    return json.dumps([stage(first), stage(second)])


def condition_names(contrasts: int) -> list[tuple[str, str]]:
    """(A, B) per contrast: A trains the English stage first."""
    return [(f"en{j}>de{j}", f"de{j}>en{j}") for j in range(contrasts)]


def synthetic_rows(rng: np.random.Generator, studies: int, contrasts: int, seeds: int, effect: float,
                   noise: str) -> pd.DataFrame:
    """Store-shaped rows of ``studies`` independent targets; every A is better than its B by ``effect``."""
    names = [name for pair in condition_names(contrasts) for name in pair]
    trainings = {}
    for j, (a, b) in enumerate(condition_names(contrasts)):
        trainings[a], trainings[b] = _training("en", "de", j), _training("de", "en", j)
    shape = (studies, len(names), seeds)
    values = 60.0 + run_effects(rng, noise, shape)[..., None] + rng.normal(0, LANG_SD, size=(*shape, len(LANGS)))
    values[:, 0::2] += effect
    index = pd.MultiIndex.from_product([range(studies), names, range(1, seeds + 1), LANGS],
                                       names=["study", "condition", "seed", "lang"]).to_frame(index=False)
    frame = index.assign(value=values.reshape(-1))
    frame["target"] = "t" + frame["study"].astype(str)
    frame["training"] = frame["condition"].map(trainings)
    frame["eval_node"] = frame["target"] + ":" + frame["condition"]
    frame["eval_id"] = frame["eval_node"] + ":" + frame["seed"].astype(str)
    return frame.assign(task="xnli", metric="accuracy", split="dev", role="condition", contaminated=False,
                        examples_ref=None).drop(columns="study")


def contrast_keys(rows: pd.DataFrame, contrasts: int) -> list[tuple[str, str, str]]:
    return [(target, a, b) for target in rows["target"].unique() for a, b in condition_names(contrasts)]


def run_design(rows: pd.DataFrame, bounds: Boundaries, contrasts: int) -> pd.DataFrame:
    """Every contrast's decision and the look it stopped at: the report's per-seed differences
    (``primary_differences``) followed through the looks by ``analyse_sequence``. A seed's
    difference reads only that seed's rows, so this is what ``xstilts run`` decides look by look
    (``run_design_by_looks``; tests/test_sequential_calibration.py checks that they agree)."""
    seed_order = list(range(1, bounds.design.max_seeds + 1))
    differences = primary_differences(rows, contrast_keys(rows, contrasts))
    records = []
    for key, found in differences.items():
        outcome = analyse_sequence(found.values, seed_order, bounds, runs=found.runs)
        records.append({"target": key[0], "contrast": key[1], "look": outcome.look, "seeds": outcome.seeds,
                        "decision": outcome.decision})
    return pd.DataFrame(records)


def run_design_by_looks(rows: pd.DataFrame, bounds: Boundaries, contrasts: int) -> pd.DataFrame:
    """The same, look by look as ``xstilts run`` makes them (``look_decisions`` on the rows of the
    look's seeds, for the contrasts still undecided)."""
    seed_order = list(range(1, bounds.design.max_seeds + 1))
    undecided, records = contrast_keys(rows, contrasts), []
    for look in range(len(bounds.design.looks)):
        decisions = look_decisions(rows, bounds, seed_order, look, undecided)
        for key, decision in decisions.items():
            if decision["decision"] != "continue":
                records.append({"target": key[0], "contrast": key[1], "look": look,
                                "seeds": bounds.design.looks[look], "decision": decision["decision"]})
        undecided = [key for key in undecided if decisions[key]["decision"] == "continue"]
        if not undecided:
            break
    return pd.DataFrame(records)


def fixed_power_effect(rng: np.random.Generator, noise: str, seeds: int, alpha: float, power: float = 0.8,
                       paths: int = 200_000) -> float:
    """The true difference at which a fixed paired t-test of ``seeds`` seeds at ``alpha`` has
    ``power`` under ``noise`` (bisection with common random numbers; the per-seed difference is of
    two runs' means over the languages)."""
    from scipy import special

    def differences() -> np.ndarray:
        runs = run_effects(rng, noise, (paths, seeds)) + rng.normal(0, LANG_SD, (paths, seeds, len(LANGS))).mean(-1)
        return runs

    base = differences() - differences()
    mean, sd = base.mean(axis=1), base.std(axis=1, ddof=1)
    low, high = 0.0, 40.0
    for _ in range(50):
        middle = (low + high) / 2
        t = (mean + middle) / (sd / math.sqrt(seeds))
        if float(np.mean(2 * special.stdtr(seeds - 1, -np.abs(t)) < alpha)) < power:
            low = middle
        else:
            high = middle
    return high


def measure(looks: Sequence[int], contrasts: int, noise: str, studies: int, seed: int = 0,
            efficacy_from: int = 2) -> dict:
    """One design x noise: error, power, expected seeds (and their Monte Carlo standard errors)."""
    rng = np.random.default_rng([seed, contrasts, len(looks), looks[0], NOISES.index(noise)])
    design = Design(tuple(looks), contrasts)
    bounds = boundaries(design)
    if efficacy_from > looks[0]:  # a variant: no effect decision before ``efficacy_from`` seeds
        efficacy = tuple(math.inf if n < efficacy_from else b for n, b in zip(looks, bounds.efficacy))
        bounds = Boundaries(design, efficacy, bounds.futility, bounds.spent, bounds.nominal, bounds.design_effect)
    effect = fixed_power_effect(rng, noise, looks[-1], design.alpha_each)
    null = run_design(synthetic_rows(rng, studies, contrasts, looks[-1], 0.0, noise), bounds, contrasts)
    alternative = run_design(synthetic_rows(rng, studies, contrasts, looks[-1], effect, noise), bounds, contrasts)
    any_effect = null.groupby("target")["decision"].apply(lambda d: (d == "effect").any())
    error = float(any_effect.mean())
    power = float((alternative["decision"] == "effect").mean())
    seeds0 = null["seeds"] / looks[-1]
    seeds1 = alternative["seeds"] / looks[-1]
    return {
        "looks": "/".join(map(str, looks)), "contrasts": contrasts, "noise": noise, "studies": studies,
        "effect_points": round(effect, 3), "error": error, "error_se": math.sqrt(max(error * (1 - error), 1e-4) / studies),
        "power": power, "power_se": math.sqrt(power * (1 - power) / len(alternative)),
        "seeds_effect": float(seeds1.mean()), "seeds_effect_se": float(seeds1.std() / math.sqrt(len(seeds1))),
        "seeds_null": float(seeds0.mean()), "seeds_null_se": float(seeds0.std() / math.sqrt(len(seeds0))),
    }


def meets(row: dict) -> str:
    """Which targets a row misses, judged with 2 Monte Carlo standard errors of slack."""
    misses = []
    if row["error"] > 0.05 + 2 * row["error_se"]:
        misses.append("error")
    if row["power"] < 0.75 - 2 * row["power_se"]:
        misses.append("power")
    if row["seeds_effect"] > 0.9 + 2 * row["seeds_effect_se"]:
        misses.append("seeds at effect")
    if row["seeds_null"] > 0.7 + 2 * row["seeds_null_se"]:
        misses.append("seeds under null")
    return ", ".join(misses) or "all"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000, help="Studies per design, noise and scenario.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--efficacy-from", type=int, default=2, help="No effect decision before this many seeds.")
    parser.add_argument("--looks", default="3,5,8;2,4,6", help="Designs, ';'-separated.")
    parser.add_argument("--contrasts", default="1,2,4")
    parser.add_argument("--noise", default=",".join(NOISES))
    args = parser.parse_args()
    designs = [tuple(int(n) for n in part.split(",")) for part in args.looks.split(";")]
    rows = []
    started = time.time()
    for looks in designs:
        for contrasts in (int(c) for c in args.contrasts.split(",")):
            for noise in args.noise.split(","):
                row = measure(looks, contrasts, noise, args.studies, args.seed, args.efficacy_from)
                row["meets"] = meets(row)
                rows.append(row)
                print(f"{row['looks']:>6} {contrasts} {noise:>8}: error {row['error']:.4f} (se {row['error_se']:.4f}) "
                      f"power {row['power']:.3f} seeds/max at effect {row['seeds_effect']:.3f}, null "
                      f"{row['seeds_null']:.3f}; targets met: {row['meets']} ({time.time() - started:.0f}s)", flush=True)
    print()
    print(markdown_table(rows))


def markdown_table(rows: Sequence[dict]) -> str:
    """The measured table as docs/sequential.md shows it."""
    lines = ["| looks | contrasts | seed noise | effect (points) | family-wise error | power at the effect | "
             "seeds / max at the effect | seeds / max, no effect | targets met |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['looks']} | {row['contrasts']} | {row['noise']} | {row['effect_points']:.2f} | "
                     f"{row['error']:.3f} ± {row['error_se']:.3f} | {row['power']:.3f} ± {row['power_se']:.3f} | "
                     f"{row['seeds_effect']:.3f} | {row['seeds_null']:.3f} | {row['meets']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
