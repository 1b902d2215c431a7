"""Extractive question answering: XQuAD, MLQA, TyDiQA-GoldP (targets) and SQuAD (intermediate)."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

# XQuAD and MLQA train on English SQuAD v1.1 (XTREME's download puts it under squad/).
_SQUAD_V1_TRAIN = FileLayout("squad/{split}-v1.1.json", "squad_json", (), splits=("train",))

register(TaskSpec(
    name="xquad", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD,
    languages=tuple("ar de el en es hi ru th tr vi zh".split()),
    is_target=True, group="question_answering", parallel=True, eval_split="test",
    description="XQuAD: SQuAD v1.1 dev translated into 10 languages (test only; train = SQuAD v1.1).",
    layouts=(
        FileLayout("xquad/xquad.{lang}.json", "squad_json", (), splits=("test",)),
        _SQUAD_V1_TRAIN,
    ),
    hub=HubSource("google/xtreme", "XQuAD.{lang}", (("test", "validation"),)),
))

register(TaskSpec(
    name="mlqa", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.MLQA,
    languages=tuple("ar de en es hi vi zh".split()),
    is_target=True, group="question_answering", parallel=True,
    description="MLQA with context language = question language (train = SQuAD v1.1).",
    layouts=(
        FileLayout("mlqa/{split}-context-{lang}-question-{lang}.json", "squad_json", (),
                   splits=("dev", "test")),
        FileLayout("mlqa/MLQA_V1/{split}/{split}-context-{lang}-question-{lang}.json", "squad_json", (),
                   splits=("dev", "test")),
        _SQUAD_V1_TRAIN,
    ),
    hub=HubSource("google/xtreme", "MLQA.{lang}.{lang}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="tydiqa", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD,
    languages=tuple("ar bn en fi id ko ru sw te".split()),
    is_target=True, group="question_answering",
    description="TyDiQA-GoldP. Zero-shot: trains on the ENGLISH train set only (3,696 questions).",
    layouts=(
        FileLayout("tydiqa/tydiqa.goldp.{lang}.{split}.json", "squad_json", ()),
        FileLayout("tydiqa/tydiqa-goldp-v1.1-{split}/tydiqa.{lang}.{split}.json", "squad_json", ()),
        FileLayout("tydiqa/tydiqa-goldp-v1.1-{split}/tydiqa-goldp-{split}-{lang_name}.json", "squad_json", ()),
        # The official train file holds all nine languages; keep English ids only.
        FileLayout("tydiqa/tydiqa-goldp-v1.1-train.json", "squad_json",
                   (("id_prefix", "{lang_name}"),), splits=("train",)),
    ),
    hub=HubSource("google-research-datasets/tydiqa", "secondary_task", (("dev", "validation"),)),
))

register(TaskSpec(
    name="squad_v1", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD, languages=("en",),
    description="SQuAD v1.1 (87,599 train questions).",
    layouts=(FileLayout("squad/{split}-v1.1.json", "squad_json", ()),),
    hub=HubSource("rajpurkar/squad", None, (("dev", "validation"),)),
))

register(TaskSpec(
    name="squad_v2", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD, languages=("en",),
    description="SQuAD v2.0 with unanswerable questions (130,319 train questions).",
    layouts=(FileLayout("squad/{split}-v2.0.json", "squad_json", ()),),
    hub=HubSource("rajpurkar/squad_v2", None, (("dev", "validation"),)),
    extra=(("allow_no_answer", True),),
))
