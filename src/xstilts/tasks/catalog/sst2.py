"""SST-2: binary sentiment of single sentences (GLUE), an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="sst2", display_name="SST-2", kind=TaskKind.SINGLE_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=("en",), labels=("0", "1"), description="Stanford Sentiment Treebank, binary (GLUE).",
    layouts=(
        FileLayout("SST-2/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence"), ("text_b", None), ("label", "label"))),
    ),
    data=DataRelations(train_rows=67_349),
    hub=HubSource("nyu-mll/glue", "sst2", TRAIN_DEV, "sst2_tsv"),
)
