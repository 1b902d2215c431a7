"""Calibration and power of the report's paired tests, by simulation (no model, seconds to run).

Every number comes from ``xstilts.results.statistics.paired_contrast``, the function the report
and ``xstilts stats contrast`` call, on synthetic studies whose truth is known. Designs:

* ``seed``: per-seed language scores only: condition mean + a seed effect (SD 1.3 points) + a
  small per-language seed noise. No per-example outputs (t+items falls back to t).
* ``items``: 3 languages x 1,000 examples; example i is answered correctly with probability
  q_i (uniform 0.3-0.7) + the run's seed shift (SD 1.3 points) + the condition's effect.
* ``items+interaction``: as ``items``, but A answers example i with q_i + e_i and B with q_i - e_i,
  e_i uniform in +-0.25: zero difference on average over the example POPULATION, but on a fixed
  evaluation set A and B differ. A test that generalises over items (t+items) must not call it;
  the seeds-only t-test does not claim to generalise over items.
* ``heavy``: ``seed`` with t(3)-distributed seed effects; ``collapse``: ``seed`` where a run
  collapses (-10 points) with probability 0.1.

Under the null both conditions have the same mean; with ``--effect-sd 2`` A is better by twice
the seed SD (power). Prints one row per (design, seeds, method): the share of contrasts called
significant at alpha 0.05, with its Monte Carlo standard error.

    python benchmarks/statistics_calibration.py --reps 2000
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from xstilts.results.statistics import paired_contrast

LANGS = ("en", "de", "sw")
SEED_SD = 1.3


def _seed_scores(rng: np.random.Generator, seeds: int, effect: float, design: str) -> pd.DataFrame:
    rows = []
    for condition, shift in (("A", effect), ("B", 0.0)):
        for seed in range(seeds):
            if design == "heavy":
                seed_effect = SEED_SD * rng.standard_t(3) / math.sqrt(3.0)
            else:
                seed_effect = rng.normal(0, SEED_SD)
            if design == "collapse" and rng.random() < 0.1:
                seed_effect -= 10.0
            for k, lang in enumerate(LANGS):
                rows.append((condition, seed, lang, 60.0 + 5 * k + shift + seed_effect + rng.normal(0, 0.3),
                             f"{condition}{seed}", None))
    return pd.DataFrame(rows, columns=["condition", "seed", "lang", "value", "eval_node", "examples_ref"])


class _ItemStudy:
    """Per-example outputs of a synthetic study, kept in memory and served by reference."""

    def __init__(self, rng: np.random.Generator, items: int, interaction: float):
        self.rng = rng
        self.base = {lang: rng.uniform(0.3, 0.7, items) for lang in LANGS}
        self.advantage = {lang: rng.uniform(-interaction, interaction, items) for lang in LANGS}
        self.frames: dict[str, pd.DataFrame] = {}

    def scores(self, seeds: int, effect: float) -> pd.DataFrame:
        rows = []
        for condition, sign in (("A", 1.0), ("B", -1.0)):
            for seed in range(seeds):
                shift = self.rng.normal(0, SEED_SD / 100) + (effect / 100 if condition == "A" else 0.0)
                for lang in LANGS:
                    probability = self.base[lang] + sign * self.advantage[lang] + shift
                    correct = (self.rng.random(len(probability)) < probability).astype(float)
                    ref = f"{condition}-{seed}-{lang}-{len(self.frames)}"
                    self.frames[ref] = pd.DataFrame({"accuracy_num": correct, "accuracy_den": np.ones(len(correct))})
                    rows.append((condition, seed, lang, 100 * correct.mean(), f"{condition}{seed}", ref))
        return pd.DataFrame(rows, columns=["condition", "seed", "lang", "value", "eval_node", "examples_ref"])


def simulate(design: str, seeds: int, method: str, reps: int, effect_sds: float, rng: np.random.Generator) -> float:
    significant = 0
    for _ in range(reps):
        load = None
        if design.startswith("items"):
            study = _ItemStudy(rng, 1000, 0.25 if design == "items+interaction" else 0.0)
            scores = study.scores(seeds, effect_sds * SEED_SD)
            load = study.frames.__getitem__
        else:
            scores = _seed_scores(rng, seeds, effect_sds * SEED_SD, design)
        results = paired_contrast(scores, target="t", task="t", metric="accuracy", condition_a="A", condition_b="B",
                                  languages=LANGS, method=method, load_examples=load)
        primary = results[-1]
        significant += primary.p is not None and primary.p < 0.05
    return significant / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seeds", default="2,3,5,10")
    parser.add_argument("--designs", default="seed,heavy,collapse,items,items+interaction")
    parser.add_argument("--methods", default="t,t+items")
    parser.add_argument("--effect-sd", type=float, default=0.0, help="true A - B in seed SDs (0: the null)")
    parser.add_argument("--random-seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.random_seed)
    print(f"{'design':<20} {'seeds':>5} {'method':<8} {'significant':>11} {'MC se':>7}  (alpha 0.05, "
          f"effect {args.effect_sd} seed SD, {args.reps} studies)")
    for design in args.designs.split(","):
        for seeds in map(int, args.seeds.split(",")):
            for method in args.methods.split(","):
                if method == "t+items" and not design.startswith("items"):
                    continue
                reps = args.reps if design.startswith("items") is False else max(200, args.reps // 4)
                rate = simulate(design, seeds, method, reps, args.effect_sd, rng)
                print(f"{design:<20} {seeds:>5} {method:<8} {rate:>11.3f} {math.sqrt(rate * (1 - rate) / reps):>7.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
