"""Accuracy of bf16 autocast training against fp32 on this machine: the same trainings (seeds,
data, steps) in both precisions, each seed's dev score side by side. Answers whether "auto" mixed
precision (bf16 on a CPU with native bf16, xstilts.hardware) may be the default.

    PYTHONPATH=src .venv/bin/python benchmarks/precision_accuracy.py --task panx --steps 150 --seeds 1,2,3

PAN-X trains on English train[:2000] and scores F1 on en dev[:600]; XNLI (``--task xnli``) trains
on en dev[:2000] and scores accuracy on en dev[2000:2490]. Batch 16, lr 5e-5, length 128.
Last line: ``mean difference (bf16 - fp32): X.XX`` over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import E5_SMALL, prepared_model, print_header, scratch_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("panx", "xnli"), default="panx")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()

    from xstilts.paths import default_data_dir
    from xstilts.training.config import TrainConfig
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer

    model = prepared_model(E5_SMALL, None)
    data = args.data or default_data_dir()
    train = DataSelection(args.task, "en", "train" if args.task == "panx" else "dev", "[:2000]")
    dev = DataSelection(args.task, "en", "dev", "[:600]" if args.task == "panx" else "[2000:2490]")
    stage = StageData([prepare_task_data(train, dev, data)])
    print_header("bf16 autocast vs fp32 training: dev score per seed",
                 dict(task=args.task, steps=args.steps, seeds=args.seeds, batch=16, learning_rate=5e-5))
    root = scratch_dir("precision-accuracy-")
    scores: dict[str, list[float]] = {"no": [], "bf16": []}
    for seed in (int(s) for s in args.seeds.split(",")):
        for precision in ("no", "bf16"):
            config = TrainConfig(max_steps=args.steps, batch_size=16, learning_rate=5e-5, max_length=128, seed=seed,
                                 eval_every=args.steps, select_best=False, mixed_precision=precision,
                                 checkpoint_every=10**9)
            result = Trainer(stage, config, root / f"{precision}-{seed}").run(model)
            scores[precision].append(result.best_dev)
            print(f"seed {seed} {'fp32' if precision == 'no' else 'bf16'}: {result.dev_metric} {result.best_dev:.2f}, "
                  f"{result.wall_seconds:.1f} s", flush=True)
    differences = [b - a for a, b in zip(scores["no"], scores["bf16"])]
    print(f"fp32 mean {statistics.mean(scores['no']):.2f}, bf16 mean {statistics.mean(scores['bf16']):.2f}, "
          f"differences {', '.join(f'{d:+.2f}' for d in differences)}")
    print(f"mean difference (bf16 - fp32): {statistics.mean(differences):+.2f}")


if __name__ == "__main__":
    main()
