"""The scoring half of each task kind (``base.KindScorer``): ``scorer_for(task)`` picks it."""

from __future__ import annotations

from xstilts.scoring.kinds.base import KindScorer
from xstilts.scoring.kinds.classification import ClassificationScorer
from xstilts.scoring.kinds.dual_encoder import DualEncoderScorer
from xstilts.scoring.kinds.mlm import MaskedLMScorer
from xstilts.scoring.kinds.multiple_choice import MultipleChoiceScorer
from xstilts.scoring.kinds.qa import QAScorer
from xstilts.scoring.kinds.retrieval import RetrievalScorer
from xstilts.scoring.kinds.tagging import TaggingScorer
from xstilts.tasks.types import TaskKind, TaskSpec

__all__ = ["KindScorer", "scorer_for", "scorer_for_kind"]

_SCORERS: dict[TaskKind, KindScorer] = {
    kind: scorer
    for scorer in (ClassificationScorer(), MultipleChoiceScorer(), TaggingScorer(), QAScorer(), RetrievalScorer(),
                   MaskedLMScorer(), DualEncoderScorer())
    for kind in scorer.kinds
}


def scorer_for_kind(kind: TaskKind) -> KindScorer:
    return _SCORERS[TaskKind(kind)]


def scorer_for(task: TaskSpec) -> KindScorer:
    return scorer_for_kind(task.kind)
