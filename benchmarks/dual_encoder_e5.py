"""A measured dual-encoder stage: squad_retrieval trained on TyDiQA-GoldP English train (3,695
question -> answer-sentence pairs) with the offline multilingual-e5-small, dev mAP@20 on
TyDiQA-GoldP English dev (434 queries against its 423 distinct answer-sentence candidates).

Prints, as JSON: the untrained encoder's dev mAP@20 under the dual encoder's own pooling (what
the trainer's dev evaluation computes, first token of the last layer) and under e5's documented
use ("query: " prefix, mean pooling: the strongest untrained baseline), the dev history of the
training, and the trained model's dev mAP@20 through ranked-retrieval evaluation
(``evaluation.retrieval.evaluate_ranked``) with nothing set but the model folder's record.

    PYTHONPATH=src python benchmarks/dual_encoder_e5.py --steps 150 --eval-every 50 --out /tmp/dual
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from xstilts.evaluation.retrieval import evaluate_ranked
from xstilts.modeling.feature_cache import cached_features
from xstilts.modeling.inference import predict_logits
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.kinds.retrieval import RetrievalSettings, retrieval_options
from xstilts.modeling.loading import load_tokenizer
from xstilts.modeling.model import MultiTaskModel
from xstilts.modeling.offline_e5 import prepare_model
from xstilts.tasks.readers import squad_retrieval_json
from xstilts.tasks.registry import get_task
from xstilts.tasks.selection import DataSelection
from xstilts.tasks.types import RetrievalSet, SentencePair
from xstilts.training.config import make_config
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer

TASK = "squad_retrieval"


def dev_map(model: MultiTaskModel, tokenizer, dev, settings: FeatureSettings) -> float:
    """The trainer's dev evaluation of a dual-encoder head (``Trainer._evaluate``)."""
    adapter = get_adapter("dual_encoder")
    rows = cached_features(adapter, dev, tokenizer, None, settings).to_list()
    vectors = predict_logits(model, TASK, rows, adapter.collator(tokenizer), batch_size=32, device="cpu")
    ranked = adapter.decode(vectors, rows, dev, None)
    return adapter.scorer.score_predictions(get_task(TASK), "en", dev, ranked)["map_at_20"]


def as_pool(dev) -> RetrievalSet:
    """The dev pairs as a ranked-retrieval pool: the questions against the distinct candidates."""
    candidates = {pair.candidate_id: pair.candidate for pair in dev}
    return RetrievalSet("dev", "en", "en", tuple(SentencePair(p.guid, p.query) for p in dev),
                        tuple(SentencePair(i, text) for i, text in candidates.items()),
                        tuple((p.guid, p.candidate_id) for p in dev))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/xtreme-data"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--eval-every", type=int, default=50)
    args = parser.parse_args()
    train_file = args.data / "tydiqa" / "tydiqa.goldp.en.train.json"
    dev_file = args.data / "tydiqa" / "tydiqa.goldp.en.dev.json"
    model_dir = str(prepare_model("multilingual-e5-small"))
    tokenizer = load_tokenizer(model_dir)
    dev = squad_retrieval_json(dev_file, "en")
    config = make_config(get_task(TASK), target=False, max_steps=args.steps, eval_every=args.eval_every, seed=1)
    settings = FeatureSettings(max_length=config.max_length, max_query_length=config.max_query_length)

    started = time.perf_counter()
    untrained = MultiTaskModel.from_pretrained_encoder(model_dir)
    untrained.add_head(TASK, "dual_encoder")
    before_cls = dev_map(untrained, tokenizer, dev, settings)
    e5_use = RetrievalSettings(**{**retrieval_options(model_dir, {})[0], "max_length": config.max_length})
    before_e5 = evaluate_ranked(untrained.encoder, tokenizer, as_pool(dev), e5_use)["map_at_20"]
    before_seconds = time.perf_counter() - started

    # The files travel as explicit selections: no data folder in SQuAD's layout is needed.
    stage = StageData([prepare_task_data(DataSelection(TASK, "en", "train", None, (str(train_file),)),
                                         DataSelection(TASK, "en", "dev", None, (str(dev_file),)), None)])
    result = Trainer(stage, config, args.out).run(model_dir)

    folder = Path(result.model_dir) / "encoder"
    recorded, source = retrieval_options(folder, {})
    trained = MultiTaskModel.load(result.model_dir)
    after_ranked = evaluate_ranked(trained.encoder, tokenizer, as_pool(dev), RetrievalSettings(**recorded))
    print(json.dumps({
        "machine": f"{platform.machine()} {torch.get_num_threads()} torch threads, {platform.processor() or 'cpu'}",
        "config": {k: v for k, v in config.model_dump().items()
                   if k in ("learning_rate", "batch_size", "grad_accumulation", "warmup_ratio", "weight_decay",
                            "max_length", "max_query_length", "max_steps", "eval_every", "mixed_precision")},
        "train_pairs": result.train_examples, "dev_queries": len(dev),
        "dev_candidates": len({p.candidate_id for p in dev}),
        "before": {"dual_encoder_cls": round(before_cls, 2), "e5_recorded_use": round(before_e5, 2),
                   "e5_recorded_use_settings": e5_use.as_dict(), "seconds": round(before_seconds, 1)},
        "history": result.history, "selected": result.selected, "best_dev": result.best_dev,
        "train_seconds": result.wall_seconds, "numerics": result.numerics, "packing": result.packing,
        "vocabulary": result.vocabulary,
        "after": {"ranked_retrieval_with_record": round(after_ranked["map_at_20"], 2), "record": recorded,
                  "record_source": source},
    }, indent=2))


if __name__ == "__main__":
    main()
