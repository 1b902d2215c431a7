"""One training stage on `accelerate`: a model (encoder + heads) in, a trained model out.

Design choices that make runs reproducible and resumable:
- An optimizer step always consumes one GLOBAL batch of ``batch_size`` feature rows of one task.
  Which task (multi-task stages) and which rows are functions of (seed, step) and (seed, task,
  epoch) alone; each process takes its share and splits it into ``grad_accumulation``
  micro-batches. The data order therefore does not depend on the hardware or on restarts.
- A checkpoint (model, optimizer, scheduler, RNG states, data positions) is written atomically
  every ``checkpoint_every`` steps and at every evaluation. Restarting after ``kill -9`` continues
  from it and ends with the same weights and metrics as an uninterrupted run. On a GPU the step
  loop only captures the state (CPU copies) and goes on; a background thread writes it, one write
  at a time, and an error of the write is raised in the loop at the next checkpoint or at the end.
- The next step's batches (rows, collation, MLM masks, packing) are made in a background thread
  while the current step trains: the same tensors as without, since they depend on (seed, step,
  process, micro-batch) only, and the recorded position is that of the steps trained.
- The run directory is finished only when ``result.json`` exists (written last, atomically);
  a finished stage is never retrained.
- Target fine-tuning (``StageData.target``) starts from a fresh head, as jiant does for X-STILTs,
  unless ``carry_head``; intermediate stages of one family keep sharing their head.

``result.json`` records ``numerics``: what changes the weights' last digits but cannot be part of
a node's id without losing sharing between machines. Keys (all strings or numbers):
``device`` ("cpu", "cuda:NVIDIA H200", ...), ``mixed_precision`` (as trained), ``torch_threads``
(``torch.get_num_threads()``: ``--workers 2`` runs one thread per node, whose weights differ from
a one-worker run by ~1e-5) and ``threads_from`` (what that number came from: the CPUs the process
may use split among the workers, ``XSTILTS_TORCH_THREADS``, or torch's default; xstilts.threads),
``processes`` (accelerate processes), ``torch``, ``transformers``,
``accelerate`` and ``python`` versions, ``group_by_length``, and ``compile`` (whether the encoder
ran compiled; with ``compiled_graphs``, the graphs compiled by the end: shapes that recompiled).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xstilts.errors import ConfigError
from xstilts.files import link_tree, replace_directory, write_json_atomic
from xstilts.modeling.collate import length_grouped_indices, row_length
from xstilts.hardware import resolve_compile, resolve_mixed_precision
from xstilts.modeling.compilation import compile_encoder, compiled_graphs
from xstilts.modeling.feature_cache import cached_features
from xstilts.modeling.inference import predict_logits
from xstilts.modeling.kinds import adapter_for_task
from xstilts.modeling.kinds.base import FeatureSettings, MaskingSettings
from xstilts.modeling.loading import load_tokenizer
from xstilts.modeling.model import load_model
from xstilts.modeling.packing import pack_batch, packing_support
from xstilts.modeling.run_folders import BEST_DIR, ENCODER_DIR, MODEL_DIR, RESULT_FILE, RUN_RECORD, write_run_record
from xstilts.modeling.reference import ModelRef
from xstilts.tasks.registry import get_task
from xstilts.metrics.registry import higher_is_better
from xstilts.training.checkpoint import (
    CheckpointWriter, find_checkpoint, load_training_state, print_warning, remove_checkpoints, restore_rng,
    training_state,
)
from xstilts.training.config import TrainConfig
from xstilts.threads import threads_record
from xstilts.training.data import StageData, TaskData
from xstilts.training.vocabulary import touched_ids, trim_vocabulary, why_not_trim

Progress = Callable[[str, dict[str, Any]], None]
# On a GPU, reading the loss is a host-device sync that stalls the step pipeline: the "step" event
# carries it every this many steps (and at the last), None otherwise. On the CPU it is free: every step.
GPU_LOSS_EVERY = 25


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
    numerics: dict[str, Any] = field(default_factory=dict)
    vocabulary: dict[str, Any] | None = None  # vocabulary trimming: rows trained, or why it was off
    # Of wall_seconds, what the step loop waited for resumable checkpoints (this process): capturing
    # the state of the step, and waiting for a write still under way in the background.
    checkpoint_seconds: float = 0.0
    packing: dict[str, Any] | None = None  # sequence packing: the tasks trained packed, or why not

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------ small helpers


def load_result(run_dir: Path) -> TrainResult | None:
    path = Path(run_dir) / RESULT_FILE
    if not path.is_file():
        return None
    return TrainResult(**json.loads(path.read_text()))


def make_accelerator(precision: str):
    """An ``accelerate.Accelerator`` for ``precision``. accelerate keeps one process-wide state that
    refuses a second precision, but one worker process trains many study nodes and their precisions
    may differ (a stage's ``mixed_precision`` override): the precision part of that state is reset,
    the process group (distributed runs) is kept."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    shared = AcceleratorState._shared_state
    if shared and shared.get("_mixed_precision") != precision:
        AcceleratorState._reset_state(reset_partial_state=False)
    return Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available())


def numerics_record(accelerator, mixed_precision: str, group_by_length: bool) -> dict[str, Any]:
    """The unhashed numerics of a training (see the module docstring)."""
    import platform

    import accelerate
    import transformers

    device = accelerator.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    return {"device": f"{device.type}:{name}" if name else device.type, "mixed_precision": mixed_precision,
            **threads_record(), "processes": accelerator.num_processes,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "python": platform.python_version(),
            "group_by_length": group_by_length}


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, group_by_length: bool) -> list[np.ndarray]:
    """The global batches of one pass over a task's features: a function of (seed, epoch) only."""
    epoch_seed = seed * 1_000_003 + epoch
    if group_by_length:
        order = np.array(length_grouped_indices(lengths.tolist(), batch_size, epoch_seed), dtype=np.int64)
    else:
        order = np.random.default_rng(epoch_seed).permutation(len(lengths))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel is several times faster than the default per-tensor loop, on CPU too
    # (e5-small on 2 cores: ~0.4 s instead of ~3.6 s a step for its 21M trainable weights).
    return torch.optim.AdamW(groups, lr=config.learning_rate, eps=config.adam_epsilon, fused=True)


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A plain copy from pageable memory waits for the GPU to finish its queue (a sync per step);
    pinned memory with ``non_blocking`` lets the copy queue behind the running step instead."""
    if device.type != "cuda":
        return {k: v.to(device) for k, v in batch.items()}
    return {k: (v if v.is_pinned() else v.pin_memory()).to(device, non_blocking=True) for k, v in batch.items()}


def _data_position(position: dict[str, Any]) -> dict[str, list[int]]:
    """The data part of a run's position (a copy): each task's epoch and next batch in it."""
    return {"epochs": list(position["epochs"]), "batch_in_epoch": list(position["batch_in_epoch"])}


def _switch(value: bool | None, variable: str, default: bool = True) -> bool:
    """A Trainer switch: the argument when given, else the environment variable ("0" off, "1" on), else ``default``."""
    if value is not None:
        return value
    setting = os.environ.get(variable, "").strip().lower()
    return default if not setting else setting not in ("0", "false", "no", "off")


@dataclass
class _PreparedStep:
    """One optimizer step's input: its task and this process's micro-batches as CPU tensors, and
    the data position once its batch is taken (it becomes the run's position when the step is trained)."""

    step: int
    task: int
    micro_batches: list[tuple[dict[str, torch.Tensor], int]]  # (batch, rows)
    rows: int
    data_position: dict[str, list[int]]


@dataclass
class _TaskFeatures:
    """A task of the stage with its features, ready to batch."""

    data: TaskData
    adapter: Any
    train: Any  # datasets.Dataset
    dev_rows: list[dict[str, Any]] | None
    lengths: np.ndarray
    columns: list[str]
    collator: Any
    token_ids: np.ndarray  # every token id the training features use (vocabulary trimming)
    packing: Any = None  # PackingSupport when training batches are packed, else None

    def rows(self, indices: np.ndarray) -> list[dict[str, Any]]:
        picked = self.train.select(indices.tolist()).select_columns(self.columns).to_dict()
        return [dict(zip(picked, values)) for values in zip(*picked.values())]


@dataclass
class _Run:
    """What one ``Trainer.run`` trains with, once set up (or resumed): the model and optimizer as
    ``accelerate`` prepared them, the stage's tasks and schedule, and the position (step, each
    task's place in its epochs, the evaluations so far), which checkpoints record."""

    accelerator: Any
    model: Any  # prepared by accelerate
    unwrapped: Any  # the MultiTaskModel itself
    tokenizer: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    tasks: list[_TaskFeatures]
    probabilities: list[float]  # of each task being a step's (multi-task stages)
    steps_per_epoch: int
    total_steps: int
    eval_every: int
    has_dev: bool
    position: dict[str, Any]
    vocabulary: dict[str, Any]  # what result.json records of vocabulary trimming
    packing: dict[str, Any]  # ... and of sequence packing
    writer: CheckpointWriter
    tokenizer_files: Path | None  # copied into saved models
    parent_encoder: Path | None  # the parent stage's encoder/, whose frozen shard saved models link


# ------------------------------------------------------------------ the trainer


class Trainer:
    """Trains one stage. ``progress`` receives (event, info) callbacks for the CLI's progress bars.

    ``prefetch`` (default: on unless ``XSTILTS_PREFETCH=0``) prepares the next step's batches in a
    background thread; ``background_checkpoints`` writes checkpoints in one (default: on when
    training on a GPU, off on the CPU, ``XSTILTS_BACKGROUND_CHECKPOINTS=0|1`` overrides: training on
    the CPU keeps every core busy, and on 2 shared cores a writer thread slowed the steps by more
    than it saved, benchmarks/README.md). Neither changes a result (the switches exist to test and
    measure that), so neither is part of TrainConfig or a node's id.
    """

    def __init__(self, stage: StageData, config: TrainConfig, run_dir: Path, *, progress: Progress | None = None,
                 prefetch: bool | None = None, background_checkpoints: bool | None = None):
        if not stage.tasks:
            raise ConfigError("a training stage needs at least one task")
        self.stage = stage
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or (lambda event, info: None)
        self.masking = MaskingSettings(config.mlm_probability, config.mlm_whole_word)
        self.prefetch = _switch(prefetch, "XSTILTS_PREFETCH")
        self.background_checkpoints = background_checkpoints  # None: by device, see run()

    def run(self, model_source: str | Path, identity: dict[str, Any] | None = None) -> TrainResult:
        """Train the stage from ``model_source`` (or resume it from its checkpoint); a finished run
        directory returns its result without training."""
        done = load_result(self.run_dir)
        self._check_identity(identity)
        if done is not None:
            return done
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_run_record(self.run_dir, identity or {})
        started = time.time()
        run = self._set_up(model_source)
        stopped_early = self._train(run)
        return self._finish(run, time.time() - started, stopped_early)

    # -------------------------------------------------------------- set-up and resume

    def _set_up(self, model_source: str | Path) -> _Run:
        """Everything the step loop needs, from the latest good checkpoint when there is one."""
        from transformers import get_linear_schedule_with_warmup  # transformers loads slowly: only to train

        config = self.config
        accelerator = self._start_accelerator()
        checkpoint = find_checkpoint(self.run_dir, warn=self._warn)
        source = ModelRef.of(checkpoint / MODEL_DIR if checkpoint is not None else model_source)
        model = load_model(source, dtype=torch.float32)
        tokenizer = load_tokenizer(source.encoder_source())
        self._add_heads(model, source, fresh_start=checkpoint is None)
        tasks = self._featurize(model, tokenizer)
        model.retrieval_use = self._retrieval_use(tasks)
        packing = self._choose_packing(model, tasks)
        self.pad_token_id = tokenizer.pad_token_id
        self._configure_parameters(model)
        self.trimming, vocabulary = self._trim_vocabulary(model, tasks, tokenizer)
        if self.compiled:  # after trimming: the compiled graph reads the trimmed embedding
            self.graphs_before = compiled_graphs()  # a worker process compiles for many nodes
            compile_encoder(model.encoder)
        self.checkpoint_seconds = 0.0

        optimizer = _optimizer(model, config)
        steps_per_epoch = sum(max(1, math.ceil(len(t.lengths) / config.batch_size)) for t in tasks)
        total_steps = config.max_steps or max(1, math.floor(steps_per_epoch * config.epochs))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
        probabilities = self.stage.probabilities([len(t.lengths) for t in tasks])
        position = self._resume(checkpoint, optimizer, scheduler, len(tasks))

        model, optimizer = accelerator.prepare(model, optimizer)
        tokenizer_dir = Path(source.encoder_source())
        writer = CheckpointWriter(background=_switch(self.background_checkpoints, "XSTILTS_BACKGROUND_CHECKPOINTS",
                                                     default=accelerator.device.type == "cuda"))
        return _Run(
            accelerator=accelerator, model=model, unwrapped=accelerator.unwrap_model(model), tokenizer=tokenizer,
            optimizer=optimizer, scheduler=scheduler, tasks=tasks, probabilities=probabilities,
            steps_per_epoch=steps_per_epoch, total_steps=total_steps, eval_every=config.eval_every or steps_per_epoch,
            has_dev=any(t.dev_rows for t in tasks), position=position, vocabulary=vocabulary, packing=packing,
            writer=writer, tokenizer_files=tokenizer_dir if tokenizer_dir.is_dir() else None,
            # Frozen embeddings stay equal to the parent stage's: its shard is linked, not rewritten.
            parent_encoder=source.saved / ENCODER_DIR if source.saved is not None else None,
        )

    def _start_accelerator(self):
        """The accelerator for the stage's precision, the numerics result.json records, the seeds."""
        config = self.config
        precision = resolve_mixed_precision(config.mixed_precision)
        accelerator = make_accelerator(precision)
        self.compiled = resolve_compile(config.compile, accelerator.device.type)
        self.numerics = {**numerics_record(accelerator, precision, config.group_by_length), "compile": self.compiled}
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        return accelerator

    def _add_heads(self, model, source: ModelRef, fresh_start: bool) -> None:
        """A head per task: a target stage starts from a fresh one (unless ``carry_head``); a new head
        is initialised by its kind (seeded), unless the run resumes (the checkpoint holds it)."""
        for task_data in self.stage.tasks:
            if self.stage.target and not self.config.carry_head and fresh_start:
                model.remove_head(task_data.head_name)  # a fresh head (seeded above)
            fresh = task_data.head_name not in model.head_specs
            model.add_head(task_data.head_name, task_data.task.kind, task_data.labels)
            if fresh and fresh_start:
                note = model.adapter(task_data.head_name).initialize_head(model.heads[task_data.head_name],
                                                                           source.checkpoint_folder())
                if note:
                    self.progress("note", {"message": note})

    def _resume(self, checkpoint: Path | None, optimizer, scheduler, tasks: int) -> dict[str, Any]:
        """The run's position: the checkpoint's (its optimizer, scheduler, trimmed rows and RNG states
        restored), else the start."""
        if checkpoint is None:
            return {"step": 0, "epochs": [0] * tasks, "batch_in_epoch": [0] * tasks,
                    "best": None, "history": [], "bad_evals": 0}
        state = load_training_state(checkpoint)
        optimizer.load_state_dict(state["optimizer"])
        if self.trimming is not None:
            self.trimming.load_state(state["vocabulary"])
        scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"])
        position = state["progress"]
        self.progress("resume", {"step": position["step"]})
        return position

    # -------------------------------------------------------------- the step loop

    def _train(self, run: _Run) -> bool:
        """Train up to the last step (or an early stop, returned): each step's batches made one step
        ahead, evaluations and resumable checkpoints when due."""
        position = run.position
        batch_cache: dict[int, tuple[int, list[np.ndarray]]] = {}

        def prepare(step: int, data_position: dict[str, list[int]]) -> _PreparedStep:
            return self._prepare_step(step, data_position, run.tasks, run.probabilities, batch_cache, run.accelerator)

        # One step ahead at most: step N+1's batches are made while step N trains (torch releases
        # the GIL). Each is a function of (seed, step, process, micro-batch) alone, as without it.
        prefetcher = ThreadPoolExecutor(1, thread_name_prefix="xstilts-prefetch") if self.prefetch else None
        upcoming: Future | None = None
        stopped_early = False

        self.progress("start", {"total_steps": run.total_steps, "done_steps": position["step"],
                                "features": sum(len(t.lengths) for t in run.tasks),
                                "steps_per_epoch": run.steps_per_epoch})
        try:
            while position["step"] < run.total_steps and not stopped_early:
                if upcoming is not None:
                    prepared, upcoming = upcoming.result(), None  # re-raises an error of the prefetch thread
                else:
                    prepared = prepare(position["step"], _data_position(position))
                if prefetcher is not None and prepared.step + 1 < run.total_steps:
                    upcoming = prefetcher.submit(prepare, prepared.step + 1, prepared.data_position)
                self._train_step(run, prepared)
                evaluated, stopped_early = self._evaluate_if_due(run, upcoming)
                finishing = position["step"] >= run.total_steps or stopped_early  # result.json follows at once
                if not finishing and (evaluated or position["step"] % self.config.checkpoint_every == 0):
                    self._write_checkpoint(run)
                run.accelerator.wait_for_everyone()
            self._wait_for_checkpoint(run)  # before result.json and the checkpoints' removal
        except BaseException as error:
            # The checkpoint in flight is finished (what a rerun resumes from); its own failure
            # must not hide the error that stopped the run, nor be lost.
            try:
                run.writer.wait()
            except BaseException as write_error:  # noqa: BLE001
                note = f"the checkpoint written in the background failed too: {write_error!r}"
                print_warning(note)  # not self._warn: the progress callback may be what failed
                error.add_note(note)
            raise
        finally:
            if prefetcher is not None:
                prefetcher.shutdown(wait=True, cancel_futures=True)  # no thread outlives the run
        return stopped_early

    def _train_step(self, run: _Run, prepared: _PreparedStep) -> None:
        """One optimizer step; the run's position becomes that of the steps trained."""
        task = run.tasks[prepared.task]
        loss = self._optimizer_step(run.model, run.optimizer, run.scheduler, run.accelerator, task, prepared)
        position = run.position
        # The position of the steps trained, never the prefetched one's: checkpoints record it.
        position.update(_data_position(prepared.data_position))
        position["step"] += 1
        step = position["step"]
        on_cpu = run.accelerator.device.type == "cpu"
        loss = float(loss) if on_cpu or step % GPU_LOSS_EVERY == 0 or step == run.total_steps else None
        self.progress("step", {"step": step, "loss": loss, "task": task.data.task.name})

    # -------------------------------------------------------------- checkpoints and saved models

    def _wait_for_checkpoint(self, run: _Run) -> None:
        waiting = time.perf_counter()
        try:
            run.writer.wait()
        finally:
            self.checkpoint_seconds += time.perf_counter() - waiting

    def _write_checkpoint(self, run: _Run) -> None:
        """Checkpoint the state of this very step (main process); written while the next steps train."""
        if not run.accelerator.is_main_process:
            return
        self._wait_for_checkpoint(run)  # the previous write, before capturing anything
        capturing = time.perf_counter()
        try:
            run.writer.submit(self.run_dir, self._checkpoint_model(run), training_state(
                run.optimizer, run.scheduler, run.position,
                {"vocabulary": self.trimming.state()} if self.trimming else None, copy=run.writer.background))
        finally:
            self.checkpoint_seconds += time.perf_counter() - capturing

    def _save(self, run: _Run, directory: Path) -> None:
        """Save the model as it is now (best/, model/)."""
        # best/ may be what the checkpoint in flight links from: replace it only once written.
        self._wait_for_checkpoint(run)
        with self.trimming.original_embeddings(decayed=True) if self.trimming else nullcontext():
            run.unwrapped.save(directory, run.tokenizer, tokenizer_files=run.tokenizer_files,
                               embeddings_from=run.parent_encoder)

    def _checkpoint_model(self, run: _Run) -> Callable[[Path], None]:
        """What writes the checkpoint's model folder, holding the weights of now. In the
        background the weights are CPU copies (host memory for one more set of the trainable
        weights until written); frozen ones (trimming's original rows) are shared, not copied."""
        copy = run.writer.background
        trimming, tokenizer, tokenizer_files = self.trimming, run.tokenizer, run.tokenizer_files
        if trimming is not None:
            # The checkpoint keeps the untouched original embeddings (linked from the parent
            # stage or the previous checkpoint: never a second copy) and the trained rows sit in
            # the training state: resuming is bit-exact.
            with trimming.original_embeddings(decayed=False):
                snapshot = run.unwrapped.snapshot(copy=copy)

            def write_trimmed(directory: Path) -> None:
                # Looked up when written: the previous checkpoint is complete by then (one write at a time).
                previous = self.run_dir / "checkpoint" / MODEL_DIR / ENCODER_DIR
                linked_from = run.parent_encoder or (previous if previous.is_dir() else None)
                snapshot.save(directory, tokenizer, tokenizer_files=tokenizer_files, embeddings_from=linked_from)
            return write_trimmed
        # Right after an improving evaluation, best/ holds these very weights: link, don't rewrite
        # (best/ is replaced only after the write is done, see _save()).
        best = run.position["best"]
        if best is not None and best["step"] == run.position["step"] and (self.run_dir / BEST_DIR).is_dir():
            return lambda directory: link_tree(self.run_dir / BEST_DIR, directory)
        snapshot = run.unwrapped.snapshot(copy=copy)
        return lambda directory: snapshot.save(directory, tokenizer, tokenizer_files=tokenizer_files,
                                               embeddings_from=run.parent_encoder)

    # -------------------------------------------------------------- preparation

    def _check_identity(self, identity: dict[str, Any] | None) -> None:
        path = self.run_dir / RUN_RECORD
        if identity is None or not path.is_file():
            return
        try:
            existing = json.loads(path.read_text())
        except ValueError:
            existing = None  # a torn or edited run.json: nothing trustworthy to protect
        # Only a run that made progress is protected: a start that failed (a wrong --model, a
        # missing file) leaves nothing worth keeping, so retrying with fixed settings is fine.
        made_progress = (self.run_dir / RESULT_FILE).is_file() or any(
            (self.run_dir / name).exists() for name in ("checkpoint", "checkpoint.old", BEST_DIR, MODEL_DIR))
        if existing and made_progress and existing != json.loads(json.dumps(identity, default=str)):
            raise ConfigError(f"{path}: this run directory holds a different run (other settings); use another --out")

    def _warn(self, message: str) -> None:
        self.progress("warning", {"message": message})
        print_warning(message)

    def _featurize(self, model, tokenizer) -> list[_TaskFeatures]:
        settings = self._feature_settings()
        prepared = []
        for task_data in self.stage.tasks:
            adapter = adapter_for_task(task_data.task)
            self.progress("featurize", {"task": task_data.task.name, "examples": len(task_data.train)})
            train = cached_features(adapter, task_data.train, tokenizer, task_data.labels, settings)
            dev_rows = (cached_features(adapter, task_data.dev, tokenizer, task_data.labels, settings).to_list()
                        if task_data.dev else None)
            if dev_rows:
                dev_rows = adapter.prepare_eval_rows(dev_rows, tokenizer, self.masking)
            input_ids = train["input_ids"]
            lengths = np.array([row_length({"input_ids": ids}) for ids in input_ids])
            columns = [c for c in adapter.model_columns if c in train.column_names]
            prepared.append(_TaskFeatures(task_data, adapter, train, dev_rows, lengths, columns,
                                          adapter.collator(tokenizer, self.masking),
                                          touched_ids(input_ids).numpy()))
        return prepared

    def _feature_settings(self) -> FeatureSettings:
        config = self.config
        query = {"max_query_length": config.max_query_length} if config.max_query_length else {}  # else QA's 64
        return FeatureSettings(max_length=config.max_length, doc_stride=config.doc_stride,
                               doc_stride_mode=config.doc_stride_mode, **query)

    def _retrieval_use(self, tasks: list[_TaskFeatures]) -> dict[str, Any] | None:
        """The sentence-vector use the stage's tasks train into the encoder (a dual encoder's
        pooling), which every model it saves records; None keeps the parent model's record."""
        settings = self._feature_settings()
        uses = {t.data.task.name: use for t in tasks if (use := t.adapter.retrieval_use(settings)) is not None}
        if len({json.dumps(use, sort_keys=True) for use in uses.values()}) > 1:
            raise ConfigError(f"stage tasks {', '.join(uses)} train different sentence-vector uses "
                              f"({'; '.join(f'{name}: {use}' for name, use in uses.items())}); train them apart")
        return next(iter(uses.values()), None)

    def _configure_parameters(self, model) -> None:
        if self.config.freeze_embeddings:
            # Most of a small multilingual encoder's weights are word embeddings (96M of 118M in e5-small).
            model.encoder.get_input_embeddings().weight.requires_grad_(False)
        if self.config.dropout is not None:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = self.config.dropout

    def _choose_packing(self, model, tasks: list[_TaskFeatures]) -> dict[str, Any]:
        """Turn packing on for the tasks that allow it; what result.json records about it."""
        if not self.config.pack_sequences:
            return {"packed": [], "reason": "switched off"}
        support = packing_support(model.encoder)
        if not support.packable:
            return {"packed": [], "reason": support.reason}
        if self.compiled:
            support = replace(support, static_rows=True)
        for task in tasks:
            if task.adapter.packable:
                task.packing = support
        unpacked = sorted({t.data.task.name for t in tasks if t.packing is None})
        return {"packed": sorted({t.data.task.name for t in tasks if t.packing is not None}),
                **({"reason": f"{', '.join(unpacked)}: its head reads padding positions"} if unpacked else {})}

    def _trim_vocabulary(self, model, tasks: list[_TaskFeatures], tokenizer):
        """(the trimming, or None; what result.json records about it)."""
        reason = why_not_trim(model, [t.data.task.kind for t in tasks]) if self.config.trim_vocabulary else "switched off"
        if reason is not None:
            return None, {"trimmed": False, "reason": reason}
        ids = np.unique(np.concatenate([t.token_ids for t in tasks] + [np.array([tokenizer.pad_token_id])]))
        trimming = trim_vocabulary(model, torch.from_numpy(ids))
        return trimming, {"trimmed": True, "rows": trimming.rows, "vocabulary": trimming.module.num_embeddings}

    # -------------------------------------------------------------- stepping

    def _pick_task(self, step: int, probabilities: list[float]) -> int:
        if len(probabilities) == 1:
            return 0
        return int(np.random.default_rng([self.config.seed, step]).choice(len(probabilities), p=probabilities))

    def _next_batch(self, task: _TaskFeatures, index: int, position: dict[str, Any],
                    cache: dict[int, tuple[int, list[np.ndarray]]]) -> np.ndarray:
        """The task's next global batch; a task that runs out starts its next epoch."""
        epoch = position["epochs"][index]
        if index not in cache or cache[index][0] != epoch:
            cache[index] = (epoch, epoch_batches(task.lengths, self.config.batch_size, self.config.seed + index,
                                                 epoch, self.config.group_by_length))
        batches = cache[index][1]
        batch = batches[position["batch_in_epoch"][index]]
        position["batch_in_epoch"][index] += 1
        if position["batch_in_epoch"][index] >= len(batches):
            position["epochs"][index] += 1
            position["batch_in_epoch"][index] = 0
        return batch

    def _prepare_step(self, step: int, data_position: dict[str, list[int]], tasks: list[_TaskFeatures],
                      probabilities: list[float], cache: dict[int, tuple[int, list[np.ndarray]]],
                      accelerator) -> _PreparedStep:
        """Step ``step``'s task and micro-batches (CPU tensors, pinned for a GPU), from the data
        position after the previous step (not changed: the result carries the next one). Runs in the
        prefetch thread: nothing here may use a global RNG (MLM masks have their own generator)."""
        index = self._pick_task(step, probabilities)
        task = tasks[index]
        data_position = {key: list(values) for key, values in data_position.items()}
        global_batch = self._next_batch(task, index, data_position, cache)
        rows = global_batch[accelerator.process_index::accelerator.num_processes]
        pin = accelerator.device.type == "cuda"
        micro_batches = []
        for i, micro in enumerate(m for m in np.array_split(rows, self.config.grad_accumulation) if len(m)):
            # Per-batch randomness (MLM masks) is a function of (seed, step, process, micro-batch).
            seed = (self.config.seed, step, accelerator.process_index, i)
            batch = task.collator(task.rows(micro), seed=seed)
            if task.packing is not None:
                batch = pack_batch(batch, task.packing.position_offset, self.pad_token_id,
                                   static_rows=task.packing.static_rows)
            if pin:
                batch = {k: v.pin_memory() for k, v in batch.items()}
            micro_batches.append((batch, len(micro)))
        return _PreparedStep(step, index, micro_batches, len(rows), data_position)

    def _optimizer_step(self, model, optimizer, scheduler, accelerator, task: _TaskFeatures,
                        prepared: _PreparedStep) -> torch.Tensor:
        model.train()
        device = accelerator.device
        total_loss = torch.zeros((), device=device)
        for i, (batch, rows) in enumerate(prepared.micro_batches):
            batch = _to_device(batch, device)
            last = i == len(prepared.micro_batches) - 1
            sync = accelerator.no_sync(model) if not last and accelerator.num_processes > 1 else nullcontext()
            with sync, accelerator.autocast():
                loss, _ = model(task.data.head_name, batch)
                # Each micro-batch's mean loss weighted by its share of this process's rows.
                loss = loss * (rows / prepared.rows)
                accelerator.backward(loss)
            total_loss += loss.detach().float()
        accelerator.clip_grad_norm_(model.parameters(), self.config.max_grad_norm)
        optimizer.step()
        if self.trimming is not None:
            self.trimming.after_optimizer_step(optimizer)
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return total_loss

    # -------------------------------------------------------------- evaluation and selection

    def _evaluate_if_due(self, run: _Run, upcoming: Future | None) -> tuple[bool, bool]:
        """(evaluated, stop early): the dev sets are evaluated every ``eval_every`` steps and at the
        last step, when the stage has one; the main process records and selects."""
        step = run.position["step"]
        if not (run.has_dev and (step % run.eval_every == 0 or step == run.total_steps)):
            return False, False
        if upcoming is not None:
            wait_for([upcoming])  # evaluation uses the same collators: not at the same time
        accelerator = run.accelerator
        scores = self._evaluate(run.unwrapped, run.tasks, accelerator.device) if accelerator.is_main_process else None
        return True, self._record_eval(run, scores)

    def _evaluate(self, model, tasks: list[_TaskFeatures], device) -> dict[str, float]:
        """Primary dev metric per (task, dev language), keyed "task:lang" (English dev by default);
        the stage score is their mean. A mixed "xnli en + xnli de" stage with both dev sets keeps both."""
        scores = {}
        for task in tasks:
            if not task.dev_rows:
                continue
            data = task.data
            logits = predict_logits(model, data.head_name, task.dev_rows, task.collator,
                                    batch_size=max(16, self.config.per_device_batch_size * 2), device=device,
                                    per_token=task.adapter.per_token_logits)
            predictions = task.adapter.decode(logits, task.dev_rows, data.dev, data.labels)
            lang = data.dev_selection.lang if data.dev_selection else "en"
            metrics = task.adapter.scorer.score_predictions(data.task, lang, data.dev, predictions)
            scores[f"{data.task.name}:{lang}"] = float(metrics[data.task.primary_metric])
        return scores

    @staticmethod
    def _stage_score(scores: dict[str, float]) -> tuple[float, bool]:
        """(score, higher is better) of one evaluation: the mean of the tasks' higher-is-better
        primary metrics; a stage made only of lower-is-better ones (MLM alone) uses their mean.
        So a stage mixing NLI with MLM selects on NLI accuracy; MLM perplexity is in the history."""
        # Keys are "task:language" (the dev set's language).
        higher = [value for key, value in scores.items() if higher_is_better(get_task(key.split(":")[0]).primary_metric)]
        if higher:
            return sum(higher) / len(higher), True
        return sum(scores.values()) / len(scores), False

    def _record_eval(self, run: _Run, scores: dict[str, float] | None) -> bool:
        """Record an evaluation in the run's history, save best/ when it improved; whether to stop early."""
        if not run.accelerator.is_main_process or scores is None:
            return False
        position = run.position
        score, higher = self._stage_score(scores)
        entry = {"step": position["step"], "score": score, "per_task": scores}
        position["history"].append(entry)
        self.progress("eval", entry)
        best = position["best"]
        if best is None or (score > best["score"] if higher else score < best["score"]):
            position["best"] = entry
            position["bad_evals"] = 0
            if self.config.select_best:
                self._save(run, self.run_dir / BEST_DIR)
        else:
            position["bad_evals"] += 1
        patience = self.config.early_stopping_patience
        return patience is not None and position["bad_evals"] >= patience

    def _finish(self, run: _Run, seconds: float, stopped_early: bool) -> TrainResult:
        """model/ (the selected model), then result.json: the run is finished; checkpoints go."""
        accelerator, position, tasks = run.accelerator, run.position, run.tasks
        final = self.run_dir / MODEL_DIR
        selected = "best" if self.config.select_best and position["best"] is not None else "last"
        if accelerator.is_main_process:
            best_dir = self.run_dir / BEST_DIR
            if selected == "best":
                # A kill after this move and before result.json finds best/ gone and model/ in place.
                if best_dir.is_dir():
                    replace_directory(best_dir, final)
            else:
                self._save(run, final)
        metrics = sorted({t.data.task.primary_metric for t in tasks if t.dev_rows})
        if self.compiled:
            self.numerics["compiled_graphs"] = compiled_graphs() - self.graphs_before
        result = TrainResult(
            run_dir=str(self.run_dir), model_dir=str(final), steps=position["step"],
            epochs=round(position["step"] / run.steps_per_epoch, 4), selected=selected,
            best_dev=position["best"]["score"] if position["best"] else None,
            dev_metric="/".join(metrics) or None, history=position["history"],
            train_examples=sum(len(t.data.train) for t in tasks), train_features=sum(len(t.lengths) for t in tasks),
            wall_seconds=round(seconds, 2), stopped_early=stopped_early, numerics=self.numerics,
            vocabulary=run.vocabulary, checkpoint_seconds=round(self.checkpoint_seconds, 2), packing=run.packing,
        )
        if accelerator.is_main_process:
            write_json_atomic(self.run_dir / RESULT_FILE, result.to_json())
            remove_checkpoints(self.run_dir)
        accelerator.wait_for_everyone()
        self.progress("done", result.to_json())
        return result
