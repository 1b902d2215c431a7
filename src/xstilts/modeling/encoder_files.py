"""Saving an encoder so that unchanged word embeddings are shared between stage models.

A multilingual encoder's word embeddings are most of its weights (96M of e5-small's 118M,
256M of XLM-R large's 560M). Stages trained with frozen embeddings leave them bit-identical,
so every stage model would store the same hundreds of megabytes again. Here the encoder is
saved as a standard sharded Hugging Face checkpoint (``model.safetensors.index.json``) whose
embeddings sit in their own shard; when that shard's content equals the parent model's, it is
hard-linked instead of written. Loading is unchanged: ``from_pretrained`` reads the index.
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from xstilts.files import link_or_copy

EMBEDDINGS_SHARD = "embeddings.safetensors"
REST_SHARD = "encoder.safetensors"
INDEX = "model.safetensors.index.json"


def _embedding_key(encoder: nn.Module) -> str:
    weight = encoder.get_input_embeddings().weight
    for name, parameter in encoder.named_parameters():
        if parameter is weight:
            return name
    raise ValueError("the encoder's input embeddings are not among its parameters")


def _same_tensor(shard: Path, key: str, tensor: torch.Tensor) -> bool:
    with safe_open(str(shard), framework="pt") as handle:
        if key not in handle.keys():
            return False
        stored = handle.get_tensor(key)
    return stored.dtype == tensor.dtype and stored.shape == tensor.shape and torch.equal(stored, tensor)


def snapshot_tensor(tensor: torch.Tensor, copy: bool) -> torch.Tensor:
    """``tensor`` on the CPU, contiguous; with ``copy`` never sharing memory with the live one, except a
    frozen parameter (``requires_grad`` off): training never changes it, so it is shared, not copied
    (trimming's original embeddings are most of the weights)."""
    frozen = isinstance(tensor, nn.Parameter) and not tensor.requires_grad
    tensor = tensor.detach()  # a view of today's data: a later ``param.data = ...`` does not reach it
    if copy and not frozen:
        return tensor.to("cpu", copy=True, memory_format=torch.contiguous_format)
    return tensor.contiguous().cpu()


@dataclass
class EncoderSnapshot:
    """An encoder's config and weights as CPU tensors, ready to be written (possibly later, in
    another thread, while training goes on: see ``encoder_snapshot``)."""

    config: Any
    state: dict[str, torch.Tensor]
    embedding_key: str

    def save(self, folder: Path, embeddings_from: Path | None = None) -> bool:
        """Write config + two shards + index into ``folder``; returns whether the embeddings shard
        was linked from ``embeddings_from`` (a folder saved the same way)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(folder)
        state = dict(self.state)
        key = self.embedding_key
        embeddings = state.pop(key)
        shared = Path(embeddings_from) / EMBEDDINGS_SHARD if embeddings_from is not None else None
        linked = shared is not None and shared.is_file() and _same_tensor(shared, key, embeddings)
        if linked:
            link_or_copy(shared, folder / EMBEDDINGS_SHARD)
        else:
            save_file({key: embeddings}, folder / EMBEDDINGS_SHARD, metadata={"format": "pt"})
        save_file(state, folder / REST_SHARD, metadata={"format": "pt"})
        total = sum(t.numel() * t.element_size() for t in state.values()) + embeddings.numel() * embeddings.element_size()
        index = {"metadata": {"total_size": total},
                 "weight_map": {**{name: REST_SHARD for name in state}, key: EMBEDDINGS_SHARD}}
        (folder / INDEX).write_text(json.dumps(index, indent=2) + "\n")
        return linked


def encoder_snapshot(encoder: nn.Module, copy: bool) -> EncoderSnapshot:
    """``encoder``'s weights now; with ``copy`` they stay as they are while training changes the
    live ones (a CPU copy of every trainable weight: host memory for one more set of them)."""
    state = {name: snapshot_tensor(tensor, copy) for name, tensor in encoder.state_dict(keep_vars=True).items()}
    config = deepcopy(encoder.config) if copy else encoder.config
    return EncoderSnapshot(config, state, _embedding_key(encoder))
