"""TyDiQA-GoldP: extractive QA in typologically diverse languages; zero-shot trains on English only."""

from xstilts.tasks.families import XTREME_QA
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

# The official files name each language by its English name (TyDiQA's own spelling).
FILE_NAMES = {"ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
              "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu"}

TASK = TaskSpec(
    name="tydiqa", display_name="TyDiQA", aliases=("tydiqa-goldp",), kind=TaskKind.EXTRACTIVE_QA,
    metric=Metric.SQUAD, languages=tuple(FILE_NAMES), file_codes={"lang_name": FILE_NAMES},
    description="TyDiQA-GoldP. Zero-shot: trains on the ENGLISH train set only (3,696 questions).",
    layouts=(
        FileLayout("tydiqa/tydiqa.goldp.{lang}.{split}.json", "squad_json", ()),
        FileLayout("tydiqa/tydiqa-goldp-v1.1-{split}/tydiqa.{lang}.{split}.json", "squad_json", ()),
        FileLayout("tydiqa/tydiqa-goldp-v1.1-{split}/tydiqa-goldp-{split}-{lang_name}.json", "squad_json", ()),
        # The official train file holds all nine languages; keep English ids only.
        FileLayout("tydiqa/tydiqa-goldp-v1.1-train.json", "squad_json",
                   (("id_prefix", "{lang_name}"),), splits=("train",)),
    ),
    training=TrainingDefaults(target_epochs=2, xtreme=XTREME_QA),
    data=DataRelations(train_rows=3_696),
    # The hub's splits mix all nine languages: keep one language's ids.
    hub=HubSource("google-research-datasets/tydiqa", "secondary_task", {"train": "train", "dev": "validation"},
                  "squad_json", options={"id_prefix": "{lang_name}-"}),
    suites=(SuiteMember("xtreme", "question_answering", 3), SuiteMember("xtreme-r", "question_answering", 3)),
)
