"""Single-sentence and sentence-pair classification (XNLI, PAWS-X, MNLI, QQP, SST-2, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.modeling.kinds.common import (
    FirstTokenHead,
    argmax,
    chunks,
    cross_entropy,
    label_indexer,
    last_hidden_state,
    require_labels,
)
from xstilts.tasks.types import ClassificationExample, TaskKind


class ClassificationAdapter(KindAdapter):
    """One row per example; the label is an index into the task's label list."""

    model_columns = ("input_ids", "attention_mask", "token_type_ids", "labels")
    packable = True  # the head reads the first token only

    def __init__(self, kind: TaskKind = TaskKind.PAIR_CLASSIFICATION):
        self.kind = kind

    def featurize(self, examples: Sequence[ClassificationExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        index = label_indexer(require_labels(labels, "classification"))
        is_pair = _is_pair_task(examples)
        rows = []
        for _, chunk in chunks(examples):
            second = [ex.text_b for ex in chunk] if is_pair else None
            encoded = tokenizer([ex.text_a for ex in chunk], second,
                                truncation="longest_first", max_length=settings.max_length)
            columns = [name for name in self.model_columns if name in encoded]
            for i, example in enumerate(chunk):
                row = {name: encoded[name][i] for name in columns}
                if example.label is not None:
                    row["labels"] = index(example.label, example.guid)
                rows.append(row)
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        if not num_labels:
            raise ValueError("a classification head needs num_labels")
        return FirstTokenHead(hidden_size, num_labels)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        logits = head(last_hidden_state(encoder, batch))
        loss = cross_entropy(logits, batch["labels"]) if "labels" in batch else None
        return loss, logits

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]],
               examples: Sequence[ClassificationExample], labels: Sequence[str] | None) -> list[str]:
        """The arg-max label of each example, in example order (one feature per example)."""
        labels = require_labels(labels, "classification")
        if len(logits) != len(examples):
            raise ValueError(f"got logits for {len(logits)} features but {len(examples)} examples")
        return [labels[int(argmax(row))] for row in logits]


def _is_pair_task(examples: Sequence[ClassificationExample]) -> bool:
    """Whether examples are sentence pairs; a pair task must have a second sentence everywhere."""
    missing = [ex.guid for ex in examples if ex.text_b is None]
    if missing and len(missing) < len(examples):
        raise XstiltsError(f"example {missing[0]}: no second sentence, but other examples of the task have one")
    return not missing and bool(examples)
