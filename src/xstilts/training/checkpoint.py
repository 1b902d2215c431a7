"""Resumable training checkpoints, written atomically.

A checkpoint is a directory ``RUN_DIR/checkpoint`` holding the model (encoder + heads) and
``training_state.pt`` (optimizer, scheduler, every RNG state, the data position, the best dev
score so far). It is written to a staging directory and swapped in with renames, so a run killed
at any instant (``kill -9``) leaves either the previous complete checkpoint or the new one.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT = "checkpoint"
STATE_FILE = "training_state.pt"
_NEW = "checkpoint.new"
_OLD = "checkpoint.old"


def capture_rng() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run_dir: Path, save_model: Callable[[Path], None], optimizer: torch.optim.Optimizer,
                    scheduler: Any, progress: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write model + optimizer + scheduler + RNG + ``progress`` (+ ``extra`` entries of the training
    state) as RUN_DIR/checkpoint, atomically."""
    run_dir = Path(run_dir)
    staging = run_dir / _NEW
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_model(staging / "model")
    state = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": capture_rng(),
        "progress": progress,
        **(extra or {}),
    }
    tmp_state = staging / (STATE_FILE + ".tmp")
    torch.save(state, tmp_state)
    os.replace(tmp_state, staging / STATE_FILE)
    _fsync_dir(staging)

    current, old = run_dir / CHECKPOINT, run_dir / _OLD
    shutil.rmtree(old, ignore_errors=True)
    if current.exists():
        os.replace(current, old)
    os.replace(staging, current)
    _fsync_dir(run_dir)
    shutil.rmtree(old, ignore_errors=True)
    return current


def find_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (a kill between the two renames leaves checkpoint.old)."""
    for name in (CHECKPOINT, _OLD):
        candidate = Path(run_dir) / name
        if (candidate / STATE_FILE).is_file() and (candidate / "model").is_dir():
            return candidate
    return None


def load_training_state(checkpoint_dir: Path) -> dict[str, Any]:
    # Our own file: it holds numpy RNG arrays and python tuples, hence weights_only=False.
    return torch.load(Path(checkpoint_dir) / STATE_FILE, map_location="cpu", weights_only=False)


def remove_checkpoints(run_dir: Path) -> None:
    for name in (CHECKPOINT, _OLD, _NEW):
        shutil.rmtree(Path(run_dir) / name, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
