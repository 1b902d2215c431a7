"""Checkpoint cost of a fully fine-tuned multilingual-e5-small: bytes on disk and share of the time.

Trains ``--steps`` steps on English XNLI pairs with a checkpoint every step, with vocabulary
trimming on and off, and prints for each: the size of ``training_state.pt`` (optimizer moments
of the trainable weights, RNG, data position, trimmed rows), the bytes the checkpoint's model
folder really adds (hard-linked files that another folder already holds are not counted), and the
checkpoint time as a share of the run's wall time. ``checkpoint_seconds`` is the time the step
loop waited for checkpoints: with background writing (the default) the capture of the step's
state plus any wait for a write still under way; serial (``--background off``), the whole write.
``--background on,off`` alternates the two, ``--rounds`` times, and prints medians; the step
loop's time (first step to last) is printed too.

    PYTHONPATH=src .venv/bin/python benchmarks/checkpoint_cost.py --steps 3
    PYTHONPATH=src .venv/bin/python benchmarks/checkpoint_cost.py --steps 3 --background on,off --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import scratch_dir  # noqa: E402


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(all bytes, bytes in files with a single link: the ones this folder alone holds)."""
    total = own = 0
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            total += stat.st_size
            own += stat.st_size if stat.st_nlink == 1 else 0
    return total, own


def measure(trim: bool, steps: int, examples: int, background: bool = True, every: int = 1) -> dict[str, Any]:
    from xstilts.paths import default_data_dir
    from xstilts.training.config import TrainConfig
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer

    run_dir = scratch_dir("ckpt-") / "run"
    stage = StageData([prepare_task_data(DataSelection("xnli", "en", "dev", f"[:{examples}]"), None,
                                         default_data_dir())])
    config = TrainConfig(max_steps=steps, batch_size=8, max_length=64, checkpoint_every=every, trim_vocabulary=trim)
    seen: dict[str, Any] = {"state_mb": float("nan"), "model_mb": float("nan"), "model_own_mb": float("nan")}

    def on_event(event: str, info: dict[str, Any]) -> None:
        if event == "start":
            seen["loop_start"] = time.perf_counter()
        if event == "step" and info["step"] == steps:
            seen["loop_s"] = time.perf_counter() - seen.pop("loop_start")
        checkpoint = run_dir / "checkpoint"
        # The newest checkpoint on disk (written in the background, it may lag behind a step or more).
        if event == "step" and (checkpoint / "manifest.json").is_file():
            try:
                state_mb = os.path.getsize(checkpoint / "training_state.pt") / 2**20
                total, own = folder_bytes(checkpoint / "model")
            except FileNotFoundError:  # swapped for a newer one meanwhile
                return
            seen["state_mb"], seen["model_mb"], seen["model_own_mb"] = state_mb, total / 2**20, own / 2**20

    result = Trainer(stage, config, run_dir, progress=on_event, background_checkpoints=background,
                     prefetch=background).run("multilingual-e5-small")
    return {**seen, "checkpoint_s": result.checkpoint_seconds, "wall_s": result.wall_seconds,
            "vocabulary": result.vocabulary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--checkpoint-every", type=int, default=1)
    parser.add_argument("--background", default="on", help="on, off, or on,off: alternated (with prefetch alike)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--trim", default="false,true")
    args = parser.parse_args()
    modes = [m.strip() == "on" for m in args.background.split(",")]
    for trim in [t.strip() == "true" for t in args.trim.split(",")]:
        runs: dict[bool, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for index in range(args.rounds):
            for background in (modes if index % 2 == 0 else modes[::-1]):
                r = measure(trim, args.steps, args.examples, background, args.checkpoint_every)
                runs[background].append(r)
                print(f"trim_vocabulary={str(trim):5s} background={'on ' if background else 'off'}: "
                      f"training_state.pt {r['state_mb']:.0f} MB, checkpoint model {r['model_mb']:.0f} MB "
                      f"({r['model_own_mb']:.0f} MB not shared), checkpoints {r['checkpoint_s']:.2f} s of "
                      f"{r['wall_s']:.1f} s wall ({100 * r['checkpoint_s'] / r['wall_s']:.0f}%), step loop "
                      f"{r['loop_s']:.1f} s, vocabulary {r['vocabulary']}", flush=True)
        if args.rounds > 1:
            for background, rs in runs.items():
                print(f"median trim_vocabulary={str(trim):5s} background={'on ' if background else 'off'}: "
                      f"checkpoints {statistics.median(r['checkpoint_s'] for r in rs):.2f} s, step loop "
                      f"{statistics.median(r['loop_s'] for r in rs):.2f} s, wall "
                      f"{statistics.median(r['wall_s'] for r in rs):.1f} s", flush=True)


if __name__ == "__main__":
    main()
