"""Task-kind adapters: ``get_adapter(kind)`` picks the featurisation, head and decoding of a kind."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter, MaskingSettings
from xstilts.modeling.kinds.classification import ClassificationAdapter
from xstilts.modeling.kinds.dual_encoder import DualEncoderAdapter
from xstilts.modeling.kinds.mlm import MaskedLMAdapter
from xstilts.modeling.kinds.multiple_choice import MultipleChoiceAdapter
from xstilts.modeling.kinds.qa import QAAdapter
from xstilts.modeling.kinds.retrieval import RetrievalAdapter
from xstilts.modeling.kinds.tagging import TaggingAdapter
from xstilts.tasks.types import TaskKind, TaskSpec

__all__ = ["FeatureSettings", "KindAdapter", "MaskingSettings", "adapter_for_task", "get_adapter"]

# Every kind's adapter (retrieval's trains no head: its vectors come straight from the encoder).
_ADAPTERS: dict[TaskKind, Callable[[], KindAdapter]] = {
    TaskKind.SINGLE_CLASSIFICATION: lambda: ClassificationAdapter(TaskKind.SINGLE_CLASSIFICATION),
    TaskKind.PAIR_CLASSIFICATION: lambda: ClassificationAdapter(TaskKind.PAIR_CLASSIFICATION),
    TaskKind.MULTIPLE_CHOICE: MultipleChoiceAdapter,
    TaskKind.TAGGING: TaggingAdapter,
    TaskKind.EXTRACTIVE_QA: QAAdapter,
    TaskKind.MLM: MaskedLMAdapter,
    TaskKind.RETRIEVAL: RetrievalAdapter,
    TaskKind.DUAL_ENCODER: DualEncoderAdapter,
}


def get_adapter(kind: TaskKind | str) -> KindAdapter:
    """The adapter of a task kind (QA with its default decoding settings); one shared instance each."""
    try:
        kind = TaskKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TaskKind)
        raise ConfigError(f"unknown task kind {kind!r}; expected one of {known}") from None
    return _adapter(kind)


def adapter_for_task(task: TaskSpec) -> KindAdapter:
    """The adapter of a task's kind with the task's own options (SQuAD v2 may answer nothing)."""
    if task.allow_no_answer:
        return _no_answer_qa_adapter()
    return get_adapter(task.kind)


@cache
def _adapter(kind: TaskKind) -> KindAdapter:
    return _ADAPTERS[kind]()


@cache
def _no_answer_qa_adapter() -> KindAdapter:
    return QAAdapter(allow_no_answer=True)
