"""Task-kind adapters: ``get_adapter(kind)`` picks the featurisation, head and decoding of a kind."""

from __future__ import annotations

from functools import cache

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.tasks.types import TaskKind, TaskSpec

__all__ = ["FeatureSettings", "KindAdapter", "adapter_for_task", "get_adapter"]


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
    if task.kind is TaskKind.EXTRACTIVE_QA and task.allow_no_answer:
        return _no_answer_qa_adapter()
    return get_adapter(task.kind)


@cache
def _no_answer_qa_adapter() -> KindAdapter:
    from xstilts.modeling.kinds.qa import QAAdapter

    return QAAdapter(allow_no_answer=True)


@cache
def _adapter(kind: TaskKind) -> KindAdapter:
    if kind in (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION):
        from xstilts.modeling.kinds.classification import ClassificationAdapter
        return ClassificationAdapter(kind)
    if kind is TaskKind.MULTIPLE_CHOICE:
        from xstilts.modeling.kinds.multiple_choice import MultipleChoiceAdapter
        return MultipleChoiceAdapter()
    if kind is TaskKind.TAGGING:
        from xstilts.modeling.kinds.tagging import TaggingAdapter
        return TaggingAdapter()
    if kind is TaskKind.EXTRACTIVE_QA:
        from xstilts.modeling.kinds.qa import QAAdapter
        return QAAdapter()
    if kind is TaskKind.MLM:
        from xstilts.modeling.kinds.mlm import MaskedLMAdapter
        return MaskedLMAdapter()
    raise ConfigError(f"task kind {kind.value!r} has no head: retrieval is scored from the encoder directly")
