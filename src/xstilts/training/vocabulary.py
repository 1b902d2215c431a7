"""Exact vocabulary trimming: train only the word-embedding rows that the training data uses.

e5-small's 250k x 384 word embeddings are 96M of its 118M weights, and a stage's training data
touches a few percent of the rows. A row no training example uses gets a zero gradient at every
step, so AdamW (zero moments) only multiplies it by ``1 - lr_t * weight_decay`` (when the
embeddings are in the decay group). Here the encoder's embedding module is swapped for a
``TrimmedEmbedding`` whose trainable weight holds the touched rows only (gradients, optimizer
state and checkpoints shrink with it), while the untouched rows stay the frozen original times
the accumulated decay product. Saving writes the full matrix: the result equals full-vocabulary
training up to float rounding (the product is applied once instead of step by step).

Turned off (and recorded why) when the output embeddings are tied to the input ones (an LM head
over the whole vocabulary touches every row) or when a stage trains an ``mlm`` task.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xstilts.modeling.kinds import get_adapter


class TrimmedEmbedding(nn.Module):
    """An ``nn.Embedding`` whose trainable weight holds only the rows listed in ``ids``.

    Other ids (dev sets during evaluation) read the frozen original row times ``decay``: exactly
    what full-vocabulary AdamW would have made of a row without gradients.
    """

    def __init__(self, original: nn.Embedding, ids: torch.Tensor):
        super().__init__()
        ids = torch.unique(ids.to(torch.long)).to(original.weight.device)
        # Kept out of the module tree (a plain attribute): no gradient, no optimizer state, not in state_dict.
        self.__dict__["original"] = original
        self.weight = nn.Parameter(original.weight.detach()[ids].clone())
        remap = torch.full((original.num_embeddings,), -1, dtype=torch.long, device=ids.device)
        remap[ids] = torch.arange(len(ids), device=ids.device)
        self.register_buffer("ids", ids, persistent=False)
        self.register_buffer("remap", remap, persistent=False)
        # float64: the product of thousands of factors close to 1 stays exact to ~1e-15.
        self.register_buffer("decay", torch.ones((), dtype=torch.float64, device=ids.device), persistent=False)
        pad = original.padding_idx
        self.padding_idx = int(remap[pad]) if pad is not None and int(remap[pad]) >= 0 else None
        self.num_embeddings = original.num_embeddings
        self.embedding_dim = original.embedding_dim

    def _apply(self, fn, *args, **kwargs):
        # ``.to(device)`` must move the frozen original too, though it is not a submodule (DDP would
        # otherwise broadcast its hundreds of megabytes as a buffer at every step).
        self.original._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        mapped = self.remap[input_ids]
        known = mapped >= 0
        trained = F.embedding(mapped.clamp(min=0), self.weight, self.padding_idx)
        # No data-dependent branch (no host-device sync): unknown ids read the decayed original.
        frozen = F.embedding(input_ids, self.original.weight) * self.decay.to(self.weight.dtype)
        return torch.where(known.unsqueeze(-1), trained, frozen.to(trained.dtype))

    def full_weight(self) -> torch.Tensor:
        """The [vocab, hidden] matrix full-vocabulary training would hold now."""
        full = self.original.weight.detach() * self.decay.to(self.original.weight.dtype)
        full[self.ids] = self.weight.detach().to(full.dtype)
        return full


@dataclass
class VocabularyTrimming:
    """The trimmed embedding of one training run and how to account for its decay."""

    encoder: nn.Module
    module: TrimmedEmbedding

    @property
    def rows(self) -> int:
        return len(self.module.ids)

    def record(self) -> dict[str, Any]:
        return {"trimmed": True, "rows": self.rows, "vocabulary": self.module.num_embeddings,
                "decay": float(self.module.decay)}

    def after_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Multiply the untouched rows' decay by this step's ``1 - lr * weight_decay``.

        Call right after ``optimizer.step()`` and before ``scheduler.step()``: the lr is the one
        the step used.
        """
        for group in optimizer.param_groups:
            if any(p is self.module.weight for p in group["params"]):
                factor = 1.0 - group["lr"] * group.get("weight_decay", 0.0)
                if factor != 1.0:
                    self.module.decay.mul_(factor)
                return

    @contextmanager
    def original_embeddings(self, decayed: bool) -> Iterator[None]:
        """Temporarily put the plain ``nn.Embedding`` back, holding the trained full matrix
        (``decayed``: what is saved as the model) or the untouched original (for checkpoints,
        which store the trimmed rows and the decay separately: resuming stays bit-exact)."""
        original = self.module.original
        kept = original.weight.data
        if decayed:
            original.weight.data = self.module.full_weight()
        self.encoder.set_input_embeddings(original)
        try:
            yield
        finally:
            original.weight.data = kept
            self.encoder.set_input_embeddings(self.module)

    def state(self) -> dict[str, Any]:
        return {"ids": self.module.ids.cpu(), "weight": self.module.weight.detach().cpu().clone(),
                "decay": self.module.decay.cpu().clone()}

    def load_state(self, state: dict[str, Any]) -> None:
        if not torch.equal(state["ids"], self.module.ids.cpu()):
            raise ValueError("checkpoint: its trimmed vocabulary differs from this run's training data")
        with torch.no_grad():
            self.module.weight.copy_(state["weight"])
            self.module.decay.copy_(state["decay"])


def why_not_trim(model: nn.Module, task_kinds: Iterable[Any]) -> str | None:
    """None when trimming is exact for ``model`` (a MultiTaskModel) and tasks of these kinds, else why not."""
    for kind in task_kinds:
        if get_adapter(kind).whole_vocabulary:
            return get_adapter(kind).whole_vocabulary
    encoder = model.encoder
    embedding = encoder.get_input_embeddings()
    if not isinstance(embedding, nn.Embedding) or embedding.max_norm is not None or embedding.sparse:
        return "the input embeddings are not a plain nn.Embedding"
    if not embedding.weight.requires_grad:
        return "the word embeddings are frozen"
    names = [name for name, p in model.named_parameters(remove_duplicate=False) if p is embedding.weight]
    output = encoder.get_output_embeddings() if hasattr(encoder, "get_output_embeddings") else None
    if len(names) > 1 or (output is not None and getattr(output, "weight", None) is embedding.weight):
        return "the output embeddings are tied to the input embeddings"
    return None


def touched_ids(token_lists: Iterable[Any], extra: Iterable[int] = ()) -> torch.Tensor:
    """Every token id in the training features (lists of ids, or lists of lists for multiple choice)."""
    seen: set[int] = set(int(i) for i in extra)
    for ids in token_lists:
        if len(ids) and isinstance(ids[0], (list, tuple, np.ndarray)):
            for choice in ids:
                seen.update(choice)
        else:
            seen.update(ids)
    return torch.tensor(sorted(seen), dtype=torch.long)


def trim_vocabulary(model: nn.Module, ids: torch.Tensor) -> VocabularyTrimming:
    """Swap ``model.encoder``'s word embeddings for a TrimmedEmbedding over ``ids`` (in place)."""
    encoder = model.encoder
    trimmed = TrimmedEmbedding(encoder.get_input_embeddings(), ids)
    trimmed.original.weight.requires_grad_(False)
    encoder.set_input_embeddings(trimmed)
    return VocabularyTrimming(encoder, trimmed)

