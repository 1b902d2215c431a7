"""The contract every task kind implements: raw examples -> features -> head -> predictions.

One adapter per ``TaskKind`` (jiant's "head chosen by task kind"). The trainer and the
evaluator only talk to this interface, never dispatch on a kind or on example types themselves:
the adapter featurises, builds and runs the head, collates batches, says whether its logits are
per token, decodes predictions, and holds its kind's scorer (``xstilts.scoring.kinds``: the
prediction-file format, scores and per-example units, kept free of torch for ``xstilts score``).

Features are plain dict rows (stored as an Arrow ``datasets.Dataset`` by the feature cache):
the columns in ``model_columns`` go to the model, every other column is bookkeeping used by
``decode`` (e.g. which word a sub-word belongs to, character offsets for QA).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xstilts.modeling.collate import PadCollator
from xstilts.scoring.kinds import KindScorer, scorer_for_kind
from xstilts.tasks.kinds import KindFacts, kind_facts
from xstilts.tasks.types import Example, TaskKind


@dataclass(frozen=True)
class FeatureSettings:
    """Everything besides the examples and tokenizer that determines the features (cache key)."""

    max_length: int = 256
    doc_stride: int = 128  # QA sliding windows; tagging windows overlap by this many sub-words too
    max_query_length: int = 64
    # QA: "step" = doc_stride is the step between window starts (XTREME's and jiant's SQuAD
    # featurisation); "overlap" = windows overlap by doc_stride tokens (HF run_qa).
    doc_stride_mode: str = "step"


@dataclass(frozen=True)
class MaskingSettings:
    """How kinds that mask tokens per batch draw the masks (masked LM: BERT's 80/10/10)."""

    probability: float = 0.15
    whole_word: bool = False


class KindAdapter(ABC):
    kind: TaskKind
    # Columns the collator pads and feeds to ``forward``; others stay as bookkeeping.
    model_columns: tuple[str, ...] = ("input_ids", "attention_mask", "labels")
    # Whether training may pack a batch's sequences (xstilts.modeling.packing): only kinds whose
    # heads and losses ignore the hidden states of padding positions.
    packable: bool = False
    # Whether logits come per token (tagging, QA): inference then cuts each row's logits back to
    # its unpadded length.
    per_token_logits: bool = False
    # Why training must update every word-embedding row, if it must (a masked-LM head predicts
    # over the whole vocabulary); None lets training trim the vocabulary (``training.vocabulary``).
    whole_vocabulary: str | None = None

    @property
    def facts(self) -> KindFacts:
        """What this kind is (``xstilts.tasks.kinds``: trains, may be a target, versions, ...)."""
        return kind_facts(self.kind)

    @property
    def version(self) -> str:
        """The featurisation's version: part of the feature-cache key and of training node ids."""
        return self.facts.featurizer_version

    @property
    def scorer(self) -> KindScorer:
        """The scoring half of this kind: prediction files, scores, per-example units."""
        return scorer_for_kind(self.kind)

    @abstractmethod
    def featurize(self, examples: Sequence[Example], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        """Tokenise examples into feature rows (one example may give several rows: windows)."""

    @abstractmethod
    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        """A fresh head for this kind (weights are per task; the encoder is shared)."""

    @abstractmethod
    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor | tuple[torch.Tensor, ...]]:
        """Run encoder + head on a padded batch; return (loss or None when no labels, logits).
        Logits are one tensor, or a tuple of tensors with the batch first (QA: start, end)."""

    @abstractmethod
    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]], examples: Sequence[Example],
               labels: Sequence[str] | None) -> Any:
        """Turn per-feature logits (in feature order) into predictions in the scorer's format:
        a list of labels (classification), a list of choice indices (multiple choice), a list of
        tag sequences, one tag per word (tagging), or {question id: answer text} (QA)."""

    def head_size(self, encoder: nn.Module, labels: Sequence[str] | None) -> int | None:
        """Outputs of a fresh head: one per label (masked LM: one per vocabulary row)."""
        return len(labels) if labels else None

    def collator(self, tokenizer: Any, masking: Any = None) -> Any:
        """Turns feature rows into a batch: ``collator(rows, seed=None)``. ``seed`` (from the run
        seed and the step) is for kinds that draw randomness per batch (masked LM)."""
        return PadCollator(self, tokenizer.pad_token_id)

    def initialize_head(self, head: nn.Module, checkpoint: Path | None) -> str | None:
        """Start a fresh head from what the base checkpoint's own folder holds, where the kind can
        (masked LM: the checkpoint's LM head); ``checkpoint`` is None for a stage model or a hub id
        without a local copy. Returns a note for the log, or None (the head stays as built)."""
        return None

    def prepare_eval_rows(self, rows: list[dict[str, Any]], tokenizer: Any, masking: Any = None) -> list[dict[str, Any]]:
        """Dev feature rows as scored during training (masked LM fixes their masks once)."""
        return rows

    def retrieval_use(self, settings: FeatureSettings) -> dict[str, Any] | None:
        """How training this kind makes sentence vectors be read (``modeling.retrieval_record``:
        pooling, layer, prefix, max_length), recorded in every model the stage saves so that
        retrieval evaluation pools as training did; None leaves the model's record as it was."""
        return None

    def pad_values(self, pad_token_id: int) -> dict[str, int]:
        """Padding value per model column (the collator pads to the longest row in the batch)."""
        return {"input_ids": pad_token_id, "attention_mask": 0, "token_type_ids": 0, "labels": -100}
