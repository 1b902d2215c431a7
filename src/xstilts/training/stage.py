"""Training ONE stage: what `xstilts train` and a study's training node both do.

A stage is one or more (train, dev) data selections trained together; each is read from
``data_dir`` (or its explicit files), cut to the config's example limits, and trained from
``model`` into ``run_dir`` (resumable; a finished run returns at once). ``identity`` is what the
run records (``run.json``): the caller's, unchanged. ``progress`` opens what receives the trainer's
events once the data is read (a progress bar: a data mistake is reported before any bar appears).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from xstilts.tasks.selection import DataSelection
from xstilts.training.config import TrainConfig
from xstilts.training.data import Sampling, StageData, prepare_task_data
from xstilts.training.trainer import Progress, Trainer, TrainResult


def train_stage(selections: Sequence[tuple[DataSelection, DataSelection | None]], config: TrainConfig,
                run_dir: Path, model: str, identity: dict[str, Any] | None, *, data_dir: Path | None,
                target: bool, sampling: Sampling = "proportional", temperature: float = 2.0,
                progress: Callable[[], AbstractContextManager[Progress | None]] = nullcontext) -> TrainResult:
    """Train ``model`` on the stage of ``selections`` (train, dev or None) into ``run_dir``."""
    stage = StageData(
        [prepare_task_data(train, dev, data_dir, config.max_train_examples, config.max_eval_examples)
         for train, dev in selections],
        sampling=sampling, temperature=temperature, target=target,
    )
    with progress() as on_event:
        return Trainer(stage, config, run_dir, progress=on_event).run(model, identity)
