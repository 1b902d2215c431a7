"""SQuAD v1.1: English extractive QA, an intermediate task and the training set of XQuAD and MLQA."""

from xstilts.tasks.families import TRAIN_DEV, XTREME_TRANSLATIONS
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, SharedSet, TaskKind, TaskSpec

SQUAD_V1_TRAIN = SharedSet("SQuAD v1.1 train", rows=87_599)
SQUAD_V1_DEV = SharedSet("SQuAD v1.1 dev")

TASK = TaskSpec(
    name="squad_v1", display_name="SQuAD v1.1", aliases=("squad",), kind=TaskKind.EXTRACTIVE_QA,
    metric=Metric.SQUAD, languages=("en",), description="SQuAD v1.1 (87,599 train questions).",
    layouts=(FileLayout("squad/{split}-v1.1.json", "squad_json", ()),),
    data=DataRelations(shared={"train": SQUAD_V1_TRAIN, "dev": SQUAD_V1_DEV}),
    # XTREME's machine-translated train sets (not on the hub; Google's bucket, SQuAD JSON).
    hub=HubSource("rajpurkar/squad", None, TRAIN_DEV, "squad_json",
                  translated_train_url=f"{XTREME_TRANSLATIONS}/SQuAD/translate-train/squad.translate.train.en-{{lang}}.json",
                  translated_train_file="squad/translate-train/squad.translate.train.en-{lang}.json"),
)
