"""Quora Question Pairs (GLUE), an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="qqp", display_name="QQP", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=("0", "1"), description="Quora Question Pairs (GLUE).",
    layouts=(
        FileLayout("QQP/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "question1"), ("text_b", "question2"),
                    ("label", "is_duplicate"), ("guid", "id"))),
    ),
    data=DataRelations(train_rows=363_846),
    hub=HubSource("nyu-mll/glue", "qqp", TRAIN_DEV, "qqp_tsv"),
)
