"""Masked LM: scored in memory only (perplexity and masked-token accuracy of a held-out share)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xstilts.metrics.language_model import masked_lm_metrics
from xstilts.scoring.kinds.base import KindScorer
from xstilts.tasks.types import Example, TaskKind, TaskSpec


class MaskedLMScorer(KindScorer):
    kinds = (TaskKind.MLM,)

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        return masked_lm_metrics(predictions_["nll_sum"], predictions_["correct"], predictions_["tokens"])
