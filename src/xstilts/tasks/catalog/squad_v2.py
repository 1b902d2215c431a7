"""SQuAD v2.0: English extractive QA with unanswerable questions, an intermediate task."""

from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV, SQUAD_V1_TRAIN
from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="squad_v2", display_name="SQuAD v2.0", kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD,
    languages=("en",), allow_no_answer=True,
    description="SQuAD v2.0 with unanswerable questions (130,319 train questions).",
    layouts=(FileLayout("squad/{split}-v2.0.json", "squad_json", ()),),
    # Built on the SQuAD 1.1 articles: any row of one counts as the other.
    data=DataRelations(derived_from={"dev": (SQUAD_V1_DEV,), "train": (SQUAD_V1_TRAIN,)}, train_rows=130_319),
    hub=HubSource("rajpurkar/squad_v2", None, TRAIN_DEV, "squad_json", options={"version": 2}),
)
