"""Prefetched batches and background checkpoints change no result: the same batches as a serial
run, the same weights and metrics after a crash and a resume, and their errors reach the caller."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest
import torch
from safetensors.numpy import load_file

from xstilts.tasks.selection import DataSelection
from xstilts.training import checkpoint
from xstilts.training.checkpoint import CheckpointWriter, find_checkpoint, load_training_state
from xstilts.training.config import TrainConfig
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import RESULT_FILE, Trainer

# grad_accumulation 2: two micro-batches a step, each with its own MLM mask seed.
CONFIG = dict(max_steps=6, batch_size=8, grad_accumulation=2, learning_rate=5e-4, max_length=32, eval_every=3,
              checkpoint_every=2, seed=3, warmup_ratio=0.2)
THREADS = ("xstilts-prefetch", "xstilts-checkpoint-writer")

# panx + xnli: vocabulary trimming on (checkpoints link the original embeddings), both packed.
# xnli + mlm: trimming off (whole checkpoint weights captured), masks drawn per micro-batch.
STAGES = {"trimmed": ("panx", "xnli"), "mlm": ("xnli", "mlm")}


def _stage(shared_data: Path, tasks) -> StageData:
    corpus = (str(shared_data / "tatoeba/tatoeba.deu-eng.deu"), str(shared_data / "tatoeba/tatoeba.swh-eng.swh"))
    selections = {
        "panx": (DataSelection("panx", "en", "train", "[:48]"), DataSelection("panx", "en", "dev", "[:24]")),
        "xnli": (DataSelection("xnli", "en", "dev", "[:48]"), DataSelection("xnli", "en", "dev", "[2400:]")),
        "mlm": (DataSelection("mlm", "multi", "train", "[:120]", corpus),
                DataSelection("mlm", "multi", "train", "[-24:]", corpus)),
    }
    return StageData([prepare_task_data(*selections[task], shared_data) for task in tasks], sampling="uniform")


def _weights(run_dir: Path) -> dict:
    model = run_dir / "model"
    weights = dict(load_file(model / "heads.safetensors"))
    for shard in sorted((model / "encoder").glob("*.safetensors")):
        weights.update(load_file(shard))
    return weights


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert (wa[key] == wb[key]).all(), key


def _run(shared_data, model, run_dir, tasks, overlap: bool, progress=None, record=None):
    """Train; ``record`` (a list) receives every step's prepared micro-batches and its position."""
    trainer = Trainer(_stage(shared_data, tasks), TrainConfig(**CONFIG), run_dir, progress=progress,
                      prefetch=overlap, background_checkpoints=overlap)
    if record is not None:
        step_once = trainer._optimizer_step

        def recording(model, optimizer, scheduler, accelerator, task, prepared):
            record.append(prepared)
            return step_once(model, optimizer, scheduler, accelerator, task, prepared)

        trainer._optimizer_step = recording
    return trainer.run(str(model))


def _no_thread_left() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith(THREADS)]


@pytest.fixture(scope="module", params=list(STAGES))
def serial(request, tmp_path_factory, shared_data, tiny_model_dir):
    """The reference: no prefetch, checkpoints written in the step loop."""
    run_dir = tmp_path_factory.mktemp(f"serial-{request.param}")
    record: list = []
    result = _run(shared_data, tiny_model_dir, run_dir, STAGES[request.param], overlap=False, record=record)
    return request.param, run_dir, result, record


def test_prefetch_gives_the_batches_weights_and_metrics_of_a_serial_run(serial, tmp_path, shared_data,
                                                                         tiny_model_dir):
    name, serial_dir, reference, serial_batches = serial
    record: list = []
    result = _run(shared_data, tiny_model_dir, tmp_path / "overlap", STAGES[name], overlap=True, record=record)
    assert _no_thread_left()
    assert [p.step for p in record] == [p.step for p in serial_batches] == list(range(6))
    assert len({p.task for p in record}) > 1  # both tasks trained
    for ours, theirs in zip(record, serial_batches):
        assert (ours.task, ours.rows, ours.data_position) == (theirs.task, theirs.rows, theirs.data_position)
        assert len(ours.micro_batches) == len(theirs.micro_batches) == 2
        for (a, rows_a), (b, rows_b) in zip(ours.micro_batches, theirs.micro_batches):
            assert rows_a == rows_b and a.keys() == b.keys()
            assert all(torch.equal(a[key], b[key]) for key in a), ours.step
    assert result.history == reference.history and result.best_dev == reference.best_dev
    assert result.packing == reference.packing and result.packing["packed"]
    assert result.vocabulary["trimmed"] is (name == "trimmed")
    _assert_same_weights(serial_dir, tmp_path / "overlap")


class _Crash(Exception):
    pass


def test_a_crash_with_a_checkpoint_in_flight_resumes_to_the_serial_weights(serial, tmp_path, shared_data,
                                                                           tiny_model_dir):
    name, serial_dir, reference, _ = serial
    run_dir = tmp_path / "crashed"
    recorded: dict = {}

    def crash_at_step_5(event, info):
        if event == "step" and info["step"] == 5:
            # The checkpoint of step 4 may still be being written now; step 6 is being prefetched.
            raise _Crash()

    with pytest.raises(_Crash):
        _run(shared_data, tiny_model_dir, run_dir, STAGES[name], overlap=True, progress=crash_at_step_5)
    assert _no_thread_left()
    found = find_checkpoint(run_dir)  # written completely before the crash left run()
    state = load_training_state(found)
    # The position of the 4 steps trained, not that of the 5th or of the prefetched 6th.
    recorded["position"] = {k: state["progress"][k] for k in ("step", "epochs", "batch_in_epoch")}
    assert recorded["position"]["step"] == 4

    events = []
    result = _run(shared_data, tiny_model_dir, run_dir, STAGES[name], overlap=True,
                  progress=lambda e, i: events.append((e, i)))
    assert ("resume", {"step": 4}) in events
    assert result.history == reference.history and result.best_dev == reference.best_dev
    assert not (run_dir / "checkpoint").exists() and (run_dir / RESULT_FILE).is_file()
    _assert_same_weights(serial_dir, run_dir)


def test_a_failed_background_write_is_raised_by_the_run(monkeypatch, tmp_path, shared_data, tiny_model_dir):
    def full_disk(folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    monkeypatch.setattr(checkpoint, "write_manifest", full_disk)
    run_dir = tmp_path / "full"
    with pytest.raises(OSError) as failure:
        _run(shared_data, tiny_model_dir, run_dir, ("panx",), overlap=True)
    assert failure.value.errno == errno.ENOSPC and "No space left on device" in str(failure.value)
    assert _no_thread_left()
    assert not (run_dir / RESULT_FILE).exists() and not (run_dir / "checkpoint.new").exists()


def test_a_failed_write_does_not_hide_the_error_that_stopped_the_run(monkeypatch, tmp_path, shared_data,
                                                                    tiny_model_dir):
    def full_disk(folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    def crash_at_step_3(event, info):
        if event == "step" and info["step"] == 3:
            raise _Crash("stopped")

    monkeypatch.setattr(checkpoint, "write_manifest", full_disk)
    with pytest.raises(_Crash) as failure:
        _run(shared_data, tiny_model_dir, tmp_path / "both", ("panx",), overlap=True, progress=crash_at_step_3)
    assert any("No space left on device" in note for note in failure.value.__notes__)
    assert _no_thread_left()


def test_the_writer_raises_the_error_of_its_write_at_the_next_submit_or_wait(tmp_path):
    class Broken(Exception):
        pass

    broken = Broken("disk went away")

    def failing(folder):
        raise broken

    writer = CheckpointWriter(background=True)
    writer.submit(tmp_path, failing, {"progress": {}})
    with pytest.raises(Broken) as raised:
        writer.wait()
    assert raised.value is broken
    writer.wait()  # raised once, not again
    writer.submit(tmp_path, failing, {"progress": {}})
    with pytest.raises(Broken):
        writer.submit(tmp_path, lambda folder: None, {"progress": {}})
    assert not (tmp_path / "checkpoint.new").exists() and not (tmp_path / "checkpoint").exists()


def test_an_error_in_the_prefetch_thread_reaches_the_run_with_its_message(monkeypatch, tmp_path, shared_data,
                                                                          tiny_model_dir):
    prepare = Trainer._prepare_step
    threads = []

    def failing(self, step, *args):
        threads.append(threading.current_thread().name)
        if step == 2:  # made while step 1 trains; the checkpoint of step 2 follows it
            raise ValueError("row 17 of the training features is unreadable")
        return prepare(self, step, *args)

    monkeypatch.setattr(Trainer, "_prepare_step", failing)
    run_dir = tmp_path / "bad-rows"
    with pytest.raises(ValueError, match="row 17 of the training features is unreadable"):
        _run(shared_data, tiny_model_dir, run_dir, ("panx",), overlap=True)
    assert threads[0] == threading.current_thread().name and threads[-1].startswith("xstilts-prefetch")
    assert _no_thread_left()
    # The checkpoint of step 2 was finished before the error left the run.
    assert load_training_state(find_checkpoint(run_dir))["progress"]["step"] == 2


def test_early_stopping_leaves_no_thread(tmp_path, shared_data, tiny_model_dir):
    config = TrainConfig(**{**CONFIG, "max_steps": 12, "eval_every": 1, "early_stopping_patience": 1,
                            "learning_rate": 1e-12})
    result = Trainer(_stage(shared_data, ("panx",)), config, tmp_path / "early", prefetch=True,
                     background_checkpoints=True).run(str(tiny_model_dir))
    assert result.stopped_early and result.steps < 12
    assert _no_thread_left()
