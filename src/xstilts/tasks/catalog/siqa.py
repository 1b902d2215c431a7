"""Social IQa: three-way questions about social situations, an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="siqa", display_name="Social IQa", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY,
    languages=("en",), num_choices=3, description="Social IQa (v1.4 with answers inline).",
    layouts=(
        FileLayout("**/siqa/socialIQa_v1.4_{split}.jsonl", "siqa_jsonl", (),
                   split_names=(("dev", "dev"), ("train", "trn"), ("test", "tst"))),
        # AI2's socialiqa-train-dev.zip: labels in {split}-labels.lst beside the jsonl.
        FileLayout("**/socialiqa-train-dev/{split}.jsonl", "siqa_jsonl", ()),
    ),
    hub=HubSource("allenai/social_i_qa", None, TRAIN_DEV, "siqa_jsonl"),
)
