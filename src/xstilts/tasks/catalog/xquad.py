"""XQuAD: 240 paragraphs of SQuAD v1.1 dev translated into 10 languages; fine-tuned on SQuAD v1.1."""

from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV, SQUAD_V1_TRAIN
from xstilts.tasks.families import XTREME_QA
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

XTREME_LANGUAGES = tuple("ar de el en es hi ru th tr vi zh".split())

TASK = TaskSpec(
    name="xquad", display_name="XQuAD", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD,
    languages=tuple("ar de el en es hi ru th tr vi zh ro".split()), eval_split="test", trains_as="squad_v1",
    description="XQuAD: SQuAD v1.1 dev translated into 10 languages (test only; train = SQuAD v1.1).",
    layouts=(
        FileLayout("xquad/xquad.{lang}.json", "squad_json", (), splits=("test",)),
        # XQuAD trains on English SQuAD v1.1 (XTREME's download puts it under squad/).
        FileLayout("squad/{split}-v1.1.json", "squad_json", (), splits=("train",)),
    ),
    training=TrainingDefaults(target_epochs=2, xtreme=XTREME_QA),
    data=DataRelations(parallel=True, shared={"train": SQUAD_V1_TRAIN}, derived_from={"test": (SQUAD_V1_DEV,)}),
    hub=HubSource("google/xtreme", "XQuAD.{lang}", {"test": "validation"}, "squad_json"),
    suites=(SuiteMember("xtreme", "question_answering", 1, languages=XTREME_LANGUAGES),
            # XTREME-R adds Romanian.
            SuiteMember("xtreme-r", "question_answering", 1)),
)
