"""XNLI: cross-lingual natural language inference; English training data is MNLI."""

from xstilts.tasks.catalog.mnli import MNLI_TRAIN
from xstilts.tasks.families import NLI_HEAD, NLI_LABEL_MAP, NLI_LABELS, TRAIN_DEV_TEST, XTREME_CLASSIFY
from xstilts.tasks.types import (
    ByModelScale, DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

TASK = TaskSpec(
    name="xnli", display_name="XNLI", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split()),
    labels=NLI_LABELS, head=NLI_HEAD,
    description="Cross-lingual NLI (English train = MNLI).",
    layouts=(
        # XTREME download layout: premise \t hypothesis \t label
        FileLayout("xnli/{split}-{lang}.tsv", "tsv_classification",
                   (("text_a", 0), ("text_b", 1), ("label", 2), ("label_map", NLI_LABEL_MAP))),
        # Original XNLI-1.0: one file for all languages, header, language column.
        FileLayout("XNLI-1.0/xnli.{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"),
                    ("label", "gold_label"), ("filter_column", "language"), ("filter_value", "{lang}"))),
        # XNLI-MT (translate-train) English = MNLI train.
        FileLayout("XNLI-MT-1.0/multinli/multinli.{split}.{lang}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "premise"), ("text_b", "hypo"), ("label", "label"),
                    ("label_map", NLI_LABEL_MAP)), splits=("train",)),
    ),
    # scripts/train_xnli.sh: lr 3e-5 for large models, 2e-5 for base ones.
    training=TrainingDefaults(target_epochs=2, xtreme={**XTREME_CLASSIFY, "learning_rate": ByModelScale(large=3e-5, base=2e-5),
                                                       "epochs": 5.0}),
    # Parallel: row i is the same item in every language. Train in every language is MNLI train
    # (English) or XNLI-MT's line-by-line translation of it.
    data=DataRelations(parallel=True, shared={"train": MNLI_TRAIN}),
    # Dev and test in every language; train = MNLI (en) or its machine translation (XNLI-MT).
    hub=HubSource("facebook/xnli", "{lang}", TRAIN_DEV_TEST, "nli_tsv"),
    suites=(SuiteMember("xtreme", "classification", 1), SuiteMember("xtreme-r", "classification", 1)),
)
