"""The Ray executor's failures: a node's own exception (deterministic) comes back as itself and is
never retried; a lost worker is retried, resuming the node, and a node that keeps killing its
worker fails alone with a WorkerDiedError while its neighbour finishes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xstilts.errors import DataFormatError, WorkerDiedError

pytestmark = pytest.mark.slow


def _count_attempt(folder: str) -> int:
    """Leaves one file per attempt in ``folder``; returns how many attempts there were."""
    Path(folder, f"attempt-{os.getpid()}-{len(os.listdir(folder))}").touch()
    return len(os.listdir(folder))


def _data_error(folder: str) -> None:
    _count_attempt(folder)
    raise DataFormatError("tydiqa/tydiqa.goldp.en.dev.json", None, "every gold answer text is empty")


def _die_on_first_attempt(folder: str) -> str:
    if _count_attempt(folder) == 1:
        os._exit(7)  # a lost worker: Ray starts the task again
    return "resumed"


def _segfault(folder: str) -> None:
    import ctypes

    _count_attempt(folder)
    ctypes.string_at(0)


def _wait_for(path: str) -> str:
    import time

    while not os.path.exists(path):
        time.sleep(0.05)
    return "neighbour"


@pytest.fixture(scope="module")
def backend():
    ray = pytest.importorskip("ray")
    import sys

    from xstilts.execution.ray_backend import RayBackend

    # Ray's workers cannot import this test module: its functions travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

    created = RayBackend(num_cpus=2)
    yield created
    created.shutdown()


def _finish(backend, handle):
    while not backend.wait([handle], timeout=60):
        pass
    return handle


def test_a_node_error_comes_back_as_itself_and_is_not_retried(backend, tmp_path):
    with pytest.raises(DataFormatError) as raised:
        backend.result(_finish(backend, backend.submit(_data_error, str(tmp_path))))
    assert str(raised.value) == "tydiqa/tydiqa.goldp.en.dev.json: every gold answer text is empty"
    assert type(raised.value) is DataFormatError
    assert len(os.listdir(tmp_path)) == 1


def test_a_lost_worker_is_retried(backend, tmp_path):
    assert backend.result(_finish(backend, backend.submit(_die_on_first_attempt, str(tmp_path)))) == "resumed"
    assert len(os.listdir(tmp_path)) == 2


def test_a_node_that_keeps_crashing_its_worker_fails_alone(backend, tmp_path):
    from xstilts.execution.ray_backend import LOST_WORKER_RETRIES

    release = tmp_path / "release"
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    neighbour = backend.submit(_wait_for, str(release))
    with pytest.raises(WorkerDiedError, match="^Ray lost the worker running this node"):
        backend.result(_finish(backend, backend.submit(_segfault, str(attempts))))
    assert len(os.listdir(attempts)) == LOST_WORKER_RETRIES + 1
    release.touch()
    assert backend.result(_finish(backend, neighbour)) == "neighbour"


def _threads_record() -> dict:
    from xstilts.threads import threads_record

    return threads_record()


def test_a_node_takes_its_threads_from_the_cpus_ray_assigned_it(backend, monkeypatch):
    monkeypatch.delenv("XSTILTS_TORCH_THREADS", raising=False)
    record = backend.result(_finish(backend, backend.submit(_threads_record)))
    assert record == {"torch_threads": 1, "threads_from": "Ray assigned 1 CPUs / 1 worker"}  # cpus_per_node = 1
