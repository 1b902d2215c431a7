"""One shared encoder with one head per task (or per shared head name, e.g. "nli" for ANLI+).

The encoder carries over from stage to stage; heads belong to tasks. A later stage that asks for
a head name the model already has continues training that head.

On disk (``save``/``load``)::

    DIR/encoder/            the encoder (and, when given, the tokenizer) via save_pretrained
    DIR/heads.safetensors   every head's weights, keys "<head name>.<parameter>"
    DIR/heads.json          {"format": 1, "heads": {name: {"kind": ..., "labels": [...] or null}}}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from xstilts.errors import ConfigError, MissingDataError
from xstilts.files import link_or_copy, staged_directory
from xstilts.modeling.encoder_files import EncoderSnapshot, encoder_snapshot, snapshot_tensor
from xstilts.modeling.kinds import KindAdapter, get_adapter
from xstilts.modeling.loading import load_encoder
from xstilts.modeling.loading import resolve_model
from xstilts.modeling.reference import ModelRef
from xstilts.modeling.run_folders import ENCODER_DIR, HEADS_METADATA, HEADS_WEIGHTS
from xstilts.modeling.retrieval_record import RETRIEVAL_RECORD, write_retrieval_record
from xstilts.tasks.types import TaskKind

FORMAT_VERSION = 1


@dataclass(frozen=True)
class HeadSpec:
    kind: TaskKind
    labels: tuple[str, ...] | None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "labels": list(self.labels) if self.labels is not None else None}


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.head_specs: dict[str, HeadSpec] = {}
        # The sentence-vector use the current training gives the encoder (a dual-encoder stage's
        # pooling), written into every saved encoder/; None keeps the parent's record.
        self.retrieval_use: dict[str, Any] | None = None

    @classmethod
    def from_pretrained_encoder(cls, name_or_path: str | Path, dtype: torch.dtype = torch.float32
                                ) -> MultiTaskModel:
        """A model without heads around a pretrained encoder, loaded in ``dtype`` (float32 on CPU:
        transformers 5 otherwise keeps the saved dtype, and fp16 trains slowly on a CPU)."""
        return cls(load_encoder(str(name_or_path), dtype=dtype))

    @property
    def hidden_size(self) -> int:
        return self.encoder.config.hidden_size

    def add_head(self, name: str, kind: TaskKind | str, labels: Sequence[str] | None = None) -> None:
        """Create head ``name``; a no-op when it exists with the same kind and labels."""
        if not name or "." in name:
            raise ConfigError(f"head name {name!r} must be non-empty and contain no '.'")
        adapter = get_adapter(kind)  # validates the kind
        spec = HeadSpec(adapter.kind, tuple(labels) if labels is not None else None)
        if name in self.head_specs:
            if self.head_specs[name] != spec:
                raise ConfigError(f"head {name!r} already exists as {self.head_specs[name].to_json()}, "
                                  f"cannot reuse it as {spec.to_json()}")
            return
        head = adapter.build_head(self.hidden_size, adapter.head_size(self.encoder, spec.labels))
        reference = next(self.encoder.parameters())
        self.heads[name] = head.to(device=reference.device, dtype=reference.dtype)
        self.head_specs[name] = spec

    def remove_head(self, name: str) -> None:
        """Drop head ``name`` if present (the next ``add_head`` builds it afresh)."""
        if name in self.head_specs:
            del self.heads[name]
            del self.head_specs[name]

    def adapter(self, head_name: str) -> KindAdapter:
        return get_adapter(self._spec(head_name).kind)

    def forward(self, head_name: str, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor | tuple[torch.Tensor, ...]]:
        """(loss or None, logits) of head ``head_name`` on a padded batch (QA logits: (start, end))."""
        return self.adapter(head_name).forward(self.encoder, self.heads[head_name], batch)

    def _spec(self, head_name: str) -> HeadSpec:
        if head_name not in self.head_specs:
            known = ", ".join(self.head_specs) or "none"
            raise ConfigError(f"model has no head {head_name!r} (heads: {known})")
        return self.head_specs[head_name]

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path, tokenizer: Any = None, tokenizer_files: Path | None = None,
             embeddings_from: Path | None = None) -> None:
        """Write the model to ``directory`` atomically: built beside it, then swapped in.

        The tokenizer goes beside the encoder: its files are linked from ``tokenizer_files`` (a
        folder holding them: much faster than serialising XLM-R's 17 MB tokenizer again), else
        written from ``tokenizer``. Word embeddings identical to those of the encoder folder
        ``embeddings_from`` are hard-linked, not written again (see ``encoder_files``).
        """
        self.snapshot(copy=False).save(directory, tokenizer, tokenizer_files, embeddings_from)

    def snapshot(self, copy: bool = True) -> ModelSnapshot:
        """The model as it is now, to be saved later (``ModelSnapshot.save``), e.g. by a background
        thread while training changes the live weights. ``copy``: CPU copies of every trainable
        weight (memory for one more set of them; frozen weights are shared, never changed)."""
        heads = {f"{name}.{key}": snapshot_tensor(tensor, copy)
                 for name, head in self.heads.items() for key, tensor in head.state_dict(keep_vars=True).items()}
        metadata = {"format": FORMAT_VERSION, "heads": {name: spec.to_json() for name, spec in self.head_specs.items()}}
        return ModelSnapshot(encoder_snapshot(self.encoder, copy), heads, metadata, self.retrieval_use)

    @classmethod
    def load(cls, directory: str | Path, dtype: torch.dtype = torch.float32) -> MultiTaskModel:
        directory = Path(directory)
        metadata_path = directory / HEADS_METADATA
        if not metadata_path.is_file():
            raise MissingDataError(f"{directory}: not a saved xstilts model ({HEADS_METADATA} missing)")
        metadata = json.loads(metadata_path.read_text())
        if metadata.get("format") != FORMAT_VERSION:
            raise ConfigError(f"{metadata_path}: format {metadata.get('format')!r}, expected {FORMAT_VERSION}")
        model = cls.from_pretrained_encoder(directory / ENCODER_DIR, dtype=dtype)
        for name, spec in metadata["heads"].items():
            model.add_head(name, spec["kind"], spec["labels"])
        weights = load_file(directory / HEADS_WEIGHTS)
        for name, head in model.heads.items():
            prefix = f"{name}."
            head.load_state_dict({key[len(prefix):]: tensor for key, tensor in weights.items()
                                  if key.startswith(prefix)})
        return model


# Linked from the parent's folder into encoder/: the tokenizer, and the model's documented
# retrieval use so it travels with every stage.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model",
                   "vocab.txt", "added_tokens.json", RETRIEVAL_RECORD)


@dataclass
class ModelSnapshot:
    """A MultiTaskModel's weights (CPU tensors) and head metadata, captured by ``snapshot``."""

    encoder: EncoderSnapshot
    heads: dict[str, torch.Tensor]
    metadata: dict[str, Any]
    retrieval_use: dict[str, Any] | None = None

    def save(self, directory: str | Path, tokenizer: Any = None, tokenizer_files: Path | None = None,
             embeddings_from: Path | None = None) -> None:
        """As ``MultiTaskModel.save``."""
        with staged_directory(Path(directory)) as staging:
            self.encoder.save(staging / ENCODER_DIR, embeddings_from)
            if tokenizer_files is not None and _has_tokenizer_files(tokenizer_files):
                for name in TOKENIZER_FILES:
                    if (tokenizer_files / name).is_file():
                        link_or_copy(tokenizer_files / name, staging / ENCODER_DIR / name)
            elif tokenizer is not None:
                tokenizer.save_pretrained(staging / ENCODER_DIR)
            if self.retrieval_use is not None:  # replaces the parent's record linked above
                write_retrieval_record(staging / ENCODER_DIR, self.retrieval_use)
            save_file(self.heads, staging / HEADS_WEIGHTS)
            (staging / HEADS_METADATA).write_text(json.dumps(self.metadata, indent=2, ensure_ascii=False) + "\n")


def _has_tokenizer_files(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "sentencepiece.bpe.model").is_file()


def load_model(reference: ModelRef, dtype: torch.dtype = torch.float32) -> MultiTaskModel:
    """The model a reference names, with its heads, or a plain encoder without heads."""
    if reference.saved is not None:
        return MultiTaskModel.load(reference.saved, dtype=dtype)
    return MultiTaskModel.from_pretrained_encoder(resolve_model(reference.text), dtype=dtype)
