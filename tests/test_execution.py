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


def test_threads_per_worker_share_only_the_idle_cores(monkeypatch):
    from xstilts.execution import runner

    monkeypatch.delenv("XSTILTS_TORCH_THREADS", raising=False)
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setattr(runner, "busy_cores", lambda: 0)
    assert runner.threads_per_worker(4) == 4  # idle machine: 16 cores / 4 workers
    monkeypatch.setattr(runner, "busy_cores", lambda: 12)
    assert runner.threads_per_worker(2) == 2  # 4 idle cores / 2 workers
    assert runner.threads_per_worker(8) == 1  # busier than the idle cores: never 0
    monkeypatch.setenv("XSTILTS_TORCH_THREADS", "3")
    assert runner.threads_per_worker(2) == 3


def test_busy_cores_reads_what_runs_now_not_the_minute_average(monkeypatch):
    """A job that ended seconds ago still weighs on the load average; /proc/stat over a short
    window sees the cores it left idle (here: one core's worth of CPU time spinning, out of all)."""
    import multiprocessing
    import os

    from xstilts.execution import runner

    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat on this system")
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (50.0, 50.0, 50.0))  # must not be used
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    spinner = context.Process(target=_spin, args=(started, 5.0))
    spinner.start()
    try:
        assert started.wait(30)
        busy = runner.busy_cores(window=1.0)
    finally:
        spinner.terminate()
        spinner.join()
    assert 1 <= busy <= (os.cpu_count() or 1) and busy < 50


def _spin(started, seconds: float) -> None:
    import time

    started.set()
    end = time.time() + seconds
    while time.time() < end:
        pass
