"""Stanford NLI, an English intermediate task (part of ANLI+)."""

from xstilts.tasks.families import NLI_HEAD, NLI_LABELS, TRAIN_DEV_TEST
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="snli", display_name="SNLI", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=("en",), labels=NLI_LABELS, head=NLI_HEAD, description="Stanford NLI.",
    layouts=(
        FileLayout("snli_1.0/snli_1.0_{split}.jsonl", "jsonl_classification",
                   (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"),
                    ("skip_labels", ("-",)))),
    ),
    hub=HubSource("stanfordnlp/snli", None, TRAIN_DEV_TEST, "nli_jsonl"),
)
