"""Dual encoder: scored in memory only, during training. Each dev query ranks the dev set's own
candidates (one per distinct ``candidate_id``); its gold is its own candidate, so mAP@20 is the
mean reciprocal rank of that candidate within the top 20 (``metrics.retrieval.map_at_k``).

A dual-encoder stage is not a target: what it trains is scored by ranked retrieval (LAReQA,
Mewsli-X: the retrieval kind), so no prediction files are written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xstilts.metrics.retrieval import MAP_DEPTH, map_at_k
from xstilts.scoring.kinds.base import KindScorer, gold_field
from xstilts.tasks.types import Example, RetrievalPairExample, TaskKind, TaskSpec


class DualEncoderScorer(KindScorer):
    kinds = (TaskKind.DUAL_ENCODER,)
    suffix = "json"

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        """``predictions_``: {query id: [candidate ids, best first]} (``DualEncoderAdapter.decode``)."""
        gold = {example.guid: {gold_field(example, RetrievalPairExample, "candidate_id", f"{task.name} {lang}")}
                for example in examples}
        return map_at_k(gold, predictions_, MAP_DEPTH)
