"""Multiple-choice tasks: HellaSwag, CosmosQA, CommonsenseQA, SocialIQa and XCOPA."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

register(TaskSpec(
    name="hellaswag", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY, languages=("en",),
    num_choices=4, description="HellaSwag sentence completion (39,905 train).",
    layouts=(FileLayout("**/hellaswag/hellaswag_{split}.jsonl", "hellaswag_jsonl", (),
                        split_names=(("dev", "val"),)),),
    hub=HubSource("Rowan/hellaswag", None, (("dev", "validation"),)),
))

register(TaskSpec(
    name="cosmosqa", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY, languages=("en",),
    num_choices=4, description="Cosmos QA commonsense reading comprehension (25,262 train).",
    layouts=(
        FileLayout("**/cosmosqa/{split}.csv", "cosmosqa_csv", (), split_names=(("dev", "valid"),)),
        FileLayout("**/cosmosqa/{split}.jsonl", "cosmosqa_jsonl", (), split_names=(("dev", "valid"),)),
    ),
    hub=HubSource("allenai/cosmos_qa", None, (("dev", "validation"),)),
))

register(TaskSpec(
    name="csqa", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY, languages=("en",),
    num_choices=5, description="CommonsenseQA (9,741 train).",
    layouts=(
        FileLayout("**/csqa/{split}_rand_split.jsonl", "csqa_jsonl", ()),
        FileLayout("**/csqa/test_rand_split_no_answers.jsonl", "csqa_jsonl", (), splits=("test",)),
    ),
    hub=HubSource("tau/commonsense_qa", None, (("dev", "validation"),)),
))

register(TaskSpec(
    name="siqa", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY, languages=("en",),
    num_choices=3, description="Social IQa (v1.4 with answers inline).",
    layouts=(
        FileLayout("**/siqa/socialIQa_v1.4_{split}.jsonl", "siqa_jsonl", (),
                   split_names=(("dev", "dev"), ("train", "trn"), ("test", "tst"))),
        # AI2's socialiqa-train-dev.zip: labels in {split}-labels.lst beside the jsonl.
        FileLayout("**/socialiqa-train-dev/{split}.jsonl", "siqa_jsonl", ()),
    ),
    hub=HubSource("allenai/social_i_qa", None, (("dev", "validation"),)),
))

register(TaskSpec(
    name="xcopa", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY,
    languages=tuple("en et ht id it qu sw ta th tr vi zh".split()),
    num_choices=2, parallel=True,
    description="XCOPA causal commonsense (English COPA + 11 translations).",
    layouts=(
        FileLayout("xcopa/{split}-{lang}.jsonl", "xcopa_jsonl", (), split_names=(("dev", "val"),)),
        # The XCOPA repository: data/LANG/{val,test}.LANG.jsonl
        FileLayout("xcopa/data/{lang}/{split}.{lang}.jsonl", "xcopa_jsonl", (), split_names=(("dev", "val"),)),
    ),
    hub=HubSource("cambridgeltl/xcopa", "{lang}", (("dev", "validation"),)),
))
