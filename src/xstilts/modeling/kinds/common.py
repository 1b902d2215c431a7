"""Pieces shared by the task-kind adapters: running the encoder, the first-token head, label lookup."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.modeling.packing import encode_packed

# The hidden dropout of BERT and XLM-R configs; heads use it on top of the encoder.
HEAD_DROPOUT = 0.1
# Batch columns the encoder itself consumes (token_type_ids only when the tokenizer produced them).
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Examples per tokenizer call: big enough for the fast tokenizer's parallelism, small enough that
# its per-text Encoding objects never pile up for a million-example task (ANLI+).
TOKENIZE_BATCH = 1000


def chunks(items: Sequence[Any], size: int = TOKENIZE_BATCH) -> Iterator[tuple[int, Sequence[Any]]]:
    """(index of the first item, slice) for consecutive slices of ``items``."""
    for first in range(0, len(items), size):
        yield first, items[first:first + size]


def last_hidden_state(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Encode a padded batch of 2-D inputs; returns [batch, length, hidden]. A batch that also
    carries packed inputs (``xstilts.modeling.packing``) runs on its real tokens only."""
    if "packed_input_ids" in batch:
        return encode_packed(encoder, batch)
    inputs = {name: batch[name] for name in ENCODER_INPUTS if name in batch}
    return encoder(**inputs).last_hidden_state


class FirstTokenHead(nn.Module):
    """RoBERTa's classification head: first token (<s>/[CLS]) -> dropout -> dense -> tanh -> dropout -> out."""

    def __init__(self, hidden_size: int, num_outputs: int):
        super().__init__()
        self.dropout = nn.Dropout(HEAD_DROPOUT)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_outputs)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        first = self.dropout(hidden[:, 0])
        return self.out_proj(self.dropout(torch.tanh(self.dense(first))))


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in float32 (bf16 logits lose too much precision in the log-sum-exp)."""
    return nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                       ignore_index=-100)


def argmax(logits: Any) -> np.ndarray:
    """Argmax over the last axis of a numpy array, nested list or tensor (any device or dtype)."""
    if isinstance(logits, torch.Tensor):
        return logits.detach().float().argmax(-1).cpu().numpy()
    return np.asarray(logits).argmax(-1)


def require_labels(labels: Sequence[str] | None, kind: str) -> Sequence[str]:
    if not labels:
        raise XstiltsError(f"a {kind} head needs the task's label list, got none")
    return labels


def label_indexer(labels: Sequence[str]) -> Callable[[str, str], int]:
    """Return ``index(label, guid)`` that maps a label string to its position in ``labels``."""
    positions = {label: i for i, label in enumerate(labels)}

    def index(label: str, guid: str) -> int:
        if label not in positions:
            raise XstiltsError(f"example {guid}: label {label!r} is not one of the task's labels "
                               f"({', '.join(labels)})")
        return positions[label]

    return index
