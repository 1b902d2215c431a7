"""Mewsli-X's English Wikipedia mention -> entity pairs: the training data of XTREME-R's Mewsli-X
dual encoder (google-research/xtreme scripts/train_mewslix.sh, third_party/run_retrieval_el.py).

Files as download_data.sh leaves them: ``mewslix/wikipedia_pairs-{train,dev}.jsonl``, one
MentionEntityPair per line (``readers.retrieval_pairs.mewslix_pairs_jsonl``: the mention marked in
its sentence -> the entity's description). Its own values over the kind's: the script's, 2
epochs on 64 sub-words on both sides, x 4 accumulation, and by the model's size: lr 1e-5 and 8
pairs a micro-batch for xlm-roberta-large, lr 2e-5 and 64 for base models (mBERT in the script).
"""

from xstilts.tasks.types import ByModelScale, FileLayout, HubSource, Metric, TaskKind, TaskSpec, TrainingDefaults

TASK = TaskSpec(
    name="mewslix_retrieval", display_name="Mewsli-X retrieval", kind=TaskKind.DUAL_ENCODER,
    metric=Metric.MAP_AT_20, languages=("en",),
    description="Mewsli-X English Wikipedia mention -> entity description, dual encoder (Mewsli-X's training data).",
    layouts=(FileLayout("mewslix/wikipedia_pairs-{split}.jsonl", "mewslix_pairs_jsonl", splits=("train", "dev")),),
    training=TrainingDefaults(own={"learning_rate": ByModelScale(large=1e-5, base=2e-5), "epochs": 2.0,
                                   "batch_size": ByModelScale(large=32, base=256), "grad_accumulation": 4,
                                   "max_length": 64, "max_query_length": 64}),
    hub=HubSource(note="Mewsli-X's Wikipedia pairs are not on the hub: run google-research's "
                       "dense_representations_for_entity_retrieval/mel/get-mewsli-x.sh and copy its "
                       "wikipedia_pairs-{train,dev}.jsonl to DATA/mewslix/"),
)
