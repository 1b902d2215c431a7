"""Cosmos QA: commonsense reading comprehension with four answers, an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="cosmosqa", display_name="CosmosQA", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY,
    languages=("en",), num_choices=4, description="Cosmos QA commonsense reading comprehension (25,262 train).",
    layouts=(
        FileLayout("**/cosmosqa/{split}.csv", "cosmosqa_csv", (), split_names=(("dev", "valid"),)),
        FileLayout("**/cosmosqa/{split}.jsonl", "cosmosqa_jsonl", (), split_names=(("dev", "valid"),)),
    ),
    data=DataRelations(train_rows=25_262),
    hub=HubSource("allenai/cosmos_qa", None, TRAIN_DEV, "cosmosqa_jsonl", layout=1),
)
