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
base model in its node ids, decided torch-free in ``xstilts.modeling.identity``), goes through it. The encoder-level work (resolving names,
checking folders, loading with an explicit dtype) is ``xstilts.modeling.loading``.
The run directory's layout and record: ``xstilts.modeling.run_folders``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.files import file_sha256
from xstilts.modeling.identity import Origin, model_identity, reference_origin, saved_model_of
from xstilts.modeling.loading import resolve_model
from xstilts.modeling.run_folders import ENCODER_DIR, read_run_record

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
        return cls(str(reference), *saved_model_of(reference))

    @property
    def has_heads(self) -> bool:
        return self.saved is not None

    @property
    def origin(self) -> Origin:
        return reference_origin(self.text, self.saved)

    def identity(self, file_hash: Callable[[Path], str] = file_sha256) -> dict[str, Any]:
        """The model by content, never by absolute path (``xstilts.modeling.identity``)."""
        return model_identity(self.text, self.saved, file_hash)

    def check(self) -> None:
        """Fail now, in one line, on a reference that cannot be loaded (without loading it; an
        offline model is built when first loaded)."""
        if self.origin not in ("offline", "saved"):
            resolve_model(self.text)

    def encoder_source(self) -> str:
        """What ``from_pretrained`` loads the encoder (and the tokenizer) from: a saved model's
        ``encoder/`` (stage models carry their tokenizer there), else the resolved encoder."""
        if self.saved is not None:
            return str(self.saved / ENCODER_DIR)
        return resolve_model(self.text)

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
