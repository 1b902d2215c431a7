"""Sentence and sentence-pair classification tasks: XNLI, PAWS-X and the GLUE-style intermediates."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

NLI_LABELS = ("entailment", "neutral", "contradiction")
# Spellings of the NLI labels in the various sources, mapped onto one label set so that
# MNLI, SNLI, ANLI and XNLI share a head (ANLI+).
NLI_LABEL_MAP = (("contradictory", "contradiction"), ("e", "entailment"), ("n", "neutral"),
                 ("c", "contradiction"), ("0", "entailment"), ("1", "neutral"), ("2", "contradiction"))


register(TaskSpec(
    name="xnli", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split()),
    labels=NLI_LABELS, is_target=True, group="classification", parallel=True,
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
    hub=HubSource("facebook/xnli", "{lang}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="pawsx", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
    languages=tuple("de en es fr ja ko zh".split()),
    labels=("0", "1"), is_target=True, group="classification", parallel=True,
    description="Cross-lingual paraphrase adversaries (PAWS-X).",
    layouts=(
        FileLayout("pawsx/{split}-{lang}.tsv", "tsv_classification",
                   (("text_a", 0), ("text_b", 1), ("label", 2))),
        # Original labelled files (id, sentence1, sentence2, label with a header).
        FileLayout("pawsx/{split}-{lang}.labeled.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"),
                    ("guid", "id"))),
        # Original PAWS-X release: x-final/LANG/{dev_2k,test_2k,translated_train}.tsv, en/train.tsv.
        FileLayout("x-final/{lang}/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"),
                    ("guid", "id")),
                   split_names=(("dev", "dev_2k"), ("test", "test_2k"))),
        # ... where the non-English training sets are machine translations.
        FileLayout("x-final/{lang}/translated_train.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"),
                    ("guid", "id")),
                   splits=("train",)),
    ),
    hub=HubSource("google-research-datasets/paws-x", "{lang}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="mnli", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=NLI_LABELS, description="MultiNLI (392,702 train pairs).",
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
    hub=HubSource("nyu-mll/glue", "mnli", (("dev", "validation_matched"),)),
))

register(TaskSpec(
    name="snli", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=NLI_LABELS, description="Stanford NLI.",
    layouts=(
        FileLayout("snli_1.0/snli_1.0_{split}.jsonl", "jsonl_classification",
                   (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"),
                    ("skip_labels", ("-",)))),
    ),
    hub=HubSource("stanfordnlp/snli", None, (("dev", "validation"),)),
))

for _round in (1, 2, 3):
    register(TaskSpec(
        name=f"anli_r{_round}", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
        languages=("en",), labels=NLI_LABELS, description=f"Adversarial NLI round {_round}.",
        layouts=(
            FileLayout(f"anli_v1.0/R{_round}/{{split}}.jsonl", "jsonl_classification",
                       (("text_a", "context"), ("text_b", "hypothesis"), ("label", "label"),
                        ("label_map", NLI_LABEL_MAP), ("guid", "uid"))),
        ),
        hub=HubSource("facebook/anli", None, (("train", f"train_r{_round}"), ("dev", f"dev_r{_round}"),
                                             ("test", f"test_r{_round}"))),
    ))

register(TaskSpec(
    name="anli_plus", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=NLI_LABELS, layouts=(),
    components=("anli_r1", "anli_r2", "anli_r3", "mnli", "snli"),
    description="ANLI+: ANLI r1-r3 + MNLI + SNLI with one shared NLI head (1,104,934 train pairs).",
))

register(TaskSpec(
    name="qqp", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=("0", "1"), description="Quora Question Pairs (GLUE).",
    layouts=(
        FileLayout("QQP/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "question1"), ("text_b", "question2"),
                    ("label", "is_duplicate"), ("guid", "id"))),
    ),
    hub=HubSource("nyu-mll/glue", "qqp", (("dev", "validation"),)),
))

register(TaskSpec(
    name="sst2", kind=TaskKind.SINGLE_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",),
    labels=("0", "1"), description="Stanford Sentiment Treebank, binary (GLUE).",
    layouts=(
        FileLayout("SST-2/{split}.tsv", "tsv_classification",
                   (("header", True), ("text_a", "sentence"), ("text_b", None), ("label", "label"))),
    ),
    hub=HubSource("nyu-mll/glue", "sst2", (("dev", "validation"),)),
))
