"""MLQA with the context in the question's language; fine-tuned on SQuAD v1.1."""

from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_TRAIN
from xstilts.tasks.families import XTREME_QA
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

TASK = TaskSpec(
    name="mlqa", display_name="MLQA", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.MLQA,
    languages=tuple("ar de en es hi vi zh".split()), trains_as="squad_v1",
    description="MLQA with context language = question language (train = SQuAD v1.1).",
    layouts=(
        FileLayout("mlqa/{split}-context-{lang}-question-{lang}.json", "squad_json", (), splits=("dev", "test")),
        FileLayout("mlqa/MLQA_V1/{split}/{split}-context-{lang}-question-{lang}.json", "squad_json", (),
                   splits=("dev", "test")),
        # MLQA trains on English SQuAD v1.1 (XTREME's download puts it under squad/).
        FileLayout("squad/{split}-v1.1.json", "squad_json", (), splits=("train",)),
    ),
    training=TrainingDefaults(target_epochs=2, xtreme=XTREME_QA),
    # Parallel items, but each language holds a different subset of them: row numbers match
    # within a language only.
    data=DataRelations(parallel=True, aligned_rows=False, shared={"train": SQUAD_V1_TRAIN}),
    hub=HubSource("google/xtreme", "MLQA.{lang}.{lang}", {"dev": "validation", "test": "test"}, "squad_json"),
    suites=(SuiteMember("xtreme", "question_answering", 2), SuiteMember("xtreme-r", "question_answering", 2)),
)
