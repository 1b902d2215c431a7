"""Running ONE node of a study plan: a stage training or a zero-shot evaluation.

These functions are what every executor ships to its workers (a local process, a Ray task).
They take only picklable arguments, derive every path from the study directory, and are
idempotent: a finished training returns at once (its ``result.json`` exists), an interrupted one
resumes from its checkpoint, and an evaluation's rows replace any earlier rows of that evaluation.

Study directory layout::

    STUDY_DIR/results.sqlite      the results store
    STUDY_DIR/nodes/<id>/         a training run (model/, result.json, checkpoint/ while running)
    STUDY_DIR/evals/<id>/         an evaluation (predictions/, metrics.json, examples.json: language ->
                                  per-example outputs' hash)
    STUDY_DIR/examples/<sha>.parquet  per-example outputs of an evaluated language (content-addressed)
"""

from __future__ import annotations

import fcntl
import shutil
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from xstilts.errors import ConfigError
from xstilts.evaluation.zero_shot import evaluate
from xstilts.execution.result_rows import build_result_rows, write_examples
from xstilts.files import write_json_atomic
from xstilts.modeling.run_folders import MODEL_DIR, run_finished
from xstilts.modeling.run_folders import model_ready as run_model_ready
from xstilts.results.node_rows import record_from_file, write_eval_rows
from xstilts.results.store import ResultStore, now_stamp
from xstilts.study.plan import EvalNode, TrainNode
from xstilts.tasks.registry import declare, get_task
from xstilts.tasks.types import TaskSpec
from xstilts.training.stage import train_stage


@dataclass(frozen=True)
class StudyContext:
    """What a worker needs besides the node: where things are and what the base model is."""

    study_dir: str
    data_dir: str | None
    base_model: str
    torch_threads: int | None = None
    threads_from: str = ""  # where torch_threads came from (recorded with each training)
    plan_hash: str = ""  # stamped on the rows this run records
    # The tasks the study file declares ([tasks.NAME]): a worker process knows only the catalog's
    # and entry points' tasks, so it registers these before running a node (``use_study_tasks``).
    tasks: tuple[TaskSpec, ...] = ()

    def use_study_tasks(self) -> None:
        for spec in self.tasks:
            declare(spec, f"[tasks.{spec.name}] of the study in {self.study_dir}")

    def node_dir(self, node_id: str) -> Path:
        return Path(self.study_dir) / "nodes" / node_id

    def eval_dir(self, eval_id: str) -> Path:
        return Path(self.study_dir) / "evals" / eval_id

    def model_of(self, node_id: str | None) -> str:
        """The model a node starts from / an evaluation reads: a parent's model or the base model."""
        if node_id is None:
            return self.base_model
        return str(self.node_dir(node_id) / MODEL_DIR)


def _limit_threads(context: StudyContext) -> None:
    if context.torch_threads:
        from xstilts.threads import ThreadChoice, apply_threads

        apply_threads(ThreadChoice(context.torch_threads, context.threads_from))


def model_ready(context: StudyContext, node_id: str) -> bool:
    return run_model_ready(context.node_dir(node_id))


LOCK_WAIT = 60.0  # seconds


@contextmanager
def exclusive(directory: Path, wait: float = LOCK_WAIT):
    """Hold an exclusive lock on ``directory`` (two processes never write one node at once).

    The node's claim (``execution.claims``) already decides which process runs it; this lock
    only covers the moment after a claim is taken over from a study process that died, while
    its worker is still exiting (it notices within half a second): so it waits, then gives up.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(f"{directory}: another process is working on this node right now "
                                      f"(its lock was held for {wait:.0f}s)") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_train_node(context: StudyContext, node: TrainNode) -> dict[str, Any]:
    """Train (or resume, or skip) one stage; returns its result as a dict."""
    context.use_study_tasks()
    run_dir = context.node_dir(node.id)
    with exclusive(run_dir):
        return _train(context, node, run_dir)


def _train(context: StudyContext, node: TrainNode, run_dir: Path) -> dict[str, Any]:
    _limit_threads(context)
    if run_finished(run_dir) and not (run_dir / MODEL_DIR).is_dir():
        # Pruned earlier (--keep leaves) but needed again by a node added since: train it anew.
        shutil.rmtree(run_dir)
    data_dir = Path(context.data_dir) if context.data_dir else None
    resumed: dict[str, int] = {}

    def note_resume(event: str, info: dict[str, Any]) -> None:
        if event == "resume":
            resumed["step"] = info["step"]

    result = train_stage([(task.train, task.dev) for task in node.tasks], node.config, run_dir,
                         context.model_of(node.parent), node.identity, data_dir=data_dir, target=node.is_target,
                         sampling=node.sampling, temperature=node.temperature,
                         progress=lambda: nullcontext(note_resume))
    return {**result.to_json(), "resumed_from": resumed.get("step")}


def record_ids(node: EvalNode) -> list[str]:
    """Store keys of an evaluation: one per seed it stands for (an untrained base model's single
    evaluation is recorded under every seed, so that every seed has a complete set of orders)."""
    return [f"{node.id}:{seed}" for seed in node.seeds]


def eval_done(done_records: set[str], node: EvalNode) -> bool:
    return all(key in done_records for key in record_ids(node))


def run_eval_node(context: StudyContext, node: EvalNode) -> int:
    """Evaluate one model zero-shot and record its rows in the store; returns the row count."""
    context.use_study_tasks()
    with exclusive(context.eval_dir(node.id)):
        return _evaluate(context, node)


def _evaluate(context: StudyContext, node: EvalNode) -> int:
    _limit_threads(context)
    task = get_task(node.task)
    # EvalNode.settings: max_length for a task with a head, the retrieval settings otherwise.
    retrieval = None if task.facts.trains else node.settings
    max_length = node.settings.get("max_length") if task.facts.trains else None
    summary = evaluate(context.model_of(node.model_node), node.task, Path(context.data_dir) if context.data_dir else None,
                       context.eval_dir(node.id), langs=list(node.langs), split=node.split, eval_slice=node.eval_slice,
                       max_length=max_length, retrieval=retrieval, eval_precision=node.eval_precision,
                       compile=node.compile)
    refs = {lang: write_examples(context.study_dir, units)
            for lang, units in summary.get("per_example", {}).items() if units is not None}
    # Beside metrics.json, so that rows rebuilt from the eval folder find their per-example outputs.
    write_json_atomic(context.eval_dir(node.id) / "examples.json", refs)
    rows = build_result_rows(node, summary, study_dir=context.study_dir, base_model=context.base_model,
                             plan_hash=context.plan_hash, examples_refs=refs)
    records = {record_id: rows[seed] for seed, record_id in zip(node.seeds, record_ids(node))}
    # The folder's copy first: if the store is lost or this process dies before the store write,
    # the next run (or `xstilts results rebuild`) records these very rows from the folder.
    payload = write_eval_rows(context.eval_dir(node.id), records, created_at=now_stamp())
    return record_from_file(ResultStore.for_study(context.study_dir), payload)
