"""The trainer on a tiny random model with the real tokenizer: training, selection, exact resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.numpy import load_file

from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import RESULT_FILE, Trainer

CONFIG = dict(max_steps=6, batch_size=8, learning_rate=5e-4, max_length=64, eval_every=3, checkpoint_every=2,
              seed=3, warmup_ratio=0.2)


def _stage(shared_data: Path, tasks=("panx",)) -> StageData:
    datas = []
    for task in tasks:
        if task == "panx":
            train = DataSelection("panx", "en", "train", "[:48]")
            dev = DataSelection("panx", "en", "dev", "[:24]")
        else:
            train = DataSelection("xnli", "en", "dev", "[:48]")
            dev = DataSelection("xnli", "en", "dev", "[2400:]")
        datas.append(prepare_task_data(train, dev, shared_data))
    return StageData(datas)


def _encoder_weights(folder: Path) -> dict:
    """Every tensor of a saved encoder, single-file or sharded."""
    weights = {}
    for shard in sorted(folder.glob("*.safetensors")):
        weights.update(load_file(shard))
    return weights


def _weights(run_dir: Path) -> dict:
    model = run_dir / "model"
    return {**load_file(model / "heads.safetensors"), **_encoder_weights(model / "encoder")}


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert (wa[key] == wb[key]).all(), key


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, shared_data, tiny_model_dir):
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    events = []
    result = Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir,
                     progress=lambda e, i: events.append((e, i))).run(str(tiny_model_dir))
    return run_dir, result, events


def test_training_reduces_loss_selects_best_and_finishes(uninterrupted):
    run_dir, result, events = uninterrupted
    assert result.steps == 6
    assert [h["step"] for h in result.history] == [3, 6]
    assert result.selected == "best"
    assert result.best_dev == max(h["score"] for h in result.history)
    assert (run_dir / "model" / "heads.json").is_file()
    assert not (run_dir / "checkpoint").exists()  # training state is dropped once finished
    assert json.loads((run_dir / RESULT_FILE).read_text())["steps"] == 6
    losses = [i["loss"] for e, i in events if e == "step"]
    assert len(losses) == 6 and all(0 < loss < 10 for loss in losses)


def test_training_changes_the_encoder(uninterrupted, tiny_model_dir):
    run_dir, _, _ = uninterrupted
    before = _encoder_weights(tiny_model_dir)
    after = _encoder_weights(run_dir / "model" / "encoder")
    changed = [k for k in before if k in after and not (before[k] == after[k]).all()]
    assert len(changed) > len(before) // 2


def test_finished_run_is_not_retrained(uninterrupted, shared_data, tiny_model_dir):
    run_dir, result, _ = uninterrupted
    events = []
    again = Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir,
                    progress=lambda e, i: events.append(e)).run(str(tiny_model_dir))
    assert again == result
    assert "step" not in events


class _Crash(Exception):
    pass


def test_resume_after_crash_gives_identical_weights_and_metrics(uninterrupted, tmp_path, shared_data, tiny_model_dir):
    reference_dir, reference, _ = uninterrupted
    run_dir = tmp_path / "crashed"

    def crash_at_step_5(event, info):
        if event == "step" and info["step"] == 5:
            raise _Crash()

    with pytest.raises(_Crash):
        Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir, progress=crash_at_step_5).run(str(tiny_model_dir))
    assert (run_dir / "checkpoint" / "training_state.pt").is_file()
    assert not (run_dir / RESULT_FILE).exists()

    events = []
    result = Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir,
                     progress=lambda e, i: events.append((e, i))).run(str(tiny_model_dir))
    assert ("resume", {"step": 4}) in events
    assert result.history == reference.history
    assert result.best_dev == reference.best_dev
    _assert_same_weights(reference_dir, run_dir)


def _crash_at_step_5(shared_data, tiny_model_dir, run_dir):
    def crash(event, info):
        if event == "step" and info["step"] == 5:
            raise _Crash()

    with pytest.raises(_Crash):
        Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir, progress=crash).run(str(tiny_model_dir))


def _truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def test_truncated_training_state_is_set_aside_and_the_run_restarts(uninterrupted, tmp_path, shared_data,
                                                                     tiny_model_dir):
    reference_dir, reference, _ = uninterrupted
    run_dir = tmp_path / "torn-state"
    _crash_at_step_5(shared_data, tiny_model_dir, run_dir)
    _truncate(run_dir / "checkpoint" / "training_state.pt")

    events = []
    result = Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir,
                     progress=lambda e, i: events.append((e, i))).run(str(tiny_model_dir))
    warnings = [i["message"] for e, i in events if e == "warning"]
    assert len(warnings) == 1 and "training_state.pt" in warnings[0]
    assert not [i for e, i in events if e == "resume"]  # no good checkpoint left: from the start
    aside = list(run_dir.glob("checkpoint.bad-*"))
    assert len(aside) == 1 and (aside[0] / "training_state.pt").is_file()  # kept, not deleted
    assert result.history == reference.history
    _assert_same_weights(reference_dir, run_dir)


def test_truncated_encoder_weights_fall_back_to_the_previous_checkpoint(uninterrupted, tmp_path, shared_data,
                                                                         tiny_model_dir):
    import shutil

    reference_dir, reference, _ = uninterrupted
    run_dir = tmp_path / "torn-weights"
    _crash_at_step_5(shared_data, tiny_model_dir, run_dir)
    # A kill between the checkpoint swap's two renames leaves the previous one as checkpoint.old.
    shutil.copytree(run_dir / "checkpoint", run_dir / "checkpoint.old")
    _truncate(run_dir / "checkpoint" / "model" / "encoder" / "encoder.safetensors")

    events = []
    result = Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir,
                     progress=lambda e, i: events.append((e, i))).run(str(tiny_model_dir))
    assert any("encoder.safetensors" in i["message"] for e, i in events if e == "warning")
    assert ("resume", {"step": 4}) in events
    assert result.history == reference.history
    _assert_same_weights(reference_dir, run_dir)


def test_a_failed_start_does_not_lock_the_run_directory(tmp_path, shared_data, tiny_model_dir):
    from xstilts.errors import XstiltsError

    run_dir = tmp_path / "retry"
    identity = {"model": "/no/such/model"}
    with pytest.raises(XstiltsError):
        Trainer(_stage(shared_data), TrainConfig(**{**CONFIG, "max_steps": 1}), run_dir).run("/no/such/model", identity)
    result = Trainer(_stage(shared_data), TrainConfig(**{**CONFIG, "max_steps": 1}), run_dir).run(
        str(tiny_model_dir), {"model": str(tiny_model_dir)})
    assert result.steps == 1


def test_multitask_stage_trains_both_heads(tmp_path, shared_data, tiny_model_dir):
    config = TrainConfig(**{**CONFIG, "max_steps": 4, "eval_every": 4})
    result = Trainer(_stage(shared_data, ("panx", "xnli")), config, tmp_path / "mt").run(str(tiny_model_dir))
    heads = json.loads((tmp_path / "mt" / "model" / "heads.json").read_text())["heads"]
    assert set(heads) == {"panx", "nli"}
    assert set(result.history[-1]["per_task"]) == {"panx:en", "xnli:en"}


def test_mixed_stage_keeps_the_dev_score_of_each_language(tmp_path, shared_data, tiny_model_dir):
    tasks = [prepare_task_data(DataSelection("xnli", lang, "dev", "[:16]"), DataSelection("xnli", lang, "dev", "[2400:]"),
                               shared_data) for lang in ("en", "de")]
    config = TrainConfig(**{**CONFIG, "max_steps": 2, "eval_every": 2})
    result = Trainer(StageData(tasks), config, tmp_path / "mixed").run(str(tiny_model_dir))
    per_task = result.history[-1]["per_task"]
    assert set(per_task) == {"xnli:en", "xnli:de"}
    assert result.history[-1]["score"] == pytest.approx(sum(per_task.values()) / 2)


@pytest.mark.parametrize("carry_head", [False, True])
def test_target_fine_tuning_starts_from_a_fresh_head_unless_carried(uninterrupted, tmp_path, shared_data, carry_head):
    """jiant's X-STILTs: the target task gets a new head; carry_head keeps the intermediate one."""
    parent_dir, _, _ = uninterrupted
    data = prepare_task_data(DataSelection("panx", "en", "train", "[:8]"), None, shared_data)
    config = TrainConfig(**{**CONFIG, "max_steps": 1, "learning_rate": 1e-12, "weight_decay": 0.0,
                            "carry_head": carry_head})
    result = Trainer(StageData([data], target=True), config, tmp_path / "target").run(str(parent_dir / "model"))
    before = load_file(parent_dir / "model" / "heads.safetensors")
    after = load_file(tmp_path / "target" / "model" / "heads.safetensors")
    same = all(abs(before[key] - after[key]).max() < 1e-6 for key in before)
    assert same is carry_head
    assert result.numerics["device"] == "cpu" and result.numerics["torch_threads"] >= 1
    assert {"torch", "transformers", "accelerate", "mixed_precision", "group_by_length"} <= set(result.numerics)


_KILL_SCRIPT = """
import sys
from pathlib import Path
from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer
data, model, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = TrainConfig(**{config!r})
stage = StageData([prepare_task_data(DataSelection("panx", "en", "train", "[:48]"),
                                     DataSelection("panx", "en", "dev", "[:24]"), data)])
Trainer(stage, config, out).run(model)
"""


@pytest.mark.slow
@pytest.mark.ci
def test_kill_9_and_rerun_matches_uninterrupted(uninterrupted, tmp_path, shared_data, tiny_model_dir):
    reference_dir, reference, _ = uninterrupted
    run_dir = tmp_path / "killed"
    script = _KILL_SCRIPT.format(config=CONFIG)
    args = [sys.executable, "-c", script, str(shared_data), str(tiny_model_dir), str(run_dir)]
    process = subprocess.Popen(args)
    deadline = time.time() + 240
    while not (run_dir / "checkpoint" / "training_state.pt").exists() and time.time() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    subprocess.run(args, check=True)
    result = json.loads((run_dir / RESULT_FILE).read_text())
    assert result["history"] == reference.history
    _assert_same_weights(reference_dir, run_dir)
