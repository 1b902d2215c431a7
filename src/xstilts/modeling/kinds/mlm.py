"""Masked language modelling (the paper's multilingual-MLM condition) as a task kind.

Text lines are tokenised into windows of at most ``max_length`` sub-words (a long paragraph gives
several rows, nothing is cut away). Masking is BERT's: 15% of the tokens (``mlm_probability``),
of which 80% become <mask>, 10% a random token and 10% stay, done by transformers'
``DataCollatorForLanguageModeling``. With ``whole_word`` every sub-word of a chosen word is
masked (word boundaries from the tokenizer's offsets, as transformers does); the 80/10/10 choice
stays per token, as in Google's original whole-word BERT.

- Training batches are masked afresh at every step from a generator seeded by (seed, step, ...),
  so a resumed run masks exactly as an uninterrupted one and the data order stays hardware-free.
- The dev rows are masked ONCE with a fixed seed, so every evaluation scores the same positions
  and perplexity is comparable across steps and runs.

The head is RoBERTa's LM head (dense -> GELU -> LayerNorm -> vocabulary) whose output matrix IS the
encoder's input embedding matrix (tied): only the transform and a bias belong to the head, so it
is small on disk and a pretrained checkpoint's own head can be loaded into it
(``load_pretrained_lm_head``); an encoder without one (the offline e5-small) starts it fresh.
Logits are computed only at masked positions: a 250k-word vocabulary over every position would
cost most of the step on a CPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from torch import nn

from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter, MaskingSettings
from xstilts.modeling.kinds.common import ENCODER_INPUTS, chunks, last_hidden_state
from xstilts.tasks.types import TaskKind, TextExample

IGNORE = -100
# Dev masks are drawn once from this seed: the same positions are scored at every evaluation.
EVAL_MASK_SEED = 20200601
# Masked positions per chunk of the vocabulary projection at inference (bounds its memory).
_EVAL_CHUNK = 256


class MaskedLMHead(nn.Module):
    """dense -> GELU -> LayerNorm, then the (tied) embedding matrix plus this bias."""

    def __init__(self, hidden_size: int, vocab_size: int, layer_norm_eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def transform(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(nn.functional.gelu(self.dense(hidden)))

    def logits(self, hidden: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return self.transform(hidden) @ embeddings.t() + self.bias


class MaskedLMAdapter(KindAdapter):
    kind = TaskKind.MLM
    # Padded and masked by ``MaskingCollator``; only input_ids, attention_mask and mlm_labels reach
    # ``forward`` ("mlm_labels", not "labels": inference keeps it, it says which positions to score).
    model_columns = ("input_ids", "attention_mask", "special_tokens_mask", "offset_mapping", "mlm_labels")
    whole_vocabulary = "a masked-LM task predicts over the whole vocabulary"

    def featurize(self, examples: Sequence[TextExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        rows = []
        for _, chunk in chunks(examples):
            encoded = tokenizer([ex.text for ex in chunk], truncation=True, max_length=settings.max_length,
                                return_overflowing_tokens=True, return_special_tokens_mask=True,
                                return_offsets_mapping=True)
            for i in range(len(encoded["input_ids"])):
                rows.append({"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i],
                             "special_tokens_mask": encoded["special_tokens_mask"][i],
                             "offset_mapping": [list(pair) for pair in encoded["offset_mapping"][i]]})
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        if not num_labels:
            raise ValueError("a masked-LM head needs the vocabulary size (the encoder's embedding rows)")
        return MaskedLMHead(hidden_size, num_labels)

    def head_size(self, encoder: nn.Module, labels: Sequence[str] | None) -> int:
        return encoder.get_input_embeddings().num_embeddings

    def collator(self, tokenizer: Any, masking: MaskingSettings | None = None) -> MaskingCollator:
        return MaskingCollator(tokenizer, masking or MaskingSettings())

    def initialize_head(self, head: nn.Module, checkpoint: Path | None) -> str:
        """The base checkpoint's own LM head when it has one (XLM-R, BERT); else a new one."""
        if checkpoint is None:
            return "masked-LM head: new (the model is a stage model, or no local copy of its checkpoint)"
        if load_pretrained_lm_head(head, str(checkpoint)):
            return "masked-LM head: loaded from the checkpoint"
        return "masked-LM head: new (the checkpoint has none)"

    def prepare_eval_rows(self, rows: list[dict[str, Any]], tokenizer: Any,
                          masking: MaskingSettings | None = None) -> list[dict[str, Any]]:
        """Dev rows with fixed masks (``mlm_labels``), drawn row by row from one seeded generator."""
        collator = MaskingCollator(tokenizer, masking or MaskingSettings())
        generator = torch.Generator().manual_seed(EVAL_MASK_SEED)
        fixed = []
        for row in rows:
            masked, labels = collator.mask(*_tensors([row], tokenizer.pad_token_id), generator)
            fixed.append({**row, "input_ids": masked[0].tolist(), "mlm_labels": labels[0].tolist()})
        return fixed

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Loss = mean cross-entropy over masked positions. "Logits" are per position
        [negative log-likelihood of the true token, 1 if it is the arg-max] (0 where unmasked):
        all that perplexity and accuracy need, without a [batch, length, vocabulary] tensor."""
        hidden = last_hidden_state(encoder, {k: v for k, v in batch.items() if k in ENCODER_INPUTS})
        labels = batch["mlm_labels"]
        where = labels != IGNORE
        targets = labels[where]
        selected = hidden[where]
        embeddings = encoder.get_input_embeddings().weight
        stats = torch.zeros((*labels.shape, 2), dtype=torch.float32, device=hidden.device)
        if targets.numel() == 0:
            return hidden.sum() * 0.0, stats  # nothing masked in this batch: no signal, no NaN
        if torch.is_grad_enabled():
            logits = head.logits(selected, embeddings).float()
            nll = nn.functional.cross_entropy(logits, targets, reduction="none")
            correct = logits.detach().argmax(-1) == targets
        else:
            parts = [_scored(head.logits(selected[i:i + _EVAL_CHUNK], embeddings).float(), targets[i:i + _EVAL_CHUNK])
                     for i in range(0, len(targets), _EVAL_CHUNK)]
            nll = torch.cat([p[0] for p in parts])
            correct = torch.cat([p[1] for p in parts])
        stats[where] = torch.stack([nll.detach().float(), correct.float()], dim=-1)
        return nll.mean(), stats

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]], examples: Sequence[TextExample],
               labels: Sequence[str] | None) -> dict[str, float]:
        """Sums over the masked positions of every row: {"nll_sum", "correct", "tokens"}."""
        if len(logits) != len(features):
            raise ValueError(f"got outputs for {len(logits)} rows but there are {len(features)}")
        nll_sum = correct = 0.0
        tokens = 0
        for row_stats, feature in zip(logits, features):
            targets = np.asarray(feature["mlm_labels"])
            where = targets != IGNORE
            stats = np.asarray(row_stats)[:len(targets)]
            nll_sum += float(stats[where, 0].sum())
            correct += float(stats[where, 1].sum())
            tokens += int(where.sum())
        return {"nll_sum": nll_sum, "correct": correct, "tokens": tokens}


def _scored(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return nn.functional.cross_entropy(logits, targets, reduction="none"), logits.argmax(-1) == targets


class MaskingCollator:
    """Pads MLM rows and masks them with transformers' ``DataCollatorForLanguageModeling``.

    Rows that already carry ``mlm_labels`` (dev rows, masked once) are only padded. Training
    rows are masked with ``torch.Generator().manual_seed(seed)`` when a seed is given (the
    trainer derives it from the run seed and the step), else with torch's global generator.
    """

    def __init__(self, tokenizer: Any, masking: MaskingSettings):
        from transformers import DataCollatorForLanguageModeling

        self.pad_token_id = tokenizer.pad_token_id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its whole-word note about random replacement, undone below
            self.masker = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=masking.probability,
                                                          whole_word_mask=masking.whole_word)
        # BERT's 80/10/10 per masked token, whole words included (transformers turns the 10% random
        # replacement off for whole words; Google's whole-word BERT keeps it).
        self.masker.mask_replace_prob, self.masker.random_replace_prob = 0.8, 0.1

    def mask(self, input_ids: torch.Tensor, special: torch.Tensor, offsets: torch.Tensor,
             generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        self.masker.generator = generator
        try:
            return self.masker.torch_mask_tokens(input_ids.clone(), special_tokens_mask=special,
                                                 offset_mapping=offsets if self.masker.whole_word_mask else None)
        finally:
            self.masker.generator = None

    def __call__(self, rows: Sequence[dict[str, Any]], seed: int | Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        input_ids, special, offsets = _tensors(rows, self.pad_token_id)
        attention = _pad([row["attention_mask"] for row in rows], 0)
        if "mlm_labels" in rows[0]:
            labels = _pad([row["mlm_labels"] for row in rows], IGNORE)
        else:
            generator = None
            if seed is not None:
                generator = torch.Generator().manual_seed(_seed_int(seed))
            input_ids, labels = self.mask(input_ids, special, offsets, generator)
        return {"input_ids": input_ids, "attention_mask": attention, "mlm_labels": labels}


def _seed_int(seed: int | Sequence[int]) -> int:
    if isinstance(seed, int):
        return seed
    return int(np.random.SeedSequence(list(seed)).generate_state(1, dtype=np.uint64)[0] >> 1)


def _pad(values: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    longest = max(len(v) for v in values)
    out = torch.full((len(values), longest), value, dtype=torch.long)
    for i, v in enumerate(values):
        out[i, :len(v)] = torch.tensor(v, dtype=torch.long)
    return out


def _tensors(rows: Sequence[dict[str, Any]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded input ids, special-token mask (padding counts as special: never masked) and offsets."""
    input_ids = _pad([row["input_ids"] for row in rows], pad_token_id)
    special = _pad([row["special_tokens_mask"] for row in rows], 1)
    offsets = torch.zeros((*input_ids.shape, 2), dtype=torch.long)
    for i, row in enumerate(rows):
        if row.get("offset_mapping"):
            offsets[i, :len(row["offset_mapping"])] = torch.tensor(row["offset_mapping"], dtype=torch.long)
    return input_ids, special, offsets


def load_pretrained_lm_head(head: MaskedLMHead, model_folder: str) -> bool:
    """Copy a checkpoint's own LM-head transform and bias into ``head`` (XLM-R: lm_head.*; BERT:
    cls.predictions.*); False when the folder has none (then the head stays freshly initialised)."""

    path = Path(model_folder) / "model.safetensors"
    if not path.is_file():
        return False
    layouts = (
        {"dense.weight": "lm_head.dense.weight", "dense.bias": "lm_head.dense.bias",
         "layer_norm.weight": "lm_head.layer_norm.weight", "layer_norm.bias": "lm_head.layer_norm.bias",
         "bias": "lm_head.bias"},
        {"dense.weight": "cls.predictions.transform.dense.weight", "dense.bias": "cls.predictions.transform.dense.bias",
         "layer_norm.weight": "cls.predictions.transform.LayerNorm.weight",
         "layer_norm.bias": "cls.predictions.transform.LayerNorm.bias", "bias": "cls.predictions.bias"},
    )
    with safe_open(str(path), "pt") as weights:
        names = set(weights.keys())
        for layout in layouts:
            if set(layout.values()) <= names:
                state = {ours: weights.get_tensor(theirs) for ours, theirs in layout.items()}
                if state["bias"].shape != head.bias.shape:
                    return False
                head.load_state_dict({k: v.to(head.bias.dtype) for k, v in state.items()})
                return True
    return False
