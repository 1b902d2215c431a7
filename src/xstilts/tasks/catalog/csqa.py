"""CommonsenseQA: five-way multiple-choice questions, an English intermediate task."""

from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="csqa", display_name="CommonsenseQA", kind=TaskKind.MULTIPLE_CHOICE, metric=Metric.ACCURACY,
    languages=("en",), num_choices=5, description="CommonsenseQA (9,741 train).",
    layouts=(
        FileLayout("**/csqa/{split}_rand_split.jsonl", "csqa_jsonl", ()),
        FileLayout("**/csqa/test_rand_split_no_answers.jsonl", "csqa_jsonl", (), splits=("test",)),
    ),
    data=DataRelations(train_rows=9_741),
    hub=HubSource("tau/commonsense_qa", None, TRAIN_DEV, "csqa_jsonl"),
)
