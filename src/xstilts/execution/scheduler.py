"""Executing a study plan: nodes run as soon as what they read is finished, on any backend.

The scheduler is the same for every executor; a backend only knows how to start a node's
function somewhere (a local process, a Ray task) and report when it ends. Crash safety comes
from the nodes themselves (idempotent, resumable) and from the store: on a re-run, finished
trainings (``result.json``) and recorded evaluations are skipped, and interrupted trainings
resume from their checkpoints. A node that fails (its own exception, or the death of the worker
running it, which the backend reports as a WorkerDiedError) is recorded with its one-line error;
only the nodes that read it are left blocked, and the run ends with its summary.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from xstilts.execution.nodes import StudyContext, eval_done, model_ready, record_ids, run_eval_node, run_train_node
from xstilts.modeling.run_folders import MODEL_DIR, run_finished
from xstilts.results.node_rows import restore_missing_rows
from xstilts.results.store import ResultStore
from xstilts.study.plan import EvalNode, Plan, TrainNode

Keep = Literal["best", "leaves"]
Progress = Callable[[str, dict[str, Any]], None]


class Backend(Protocol):
    """Starts node functions somewhere and reports them when they end."""

    def submit(self, function: Callable[..., Any], *args: Any, gpus: float = 0) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        """The handles (a subset of ``handles``) that have finished."""

    def result(self, handle: Any) -> Any:
        """The function's return value; raises its exception."""

    def shutdown(self) -> None: ...


@dataclass
class RunSummary:
    trained: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # node id -> one-line error
    failed_labels: dict[str, str] = field(default_factory=dict)  # node id -> "train nli_en", "eval baseline -> panx"
    blocked: list[str] = field(default_factory=list)  # not run because something they need failed
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked


def _error_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    kind = getattr(error, "type_name", None) or type(error).__name__  # a WorkerError names what it stands for
    return f"{kind}: {text[0] if text else ''}"


class Scheduler:
    def __init__(self, plan: Plan, context: StudyContext, backend: Backend, *, workers: int = 1,
                 keep: Keep = "best", gpus_per_node: float = 0, progress: Progress | None = None):
        self.plan = plan
        self.context = context
        self.backend = backend
        self.workers = max(1, workers)
        self.keep = keep
        self.gpus_per_node = gpus_per_node
        self.progress = progress or (lambda event, info: None)
        self.store = ResultStore.for_study(context.study_dir)
        self._started_at: dict[str, float] = {}

    # -------------------------------------------------------------- state

    def _initial_state(self) -> tuple[set[str], set[str]]:
        done_records = self.store.done_evals()
        # The store is an index: evaluations that finished but whose rows it lacks (deleted
        # store, a kill between the folder's rows.json and the store write) are recorded again.
        folders = {str(self.context.eval_dir(e.id)): record_ids(e) for e in self.plan.eval_nodes
                   if not eval_done(done_records, e) and self.context.eval_dir(e.id).is_dir()}
        if restore_missing_rows(self.store, folders, done_records):
            done_records = self.store.done_evals()
        evals_done = {e.id for e in self.plan.eval_nodes if eval_done(done_records, e)}
        finished = {node.id for node in self.plan.train_nodes
                    if run_finished(self.context.node_dir(node.id))}
        # A finished node whose model was pruned (--keep leaves) counts as trained unless something
        # still to run reads its model: then it is trained again.
        trained = {node_id for node_id in finished
                   if model_ready(self.context, node_id) or not self._pending_dependents(node_id, finished, evals_done)}
        return trained, evals_done

    def _pending_dependents(self, node_id: str, trained: set[str], evals_done: set[str]) -> bool:
        return bool(self.plan.needed_by(node_id, done=trained | evals_done))

    # -------------------------------------------------------------- the loop

    def run(self) -> RunSummary:
        started = time.time()
        summary = RunSummary()
        trained, evals_done = self._initial_state()
        summary.skipped = len(trained) + len(evals_done)
        failed: set[str] = set()
        running: dict[Any, TrainNode | EvalNode] = {}
        total = len(self.plan.train_nodes) + len(self.plan.eval_nodes)
        self.progress("start", {"total": total, "done": summary.skipped})
        interrupted = False
        try:
            while True:
                for node in self._ready(trained, evals_done, failed, set(n.id for n in running.values())):
                    if len(running) >= self.workers:
                        break
                    running[self._start(node)] = node
                if not running:
                    break
                for handle in self.backend.wait(list(running), timeout=1.0):
                    node = running.pop(handle)
                    self._finished(node, handle, trained, evals_done, failed, summary)
                    self.progress("progress", {"total": total, "done": len(trained) + len(evals_done),
                                               "running": len(running), "failed": len(failed)})
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if interrupted:  # Ctrl-C: stop now, do not wait for running nodes
                getattr(self.backend, "abort", self.backend.shutdown)()
            else:
                self.backend.shutdown()
        summary.blocked = [n.id for n in self.plan.train_nodes if n.id not in trained and n.id not in failed] + \
                          [e.id for e in self.plan.eval_nodes if e.id not in evals_done and e.id not in failed]
        summary.wall_seconds = round(time.time() - started, 2)
        return summary

    def _ready(self, trained: set[str], evals_done: set[str], failed: set[str], running: set[str]):
        """Nodes whose inputs are finished. Evaluations first: results arrive early, and with
        --keep leaves an intermediate model can be dropped as soon as its readers are done."""
        for node in self.plan.eval_nodes:
            if node.id in evals_done or node.id in failed or node.id in running:
                continue
            if node.model_node is None or (node.model_node in trained and model_ready(self.context, node.model_node)):
                yield node
        for node in self.plan.train_nodes:
            if node.id in trained or node.id in failed or node.id in running:
                continue
            if node.parent is None or (node.parent in trained and model_ready(self.context, node.parent)):
                yield node

    def _start(self, node: TrainNode | EvalNode) -> Any:
        node_type = "train" if isinstance(node, TrainNode) else "eval"
        label = node.label if isinstance(node, TrainNode) else f"{node.order} -> {node.target}"
        for key in ([node.id] if node_type == "train" else record_ids(node)):
            self.store.mark_node(key, node_type, "running", label=label)
        self._started_at[node.id] = time.time()
        self.progress("node_start", {"id": node.id, "node_type": node_type, "label": label})
        function = run_train_node if node_type == "train" else run_eval_node
        return self.backend.submit(function, self.context, node, gpus=self.gpus_per_node)

    def _finished(self, node, handle, trained, evals_done, failed, summary: RunSummary) -> None:
        node_type = "train" if isinstance(node, TrainNode) else "eval"
        keys = [node.id] if node_type == "train" else record_ids(node)
        label = node.label if node_type == "train" else f"{node.order} -> {node.target}"
        seconds = time.time() - self._started_at.pop(node.id, time.time())
        try:
            value = self.backend.result(handle)
        except Exception as error:  # a node's failure must not stop the others
            failed.add(node.id)
            summary.failed[node.id] = _error_line(error)
            summary.failed_labels[node.id] = f"{node_type} {label}"
            for key in keys:
                self.store.mark_node(key, node_type, "failed", error=summary.failed[node.id])
            self.progress("node_failed", {"id": node.id, "node_type": node_type, "label": label, "seconds": seconds,
                                          "error": summary.failed[node.id]})
            return
        if node_type == "train":
            trained.add(node.id)
            summary.trained.append(node.id)
            self.store.mark_node(node.id, "train", "done")
        else:
            evals_done.add(node.id)
            summary.evaluated.append(node.id)
        resumed = value.get("resumed_from") if isinstance(value, dict) else None
        self.progress("node_done", {"id": node.id, "node_type": node_type, "label": label, "seconds": seconds,
                                    "resumed_from": resumed})
        self._prune(trained, evals_done)

    def _prune(self, trained: set[str], evals_done: set[str]) -> None:
        """--keep leaves: drop the models of trainings that nothing still to run reads."""
        if self.keep != "leaves":
            return
        for node in self.plan.train_nodes:
            if node.is_target or node.id not in trained:
                continue
            model_dir = self.context.node_dir(node.id) / MODEL_DIR
            if model_dir.is_dir() and not self._pending_dependents(node.id, trained, evals_done):
                shutil.rmtree(model_dir, ignore_errors=True)
