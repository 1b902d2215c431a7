"""The folders a training writes, read and written without torch.

A run directory::

    RUN_DIR/run.json      what the run trains, written when it starts (one format, below)
    RUN_DIR/result.json   written last: the run is finished (``TrainResult``)
    RUN_DIR/model/        the selected model (a saved xstilts model)
    RUN_DIR/best/         while training: the best dev model so far
    RUN_DIR/checkpoint/   while training: the resumable state (``xstilts.training.checkpoint``)

``run.json`` is the same for study nodes and ``xstilts train``::

    {"semantics": TRAINING_SEMANTICS_VERSION,
     "base_model": what the first training started from, or null when "parent" names a run,
     "parent": the run it continues (a sibling folder's name: a study node id; or a path), or null,
     "tasks": [{"train": SELECTION, "dev": SELECTION or null}, ...],
     "sampling": ..., "temperature": ...,   (multi-task stages; else null)
     "config": the TrainConfig}

where SELECTION holds ``task lang split slice files`` (a study node also the data's hash, with
file names instead of paths). For a study node it is exactly what the node id hashes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xstilts.files import write_json_atomic

RUN_RECORD = "run.json"
RESULT_FILE = "result.json"
MODEL_DIR = "model"
BEST_DIR = "best"
# A saved xstilts model (``MultiTaskModel.save``).
ENCODER_DIR = "encoder"
HEADS_WEIGHTS = "heads.safetensors"
HEADS_METADATA = "heads.json"


# ---------------------------------------------------------------- the run directory


def is_saved_model(path: Path) -> bool:
    return (Path(path) / HEADS_METADATA).is_file()


def is_run_dir(path: Path) -> bool:
    path = Path(path)
    return (path / RUN_RECORD).is_file() and (path / MODEL_DIR).is_dir()


def run_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / RESULT_FILE).is_file()


def model_ready(run_dir: Path) -> bool:
    """A finished run whose selected model is on disk (``--keep leaves`` may have dropped it)."""
    return run_finished(run_dir) and is_saved_model(Path(run_dir) / MODEL_DIR)


def write_run_record(run_dir: Path, record: dict[str, Any]) -> None:
    write_json_atomic(Path(run_dir) / RUN_RECORD, record)


def read_run_record(run_dir: Path) -> dict[str, Any]:
    """The run's ``run.json`` ({} when missing or unreadable). Records that ``xstilts train``
    wrote before the one format (``model``, ``train``, ``dev`` at the top) are read as it."""
    try:
        record = json.loads((Path(run_dir) / RUN_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    if "tasks" not in record and "train" in record:
        model = record.get("model")
        parent = run_dir_of(model) if model else None
        record = {**record, "tasks": [{"train": record["train"], "dev": record.get("dev")}],
                  "parent": str(parent.resolve()) if parent else None,
                  "base_model": None if parent else {"reference": model}}
    return record


def run_dir_of(model: str | Path) -> Path | None:
    """The run directory a model belongs to (RUN_DIR or RUN_DIR/model given), None for an encoder."""
    path = Path(str(model))
    for candidate in (path, path.parent):
        if is_run_dir(candidate):
            return candidate
    return None


def run_lineage(run_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(run dir, run.json) of every run from the first training down to ``run_dir``."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    current: Path | None = Path(run_dir)
    seen: set[Path] = set()
    while current is not None and current not in seen:
        seen.add(current)
        record = read_run_record(current)
        chain.append((current, record))
        parent = current.parent / str(record["parent"]) if record.get("parent") else None
        current = parent if parent is not None and (parent / RUN_RECORD).is_file() else None
    return chain[::-1]


def run_record(tasks: list[dict[str, Any]], config: dict[str, Any], *, semantics: str, parent: str | None = None,
               base_model: dict[str, Any] | None = None, sampling: str | None = None,
               temperature: float | None = None) -> dict[str, Any]:
    """A run.json in the one format (see the module docstring)."""
    return {"semantics": semantics, "base_model": base_model, "parent": parent, "tasks": tasks,
            "sampling": sampling, "temperature": temperature, "config": config}
