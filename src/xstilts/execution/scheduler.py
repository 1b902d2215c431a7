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

from xstilts.execution.claims import Claim, Claims
from xstilts.execution.elsewhere import Elsewhere
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
    # Cooperative runs (several processes of one study): nodes other processes finished while
    # this one ran (node id -> "host:pid"), and how long this one had nothing of its own to run.
    by_others: dict[str, str] = field(default_factory=dict)
    waited_seconds: float = 0.0
    lost_claims: list[str] = field(default_factory=list)  # taken over while this process stalled

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked

    def line(self) -> str:
        """The run's closing line: what it did, then what other processes did meanwhile."""
        text = (f"{len(self.trained)} trained, {len(self.evaluated)} evaluated, {self.skipped} already done, "
                f"{len(self.failed)} failed, {len(self.blocked)} blocked in {self.wall_seconds:.0f}s")
        if self.by_others:
            counts: dict[str, int] = {}
            for holder in self.by_others.values():
                counts[holder] = counts.get(holder, 0) + 1
            each = ", ".join(f"{holder} {count}" for holder, count in sorted(counts.items()))
            text += f"; {len(self.by_others)} done by other processes ({each})"
        if self.waited_seconds >= 1:
            text += f", waited {self.waited_seconds:.0f}s for them"
        if self.lost_claims:
            text += (f"; {len(self.lost_claims)} node claims were taken over while this process stalled "
                     f"(past the lease): those nodes may have run twice")
        return text


def _error_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    kind = getattr(error, "type_name", None) or type(error).__name__  # a WorkerError names what it stands for
    return f"{kind}: {text[0] if text else ''}"


class Scheduler:
    def __init__(self, plan: Plan, context: StudyContext, backend: Backend, *, workers: int = 1,
                 keep: Keep = "best", gpus_per_node: float = 0, progress: Progress | None = None,
                 lease: float | None = None):
        self.plan = plan
        self.context = context
        self.backend = backend
        self.workers = max(1, workers)
        self.keep = keep
        self.gpus_per_node = gpus_per_node
        self.progress = progress or (lambda event, info: None)
        self.store = ResultStore.for_study(context.study_dir)
        self._started_at: dict[str, float] = {}
        self._train_ids = {n.id for n in plan.train_nodes}
        self._evals = {e.id: e for e in plan.eval_nodes}
        self.lease = lease  # seconds a claim of another machine lives unrenewed (None: $XSTILTS_CLAIM_LEASE or 180)

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
        # Other `xstilts run` processes of this study may share its nodes: each node is claimed first.
        self.claims = Claims(self.context.study_dir, self.lease)
        self.claims.start()
        elsewhere = Elsewhere()
        state = (trained, evals_done, failed, summary, elsewhere)
        looked = time.monotonic()
        interrupted = False
        try:
            while True:
                for node in self._ready(trained, evals_done, failed, set(n.id for n in running.values())):
                    if len(running) >= self.workers:
                        break
                    if elsewhere.due(node.id):
                        handle = self._claim(node, *state)
                        if handle is not None:
                            running[handle] = node
                if not running and not elsewhere.held:
                    break
                if not running:
                    self.progress("waiting", {"nodes": elsewhere.waiting_for()})
                for handle in self.backend.wait(list(running), timeout=1.0) if running else elsewhere.pause():
                    node = running.pop(handle)
                    self._finished(node, handle, trained, evals_done, failed, summary)
                    self.progress("progress", {"total": total, "done": len(trained) + len(evals_done),
                                               "running": len(running), "failed": len(failed)})
                if not running or time.monotonic() - looked >= 2:
                    looked = time.monotonic()
                    if self._catch_up({n.id for n in running.values()}, *state):
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
            self.claims.close()  # after the workers stopped: what is still claimed is free for others
        summary.blocked = [n.id for n in self.plan.train_nodes if n.id not in trained and n.id not in failed] + \
                          [e.id for e in self.plan.eval_nodes if e.id not in evals_done and e.id not in failed]
        summary.waited_seconds = round(elsewhere.waited, 1)
        summary.lost_claims = sorted(self.claims.lost)
        summary.wall_seconds = round(time.time() - started, 2)
        return summary

    # -------------------------------------------------------------- sharing the study

    def _claim(self, node, trained, evals_done, failed, summary: RunSummary, elsewhere: Elsewhere) -> Any:
        """Start the node if this process can claim it; None when another process has it, had it
        (finished: read as done), or failed it while this run was going."""
        blocker = self.claims.claim(node.id)
        if blocker is None:
            if self._done_on_disk(node):  # finished by another process before the claim
                self.claims.release(node.id)
                self._done_elsewhere(node, trained, evals_done, failed, summary, elsewhere)
                return None
            elsewhere.drop(node.id)
            return self._start(node)
        if blocker.state == "failed":
            self._failed_elsewhere(node, blocker, failed, summary, elsewhere)
        elif elsewhere.hold(node.id, blocker.holder.name, "{} {} ({})".format(*_describe(node), node.id[:12])):
            node_type, label = _describe(node)
            self.progress("held_elsewhere", {"id": node.id, "node_type": node_type, "label": label,
                                             "by": blocker.holder.name})
        return None

    def _done_on_disk(self, node) -> bool:
        done_records = self.store.done_evals()
        if isinstance(node, TrainNode):
            if not run_finished(self.context.node_dir(node.id)):
                return False
            # Pruned (--keep leaves) by the process that ran it once all its readers were done: the
            # disk, not this run's view, says whether they are.
            return model_ready(self.context, node.id) or all(
                run_finished(self.context.node_dir(i)) if i in self._train_ids else eval_done(done_records, self._evals[i])
                for i in self.plan.needed_by(node.id))
        folder = self.context.eval_dir(node.id)
        # Rows in the folder the store lacks: the other process died between its two writes.
        if not eval_done(done_records, node) and restore_missing_rows(self.store, {str(folder): record_ids(node)},
                                                                      done_records):
            done_records = self.store.done_evals()
        return eval_done(done_records, node)

    def _catch_up(self, running: set[str], trained, evals_done, failed, summary, elsewhere) -> bool:
        """Read what other processes finished since the last look; True when anything was."""
        done_records = self.store.done_evals()
        caught = [e for e in self.plan.eval_nodes
                  if e.id not in evals_done and e.id not in running and eval_done(done_records, e)]
        finished = {n.id for n in self.plan.train_nodes
                    if n.id not in trained and n.id not in running and run_finished(self.context.node_dir(n.id))}
        done = trained | finished | evals_done | {e.id for e in caught}
        caught += [n for n in self.plan.train_nodes if n.id in finished
                   and (model_ready(self.context, n.id) or not self.plan.needed_by(n.id, done=done))]
        for node in caught:
            self._done_elsewhere(node, trained, evals_done, failed, summary, elsewhere)
        return bool(caught)

    def _done_elsewhere(self, node, trained, evals_done, failed, summary: RunSummary, elsewhere: Elsewhere) -> None:
        (trained if isinstance(node, TrainNode) else evals_done).add(node.id)
        failed.discard(node.id)  # failed here, then done by a process started since
        summary.failed.pop(node.id, None)
        by = elsewhere.by(node.id) or self._recorded_holder(node)
        summary.by_others[node.id] = by
        elsewhere.drop(node.id)
        node_type, label = _describe(node)
        self.progress("done_elsewhere", {"id": node.id, "node_type": node_type, "label": label, "by": by})

    def _failed_elsewhere(self, node, claim: Claim, failed, summary: RunSummary, elsewhere: Elsewhere) -> None:
        """Failed in a process running beside this one: reported, not retried (a re-run retries it)."""
        node_type, label = _describe(node)
        failed.add(node.id)
        summary.failed[node.id] = f"in {claim.holder.name}: {claim.error or 'failed'}"
        summary.failed_labels[node.id] = f"{node_type} {label}"
        elsewhere.drop(node.id)
        self.progress("failed_elsewhere", {"id": node.id, "node_type": node_type, "label": label,
                                           "by": claim.holder.name, "error": summary.failed[node.id]})

    def _recorded_holder(self, node) -> str:
        """Who ran a node this run never saw claimed: the process its store entry names."""
        key = node.id if isinstance(node, TrainNode) else record_ids(node)[0]
        entry = self.store.node(key)
        return str((entry or {}).get("info", {}).get("by") or "another process")

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
        node_type, label = _describe(node)
        for key in ([node.id] if node_type == "train" else record_ids(node)):
            self.store.mark_node(key, node_type, "running", label=label, by=self.claims.me.name)
        self._started_at[node.id] = time.time()
        self.progress("node_start", {"id": node.id, "node_type": node_type, "label": label})
        function = run_train_node if node_type == "train" else run_eval_node
        return self.backend.submit(function, self.context, node, gpus=self.gpus_per_node)

    def _finished(self, node, handle, trained, evals_done, failed, summary: RunSummary) -> None:
        node_type, label = _describe(node)
        keys = [node.id] if node_type == "train" else record_ids(node)
        seconds = time.time() - self._started_at.pop(node.id, time.time())
        try:
            value = self.backend.result(handle)
        except Exception as error:  # a node's failure must not stop the others
            failed.add(node.id)
            summary.failed[node.id] = _error_line(error)
            summary.failed_labels[node.id] = f"{node_type} {label}"
            for key in keys:
                self.store.mark_node(key, node_type, "failed", error=summary.failed[node.id])
            self.claims.release(node.id, error=summary.failed[node.id])  # the processes beside this one skip it
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
        self.claims.release(node.id)  # its results are on disk: others read them instead of running it
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


def _describe(node: TrainNode | EvalNode) -> tuple[str, str]:
    """("train", its label) or ("eval", "order -> target")."""
    if isinstance(node, TrainNode):
        return "train", node.label
    return "eval", f"{node.order} -> {node.target}"
