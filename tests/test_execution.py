"""Whole studies on a tiny model: every node runs once, the store fills, and kill -9 + re-run
gives exactly the rows of an uninterrupted run, with the local and the Ray executor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xstilts.execution.runner import run_study
from xstilts.results.store import ResultStore
from xstilts.study import build_plan, load_study

STUDY = """
name = "tiny-order-study"
model = "{model}"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1, 2]

[hparams]
max_steps = 2
batch_size = 4
max_length = 48
learning_rate = 1e-3

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:16]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:16]", dev = false }}]

[orders]
baseline = true
singles = true
permutations = [["nli_en", "nli_de"]]

[[targets]]
task = "panx"
langs = ["en", "de"]
eval_slice = "[:12]"
eval_max_length = 48
train = {{ split = "train", slice = "[:16]", dev_slice = "[100:112]" }}

[[targets]]
task = "tatoeba"
langs = ["de"]

[retrieval]
layer = -1
max_length = 32

[execution]
workers = {workers}
keep = "leaves"
"""


def write_study(tmp_path: Path, tiny_model_dir: Path, shared_data: Path, name: str, workers: int = 1) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(STUDY.format(model=tiny_model_dir, data=shared_data, out=tmp_path / name, workers=workers))
    return path


def result_rows(study_dir: Path) -> list[tuple]:
    frame = ResultStore.for_study(study_dir).to_dataframe()
    columns = ["eval_id", "task", "lang", "split", "metric", "seed", "order_name", "value", "contaminated"]
    return sorted(tuple(row) for row in frame[columns].itertuples(index=False))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir, shared_data):
    tmp_path = tmp_path_factory.mktemp("reference")
    study = load_study(write_study(tmp_path, tiny_model_dir, shared_data, "study"))
    plan = build_plan(study)
    summary = run_study(plan, executor="local")
    return plan, summary, result_rows(study.output_dir)


def test_study_trains_each_prefix_once_and_fills_the_store(reference):
    plan, summary, rows = reference
    # Orders baseline, nli_en, nli_de, nli_en>nli_de, nli_de>nli_en x 2 seeds: nli_en and nli_de of a
    # seed are shared by their single order and the permutation that starts with them.
    intermediate = [n for n in plan.train_nodes if not n.is_target]
    assert len(intermediate) == 2 * (2 + 2)  # per seed: nli_en, nli_de, nli_en>nli_de, nli_de>nli_en
    assert len([n for n in plan.train_nodes if n.is_target]) == 2 * 5  # a panx fine-tuning per order and seed
    assert summary.ok and len(summary.trained) == len(plan.train_nodes)
    assert len(summary.evaluated) == len(plan.eval_nodes)
    # panx: 2 langs x 4 metrics; tatoeba: 1 lang x 1 metric; one set per order and seed.
    assert len(rows) == 5 * 2 * (2 * 4 + 1)
    assert len({row[:6] for row in rows}) == len(rows)  # no duplicates


def test_rerun_of_a_finished_study_does_nothing(reference, tiny_model_dir, shared_data, tmp_path):
    plan, _, rows = reference
    summary = run_study(plan, executor="local")
    assert summary.trained == [] and summary.evaluated == []
    assert result_rows(plan.study.output_dir) == rows


def _full_rows(study_dir: Path) -> list[dict]:
    return ResultStore.for_study(study_dir).rows()


def test_rebuild_recreates_the_store_equal_to_the_original(reference):
    from xstilts.results.node_rows import rebuild_store

    plan, _, _ = reference
    study_dir = plan.study.output_dir
    original = _full_rows(study_dir)
    (study_dir / "results.sqlite").unlink()
    path, evaluations, rows = rebuild_store(study_dir)
    assert path == study_dir / "results.sqlite"
    assert evaluations == len(plan.eval_nodes) and rows == len(original)
    assert _full_rows(study_dir) == original  # every column, timestamps and code version included


def test_a_deleted_store_is_refilled_from_the_node_folders_by_a_rerun(reference):
    plan, _, rows = reference
    study_dir = plan.study.output_dir
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm"):
        (study_dir / name).unlink(missing_ok=True)
    summary = run_study(plan, executor="local")
    assert summary.ok and summary.evaluated == [] and summary.trained == []
    assert result_rows(study_dir) == rows


def _kill_when_some_results(args: list[str], study_dir: Path, env: dict) -> None:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = study_dir / "results.sqlite"
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        if store.exists() and ResultStore(store).count() >= 9:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the study finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("executor", [pytest.param("local", marks=pytest.mark.ci), "ray"])
def test_kill_9_and_rerun_gives_the_uninterrupted_store(reference, executor, tmp_path, tiny_model_dir, shared_data):
    if executor == "ray":
        pytest.importorskip("ray")
    _, _, expected = reference
    path = write_study(tmp_path, tiny_model_dir, shared_data, "study")
    args = [sys.executable, "-m", "xstilts.cli", "run", str(path), "--executor", executor]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    _kill_when_some_results(args, tmp_path / "study", env)
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    rows = result_rows(tmp_path / "study")
    # Same cells and values; eval ids are content hashes, identical across the two study folders.
    assert rows == expected


def _train_or_crash(context, node):
    """A test-only node function: the training named by $XSTILTS_TEST_CRASH_NODE segfaults its worker."""
    from xstilts.execution.nodes import run_train_node

    if node.id == os.environ.get("XSTILTS_TEST_CRASH_NODE"):
        import ctypes

        ctypes.string_at(0)
    return run_train_node(context, node)


def _reading(plan, node_id: str) -> set[str]:
    """Every training and evaluation that reads ``node_id``'s model, directly or further down."""
    found: set[str] = set()
    for child in plan.needed_by(node_id):
        found |= {child} | _reading(plan, child)
    return found


# Slow (a real study around the crash): worker deaths are in the default suite via test_local_workers.
@pytest.mark.slow
def test_a_segfault_in_one_node_costs_that_node_only_and_a_rerun_completes(reference, tmp_path, tiny_model_dir,
                                                                           shared_data, monkeypatch):
    from xstilts.execution import scheduler
    from xstilts.execution.nodes import record_ids

    _, _, reference_rows = reference
    # One worker, as the reference (same threads, same numerics): the crash must not end the study,
    # its worker is replaced. (Two workers, one crashing beside a running one: test_local_workers.py.)
    # Seed 1 of the reference study (half the work): its nodes and rows are the reference's own.
    path = write_study(tmp_path, tiny_model_dir, shared_data, "study")
    path.write_text(path.read_text().replace("seeds = [1, 2]", "seeds = [1]"))
    study = load_study(path)
    plan = build_plan(study)
    keys = {key for evaluation in plan.eval_nodes for key in record_ids(evaluation)}
    expected = [row for row in reference_rows if row[0] in keys]
    assert len(expected) == 5 * (2 * 4 + 1)  # every order's PAN-X and Tatoeba rows of seed 1
    victim = next(n for n in plan.train_nodes if n.label == "nli_de" and n.parent is None and n.seed == 1)
    monkeypatch.setenv("XSTILTS_TEST_CRASH_NODE", victim.id)
    monkeypatch.setattr(scheduler, "run_train_node", _train_or_crash)
    summary = run_study(plan, executor="local")
    error = "WorkerDiedError: worker killed by SIGSEGV (signal 11) while running this node"
    assert summary.failed == {victim.id: error}
    assert set(summary.blocked) == _reading(plan, victim.id)
    everything = {n.id for n in plan.train_nodes} | {e.id for e in plan.eval_nodes}
    assert set(summary.trained) | set(summary.evaluated) == everything - {victim.id} - _reading(plan, victim.id)
    assert ResultStore.for_study(study.output_dir).node(victim.id)["error"] == error

    monkeypatch.delenv("XSTILTS_TEST_CRASH_NODE")  # the same function trains it now
    rerun = run_study(plan, executor="local")
    assert rerun.ok and victim.id in rerun.trained
    assert result_rows(study.output_dir) == expected
