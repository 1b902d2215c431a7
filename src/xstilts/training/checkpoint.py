"""Resumable training checkpoints, written atomically.

A checkpoint is a directory ``RUN_DIR/checkpoint`` holding the model (encoder + heads) and
``training_state.pt`` (optimizer, scheduler, every RNG state, the data position, the best dev
score so far). It is written to a staging directory and swapped in with renames, so a run killed
at any instant (``kill -9``) leaves either the previous complete checkpoint or the new one.

Every checkpoint ends with ``manifest.json`` (written last): the size and sha256 of each of its
files. A checkpoint is verified against it before a run resumes from it, so a file truncated or
damaged afterwards (disk trouble, a copy gone wrong) cannot poison every re-run: the bad
checkpoint is renamed aside (kept for inspection) with a warning and the run resumes from the
previous good checkpoint, or from the start.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xstilts.files import atomic_path, file_sha256, fsync_directory, replace_directory, write_text_atomic

CHECKPOINT = "checkpoint"
STATE_FILE = "training_state.pt"
_NEW = "checkpoint.new"
_OLD = "checkpoint.old"
MANIFEST = "manifest.json"
BAD_PREFIX = "checkpoint.bad-"


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


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < (1 << 20)
    except OSError:
        return False


def training_state(optimizer: torch.optim.Optimizer, scheduler: Any, progress: dict[str, Any],
                   extra: dict[str, Any] | None = None, copy: bool = True) -> dict[str, Any]:
    """What ``training_state.pt`` holds, as of now (RNG states included). ``copy``: tensors copied
    to the CPU and containers copied, so training may go on while it is written; the optimizer's
    moments are twice the trainable weights: that much host memory until the write is done."""
    copied = _copied if copy else (lambda value: value)
    return {"optimizer": copied(optimizer.state_dict()), "scheduler": copied(scheduler.state_dict()),
            "rng": capture_rng(), "progress": copied(progress), **copied(extra or {})}


def _copied(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(item) for item in value)
    return copy.deepcopy(value)


def write_checkpoint(run_dir: Path, save_model: Callable[[Path], None], state: dict[str, Any]) -> Path:
    """Write RUN_DIR/checkpoint atomically: ``save_model(folder)`` writes the model and ``state``
    (``training_state``) becomes ``training_state.pt``."""
    run_dir = Path(run_dir)
    staging = run_dir / _NEW
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        save_model(staging / "model")
        with atomic_path(staging / STATE_FILE) as tmp_state:
            torch.save(state, tmp_state)
        write_manifest(staging)
        fsync_directory(staging)
    except BaseException as error:
        # A full disk must not leave a half checkpoint holding the space the next try needs.
        full = not isinstance(error, OSError) and ("No space left" in str(error) or _disk_full(staging))
        shutil.rmtree(staging, ignore_errors=True)
        if full:  # torch and safetensors report a full disk as their own internal write errors
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staging)) from error
        raise

    # The previous checkpoint stays as checkpoint.old until the new one is in place on disk.
    current = run_dir / CHECKPOINT
    replace_directory(staging, current, retired=run_dir / _OLD, durable=True)
    return current


class CheckpointWriter:
    """Writes checkpoints in a background thread, at most one in flight: the step loop only waits
    for the capture of the state (and for a previous write still under way). The rename protocol
    is ``write_checkpoint``'s, so a kill at any instant still leaves a complete checkpoint.

    An error of the write (e.g. OSError(ENOSPC)) is raised, as it was raised in the thread, by
    the next ``submit`` or ``wait``. ``background=False`` writes in the caller's thread.
    """

    def __init__(self, background: bool = True):
        self.background = background
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, run_dir: Path, save_model: Callable[[Path], None], state: dict[str, Any]) -> None:
        """Write a checkpoint of a captured ``state`` (``training_state(..., copy=True)``) and model
        (``save_model`` writes weights captured at the same step)."""
        self.wait()
        if not self.background:
            write_checkpoint(run_dir, save_model, state)
            return

        def write() -> None:
            try:
                write_checkpoint(run_dir, save_model, state)
            except BaseException as error:  # handed to the main thread by wait()
                self._error = error

        # Not a daemon: an interpreter exiting meanwhile still finishes the checkpoint.
        self._thread = threading.Thread(target=write, name="xstilts-checkpoint-writer")
        self._thread.start()

    def wait(self) -> None:
        """Return once no write is in flight; raise the error of the last one, if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error


def find_checkpoint(run_dir: Path, warn: Callable[[str], None] | None = None) -> Path | None:
    """The newest complete, verified checkpoint (a kill between the two renames leaves
    checkpoint.old). One that fails verification is set aside and the next one is tried."""
    warn = warn or print_warning
    for name in (CHECKPOINT, _OLD):
        candidate = Path(run_dir) / name
        if not candidate.exists():
            continue
        problem = verify_checkpoint(candidate)
        if problem is None:
            return candidate
        aside = set_aside(candidate)
        warn(f"{candidate}: damaged checkpoint ({problem}); moved to {aside.name}, resuming from "
             "the previous checkpoint or from the start")
    return None


def write_manifest(checkpoint_dir: Path) -> None:
    """Record size and sha256 of every file of the checkpoint, atomically, as its last file."""
    checkpoint_dir = Path(checkpoint_dir)
    files = {str(path.relative_to(checkpoint_dir)): {"size": path.stat().st_size, "sha256": file_sha256(path)}
             for path in sorted(checkpoint_dir.rglob("*")) if path.is_file() and path.name != MANIFEST}
    write_text_atomic(checkpoint_dir / MANIFEST, json.dumps({"files": files}, indent=1, sort_keys=True) + "\n")


def verify_checkpoint(checkpoint_dir: Path) -> str | None:
    """None when every file the manifest lists is present with its size and hash, else the problem."""
    checkpoint_dir = Path(checkpoint_dir)
    try:
        files = json.loads((checkpoint_dir / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (ValueError, KeyError, TypeError, OSError) as error:
        return f"unreadable {MANIFEST} ({error})"
    if STATE_FILE not in files or not any(name.startswith("model/") for name in files):
        return f"{MANIFEST} lists no training state or model"
    for name, expected in files.items():
        path = checkpoint_dir / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != expected["size"]:
            return f"{name} has {size} bytes, {expected['size']} were written"
        if file_sha256(path) != expected["sha256"]:
            return f"{name} does not match its recorded sha256"
    return None


def set_aside(checkpoint_dir: Path) -> Path:
    """Rename a bad checkpoint out of the way (never delete it: it is evidence)."""
    checkpoint_dir = Path(checkpoint_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = checkpoint_dir.with_name(f"{BAD_PREFIX}{stamp}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = checkpoint_dir.with_name(f"{BAD_PREFIX}{stamp}-{suffix}")
    os.replace(checkpoint_dir, target)
    return target



def print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def load_training_state(checkpoint_dir: Path) -> dict[str, Any]:
    # Our own file: it holds numpy RNG arrays and python tuples, hence weights_only=False.
    return torch.load(Path(checkpoint_dir) / STATE_FILE, map_location="cpu", weights_only=False)


def remove_checkpoints(run_dir: Path) -> None:
    for name in (CHECKPOINT, _OLD, _NEW):
        shutil.rmtree(Path(run_dir) / name, ignore_errors=True)


