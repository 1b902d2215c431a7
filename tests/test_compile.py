"""torch.compile of the encoder: bucketed packed shapes compute what unbucketed ones do, "auto"
resolves where it was measured to pay, and a compiled training is its own study node."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from test_packing import PAD, _batch, _encoder, _weights
from test_study_plan import STUDY, node_by, plan_for
from xstilts.hardware import resolve_compile
from xstilts.modeling.packing import ROW_BUCKET, encode_packed, pack_batch, packing_support
from xstilts.study.plan import config_identity
from xstilts.tasks.selection import DataSelection
from xstilts.training.config import TrainConfig
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer


def test_static_rows_bucket_the_shape_and_leave_real_tokens_unchanged():
    encoder = _encoder("xlm-roberta")
    support = packing_support(encoder)
    shapes = set()
    for seed, lengths in enumerate(([23, 7, 40, 18, 40, 3, 31], [40, 40, 39, 38, 5], [12, 9])):
        batch = _batch(lengths, 40, seed=seed)
        real = batch["attention_mask"].bool()
        plain = pack_batch(batch, support.position_offset, PAD, capacity=64)
        bucketed = pack_batch(batch, support.position_offset, PAD, capacity=64, static_rows=True)
        rows, length = bucketed["packed_input_ids"].shape
        assert length == 64 and rows % ROW_BUCKET == 0 and rows >= plain["packed_input_ids"].shape[0]
        shapes.add((rows, length))
        with torch.no_grad():
            expected, got = encode_packed(encoder, plain), encode_packed(encoder, bucketed)
        assert (got[~real] == 0).all()
        torch.testing.assert_close(got[real], expected[real], atol=1e-5, rtol=1e-4)
    assert shapes == {(4, 64)}  # three batches of 2 to 4 rows: one compiled shape


def test_auto_compiles_on_a_gpu_only_and_booleans_pass_through():
    assert resolve_compile("auto", "cuda") is True
    assert resolve_compile("auto", "cpu") is False
    assert resolve_compile(True, "cpu") is True and resolve_compile(False, "cuda") is False


def test_compile_enters_the_node_identity_only_when_on(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    assert "compile" not in config_identity(TrainConfig())
    assert config_identity(TrainConfig(compile=True))["compile"] is True
    before = plan_for(tmp_path, folder="one")
    on = plan_for(tmp_path, STUDY.replace("max_steps = 5", "max_steps = 5\ncompile = true"), folder="two")
    auto = plan_for(tmp_path, STUDY.replace("max_steps = 5", 'max_steps = 5\ncompile = "auto"'), folder="three")
    assert node_by(on, "A", 1).id != node_by(before, "A", 1).id
    assert node_by(on, "A", 1).config.compile is True
    # "auto" is resolved when planning, like mixed_precision: on this machine's device.
    expected_auto = resolve_compile("auto")
    assert node_by(auto, "A", 1).config.compile is expected_auto
    assert (node_by(auto, "A", 1).id == node_by(before, "A", 1).id) is (not expected_auto)


def test_a_bad_compile_value_names_the_field():
    from xstilts.errors import ConfigError
    from xstilts.tasks.registry import get_task
    from xstilts.training.config import make_config

    with pytest.raises(ConfigError, match="^compile"):
        make_config(get_task("xnli"), target=True, compile="sometimes")


@pytest.mark.slow  # compiling even a tiny encoder takes a minute or more on 2 CPU cores
def test_compiled_training_matches_eager_without_dropout(tmp_path, shared_data, tiny_model_dir):
    stage = StageData([prepare_task_data(DataSelection("xnli", "en", "dev", "[:24]"), None, shared_data)])
    config = dict(max_steps=3, batch_size=8, learning_rate=1e-3, max_length=48, seed=3, dropout=0.0,
                  select_best=False, mixed_precision="no")
    results = {flag: Trainer(stage, TrainConfig(**config, compile=flag), tmp_path / f"compile-{flag}")
               .run(str(tiny_model_dir)) for flag in (False, True)}
    assert results[True].numerics["compile"] is True and results[False].numerics["compile"] is False
    assert 1 <= results[True].numerics["compiled_graphs"] <= 4  # bucketed shapes: a few graphs at most
    eager, compiled = (_weights(Path(results[flag].model_dir)) for flag in (False, True))
    for name in eager:
        np.testing.assert_allclose(compiled[name], eager[name], atol=1e-4, rtol=1e-3, err_msg=name)


def test_evaluations_compile_with_the_study_setting_and_keep_their_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    before = plan_for(tmp_path, folder="one")
    on = plan_for(tmp_path, STUDY.replace("max_steps = 5", "max_steps = 5\ncompile = true"), folder="two")
    assert not any(node.compile for node in before.eval_nodes)
    assert all(node.compile for node in on.eval_nodes)
    # Retrieval of the base model (no training under it) is the same evaluation, compiled or not.
    shared = {n.id for n in before.eval_nodes if n.model_node is None} & {n.id for n in on.eval_nodes}
    assert shared


@pytest.mark.slow  # compiling takes a minute or more on 2 CPU cores
def test_compiled_evaluation_gives_the_eager_predictions(tmp_path, shared_data, tiny_model_dir):
    from xstilts.evaluation.zero_shot import evaluate

    stage = StageData([prepare_task_data(DataSelection("xnli", "en", "dev", "[:16]"), None, shared_data)])
    run = Trainer(stage, TrainConfig(max_steps=1, batch_size=8, max_length=48, select_best=False,
                                     mixed_precision="no"), tmp_path / "run").run(str(tiny_model_dir))
    summaries = {flag: evaluate(run.model_dir, "xnli", shared_data, tmp_path / f"eval-{flag}", langs="de,en",
                                max_examples=40, compile=flag) for flag in (False, True)}
    assert summaries[True]["numerics"]["compile"] is True
    assert summaries[True]["per_language"] == summaries[False]["per_language"]
    for lang in ("de", "en"):
        files = [sorted((tmp_path / f"eval-{flag}" / "predictions").rglob(f"*{lang}*")) for flag in (False, True)]
        assert [f.read_text() for f in files[0]] == [f.read_text() for f in files[1]]
