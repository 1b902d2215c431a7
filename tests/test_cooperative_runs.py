"""Several `xstilts run` processes of one study (terminals, job-array tasks) share its nodes: all
exit 0, each node is trained or evaluated by exactly one of them (one `done` line in all their
logs), and the store equals a single run's; a run killed with SIGKILL mid-node costs nothing:
the others take its node over and finish the study."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from xstilts.execution.runner import run_study
from xstilts.results.store import ResultStore
from xstilts.study import build_plan, load_study

DONE = re.compile(r"^\S+ \S+ done (?:train|eval) .*\(([0-9a-f]{12})\) in ")

# 14 nodes of a second or two each on the tiny model: 2 stages, both orders and the baseline
# (a chain of two stages, so that runs wait for each other), PAN-X fine-tuned and evaluated after each.
STUDY = """
name = "cooperative"
model = "{model}"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1]

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
permutations = [["nli_en", "nli_de"]]  # both orders

[[targets]]
task = "panx"
langs = ["en", "de"]
eval_slice = "[:12]"
eval_max_length = 48
train = {{ split = "train", slice = "[:16]", dev_slice = "[100:112]" }}

[execution]
workers = 1
keep = "leaves"
"""


def _one_seed_study(tmp_path: Path, tiny_model_dir: Path, shared_data: Path) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(model=tiny_model_dir, data=shared_data, out=tmp_path / "study"))
    return path


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, tiny_model_dir, shared_data):
    """The study's nodes (id prefixes as the logs print them) and the rows of one run alone."""
    study = load_study(_one_seed_study(tmp_path_factory.mktemp("single"), tiny_model_dir, shared_data))
    plan = build_plan(study)
    assert run_study(plan, executor="local").ok
    nodes = {n.id[:12] for n in plan.train_nodes} | {e.id[:12] for e in plan.eval_nodes}
    assert len(nodes) == 14
    return nodes, result_rows(study.output_dir)


def result_rows(study_dir: Path) -> list[tuple]:
    frame = ResultStore.for_study(study_dir).to_dataframe()
    columns = ["eval_id", "task", "lang", "split", "metric", "seed", "order_name", "value", "contaminated"]
    return sorted(tuple(row) for row in frame[columns].itertuples(index=False))


def _start(path: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xstilts.cli", "run", str(path), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _done_lines(logs: list[Path]) -> Counter:
    return Counter(match.group(1) for log in logs for line in log.read_text().splitlines()
                   if (match := DONE.match(line)))


def _claim_files(study_dir: Path) -> list[Path]:
    return list((study_dir / "claims").glob("*/*.json"))


@pytest.mark.slow
@pytest.mark.ci
def test_three_runs_of_one_study_share_its_nodes(single_run, tmp_path, tiny_model_dir, shared_data):
    nodes, rows = single_run
    path = _one_seed_study(tmp_path, tiny_model_dir, shared_data)
    logs = [tmp_path / f"run{i}.log" for i in range(3)]
    runs = []
    for log in logs:
        runs.append(_start(path, log))
        time.sleep(0.5)
    codes = [run.wait(timeout=900) for run in runs]
    assert codes == [0, 0, 0], "\n".join(log.read_text()[-2000:] for log in logs)
    done = _done_lines(logs)
    assert set(done) == nodes and set(done.values()) == {1}, done  # every node run once, by one of them
    assert result_rows(tmp_path / "study") == rows
    assert _claim_files(tmp_path / "study") == []
    for log in logs:  # each summary says what the others did
        line = next(line for line in log.read_text().splitlines() if " blocked in " in line)
        assert "0 failed, 0 blocked" in line
    assert sum("done by other processes" in log.read_text() for log in logs) >= 2


@pytest.mark.slow
def test_a_run_killed_mid_node_is_taken_over_by_the_others(single_run, tmp_path, tiny_model_dir, shared_data):
    nodes, rows = single_run
    path = _one_seed_study(tmp_path, tiny_model_dir, shared_data)
    logs = [tmp_path / f"run{i}.log" for i in range(3)]
    runs = []
    for log in logs:
        runs.append(_start(path, log))
        time.sleep(0.5)
    victim = runs[1]
    # Once it has finished a node and holds the next one: kill -9 of the study process alone (its
    # worker notices and exits by itself).
    deadline = time.time() + 600
    held = None
    while held is None and time.time() < deadline and victim.poll() is None:
        if _done_lines([logs[1]]):
            held = next((claim.parent.name for claim in _claim_files(tmp_path / "study")
                         if f'"pid": {victim.pid},' in claim.read_text()), None)
        if held is None:
            time.sleep(0.05)
    assert held is not None, "the victim never held a node after its first one"
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    survivors = [runs[0], runs[2]]
    assert [run.wait(timeout=900) for run in survivors] == [0, 0], \
        "\n".join(logs[i].read_text()[-2000:] for i in (0, 2))
    done = _done_lines(logs)
    assert set(done.values()) == {1}, done  # nothing ran twice
    # Every node was finished by someone: the killed one by a survivor (unless the victim had just
    # finished it when the kill came, and then nobody needed to).
    assert set(done) == nodes or set(done) == nodes - {held[:12]}
    survivors_done = _done_lines([logs[0], logs[2]])
    assert held[:12] in survivors_done or held[:12] not in done
    assert result_rows(tmp_path / "study") == rows
    assert _claim_files(tmp_path / "study") == []
