"""PAWS-X: cross-lingual paraphrase identification (paraphrase adversaries)."""

from xstilts.tasks.families import TRAIN_DEV_TEST, XTREME_CLASSIFY
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

_LABELLED = (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"), ("guid", "id"))

TASK = TaskSpec(
    name="pawsx", display_name="PAWS-X", aliases=("paws-x",), kind=TaskKind.PAIR_CLASSIFICATION,
    metric=Metric.ACCURACY, languages=tuple("de en es fr ja ko zh".split()), labels=("0", "1"),
    description="Cross-lingual paraphrase adversaries (PAWS-X).",
    layouts=(
        FileLayout("pawsx/{split}-{lang}.tsv", "tsv_classification",
                   (("text_a", 0), ("text_b", 1), ("label", 2))),
        # Original labelled files (id, sentence1, sentence2, label with a header).
        FileLayout("pawsx/{split}-{lang}.labeled.tsv", "tsv_classification", _LABELLED),
        # Original PAWS-X release: x-final/LANG/{dev_2k,test_2k,translated_train}.tsv, en/train.tsv.
        FileLayout("x-final/{lang}/{split}.tsv", "tsv_classification", _LABELLED,
                   split_names=(("dev", "dev_2k"), ("test", "test_2k"))),
        # ... where the non-English training sets are machine translations.
        FileLayout("x-final/{lang}/translated_train.tsv", "tsv_classification", _LABELLED, splits=("train",)),
    ),
    training=TrainingDefaults(target_epochs=5, xtreme={**XTREME_CLASSIFY, "learning_rate": 2e-5, "epochs": 5.0}),
    data=DataRelations(parallel=True, train_rows=49_401),
    # Non-English train sets are the machine-translated ones.
    hub=HubSource("google-research-datasets/paws-x", "{lang}", TRAIN_DEV_TEST, "pawsx_tsv"),
    suites=(SuiteMember("xtreme", "classification", 2),),
)
