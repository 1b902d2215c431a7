"""One model reference: what --model, a study's base model or a node's parent means; the run
directory's layout; the one run.json format and the lineage the contamination guard follows."""

from __future__ import annotations

import json

import pytest

from xstilts.errors import ConfigError
from xstilts.modeling.offline_e5.source import OFFLINE_MODELS
from xstilts.modeling.run_folders import MODEL_DIR, RESULT_FILE, model_ready, read_run_record, run_lineage, run_record, write_run_record
from xstilts.modeling.reference import ModelRef
from xstilts.training.config import TrainConfig, dev_selects


def _saved(folder):
    """A folder laid out like a saved xstilts model (what ModelRef looks at; nothing is loaded)."""
    (folder / "encoder").mkdir(parents=True)
    (folder / "heads.json").write_text(json.dumps({"format": 1, "heads": {}}))
    return folder


def _run(folder, record):
    _saved(folder / MODEL_DIR)
    write_run_record(folder, record)
    return folder


def test_what_a_reference_names(tmp_path):
    run = _run(tmp_path / "run", run_record([], {"max_length": 96}, semantics="1"))
    holder = tmp_path / "holder"
    _saved(holder / MODEL_DIR)
    assert (ModelRef.of(holder).saved, ModelRef.of(holder).run_dir) == (holder / MODEL_DIR, None)
    for given in (run, run / MODEL_DIR):
        ref = ModelRef.of(given)
        assert (ref.saved, ref.run_dir, ref.has_heads) == (run / MODEL_DIR, run, True)
        assert ref.encoder_source() == str(run / MODEL_DIR / "encoder")
        assert ref.training_config() == {"max_length": 96}
    loose = ModelRef.of(_saved(tmp_path / "loose"))
    assert (loose.saved, loose.run_dir, loose.training_config()) == (tmp_path / "loose", None, {})
    for encoder in (OFFLINE_MODELS[0], "FacebookAI/xlm-roberta-large", str(tmp_path / "plain")):
        assert (ModelRef.of(encoder).saved, ModelRef.of(encoder).run_dir) == (None, None)


def test_a_missing_folder_is_one_line_before_anything_loads(tmp_path):
    with pytest.raises(ConfigError, match="local folder .* not found"):
        ModelRef.of(str(tmp_path / "nowhere")).check()
    ModelRef.of(OFFLINE_MODELS[0]).check()  # built on first load, not checked here


def test_a_run_is_ready_once_finished_with_its_model(tmp_path):
    run = _run(tmp_path / "run", {})
    assert not model_ready(run)
    (run / RESULT_FILE).write_text("{}")
    assert model_ready(run)


def test_lineage_follows_study_node_ids_and_run_paths(tmp_path):
    nodes = tmp_path / "nodes"
    _run(nodes / "a1", run_record([{"train": {"task": "xnli"}, "dev": None}], {}, semantics="1",
                                  base_model={"offline": "e5"}))
    _run(nodes / "b2", run_record([{"train": {"task": "pawsx"}, "dev": None}], {}, semantics="1", parent="a1"))
    cli = _run(tmp_path / "cli", run_record([{"train": {"task": "panx"}, "dev": None}], {}, semantics="1",
                                            parent=str((nodes / "b2").resolve())))
    assert [directory.name for directory, _ in run_lineage(cli)] == ["a1", "b2", "cli"]
    assert [record["tasks"][0]["train"]["task"] for _, record in run_lineage(cli)] == ["xnli", "pawsx", "panx"]


def test_records_written_before_the_one_format_are_read_as_it(tmp_path):
    stage = _run(tmp_path / "stage", run_record([], {}, semantics="1"))
    legacy = _run(tmp_path / "legacy", {"model": str(stage / MODEL_DIR), "train": {"task": "xnli"}, "dev": None,
                                        "config": {}})
    record = read_run_record(legacy)
    assert record["tasks"] == [{"train": {"task": "xnli"}, "dev": None}]
    assert [directory.name for directory, _ in run_lineage(legacy)] == ["stage", "legacy"]


def test_one_dev_selection_rule_for_configs_and_records():
    assert dev_selects(TrainConfig()) and dev_selects({})
    assert not dev_selects(TrainConfig(select_best=False)) and not dev_selects({"select_best": False})
    assert dev_selects(TrainConfig(select_best=False, early_stopping_patience=2))
    assert dev_selects({"select_best": False, "early_stopping_patience": 2})
