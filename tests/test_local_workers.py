"""The local executor's workers: a call that kills its worker (SIGSEGV, SIGKILL, ``os._exit``) fails
only that call, naming the signal or exit code; the call running beside it finishes in its own
worker, untouched; the dead worker is replaced for the next call. No timing: the calls that must
still be running wait for a file the test creates."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from xstilts.errors import DataFormatError, WorkerDiedError, WorkerError
from xstilts.execution.local import LocalBackend, death_message


def _double(value: int) -> int:
    return value * 2


def _wait_for(path: str, value: str) -> tuple[str, int]:
    """Returns once ``path`` exists: (value, this worker's pid)."""
    while not os.path.exists(path):
        time.sleep(0.02)
    return value, os.getpid()


def _segfault() -> None:
    import ctypes

    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _exit_now(code: int) -> None:
    os._exit(code)


def _write_pid_and_wait(path: str) -> None:
    Path(path + ".tmp").write_text(str(os.getpid()))
    os.replace(path + ".tmp", path)
    while True:
        time.sleep(0.05)


def _raise_data_error() -> None:
    raise DataFormatError("tydiqa/tydiqa.goldp.en.dev.json", None, "every gold answer text is empty")


class _TwoArguments(Exception):
    def __init__(self, left: str, right: str):
        super().__init__(f"{left} and {right}")


def _raise_unpicklable() -> None:
    raise _TwoArguments("left", "right")


def _return_unpicklable():
    return lambda: None  # a lambda cannot be pickled back


def _finish(backend: LocalBackend, handle):
    while not backend.wait([handle], timeout=60):
        pass
    return handle


@pytest.fixture
def backend():
    created = LocalBackend(workers=2)
    yield created
    created.abort()


@pytest.mark.parametrize("crash, message", [
    ((_segfault,), "worker killed by SIGSEGV (signal 11) while running this node"),
    ((_exit_now, 3), "worker exited with code 3 while running this node"),
])
def test_a_crashing_call_fails_alone_and_its_neighbour_finishes(backend, tmp_path, crash, message):
    release = tmp_path / "release"
    neighbour = backend.submit(_wait_for, str(release), "neighbour")
    crashed = _finish(backend, backend.submit(*crash))
    with pytest.raises(WorkerDiedError) as raised:
        backend.result(crashed)
    assert str(raised.value) == message
    assert not neighbour.done  # still running in its own worker
    release.touch()
    value, neighbour_pid = backend.result(_finish(backend, neighbour))
    assert value == "neighbour" and neighbour_pid in backend.worker_pids()
    # The dead worker was replaced: the next calls run (the neighbour's worker is reused).
    assert backend.result(_finish(backend, backend.submit(_double, 21))) == 42
    assert backend.result(_finish(backend, backend.submit(_double, 5))) == 10
    assert len(backend.worker_pids()) <= 2


def test_a_worker_killed_from_outside_names_sigkill(backend, tmp_path):
    pid_file = tmp_path / "pid"
    release = tmp_path / "release"
    neighbour = backend.submit(_wait_for, str(release), "neighbour")
    victim = backend.submit(_write_pid_and_wait, str(pid_file))
    while not pid_file.exists():
        backend.wait([victim], timeout=0.1)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    with pytest.raises(WorkerDiedError, match=r"^worker killed by SIGKILL \(signal 9\) while running this node"):
        backend.result(_finish(backend, victim))
    release.touch()
    assert backend.result(_finish(backend, neighbour))[0] == "neighbour"


def test_exceptions_come_back_as_themselves_and_the_worker_lives_on():
    backend = LocalBackend(workers=1)
    try:
        with pytest.raises(DataFormatError) as raised:
            backend.result(_finish(backend, backend.submit(_raise_data_error)))
        assert raised.value.path == "tydiqa/tydiqa.goldp.en.dev.json"
        pid = backend.worker_pids()
        with pytest.raises(WorkerError, match="left and right") as foreign:
            backend.result(_finish(backend, backend.submit(_raise_unpicklable)))
        assert foreign.value.type_name == "_TwoArguments"
        with pytest.raises(WorkerError, match="^the node's result could not be sent back: .*pickle"):
            backend.result(_finish(backend, backend.submit(_return_unpicklable)))
        assert backend.worker_pids() == pid  # none of these cost the worker
        assert backend.result(_finish(backend, backend.submit(_double, 4))) == 8
    finally:
        backend.shutdown()
    assert backend.worker_pids() == []


def test_one_worker_survives_its_own_death(tmp_path):
    backend = LocalBackend(workers=1)
    try:
        with pytest.raises(WorkerDiedError, match="code 9"):
            backend.result(_finish(backend, backend.submit(_exit_now, 9)))
        assert backend.result(_finish(backend, backend.submit(_double, 1))) == 2
    finally:
        backend.shutdown()


def test_death_messages_name_the_signal_or_the_exit_code():
    assert death_message(-9) == ("worker killed by SIGKILL (signal 9) while running this node; "
                                 "if nobody killed it, the system ran out of memory")
    assert death_message(-11) == "worker killed by SIGSEGV (signal 11) while running this node"
    assert death_message(1) == "worker exited with code 1 while running this node"
