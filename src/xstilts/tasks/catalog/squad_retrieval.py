"""SQuAD v1.1 as question -> answer-sentence pairs: the training data of XTREME-R's LAReQA dual
encoder (google-research/xtreme scripts/train_lareqa.sh: train-v1.1.json, dev-v1.1.json).

The same files as squad_v1, read as pairs (``readers.retrieval_pairs.squad_retrieval_json``): a
question and its answer's sentence followed by the whole paragraph. An intermediate stage: it
trains the encoder that ranked retrieval (LAReQA) then scores; dev mAP@20 (the dev questions
against the dev answer sentences) selects the checkpoint. The kind's defaults are the script's
values (lr 2e-5, 3 epochs, batch 4 x 4, no warm-up, no weight decay, 96 / 256 sub-words).
"""

from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV, SQUAD_V1_TRAIN
from xstilts.tasks.families import TRAIN_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="squad_retrieval", display_name="SQuAD retrieval", kind=TaskKind.DUAL_ENCODER, metric=Metric.MAP_AT_20,
    languages=("en",),
    description="SQuAD v1.1 question -> answer sentence + paragraph, dual encoder (LAReQA's training data).",
    layouts=(FileLayout("squad/{split}-v1.1.json", "squad_retrieval_json"),),
    data=DataRelations(shared={"train": SQUAD_V1_TRAIN, "dev": SQUAD_V1_DEV}),
    hub=HubSource("rajpurkar/squad", None, TRAIN_DEV, "squad_json"),
)
