"""HellaSwag: sentence completion with four endings, an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="hellaswag", display_name="HellaSwag", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY,
    languages=("en",), num_choices=4, description="HellaSwag sentence completion (39,905 train).",
    layouts=(FileLayout("**/hellaswag/hellaswag_{split}.jsonl", "hellaswag_jsonl", (),
                        split_names=(("dev", "val"),)),),
    data=DataRelations(train_rows=39_905),
    hub=HubSource("Rowan/hellaswag", None, TRAIN_DEV, "hellaswag_jsonl"),
)
