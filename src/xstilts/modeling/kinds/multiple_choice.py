"""Multiple choice (HellaSwag, CosmosQA, CommonsenseQA, SocialIQa, XCOPA): one score per choice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.modeling.kinds.common import (
    ENCODER_INPUTS,
    FirstTokenHead,
    argmax,
    chunks,
    cross_entropy,
    last_hidden_state,
)
from xstilts.tasks.types import MultipleChoiceExample, TaskKind


class MultipleChoiceAdapter(KindAdapter):
    """Each choice is encoded as the pair (context + " " + question, choice); a row holds all of
    them, so its model columns are [num_choices, length] and ``labels`` is the gold choice index."""

    kind = TaskKind.MULTIPLE_CHOICE
    model_columns = ("input_ids", "attention_mask", "token_type_ids", "labels")

    def featurize(self, examples: Sequence[MultipleChoiceExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        rows = []
        for _, chunk in chunks(examples):
            rows.extend(self._featurize_chunk(chunk, tokenizer, settings))
        return rows

    def _featurize_chunk(self, examples: Sequence[MultipleChoiceExample], tokenizer: Any,
                         settings: FeatureSettings) -> list[dict[str, Any]]:
        for example in examples:
            _check_label(example)
        firsts = [f"{ex.context} {ex.question}".strip() for ex in examples for _ in ex.choices]
        seconds = [choice for ex in examples for choice in ex.choices]
        encoded = tokenizer(firsts, seconds, truncation="longest_first", max_length=settings.max_length)
        columns = [name for name in self.model_columns if name in encoded]
        rows, offset = [], 0
        for example in examples:
            end = offset + len(example.choices)
            row = {name: encoded[name][offset:end] for name in columns}
            if example.label is not None:
                row["labels"] = example.label
            rows.append(row)
            offset = end
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        return FirstTokenHead(hidden_size, 1)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        num_rows, num_choices, length = batch["input_ids"].shape
        flat = {name: batch[name].reshape(num_rows * num_choices, length)
                for name in ENCODER_INPUTS if name in batch}
        logits = head(last_hidden_state(encoder, flat)).reshape(num_rows, num_choices)
        loss = cross_entropy(logits, batch["labels"]) if "labels" in batch else None
        return loss, logits

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]],
               examples: Sequence[MultipleChoiceExample], labels: Sequence[str] | None) -> list[int]:
        """The index of the best-scoring choice of each example, in example order."""
        if len(logits) != len(examples):
            raise ValueError(f"got logits for {len(logits)} features but {len(examples)} examples")
        return [int(argmax(row)) for row in logits]


def _check_label(example: MultipleChoiceExample) -> None:
    if example.label is not None and not 0 <= example.label < len(example.choices):
        raise XstiltsError(f"example {example.guid}: label {example.label} is not a choice index "
                           f"(0..{len(example.choices) - 1})")
