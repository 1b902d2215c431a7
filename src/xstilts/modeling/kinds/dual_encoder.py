"""The dual-encoder kind's model half: a query and its candidate through ONE encoder, trained with
in-batch negatives (XTREME-R's LAReQA and Mewsli-X models).

What matches google-research/xtreme (``third_party/bert.py`` BertForRetrieval,
``third_party/processors/lareqa.py``, ``third_party/run_retrieval_qa.py``):

* one encoder for both sides, each side encoded on its own (the query alone; the candidate alone:
  the readers build its text as the reference does);
* both vectors L2-normalised, their similarity matrix times a learned scalar ``logit_scale``
  initialised to 100 and used as is (no exp, no clamp), cross-entropy of each query against every
  candidate of its micro-batch with its own candidate on the diagonal. A candidate text that occurs
  twice in one micro-batch (two questions on one answer sentence) still counts as a negative for
  the other query, as in the reference (its labels are ``arange(batch)``, nothing is masked); with
  random micro-batches of 4 out of 87,599 SQuAD pairs it is rare;
* the candidates a query is ranked against are its micro-batch's: the reference's 4 pairs per GPU
  (3 negatives each) with 4 accumulation steps is ``batch_size`` 16 with ``grad_accumulation`` 4 here (the kind's ``training_defaults``, with lr
  2e-5, no warm-up, no weight decay, queries cut at 96 sub-words and candidates at 256). Under DDP
  every process ranks within its own micro-batch: negatives are not gathered across processes,
  as the reference's DataParallel/DDP computes its loss on each device's share. A micro-batch is
  ``batch_size / (processes x grad_accumulation)`` rows, so N processes keep the reference's 4
  rows with ``grad_accumulation`` 4 / N (unlike other kinds' math, the loss depends on how the
  batch is split);
* dynamic padding or packing instead of padding to the maximum length: the first token of an
  attention-masked sequence does not depend on the padding (up to float rounding).

What deviates, and why:

* pooling: the reference takes ``BertModel``'s pooler output (dense + tanh over [CLS]) in training
  and in ``evaluate_retrieval.py``; here the last layer's first-token ([CLS] / <s>) hidden state,
  without a pooler. Retrieval evaluation of the saved model (``modeling.kinds.retrieval``) pools
  hidden states, and a saved encoder carries no head; XLM-R checkpoints have no trained pooler
  (Hugging Face initialises it at random) and the offline e5 has none at all. The saved model
  records exactly this use (``retrieval_use``: pooling "cls", layer -1, no prefix, candidates'
  max_length), so Tatoeba, BUCC, LAReQA and Mewsli-X read the vectors training shaped;
* model selection: the reference logs the average dev loss and keeps the last weights; here dev
  mAP@20 (each dev query ranks the dev set's distinct candidates, ``scoring.kinds.dual_encoder``)
  selects the checkpoint like every kind's dev metric. The pool holds the dev pairs' candidates,
  not every sentence of every dev paragraph as LAReQA's pool does: a proxy for selection, not a
  LAReQA score.

Packing: a micro-batch's queries and candidates are stacked into one [2 x rows, length] batch
(queries first), which the trainer packs like any other (``modeling.packing``): the head reads
position 0 of every sequence, always a real token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts.metrics.retrieval import MAP_DEPTH
from xstilts.modeling.collate import PadCollator
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.modeling.kinds.common import ENCODER_INPUTS, chunks, cross_entropy, last_hidden_state
from xstilts.tasks.types import RetrievalPairExample, TaskKind

# BertForRetrieval: torch.nn.init.constant_(self.logit_scale, 100.0).
LOGIT_SCALE_INIT = 100.0
QUERY, CANDIDATE = 0, 1  # a feature row's sides, in this order in every column


class LogitScaleHead(nn.Module):
    """The dual encoder's only weights besides the encoder: the scale of its similarity logits."""

    def __init__(self, init: float = LOGIT_SCALE_INIT):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.full((1,), init))

    def forward(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """[queries, candidates] logits of L2-normalised vectors."""
        return (queries @ candidates.T) * self.logit_scale


class PairCollator(PadCollator):
    """Rows hold [query, candidate] per column; a batch stacks the rows' queries, then their
    candidates: [2 x rows, longest] (the layout ``pack_batch`` packs)."""

    def __call__(self, rows: Sequence[dict[str, Any]], seed: Any = None) -> dict[str, torch.Tensor]:
        batch = super().__call__(rows, seed)  # [rows, 2, longest] per column
        return {name: torch.cat([values[:, QUERY], values[:, CANDIDATE]]) for name, values in batch.items()}


class DualEncoderAdapter(KindAdapter):
    kind = TaskKind.DUAL_ENCODER
    model_columns = ("input_ids", "attention_mask", "token_type_ids")
    packable = True

    def featurize(self, examples: Sequence[RetrievalPairExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        """One row per pair: each column holds [query, candidate], the query cut at
        ``max_query_length`` sub-words and the candidate at ``max_length``."""
        rows = []
        for _, chunk in chunks(examples):
            queries = tokenizer([ex.query for ex in chunk], truncation=True, max_length=settings.max_query_length)
            candidates = tokenizer([ex.candidate for ex in chunk], truncation=True, max_length=settings.max_length)
            columns = [name for name in self.model_columns if name in queries]
            rows.extend({name: [queries[name][i], candidates[name][i]] for name in columns} for i in range(len(chunk)))
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        return LogitScaleHead()

    def collator(self, tokenizer: Any, masking: Any = None) -> Any:
        return PairCollator(self, tokenizer.pad_token_id)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(in-batch softmax loss, (query vectors, candidate vectors)), float32 and L2-normalised."""
        vectors = nn.functional.normalize(first_token_vectors(encoder, batch).float(), dim=-1)
        queries, candidates = vectors.chunk(2)
        # float32 logits: under bf16 autocast a cosine keeps ~3 digits, +-0.4 once scaled by 100.
        with torch.autocast(vectors.device.type, enabled=False):
            logits = head(queries, candidates)
        loss = cross_entropy(logits, torch.arange(len(queries), device=logits.device))
        return loss, (queries, candidates)

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]],
               examples: Sequence[RetrievalPairExample], labels: Sequence[str] | None) -> dict[str, list[str]]:
        """{query id: the top ``MAP_DEPTH`` candidate ids}: every query against the distinct
        candidates of the same examples, by cosine similarity (ties: the earlier candidate)."""
        if len(logits) != len(examples):
            raise ValueError(f"got vectors for {len(logits)} features but {len(examples)} examples")
        if not examples:
            return {}
        queries = np.stack([np.asarray(row[QUERY], dtype=np.float32) for row in logits])
        first = {}  # candidate id -> the first example carrying it
        for index, example in enumerate(examples):
            first.setdefault(example.candidate_id, index)
        pool = np.stack([np.asarray(logits[index][CANDIDATE], dtype=np.float32) for index in first.values()])
        ids = list(first)
        ranked = np.argsort(-(queries @ pool.T), axis=1, kind="stable")[:, :MAP_DEPTH]
        return {example.guid: [ids[j] for j in row] for example, row in zip(examples, ranked)}

    def retrieval_use(self, settings: FeatureSettings) -> dict[str, Any]:
        return {"pooling": "cls", "layer": -1, "prefix": "", "max_length": settings.max_length,
                "source": f"{self.kind.value} training (first token of the last layer)"}


def first_token_vectors(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The last layer's first-token state of every sequence of a [2 x rows, length] batch."""
    if "packed_input_ids" in batch:
        return last_hidden_state(encoder, batch)[:, 0]
    # Unpacked: each side on its own, cut to its own longest sequence (queries are far shorter
    # than candidates); the cut reads the mask's lengths, a device sync that packing avoids.
    half = batch["input_ids"].shape[0] // 2
    vectors = []
    for side in (slice(None, half), slice(half, None)):
        inputs = {name: batch[name][side] for name in ENCODER_INPUTS if name in batch}
        longest = int(inputs["attention_mask"].sum(dim=1).max())
        vectors.append(last_hidden_state(encoder, {name: values[:, :longest] for name, values in inputs.items()})[:, 0])
    return torch.cat(vectors)
