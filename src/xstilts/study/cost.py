"""What a study plan will cost: optimizer steps, seconds and disk, estimated before running.

Steps follow the trainer: ``max_steps`` when set, else floor(epochs x sum over the stage's tasks
of ceil(examples / batch)). Examples stand in for features (QA contexts and long tagged sentences
become several windows, so QA and tagging are underestimated). Seconds are steps x
``seconds_per_step`` (given at batch 16, scaled linearly with the batch) plus ``seconds_per_training``
(loading and saving) per training, plus evaluated examples x ``eval_seconds_per_example``; dev
evaluations during training are not counted. For data that is
not on disk, the full set's size from the task's file (``DataRelations.reference_rows``) stands in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from xstilts.study.plan import Plan, TrainNode

REFERENCE_BATCH_SIZE = 16
# Parameters of encoders the planner knows by name; a saved model is float32 (4 bytes each).
KNOWN_MODEL_PARAMETERS: dict[str, int] = {
    "multilingual-e5-small": 118_000_000, "intfloat/multilingual-e5-small": 118_000_000,
    "xlm-roberta-base": 278_000_000, "FacebookAI/xlm-roberta-base": 278_000_000,
    "xlm-roberta-large": 560_000_000, "FacebookAI/xlm-roberta-large": 560_000_000,
    "bert-base-multilingual-cased": 178_000_000, "google-bert/bert-base-multilingual-cased": 178_000_000,
}
# A training in progress holds a resumable checkpoint (model + two Adam moments) and its best model.
TRAINING_SCRATCH_MODELS = 4


def training_steps(node: TrainNode) -> int | None:
    config = node.config
    if config.max_steps:
        return config.max_steps
    if any(n is None for n in node.examples):
        return None
    per_epoch = sum(max(1, math.ceil(n / config.batch_size)) for n in node.examples)
    return max(1, math.floor(per_epoch * config.epochs))


def training_seconds(node: TrainNode, seconds_per_step: float, seconds_per_training: float) -> float | None:
    steps = training_steps(node)
    if steps is None:
        return None
    return seconds_per_training + steps * seconds_per_step * node.config.batch_size / REFERENCE_BATCH_SIZE


def estimate_cost(plan: Plan) -> dict[str, Any]:
    execution = plan.study.execution
    train_seconds = [training_seconds(node, execution.seconds_per_step, execution.seconds_per_training)
                     for node in plan.train_nodes]
    units = [node.units for node in plan.eval_nodes]
    known_train = sum(s for s in train_seconds if s is not None)
    known_units = sum(u for u in units if u is not None)
    eval_seconds = known_units * execution.eval_seconds_per_example
    return {
        "train_steps": sum(training_steps(node) or 0 for node in plan.train_nodes),
        "train_seconds": round(known_train),
        "eval_examples": known_units,
        "eval_seconds": round(eval_seconds),
        "total_seconds": round(known_train + eval_seconds),
        "seconds_per_step": execution.seconds_per_step,
        "seconds_per_training": execution.seconds_per_training,
        "eval_seconds_per_example": execution.eval_seconds_per_example,
        "trainings_of_unknown_size": sum(s is None for s in train_seconds),
        "evaluations_of_unknown_size": sum(u is None for u in units),
    }


def model_bytes(model: str, configured: int | None) -> int | None:
    """Bytes of one saved model: the setting, the known size of a named encoder, or a local folder's weights."""
    if configured:
        return configured
    if model in KNOWN_MODEL_PARAMETERS:
        return KNOWN_MODEL_PARAMETERS[model] * 4
    folder = Path(model)
    if folder.is_dir():
        weights = [p for pattern in ("*.safetensors", "*.bin") for p in folder.glob(pattern)]
        return sum(p.stat().st_size for p in weights) or None
    return None


def kept_models(plan: Plan) -> int:
    """The most models on disk at once. keep = leaves: simulate running the plan in order, one
    training at a time, each evaluation right after its model, dropping an intermediate model
    once everything that needs it is done; otherwise every model is kept."""
    if plan.study.execution.keep != "leaves":
        return len(plan.train_nodes)
    done: set[str] = set()
    alive: list[str] = []
    peak = 0
    for node in plan.train_nodes:
        done.add(node.id)
        done.update(e.id for e in plan.evals_on(node.id))
        alive.append(node.id)
        peak = max(peak, len(alive))
        alive = [i for i in alive if plan.node(i).is_target or plan.needed_by(i, done)]
    return peak


def disk_bytes(plan: Plan) -> int | None:
    size = model_bytes(plan.study.model, plan.study.execution.model_bytes)
    if size is None:
        return None
    return size * (kept_models(plan) + plan.study.execution.workers * TRAINING_SCRATCH_MODELS)

