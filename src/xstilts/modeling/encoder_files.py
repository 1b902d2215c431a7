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
from pathlib import Path

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


def save_encoder(encoder: nn.Module, folder: Path, embeddings_from: Path | None = None) -> bool:
    """Write ``encoder`` (config + two shards + index) into ``folder``; returns whether the
    embeddings shard was linked from ``embeddings_from`` (a folder saved the same way)."""
    folder.mkdir(parents=True, exist_ok=True)
    encoder.config.save_pretrained(folder)
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in encoder.state_dict().items()}
    key = _embedding_key(encoder)
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
