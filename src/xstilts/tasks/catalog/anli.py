"""Adversarial NLI rounds 1-3, and ANLI+ (the paper's strongest intermediate task): ANLI r1-r3 +
MNLI + SNLI on one label set, trained as one task with one NLI head."""

from xstilts.tasks.families import NLI_HEAD, NLI_LABEL_MAP, NLI_LABELS
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec


def _round(number: int) -> TaskSpec:
    return TaskSpec(
        name=f"anli_r{number}", display_name=f"ANLI R{number}", kind=TaskKind.PAIR_CLASSIFICATION,
        metric=Metric.ACCURACY, languages=("en",), labels=NLI_LABELS, head=NLI_HEAD,
        description=f"Adversarial NLI round {number}.",
        layouts=(
            FileLayout(f"anli_v1.0/R{number}/{{split}}.jsonl", "jsonl_classification",
                       (("text_a", "context"), ("text_b", "hypothesis"), ("label", "label"),
                        ("label_map", NLI_LABEL_MAP), ("guid", "uid"))),
        ),
        hub=HubSource("facebook/anli", None, {"train": f"train_r{number}", "dev": f"dev_r{number}",
                                              "test": f"test_r{number}"}, "anli_jsonl"),
    )


TASKS = (
    _round(1), _round(2), _round(3),
    TaskSpec(
        name="anli_plus", display_name="ANLI+", aliases=("anli+",), kind=TaskKind.PAIR_CLASSIFICATION,
        metric=Metric.ACCURACY, languages=("en",), labels=NLI_LABELS, head=NLI_HEAD, layouts=(),
        components=("anli_r1", "anli_r2", "anli_r3", "mnli", "snli"),
        description="ANLI+: ANLI r1-r3 + MNLI + SNLI with one shared NLI head (1,104,934 train pairs).",
        data=DataRelations(train_rows=1_104_934),
    ),
)
