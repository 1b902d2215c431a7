"""A full disk during training: the failed save leaves no half-written model or checkpoint, and
the same run finishes once there is room (a small tmpfs; skipped where it cannot be mounted)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xstilts.training.checkpoint import find_checkpoint
from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import RESULT_FILE, Trainer

CONFIG = dict(max_steps=4, batch_size=8, learning_rate=5e-4, max_length=64, eval_every=2, checkpoint_every=2, seed=3)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=60M", "tmpfs", str(mount)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"cannot mount a tmpfs here ({error})")
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def test_a_save_on_a_full_disk_leaves_no_half_model_and_the_rerun_finishes(small_disk, shared_data, tiny_model_dir):
    stage = StageData([prepare_task_data(DataSelection("panx", "en", "train", "[:32]"),
                                         DataSelection("panx", "en", "dev", "[:16]"), shared_data)])
    run_dir = small_disk / "run"
    # The tiny model (32 MB of embeddings, plus its 17 MB tokenizer) fits once; its checkpoint
    # with optimizer state does not.
    with pytest.raises(OSError) as failure:
        Trainer(stage, TrainConfig(**CONFIG), run_dir).run(str(tiny_model_dir))
    assert "No space left" in str(failure.value) or failure.value.errno == 28
    assert not (run_dir / RESULT_FILE).exists()
    assert not (run_dir / "model").exists()
    leftovers = [p.name for p in run_dir.iterdir() if p.name.endswith((".tmp", ".new")) or ".tmp" in p.name]
    assert leftovers == []
    assert find_checkpoint(run_dir) is None or (find_checkpoint(run_dir) / "manifest.json").is_file()

    subprocess.run(["mount", "-o", "remount,size=1G", str(small_disk)], check=True, timeout=30)
    result = Trainer(stage, TrainConfig(**CONFIG), run_dir).run(str(tiny_model_dir))
    assert result.steps == 4
    assert (run_dir / RESULT_FILE).is_file() and (run_dir / "model" / "heads.json").is_file()
