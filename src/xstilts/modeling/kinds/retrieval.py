"""The retrieval kind's model half: sentences -> vectors straight from an encoder's hidden states
(Tatoeba, BUCC, LAReQA, Mewsli-X; the protocols that compare them: ``xstilts.evaluation.retrieval``).

XTREME trains no head for these tasks (``KindFacts.trains`` is False): the adapter featurises
sentences (prefix, truncation), its ``forward`` pools one hidden layer and ``decode`` puts the
vectors back in sentence order. XTREME mean-pools one hidden layer over the attention mask,
special tokens included. Which layer and which pooling reproduce the paper differs between
XTREME's own scripts (see docs/reference.md section 3), so both are settings and every result
records them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel

from xstilts.errors import ConfigError
from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.tasks.types import TaskKind
from xstilts.modeling.inference import eval_autocast
from xstilts.modeling.retrieval_record import recorded_retrieval

Pooling = Literal["mean", "cls"]
ProgressCallback = Callable[[int, int], None]  # (sentences done, sentences in total)


@dataclass(frozen=True)
class RetrievalSettings:
    """How sentences become vectors.

    ``layer`` indexes HF ``hidden_states`` (0 = embedding output, ``num_layers`` = last layer,
    negative counts from the end); None means 7/12 of the depth, halves rounded up, i.e. layer
    14 of XLM-R large as in the XTREME paper. ``prefix`` is put before every sentence (e5 models expect
    "query: ").
    """

    layer: int | None = None
    pooling: Pooling = "mean"
    prefix: str = ""
    max_length: int = 512
    batch_size: int = 64
    normalize: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in ("mean", "cls"):
            raise ConfigError(f"retrieval.pooling: expected 'mean' or 'cls', got {self.pooling!r}")
        if self.max_length < 2:
            raise ConfigError(f"retrieval.max_length: expected at least 2 tokens, got {self.max_length}")
        if self.batch_size < 1:
            raise ConfigError(f"retrieval.batch_size: expected a positive number, got {self.batch_size}")

    def resolve(self, num_layers: int) -> RetrievalSettings:
        """These settings with ``layer`` made a concrete index into ``hidden_states``."""
        layer = default_retrieval_layer(num_layers) if self.layer is None else self.layer
        if layer < 0:
            layer += num_layers + 1
        if not 0 <= layer <= num_layers:
            raise ConfigError(
                f"retrieval.layer: expected an index in 0..{num_layers} (or negative from the end) "
                f"for a {num_layers}-layer encoder, got {self.layer}")
        return replace(self, layer=layer)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrieval_options(folder: str | Path, given: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Explicit settings (non-None) over the folder's recorded ones over the defaults, and where
    the recorded ones came from ("model folder" or "defaults")."""
    recorded = recorded_retrieval(folder)
    explicit = {key: value for key, value in given.items() if value is not None}
    return {**recorded, **explicit}, "model folder" if recorded else "defaults"


def default_retrieval_layer(num_layers: int) -> int:
    """round(7/12 of the depth), halves rounded up: 14 for 24-layer XLM-R large (the XTREME layer), 7 for 12."""
    if num_layers < 1:
        raise ConfigError(f"num_layers: expected a positive layer count, got {num_layers}")
    return (7 * num_layers + 6) // 12


def base_encoder(model: nn.Module) -> nn.Module:
    """The module that maps token ids to hidden states.

    A HF head model is reduced to its base model; a multi-task container (anything with an
    ``.encoder`` that is not itself a HF model) to its encoder. Any other module is used as is
    and must return ``hidden_states`` when asked for them.
    """
    if isinstance(model, PreTrainedModel):
        return model.base_model
    encoder = getattr(model, "encoder", None)
    return base_encoder(encoder) if isinstance(encoder, nn.Module) else model


def encoder_depth(model: nn.Module) -> int:
    """Number of transformer layers (``hidden_states`` has one more entry: the embeddings)."""
    config = getattr(base_encoder(model), "config", None)
    depth = getattr(config, "num_hidden_layers", None)
    if depth is None:
        raise ConfigError("retrieval: the model has no config.num_hidden_layers; cannot resolve retrieval.layer")
    return int(depth)


class RetrievalAdapter(KindAdapter):
    """Sentences -> one float32 vector each, under ``settings`` (layer, pooling, prefix, ...)."""

    kind = TaskKind.RETRIEVAL
    model_columns = ("input_ids", "attention_mask")

    def __init__(self, settings: RetrievalSettings | None = None, precision: str = DEFAULT_EVAL_PRECISION):
        self.settings = settings or RetrievalSettings()
        self.precision = precision

    def featurize(self, examples: Sequence[str], tokenizer: Any, labels: Sequence[str] | None = None,
                  settings: FeatureSettings | None = None) -> list[dict[str, Any]]:
        """One row per sentence: the prefixed sentence's token ids, cut at ``max_length``."""
        encoded = tokenizer([self.settings.prefix + text for text in examples], truncation=True,
                            max_length=self.settings.max_length)
        return [{key: values[i] for key, values in encoded.items()} for i in range(len(examples))]

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        raise ConfigError("retrieval tasks train no head: XTREME scores them from the encoder's sentence vectors")

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]
                ) -> tuple[None, torch.Tensor]:
        """(no loss, the pooled, optionally L2-normalised vectors of ``settings.layer``); the
        settings' layer must be resolved (``RetrievalSettings.resolve``)."""
        with eval_autocast(self.precision, batch["input_ids"].device):
            hidden_states = encoder(**batch, output_hidden_states=True).hidden_states
        states = hidden_states[self.settings.layer].float()
        if self.settings.pooling == "cls":
            pooled = states[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1)
        if self.settings.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return None, pooled

    def decode(self, logits: Sequence[np.ndarray], features: Sequence[dict[str, Any]], examples: Sequence[str],
               labels: Sequence[str] | None = None) -> np.ndarray:
        """Per-feature vectors (one feature per sentence, in sentence order) as one array."""
        if not len(logits):
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([np.asarray(vector, dtype=np.float32) for vector in logits])

    def embed(self, model: nn.Module, tokenizer: Any, sentences: Sequence[str],
              device: torch.device | str | None = None, progress: ProgressCallback | None = None) -> np.ndarray:
        """One float32 vector per sentence, in the order given, shape (len(sentences), hidden)."""
        encoder = base_encoder(model)
        adapter = RetrievalAdapter(self.settings.resolve(encoder_depth(encoder)), self.precision)
        device = torch.device(device) if device is not None else next(encoder.parameters()).device
        rows = adapter.featurize(sentences, tokenizer)
        # Longest first: batches of similar length waste little padding, and memory fails early.
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]["input_ids"]))
        vectors: list[np.ndarray] = []
        was_training = encoder.training
        encoder.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), adapter.settings.batch_size):
                    chunk = order[start:start + adapter.settings.batch_size]
                    batch = tokenizer.pad([rows[i] for i in chunk], return_tensors="pt").to(device)
                    vectors.extend(adapter.forward(encoder, None, dict(batch))[1].cpu().numpy())
                    if progress is not None:
                        progress(start + len(chunk), len(order))
        finally:
            encoder.train(was_training)
        if not vectors:
            return np.zeros((0, getattr(encoder.config, "hidden_size", 0)), dtype=np.float32)
        in_sentence_order: list[np.ndarray] = [None] * len(order)  # type: ignore[list-item]
        for position, index in enumerate(order):
            in_sentence_order[index] = vectors[position]
        return adapter.decode(in_sentence_order, rows, sentences)


def embed_sentences(model: nn.Module, tokenizer: Any, sentences: Sequence[str], settings: RetrievalSettings,
                    device: torch.device | str | None = None,
                    progress: ProgressCallback | None = None,
                    precision: str = DEFAULT_EVAL_PRECISION) -> np.ndarray:
    """One float32 vector per sentence, in the order given, shape (len(sentences), hidden).
    ``precision`` "bf16" runs the encoder under bf16 autocast (``eval_precision``); pooling and
    normalisation stay float32."""
    return RetrievalAdapter(settings, precision).embed(model, tokenizer, sentences, device, progress)
