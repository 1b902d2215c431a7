"""The scheduler beside other processes of its study, with stand-in node functions (no torch): a
node another live process holds is waited for and read, not run; one it failed is reported, not
retried; a dead holder's node is taken over; a node finished elsewhere before the claim is not
run again. (Real processes: test_cooperative_runs.py.)"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from xstilts.execution import scheduler as scheduler_module
from xstilts.execution.claims import Claims, Holder
from xstilts.execution.nodes import StudyContext, record_ids
from xstilts.execution.scheduler import Scheduler
from xstilts.results.store import ResultStore
from xstilts.study import build_plan, load_study

STUDY = """
name = "cooperative-scheduler"
model = "multilingual-e5-small"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1]

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:16]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:16]", dev = false }}]

[orders]
baseline = true
permutations = [["nli_en", "nli_de"]]

[[targets]]
task = "panx"
langs = ["en"]
eval_slice = "[:12]"
train = {{ split = "train", slice = "[:16]", dev_slice = "[100:112]" }}
"""


class _Handle:
    def __init__(self, outcome):
        self.outcome = outcome


class InlineBackend:
    """Runs each node function at once, in this process."""

    def submit(self, function, *args, gpus: float = 0):
        try:
            return _Handle(("value", function(*args)))
        except Exception as error:
            return _Handle(("error", error))

    def wait(self, handles, timeout):
        return list(handles)

    def result(self, handle):
        kind, value = handle.outcome
        if kind == "error":
            raise value
        return value

    def shutdown(self):
        pass


def finish_train(context: StudyContext, node_id: str) -> None:
    """What a finished training leaves: its model and result.json."""
    model = context.node_dir(node_id) / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "heads.json").write_text("{}")
    (context.node_dir(node_id) / "result.json").write_text("{}")


def finish_eval(context: StudyContext, node) -> None:
    store = ResultStore.for_study(context.study_dir)
    for key in record_ids(node):
        store.mark_node(key, "eval", "done")


@pytest.fixture
def study(tmp_path, shared_data, monkeypatch):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(data=shared_data, out=tmp_path / "out"))
    plan = build_plan(load_study(path))
    context = StudyContext(study_dir=str(tmp_path / "out"), data_dir=None, base_model="base")
    Path(context.study_dir).mkdir()
    ran: list[str] = []

    def train(context, node):
        ran.append(node.id)
        finish_train(context, node.id)
        return {}

    def evaluate(context, node):
        ran.append(node.id)
        finish_eval(context, node)
        return 1

    monkeypatch.setattr(scheduler_module, "run_train_node", train)
    monkeypatch.setattr(scheduler_module, "run_eval_node", evaluate)
    return SimpleNamespace(plan=plan, context=context, ran=ran)


def _everything(plan) -> set[str]:
    return {n.id for n in plan.train_nodes} | {e.id for e in plan.eval_nodes}


def _reading(plan, node_id: str) -> set[str]:
    found: set[str] = set()
    for child in plan.needed_by(node_id):
        found |= {child} | _reading(plan, child)
    return found


def _first_stage(plan):
    return next(n for n in plan.train_nodes if n.label == "nli_en" and n.parent is None)


def _run_in_thread(study, events: list) -> tuple[threading.Thread, dict]:
    out: dict = {}
    scheduler = Scheduler(study.plan, study.context, InlineBackend(), lease=60,
                          progress=lambda event, info: events.append((event, info)))
    thread = threading.Thread(target=lambda: out.setdefault("summary", scheduler.run()), daemon=True)
    thread.start()
    return thread, out


def _until(condition, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_node_held_by_a_live_process_is_waited_for_and_read_not_run(study):
    held = _first_stage(study.plan)
    other = Claims(study.context.study_dir, lease=60)  # this pid, another run: alive
    assert other.claim(held.id) is None
    events: list = []
    thread, out = _run_in_thread(study, events)
    rest = _everything(study.plan) - {held.id} - _reading(study.plan, held.id)
    _until(lambda: set(study.ran) == rest and any(event == "waiting" for event, _ in events))
    finish_train(study.context, held.id)  # the other process finishes it
    other.release(held.id)
    thread.join(timeout=30)
    summary = out["summary"]
    assert summary.ok and held.id not in study.ran
    assert set(study.ran) == _everything(study.plan) - {held.id}  # its readers ran here once it was done
    assert summary.by_others == {held.id: other.me.name}
    assert summary.waited_seconds > 0 and "1 done by other processes" in summary.line()
    assert ("held_elsewhere", {"id": held.id, "node_type": "train", "label": "nli_en", "by": other.me.name}) in events


def test_a_node_that_failed_beside_this_run_is_reported_not_retried(study):
    held = _first_stage(study.plan)
    other = Claims(study.context.study_dir, lease=60)
    assert other.claim(held.id) is None
    thread, out = _run_in_thread(study, [])
    rest = _everything(study.plan) - {held.id} - _reading(study.plan, held.id)
    _until(lambda: set(study.ran) == rest)
    other.release(held.id, error="ValueError: boom")
    thread.join(timeout=30)
    summary = out["summary"]
    assert held.id not in study.ran and not summary.ok
    assert summary.failed == {held.id: f"in {other.me.name}: ValueError: boom"}
    assert set(summary.blocked) == _reading(study.plan, held.id)
    # A run started after the failure retries it, as any re-run.
    rerun = Scheduler(study.plan, study.context, InlineBackend(), lease=60).run()
    assert rerun.ok and held.id in study.ran


def test_the_node_of_a_dead_holder_is_taken_over(study):
    held = _first_stage(study.plan)
    dead = replace(Holder.this_process(), pid=2 ** 22 + 7, pid_started=None)  # above pid_max's default
    assert Claims(study.context.study_dir, lease=60, holder=dead).claim(held.id) is None
    summary = Scheduler(study.plan, study.context, InlineBackend(), lease=60).run()
    assert summary.ok and sorted(study.ran) == sorted(_everything(study.plan)) and summary.by_others == {}
    assert not list(Path(study.context.study_dir, "claims").glob("*/*.json"))


def test_a_node_finished_elsewhere_just_before_its_claim_is_not_run_again(study, monkeypatch):
    """Another process finished it and gave up its claim after this run last looked at the disk."""
    target = _first_stage(study.plan)
    claim = Claims.claim

    def claim_after_another_finished(self, node_id):
        if node_id == target.id:
            finish_train(study.context, target.id)
        return claim(self, node_id)

    monkeypatch.setattr(Claims, "claim", claim_after_another_finished)
    summary = Scheduler(study.plan, study.context, InlineBackend(), lease=60).run()
    assert summary.ok and target.id not in study.ran
    assert summary.by_others == {target.id: "another process"}
    assert sorted(study.ran) == sorted(_everything(study.plan) - {target.id})
