"""The report's tests on REAL per-seed scores under a known null: one condition of a finished
study trained with many seeds, its seeds relabelled at random into two pseudo-conditions of n seeds
each. Both "conditions" are the same training recipe, so every contrast called significant is a
false positive. Prints the share called at alpha 0.05 per seed count and test, with the number of
relabellings (they reuse the same runs, so the Monte Carlo error is larger than for independent
studies).

    xstilts run benchmarks/real_null_study.toml          # 20 PAN-X fine-tunings (~30 min on 2 cores)
    python benchmarks/statistics_real_null.py benchmarks/real_null_study.toml --splits 2000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.execution.result_rows import read_examples
from xstilts.scoring.aggregate import primary_metric
from xstilts.results.filtering import condition_rows, select_rows
from xstilts.results.statistics import paired_contrast
from xstilts.results.store import ResultStore
from xstilts.study import build_plan, load_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--condition", default=None, help="the condition to relabel (default: the first)")
    parser.add_argument("--seeds", default="2,3,5,10")
    parser.add_argument("--splits", type=int, default=2000)
    parser.add_argument("--methods", default="t,t+items")
    parser.add_argument("--random-seed", type=int, default=1)
    args = parser.parse_args()
    plan = build_plan(load_study(args.study))
    study_dir = plan.study.output_dir
    rows = condition_rows(select_rows(ResultStore.for_study(study_dir).to_dataframe(),
                                      [node.id for node in plan.eval_nodes]))
    condition = args.condition or sorted(set(rows["condition"]))[0]
    rng = np.random.default_rng(args.random_seed)
    cache: dict[str, pd.DataFrame] = {}

    def load(ref: str) -> pd.DataFrame:
        if ref not in cache:
            cache[ref] = read_examples(study_dir, ref)
        return cache[ref]

    print(f"{'target':<10} {'seeds':>5} {'method':<8} {'significant':>11}  ({args.splits} relabellings of "
          f"{condition!r}, alpha 0.05)")
    for target, part in rows[rows["condition"] == condition].groupby("target"):
        task = str(part["task"].iloc[0])
        metric = primary_metric(task)
        scores = part[part["metric"] == metric]
        seeds = sorted(set(scores["seed"]))
        languages = sorted(set(scores["lang"]))
        for n in map(int, args.seeds.split(",")):
            if 2 * n > len(seeds):
                print(f"{target:<10} {n:>5} {'-':<8} {'-':>11}  (needs {2 * n} seeds, the study has {len(seeds)})")
                continue
            for method in args.methods.split(","):
                called = 0
                for _ in range(args.splits):
                    drawn = rng.permutation(seeds)[:2 * n]
                    # Pseudo-conditions A and B; B's seeds are renumbered to pair with A's.
                    a = scores[scores["seed"].isin(drawn[:n])].assign(condition="A")
                    b = scores[scores["seed"].isin(drawn[n:])].assign(condition="B")
                    b = b.assign(seed=b["seed"].map(dict(zip(drawn[n:], drawn[:n]))))
                    results = paired_contrast(pd.concat([a, b]), target=target, task=task, metric=metric,
                                              condition_a="A", condition_b="B", languages=languages, method=method,
                                              load_examples=load)
                    called += results[-1].p is not None and results[-1].p < 0.05
                print(f"{target:<10} {n:>5} {method:<8} {called / args.splits:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
