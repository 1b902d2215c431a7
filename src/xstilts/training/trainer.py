"""One training stage on `accelerate`: a model (encoder + heads) in, a trained model out.

Design choices that make runs reproducible and resumable:
- An optimizer step always consumes one GLOBAL batch of ``batch_size`` feature rows, chosen by
  (seed, epoch) alone; each process takes its share and splits it into ``grad_accumulation``
  micro-batches. The data order therefore does not depend on the hardware.
- A checkpoint (model, optimizer, scheduler, RNG states, data position) is written atomically
  every ``checkpoint_every`` steps and at every evaluation. Restarting after ``kill -9`` continues
  from it and ends with the same weights and metrics as an uninterrupted run.
- The run directory is finished only when ``result.json`` exists (written last, atomically);
  a finished stage is never retrained.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.base import FeatureSettings
from xstilts.training.checkpoint import find_checkpoint, load_training_state, remove_checkpoints, restore_rng, save_checkpoint
from xstilts.training.config import TrainConfig
from xstilts.training.data import StageData

RESULT_FILE = "result.json"
RUN_FILE = "run.json"
MODEL_DIR = "model"
BEST_DIR = "best"
# Bump when a change alters the weights a stage produces: it is part of a node's identity.
TRAINING_SEMANTICS_VERSION = "1"


@dataclass
class TrainResult:
    run_dir: str
    model_dir: str
    steps: int
    epochs: float
    selected: str  # "best" (dev-selected) or "last"
    best_dev: float | None
    dev_metric: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    train_examples: int = 0
    train_features: int = 0
    wall_seconds: float = 0.0
    stopped_early: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_json_atomic(path: Path, payload: Any) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def load_result(run_dir: Path) -> TrainResult | None:
    path = Path(run_dir) / RESULT_FILE
    if not path.is_file():
        return None
    return TrainResult(**json.loads(path.read_text()))


def resolve_mixed_precision(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, group_by_length: bool) -> list[np.ndarray]:
    """The global batches of one epoch: a function of (seed, epoch) only.

    With length grouping, rows are shuffled, cut into mega-batches of 50 batches, each sorted by
    length (less padding), and the batches are then shuffled (so lengths still vary by step).
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if group_by_length:
        mega = batch_size * 50
        order = np.concatenate([
            chunk[np.argsort(-lengths[chunk], kind="stable")] for chunk in np.array_split(order, max(1, math.ceil(len(order) / mega)))
        ]) if len(order) else order
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length and len(batches) > 1:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _row_lengths(features) -> np.ndarray:
    column = features["input_ids"]
    return np.array([len(x[0]) if x and isinstance(x[0], list) else len(x) for x in column])


def _rows(features, indices: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
    picked = features.select(indices.tolist()).select_columns(columns).to_dict()
    return [dict(zip(picked, values)) for values in zip(*picked.values())]


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, eps=config.adam_epsilon)


class Trainer:
    """Trains one stage. ``progress`` receives (event, info) callbacks for the CLI's progress bars."""

    def __init__(self, stage: StageData, config: TrainConfig, run_dir: Path, *,
                 progress: Callable[[str, dict[str, Any]], None] | None = None):
        self.stage = stage
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or (lambda event, info: None)

    # -------------------------------------------------------------- public

    def run(self, model_source: str | Path, identity: dict[str, Any] | None = None) -> TrainResult:
        done = load_result(self.run_dir)
        if done is not None:
            self._check_identity(identity)
            return done
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._check_identity(identity)
        write_json_atomic(self.run_dir / RUN_FILE, identity or {})
        started = time.time()

        from accelerate import Accelerator

        from xstilts.modeling.collate import PadCollator
        from xstilts.modeling.feature_cache import cached_features
        from xstilts.modeling.kinds import get_adapter
        from xstilts.modeling.loading import load_tokenizer
        from xstilts.modeling.model import MultiTaskModel

        config, stage = self.config, self.stage
        accelerator = Accelerator(mixed_precision=resolve_mixed_precision(config.mixed_precision), cpu=not torch.cuda.is_available())
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)

        checkpoint = find_checkpoint(self.run_dir)
        source = checkpoint / "model" if checkpoint is not None else model_source
        model = load_model(source)
        model.add_head(stage.head_name, stage.task.kind, stage.labels)
        tokenizer = load_tokenizer(tokenizer_source(source))
        adapter = get_adapter(stage.task.kind)
        settings = FeatureSettings(max_length=config.max_length, doc_stride=config.doc_stride)

        self.progress("featurize", {"examples": len(stage.train)})
        train_features = cached_features(adapter, stage.train, tokenizer, stage.labels, settings)
        dev_features = (cached_features(adapter, stage.dev, tokenizer, stage.labels, settings) if stage.dev else None)
        columns = [c for c in adapter.model_columns if c in train_features.column_names]
        lengths = _row_lengths(train_features)
        collator = PadCollator(adapter, tokenizer.pad_token_id)

        if config.freeze_embeddings:
            # Most of a small multilingual encoder's weights are word embeddings (96M of 118M in e5-small).
            model.encoder.get_input_embeddings().weight.requires_grad_(False)
        if config.dropout is not None:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = config.dropout
        optimizer = _optimizer(model, config)
        steps_per_epoch = max(1, math.ceil(len(lengths) / config.batch_size))
        total_steps = config.max_steps or max(1, math.floor(steps_per_epoch * config.epochs))
        from transformers import get_linear_schedule_with_warmup

        scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

        position = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best": None, "history": [], "bad_evals": 0}
        if checkpoint is not None:
            state = load_training_state(checkpoint)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            restore_rng(state["rng"])
            position = state["progress"]
            self.progress("resume", {"step": position["step"]})

        model, optimizer = accelerator.prepare(model, optimizer)
        device = accelerator.device
        world, rank = accelerator.num_processes, accelerator.process_index
        unwrapped = accelerator.unwrap_model(model)
        metric_name = self._dev_metric()
        eval_every = config.eval_every or steps_per_epoch
        stopped_early = False

        self.progress("start", {"total_steps": total_steps, "done_steps": position["step"],
                                "features": len(lengths), "steps_per_epoch": steps_per_epoch})
        while position["step"] < total_steps and not stopped_early:
            batches = epoch_batches(lengths, config.batch_size, config.seed, position["epoch"], config.group_by_length)
            while position["batch_in_epoch"] < len(batches) and position["step"] < total_steps:
                global_batch = batches[position["batch_in_epoch"]]
                loss = self._optimizer_step(model, optimizer, scheduler, accelerator, train_features, columns,
                                            collator, global_batch[rank::world], device)
                position["batch_in_epoch"] += 1
                position["step"] += 1
                self.progress("step", {"step": position["step"], "loss": loss, "lr": scheduler.get_last_lr()[0]})
                evaluate_now = dev_features is not None and (position["step"] % eval_every == 0 or position["step"] == total_steps)
                if evaluate_now:
                    score = self._evaluate(unwrapped, adapter, dev_features, collator, device, metric_name) if accelerator.is_main_process else None
                    stopped_early = self._record_eval(lambda d: save_model(unwrapped, tokenizer, d), position, score, accelerator)
                if accelerator.is_main_process and (evaluate_now or position["step"] % config.checkpoint_every == 0):
                    save_checkpoint(self.run_dir, lambda d: save_model(unwrapped, tokenizer, d), optimizer, scheduler, position)
                accelerator.wait_for_everyone()
                if stopped_early:
                    break
            if position["batch_in_epoch"] >= len(batches):
                position["epoch"] += 1
                position["batch_in_epoch"] = 0

        self._save = lambda d: save_model(unwrapped, tokenizer, d)
        result = self._finish(unwrapped, accelerator, position, total_steps, steps_per_epoch, metric_name,
                              len(stage.train), len(lengths), time.time() - started, stopped_early)
        return result

    # -------------------------------------------------------------- internals

    def _check_identity(self, identity: dict[str, Any] | None) -> None:
        path = self.run_dir / RUN_FILE
        if identity is None or not path.is_file():
            return
        existing = json.loads(path.read_text())
        if existing and existing != json.loads(json.dumps(identity, default=str)):
            raise ConfigError(f"{path}: this run directory holds a different run (other settings); use another --out")

    def _dev_metric(self) -> str | None:
        from xstilts.evaluation.scores import primary_metric

        return primary_metric(self.stage.task) if self.stage.dev else None

    def _optimizer_step(self, model, optimizer, scheduler, accelerator, features, columns, collator,
                        rows: np.ndarray, device) -> float:
        model.train()
        micro_batches = [m for m in np.array_split(rows, self.config.grad_accumulation) if len(m)]
        total_loss = 0.0
        for i, micro in enumerate(micro_batches):
            batch = {k: v.to(device) for k, v in collator(_rows(features, micro, columns)).items()}
            last = i == len(micro_batches) - 1
            sync = accelerator.no_sync(model) if not last and accelerator.num_processes > 1 else nullcontext()
            with sync, accelerator.autocast():
                loss, _ = model(self.stage.head_name, batch)
                # Each micro-batch's mean loss weighted by its share of this process's rows.
                loss = loss * (len(micro) / len(rows))
                accelerator.backward(loss)
            total_loss += float(loss.detach())
        if accelerator.sync_gradients:
            accelerator.clip_grad_norm_(model.parameters(), self.config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return total_loss

    def _evaluate(self, model, adapter, dev_features, collator, device, metric_name: str) -> float:
        from xstilts.evaluation.predict import predict_logits
        from xstilts.evaluation.scores import score_predictions
        from xstilts.tasks.types import TaskKind

        rows = dev_features.to_list()
        logits = predict_logits(model, self.stage.head_name, rows, collator, batch_size=max(8, self.config.per_device_batch_size * 2),
                                device=device, per_token=self.stage.task.kind in (TaskKind.TAGGING, TaskKind.EXTRACTIVE_QA))
        predictions = adapter.decode(logits, rows, self.stage.dev, self.stage.labels)
        lang = self.stage.dev_selection.lang if self.stage.dev_selection else "en"
        metrics = score_predictions(self.stage.task, lang, self.stage.dev, predictions)
        return float(metrics[metric_name])

    def _record_eval(self, save: Callable[[Path], None], position: dict[str, Any], score: float | None, accelerator) -> bool:
        if not accelerator.is_main_process:
            return False
        entry = {"step": position["step"], "epoch": position["epoch"], "score": score}
        position["history"].append(entry)
        self.progress("eval", entry)
        if position["best"] is None or score > position["best"]["score"]:
            position["best"] = entry
            position["bad_evals"] = 0
            if self.config.select_best:
                save(self.run_dir / BEST_DIR)
        else:
            position["bad_evals"] += 1
        patience = self.config.early_stopping_patience
        return patience is not None and position["bad_evals"] >= patience

    def _finish(self, model, accelerator, position, total_steps, steps_per_epoch, metric_name, n_examples,
                n_features, seconds, stopped_early) -> TrainResult:
        final = self.run_dir / MODEL_DIR
        selected = "best" if self.config.select_best and position["best"] is not None else "last"
        if accelerator.is_main_process:
            best_dir = self.run_dir / BEST_DIR
            if selected == "best":
                # A kill after this move and before result.json finds best/ gone and model/ in place.
                if best_dir.is_dir():
                    shutil.rmtree(final, ignore_errors=True)
                    os.replace(best_dir, final)
            else:
                self._save(final)
        result = TrainResult(
            run_dir=str(self.run_dir), model_dir=str(final), steps=position["step"],
            epochs=round(position["step"] / steps_per_epoch, 4), selected=selected,
            best_dev=position["best"]["score"] if position["best"] else None, dev_metric=metric_name,
            history=position["history"], train_examples=n_examples, train_features=n_features,
            wall_seconds=round(seconds, 2), stopped_early=stopped_early,
        )
        if accelerator.is_main_process:
            write_json_atomic(self.run_dir / RESULT_FILE, result.to_json())
            remove_checkpoints(self.run_dir)
        accelerator.wait_for_everyone()
        self.progress("done", result.to_json())
        return result


def load_model(source: str | Path):
    """A saved MultiTaskModel folder (an earlier stage) or a plain encoder (HF id or path)."""
    from xstilts.modeling.loading import resolve_model
    from xstilts.modeling.model import MultiTaskModel

    path = Path(str(source))
    if (path / "heads.json").is_file():
        return MultiTaskModel.load(path, dtype=torch.float32)
    return MultiTaskModel.from_pretrained_encoder(resolve_model(str(source)), dtype=torch.float32)


def tokenizer_source(source: str | Path) -> str:
    """Stage models carry their tokenizer in ``encoder/``; a plain encoder is its own source."""
    from xstilts.modeling.loading import resolve_model

    path = Path(str(source))
    if (path / "heads.json").is_file():
        return str(path / "encoder")
    return resolve_model(str(source))


def save_model(model, tokenizer, directory: Path) -> None:
    """Save encoder + heads atomically, with the tokenizer beside the encoder so the folder stands alone."""
    model.save(directory, tokenizer)
