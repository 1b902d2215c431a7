"""Sequence packing: run the encoder on a batch's real tokens only, same batch, same math.

A randomly drawn batch of XNLI pairs (median 41 tokens) padded to its longest row is a third
padding, and an encoder's matmuls (most of a CPU step) cost per position, real or not. Packing
places the batch's sequences end to end in a few rows of ``capacity`` positions, gives each
token its own sequence's position id, and lets attention see only the token's own sequence (a
block-diagonal mask). The encoder output is then scattered back to the padded [batch, length,
hidden] layout, so heads, losses and decoding are unchanged: a packed step equals the padded
step up to float rounding (and different dropout draws). Padding positions come back as zeros,
which is why only kinds whose heads ignore padding positions pack (``KindAdapter.packable``).

The batch composition is not touched (unlike length-grouped batching), so results are the same
in distribution; tests/test_packing.py checks the encoder output and gradients against padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# Encoders whose position ids and attention masks this module reproduces exactly (tested).
PACKABLE_MODEL_TYPES = ("bert", "roberta", "xlm-roberta")
PACKABLE_ATTENTION = ("sdpa", "eager")
# Positions per packed row (a longer sequence gets a row of its own). Measured on e5-small, random
# XNLI batches of 16 on 2 CPU cores (fwd+bwd, s/step): longest-in-batch 0.60, 96 0.58, 128 0.59,
# 192 0.72, padded 0.77: longer rows pay for attention over the whole row, shorter ones are left
# part-empty.
ROW_CAPACITY = 128
# Rows are padded to a multiple of this many positions (friendlier shapes for GPU kernels).
ROW_MULTIPLE = 8
# With static rows (a compiled encoder: xstilts.modeling.compilation), the row count is rounded up
# to a multiple of this, and every row has ROW_CAPACITY positions (or a multiple, for a sequence
# longer than that): a few shapes per training instead of one per batch.
ROW_BUCKET = 4


@dataclass(frozen=True)
class PackingSupport:
    """Whether an encoder can run packed batches, and its first position id (RoBERTa family:
    ``padding_idx + 1``; BERT: 0)."""

    position_offset: int | None
    reason: str | None = None  # why not, when position_offset is None
    static_rows: bool = False  # bucket the packed shape (a compiled encoder recompiles per shape)

    @property
    def packable(self) -> bool:
        return self.position_offset is not None


def packing_support(encoder: nn.Module) -> PackingSupport:
    config = encoder.config
    model_type = getattr(config, "model_type", "")
    if model_type not in PACKABLE_MODEL_TYPES:
        return PackingSupport(None, f"model type {model_type!r} (packing supports {', '.join(PACKABLE_MODEL_TYPES)})")
    attention = getattr(config, "_attn_implementation", None) or "eager"
    if attention not in PACKABLE_ATTENTION:
        return PackingSupport(None, f"attention implementation {attention!r} ignores block-diagonal masks")
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return PackingSupport(None, f"position embeddings {config.position_embedding_type!r}")
    embeddings = getattr(encoder, "embeddings", None)
    if hasattr(embeddings, "create_position_ids_from_input_ids"):  # RoBERTa family
        return PackingSupport(int(embeddings.padding_idx) + 1)
    return PackingSupport(0)


def first_fit_rows(lengths: list[int], capacity: int) -> list[list[int]]:
    """Sequence indices per row: longest first, each into the first row with room (first-fit
    decreasing: within a few percent of the fewest rows for these lengths). A sequence longer
    than ``capacity`` gets a row of its own."""
    rows: list[list[int]] = []
    free: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        length = lengths[index]
        for row, room in enumerate(free):
            if length <= room:
                rows[row].append(index)
                free[row] -= length
                break
        else:
            rows.append([index])
            free.append(capacity - length)
    return rows


def pack_batch(batch: dict[str, torch.Tensor], position_offset: int, pad_token_id: int,
               capacity: int = ROW_CAPACITY, static_rows: bool = False) -> dict[str, torch.Tensor]:
    """Add packed encoder inputs to a padded CPU batch (its other columns are kept as they are).

    ``packed_*``: [rows, row length]; ``packed_segments`` numbers each position's sequence from 1
    (0: row padding); ``unpack_index`` [batch, length] points every padded position at its packed
    position in the flattened rows, or at one extra zero row for padding. ``static_rows``: rows of
    a multiple of ``capacity`` positions, their count a multiple of ``ROW_BUCKET`` (extra rows are
    all padding).
    """
    input_ids = batch["input_ids"]
    if input_ids.dim() != 2:
        raise ValueError(f"packing needs [batch, length] input_ids, got shape {tuple(input_ids.shape)}")
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    rows = first_fit_rows(lengths, max(capacity, max(lengths)))
    row_length = max(sum(lengths[i] for i in row) for row in rows)
    multiple, row_count = ROW_MULTIPLE, len(rows)
    if static_rows:
        multiple, row_count = capacity, -(-len(rows) // ROW_BUCKET) * ROW_BUCKET
    row_length = -(-row_length // multiple) * multiple
    shape = (row_count, row_length)
    packed_ids = torch.full(shape, pad_token_id, dtype=torch.long)
    positions = torch.zeros(shape, dtype=torch.long)
    segments = torch.zeros(shape, dtype=torch.long)
    types = torch.zeros(shape, dtype=torch.long)
    token_types = batch.get("token_type_ids")
    padding_slot = row_count * row_length
    unpack = torch.full(input_ids.shape, padding_slot, dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for segment, index in enumerate(row, start=1):
            n = lengths[index]
            real = batch["attention_mask"][index].nonzero().squeeze(1)  # left or right padding alike
            packed_ids[r, start:start + n] = input_ids[index, real]
            positions[r, start:start + n] = torch.arange(n) + position_offset
            segments[r, start:start + n] = segment
            if token_types is not None:
                types[r, start:start + n] = token_types[index, real]
            unpack[index, real] = r * row_length + torch.arange(start, start + n)
            start += n
    packed = dict(batch)
    packed.update(packed_input_ids=packed_ids, packed_position_ids=positions, packed_segments=segments,
                  unpack_index=unpack)
    if token_types is not None:
        packed["packed_token_type_ids"] = types
    return packed


def encode_packed(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The encoder's last hidden state for a packed batch, in the padded layout [batch, length,
    hidden] (zeros at padding positions)."""
    segments = batch["packed_segments"]
    # Attend within one's own sequence; row padding (segment 0) attends to row padding only, so
    # no softmax row is empty.
    mask = (segments[:, :, None] == segments[:, None, :]).unsqueeze(1)
    if getattr(encoder.config, "_attn_implementation", None) == "eager":
        dtype = next(encoder.parameters()).dtype
        mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)
    inputs: dict[str, Any] = {"input_ids": batch["packed_input_ids"], "attention_mask": mask,
                              "position_ids": batch["packed_position_ids"]}
    if "packed_token_type_ids" in batch:
        inputs["token_type_ids"] = batch["packed_token_type_ids"]
    hidden = encoder(**inputs).last_hidden_state
    flat = hidden.reshape(-1, hidden.shape[-1])
    flat = torch.cat([flat, flat.new_zeros(1, flat.shape[-1])])
    index = batch["unpack_index"]
    return flat.index_select(0, index.reshape(-1)).reshape(*index.shape, flat.shape[-1])
