"""The SQLite results store: idempotent atomic evals, node states, concurrent writers, SIGKILL safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xstilts.errors import DataFormatError
from xstilts.results.store import ResultRow, ResultStore, current_code_version

# A writer process: signals READY, waits for GO, then records COUNT evals "PREFIX-<i>" of ROWS rows each.
WRITER = """
import sys, time
from pathlib import Path
from xstilts.results import store as results_store

path, prefix, count, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ready, go = Path(sys.argv[5]), Path(sys.argv[6])
# The real code version imports torch (seconds per process) and plays no part in locking.
results_store.current_code_version = lambda: "test"
store = results_store.ResultStore(path)
ready.touch()
while not go.exists():
    time.sleep(0.01)
for i in range(count):
    eval_id = f"{prefix}-{i}"
    store.mark_node(eval_id, "eval", "running")
    store.record_eval(eval_id, [results_store.ResultRow("xnli", "de", "dev", f"metric{j}", float(i + j), "train-1", 1,
                                                        "baseline", ["xnli_en"], "e5-small", "hash", {"lr": 1e-5})
                                for j in range(rows)])
"""


def _row(lang: str = "de", value: float = 71.5, metric: str = "accuracy", **changes) -> ResultRow:
    fields = dict(task="xnli", lang=lang, split="dev", metric=metric, value=value, node_id="train-en>de-s1", seed=1,
                  order_name="nli_en>nli_de", stage_path=("nli_en", "nli_de"), model="multilingual-e5-small",
                  settings_hash="abc123", settings={"lr": 1e-5, "epochs": 2})
    fields.update(changes)
    return ResultRow(**fields)


@pytest.fixture()
def store(tmp_path: Path) -> ResultStore:
    return ResultStore.for_study(tmp_path / "study")


def test_a_recorded_eval_reads_back_with_every_field(store: ResultStore):
    store.record_eval("eval-1", [_row(contaminated=True, contamination_reason="nli_de trains on xnli de")])
    (row,) = store.rows()
    assert row["eval_id"] == "eval-1" and row["value"] == 71.5 and row["seed"] == 1
    assert row["stage_path"] == ["nli_en", "nli_de"] and row["settings"] == {"epochs": 2, "lr": 1e-5}
    assert row["contaminated"] is True and row["contamination_reason"] == "nli_de trains on xnli de"
    assert row["code_version"] == current_code_version() and "+training." in row["code_version"]
    # Without plan facts a row names its eval node (the id before the seed) and is zero-shot, no oracle.
    assert row["eval_node"] == "eval-1" and row["zero_shot"] is True and row["oracle"] is False
    assert row["selection"] == [] and row["examples_ref"] is None
    assert store.path.name == "results.sqlite"
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(3,)]


def test_recording_an_eval_twice_is_idempotent_and_keeps_the_latest_values(store: ResultStore):
    rows = [_row("de", 71.5), _row("en", 80.0)]
    store.record_eval("eval-1", rows)
    store.record_eval("eval-1", rows)
    assert store.count() == 2
    store.record_eval("eval-1", [_row("de", 72.25), _row("en", 80.0)])
    assert store.count() == 2
    assert {row["lang"]: row["value"] for row in store.rows()} == {"de": 72.25, "en": 80.0}
    store.record_eval("eval-1", [_row("de", 72.25)])  # the eval's row set is the latest recording
    assert [row["lang"] for row in store.rows()] == ["de"]


def test_a_failing_recording_leaves_the_previous_rows(store: ResultStore):
    store.record_eval("eval-1", [_row("de", 71.5)])
    with pytest.raises(ValueError, match="two results"):
        store.record_eval("eval-1", [_row("en", 80.0), _row("en", 81.0)])
    with pytest.raises(ValueError, match="finite"):
        store.record_eval("eval-1", [_row("en", float("nan"))])
    assert [(row["lang"], row["value"]) for row in store.rows()] == [("de", 71.5)]


def test_filters_dataframe_and_done_evals(store: ResultStore):
    store.record_eval("eval-a", [_row("de", 70.0), _row("en", 80.0)])
    store.record_eval("eval-b", [_row("de", 60.0, seed=None, order_name="baseline", stage_path=())])
    assert [row["value"] for row in store.rows(lang="de")] == [70.0, 60.0]
    assert [row["eval_id"] for row in store.rows(seed=None)] == ["eval-b"]
    assert [row["eval_id"] for row in store.rows(stage_path=["nli_en", "nli_de"], lang="en")] == ["eval-a"]
    with pytest.raises(ValueError, match="unknown filter"):
        store.rows(language="de")
    frame = store.to_dataframe()
    assert len(frame) == 3 and frame["seed"].isna().sum() == 1 and str(frame["seed"].dtype) == "Int64"
    assert frame["contaminated"].dtype == bool and frame["value"].sum() == 210.0
    assert store.done_evals() == {"eval-a", "eval-b"}


def test_node_states_count_attempts_and_time(store: ResultStore):
    assert store.node_status("train-1") is None
    store.mark_node("train-1", "train", "pending", label="nli_en>nli_de seed 1")
    store.mark_node("train-1", "train", "running", host="a")
    store.mark_node("train-1", "train", "failed", error="CUDA out of memory")
    failed = store.node("train-1")
    assert failed["status"] == "failed" and failed["error"] == "CUDA out of memory" and failed["attempts"] == 1
    assert failed["wall_seconds"] >= 0 and failed["info"] == {"host": "a"}
    store.mark_node("train-1", "train", "running", step=3)
    store.mark_node("train-1", "train", "done")
    done = store.node("train-1")
    assert (done["status"], done["attempts"], done["error"]) == ("done", 2, None)
    assert done["label"] == "nli_en>nli_de seed 1" and done["info"] == {"host": "a", "step": 3}
    assert store.node_status("train-1") == "done" and store.done_evals() == set()
    assert [node["node_id"] for node in store.nodes(status="done")] == ["train-1"]
    with pytest.raises(ValueError, match="train node"):
        store.record_eval("train-1", [_row()])
    with pytest.raises(ValueError, match="status"):
        store.mark_node("train-1", "train", "finished")


def test_recording_finishes_a_running_eval_node(store: ResultStore):
    store.mark_node("eval-1", "eval", "running")
    assert store.done_evals() == set()
    store.record_eval("eval-1", [_row()])
    node = store.node("eval-1")
    assert node["status"] == "done" and node["attempts"] == 1 and node["wall_seconds"] is not None
    assert store.done_evals() == {"eval-1"}


def test_a_file_that_is_not_a_store_is_a_one_line_error(tmp_path: Path):
    path = tmp_path / "results.sqlite"
    path.write_text("eval,task\n" * 100)
    with pytest.raises(DataFormatError, match="results.sqlite: not a usable xstilts results store"):
        ResultStore(path)
    newer = tmp_path / "newer.sqlite"
    ResultStore(newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(DataFormatError, match="schema version 99, expected 3: open this study"):
        ResultStore(newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE schema_version SET version = 1")
    with pytest.raises(DataFormatError, match="schema version 1, expected 3: move this file away and rerun"):
        ResultStore(newer)


def test_a_version_2_store_is_migrated_in_place(tmp_path: Path):
    """A store written before rows had a role opens, keeps its rows, and reads them as conditions'."""
    path = tmp_path / "results.sqlite"
    store = ResultStore(path)
    store.record_eval("eval-1", [ResultRow(task="xnli", lang="de", split="dev", metric="accuracy", value=70.0,
                                           node_id="n1", seed=1, order_name="baseline", stage_path=[],
                                           model="m", settings_hash="h")])
    with sqlite3.connect(path) as connection:  # what version 2 had: no role column
        connection.execute("ALTER TABLE results DROP COLUMN role")
        connection.execute("UPDATE schema_version SET version = 2")
    rows = ResultStore(path).rows()
    assert [(row["value"], row["role"]) for row in rows] == [(70.0, "condition")]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    with pytest.raises(ValueError, match="role 'other'"):
        store.record_eval("eval-2", [ResultRow(task="xnli", lang="de", split="dev", metric="accuracy", value=1.0,
                                               node_id="n1", seed=1, order_name="baseline", stage_path=[],
                                               model="m", settings_hash="h", role="other")])


def _start_writers(path: Path, prefixes: list[str], count: int, rows: int) -> list[subprocess.Popen]:
    """Start one writer per prefix and release them together once all are ready."""
    go = path.parent / "go"
    go.unlink(missing_ok=True)
    readies = [path.parent / f"ready-{prefix}" for prefix in prefixes]
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix, str(count), str(rows), str(ready),
                                 str(go)]) for prefix, ready in zip(prefixes, readies)]
    deadline = time.time() + 120
    while not all(ready.exists() for ready in readies):
        assert all(writer.poll() is None for writer in writers) and time.time() < deadline
        time.sleep(0.01)
    go.touch()
    return writers


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path):
    path = tmp_path / "results.sqlite"
    writers = _start_writers(path, [f"w{k}" for k in range(4)], 50, 20)
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    store = ResultStore(path)
    assert store.count() == 4 * 50 * 20
    assert store.done_evals() == {f"w{k}-{i}" for k in range(4) for i in range(50)}
    assert sorted(row["value"] for row in store.rows(eval_id="w3-49")) == [float(49 + j) for j in range(20)]


def test_a_writer_killed_mid_write_leaves_whole_evals(tmp_path: Path):
    path, rows = tmp_path / "results.sqlite", 2000
    for round_, delay in enumerate((0.03, 0.11, 0.23)):
        (writer,) = _start_writers(path, [f"r{round_}"], 10_000, rows)
        deadline = time.time() + 60
        store = ResultStore(path)
        while len([e for e in store.done_evals() if e.startswith(f"r{round_}-")]) < 3:
            assert writer.poll() is None and time.time() < deadline
            time.sleep(0.01)
        time.sleep(delay)  # uncorrelated with the writer's commits, which the polling just saw
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    store = ResultStore(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_eval = dict(connection.execute("SELECT eval_id, COUNT(*) FROM results GROUP BY eval_id").fetchall())
    assert per_eval and set(per_eval.values()) == {rows}
    assert set(per_eval) == store.done_evals()
    store.record_eval("after-kill", [_row()])  # still writable
    assert store.count() == len(per_eval) * rows + 1


def test_a_store_deleted_while_in_use_is_created_again(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    store.mark_node("a", "train", "running")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"results.sqlite{suffix}").unlink(missing_ok=True)
    store.mark_node("b", "train", "done")  # no "no such table" error
    assert store.node_status("b") == "done" and store.node_status("a") is None
    assert store.count() == 0
