"""MultiNLI, an English intermediate task (and XTREME's English XNLI training set)."""

from xstilts.tasks.families import NLI_HEAD, NLI_LABEL_MAP, NLI_LABELS
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, SharedSet, TaskKind, TaskSpec

# XNLI's English training set is this one (other languages: its line-by-line translations).
MNLI_TRAIN = SharedSet("MNLI train", rows=392_702)

TASK = TaskSpec(
    name="mnli", display_name="MNLI", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=("en",), labels=NLI_LABELS, head=NLI_HEAD, description="MultiNLI (392,702 train pairs).",
    layouts=(
        FileLayout("MNLI/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"),
                    ("label", "gold_label"), ("label_map", NLI_LABEL_MAP)),
                   split_names=(("dev", "dev_matched"),)),
        FileLayout("multinli_1.0/multinli_1.0_{split}.jsonl", "jsonl_classification",
                   (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"),
                    ("skip_labels", ("-",))),
                   split_names=(("dev", "dev_matched"),)),
        # XTREME's download puts MNLI train at xnli/train-en.tsv.
        FileLayout("xnli/{split}-{lang}.tsv", "tsv_classification",
                   (("text_a", 0), ("text_b", 1), ("label", 2), ("label_map", NLI_LABEL_MAP)),
                   splits=("train",)),
    ),
    data=DataRelations(shared={"train": MNLI_TRAIN}),
    hub=HubSource("nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"}, "nli_jsonl", layout=1),
)
