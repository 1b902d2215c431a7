"""A package adds tasks through the entry-point group ``xstilts.tasks``: an installed distribution
(here a dist-info folder on sys.path, which is what pip writes) is found by `xstilts tasks` and
by a study's plan like a task of the catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts.tasks import registry

PACKAGE = '''
from xstilts.tasks.types import FileLayout, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="toy_sentiment", display_name="Toy Sentiment", kind=TaskKind.SINGLE_CLASSIFICATION,
    metric=Metric.ACCURACY, languages=("en", "de"), labels=("neg", "pos"),
    layouts=(FileLayout("toy/{split}-{lang}.tsv", "tsv_classification",
                        (("text_a", 0), ("text_b", None), ("label", 1))),),
)
'''

STUDY = """
name = "plugin"
model = "multilingual-e5-small"
data_dir = "data"
output_dir = "out"
seeds = [1]

[stages.toy]
tasks = [{ task = "toy_sentiment", lang = "en", split = "train", dev = false }]

[orders]
singles = true

[[targets]]
task = "toy_sentiment"
langs = ["en", "de"]
train = { split = "train", slice = "[:1]", dev = false }
"""


def install_plugin(site: Path) -> None:
    """What `pip install` of a package declaring the entry point leaves on sys.path."""
    (site / "toy_tasks").mkdir(parents=True)
    (site / "toy_tasks" / "__init__.py").write_text(PACKAGE)
    info = site / "toy_tasks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-tasks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[xstilts.tasks]\ntoy = toy_tasks:TASK\n")


@pytest.fixture
def plugin(tmp_path, monkeypatch) -> Path:
    site = tmp_path / "site"
    install_plugin(site)
    monkeypatch.syspath_prepend(str(site))
    # A fresh registry (as in a new process), restored after the test.
    for name in ("_TASKS", "_ORIGIN", "_ALIASES", "_SUITES"):
        monkeypatch.setattr(registry, name, {})
    monkeypatch.setattr(registry, "_DECLARED", set())
    return site


def test_xstilts_tasks_lists_a_task_from_an_entry_point(plugin):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "300"}
    listed = subprocess.run([sys.executable, "-m", "xstilts.cli", "tasks"], env=env, capture_output=True, text=True,
                            check=True).stdout
    row = next(line for line in listed.splitlines() if "toy_sentiment" in line)
    assert "Toy Sentiment" in row and "single_classification" in row and "2: en de" in row
    # Without the package the task is not there.
    bare = subprocess.run([sys.executable, "-m", "xstilts.cli", "tasks"], env={**os.environ, "COLUMNS": "300"},
                          capture_output=True, text=True, check=True).stdout
    assert "toy_sentiment" not in bare


def test_a_plan_uses_a_task_from_an_entry_point(plugin, tmp_path):
    from xstilts.study import build_plan, load_study

    task = registry.get_task("toy_sentiment")
    assert "entry point toy (toy_tasks:TASK)" in registry._ORIGIN[task.name]
    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "train-en.tsv").write_text("great film\tpos\nawful plot\tneg\n")
    (tmp_path / "data" / "toy" / "dev-en.tsv").write_text("fine acting\tpos\n")
    (tmp_path / "data" / "toy" / "dev-de.tsv").write_text("schlechter film\tneg\n")
    (tmp_path / "study.toml").write_text(STUDY)
    plan = build_plan(load_study(tmp_path / "study.toml"))
    assert plan.missing_data == []
    assert [node.label for node in plan.train_nodes] == ["toy", "toy_sentiment"]
    assert [(e.target, e.langs) for e in plan.eval_nodes] == [("toy_sentiment", ("en", "de"))]
    # A study may not declare a task under the plugin's name.
    (tmp_path / "clash.toml").write_text(STUDY + '\n[tasks.toy_sentiment]\nkind = "tagging"\nformat = "conllu"\n'
                                                 'path = "x/{split}-{lang}.conllu"\nlangs = ["en"]\n')
    with pytest.raises(Exception, match=r"tasks\.toy_sentiment: the name is taken by the registered task "
                                        r"toy_sentiment \(Toy Sentiment\)"):
        load_study(tmp_path / "clash.toml")
