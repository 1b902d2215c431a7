"""The claim protocol that lets several `xstilts run` processes share a study's nodes: one holder
per node, a dead holder (pid gone on its machine, or lease not renewed) taken over by exactly one
of its takers, failures kept from the processes that were running beside them."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from xstilts.errors import ConfigError
from xstilts.execution.claims import LEASE_ENV, Claims, Holder, lease_seconds

NODE = "0123456789abcdef"


def _dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout)


def _claims(tmp_path: Path, holder: Holder | None = None, lease: float = 60) -> Claims:
    return Claims(tmp_path, lease=lease, holder=holder or replace(Holder.this_process()))


def _elsewhere(holder: Holder) -> Holder:
    """The same process seen as one on another machine (its pid means nothing here)."""
    return replace(holder, machine="other-host/boot/1", host="other-host")


def _files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "claims" / NODE).iterdir())


def _age(tmp_path: Path, seconds: float) -> None:
    for path in (tmp_path / "claims" / NODE).iterdir():
        stamp = time.time() - seconds
        os.utime(path, (stamp, stamp))


def test_one_holder_at_a_time_and_a_finished_node_leaves_no_claim(tmp_path):
    first, second = _claims(tmp_path), _claims(tmp_path)
    assert first.claim(NODE) is None
    assert first.claim(NODE) is None  # its own claim
    blocker = second.claim(NODE)
    assert blocker is not None and blocker.state == "held" and blocker.holder.token == first.me.token
    assert blocker.holder.name == f"{first.me.host}:{os.getpid()}"
    first.release(NODE)
    assert not (tmp_path / "claims" / NODE).exists()
    assert second.claim(NODE) is None


def test_a_holder_whose_pid_is_gone_is_taken_over(tmp_path):
    dead = replace(Holder.this_process(), pid=_dead_pid(), pid_started=None)
    assert _claims(tmp_path, dead).claim(NODE) is None
    taker = _claims(tmp_path)
    assert taker.claim(NODE) is None
    assert _files(tmp_path) == ["000001.json"]  # the next generation; the dead one's file is gone


def test_a_reused_pid_or_a_zombie_is_not_the_holder(tmp_path):
    reused = replace(Holder.this_process(), pid_started="1")  # this pid, but started at another time
    assert _claims(tmp_path, reused).claim(NODE) is None
    assert _claims(tmp_path).claim(NODE) is None

    other = tmp_path / "zombie"
    process = subprocess.Popen(["sleep", "60"])
    try:
        zombie = replace(Holder.this_process(), pid=process.pid,
                         pid_started=Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        assert _claims(other, zombie).claim(NODE) is None
        assert _claims(other).claim(NODE) is not None  # alive: held
        process.kill()
        time.sleep(0.2)  # killed but not reaped: a zombie
        assert _claims(other).claim(NODE) is None
    finally:
        process.wait()


def test_a_holder_on_another_machine_lives_by_its_lease(tmp_path):
    remote = _claims(tmp_path, _elsewhere(Holder.this_process()), lease=30)
    assert remote.claim(NODE) is None
    local = _claims(tmp_path, lease=30)
    assert local.claim(NODE).holder.host == "other-host"  # its pid is not looked at here
    _age(tmp_path, 25)
    assert local.claim(NODE) is not None  # within the lease
    _age(tmp_path, 40)
    remote.renew()  # the heartbeat: touched again
    assert local.claim(NODE) is not None
    _age(tmp_path, 40)
    assert local.claim(NODE) is None  # not renewed for longer than the lease: taken over
    remote.renew()
    assert remote.lost == {NODE}  # the stalled holder learns it at its next beat
    remote.release(NODE)  # and leaves the new holder's claim alone
    assert _claims(tmp_path).claim(NODE).holder.token == local.me.token


def test_the_heartbeat_thread_renews_held_claims(tmp_path):
    remote = _claims(tmp_path, _elsewhere(Holder.this_process()), lease=0.6)
    assert remote.claim(NODE) is None
    remote.start()
    try:
        time.sleep(1.5)  # over two leases: alive only because it beats every lease / 6
        assert _claims(tmp_path, lease=0.6).claim(NODE) is not None
    finally:
        remote._stop.set()
    time.sleep(1.5)
    assert _claims(tmp_path, lease=0.6).claim(NODE) is None


def _take(root: str, start: float, results) -> None:
    while time.time() < start:
        pass
    claims = Claims(root, lease=60)
    results.put(claims.claim(NODE) is None)
    time.sleep(0.5)  # stay alive while the others look: the winner's claim must read as live


@pytest.mark.parametrize("round_", range(5))
def test_of_many_takers_of_a_dead_claim_exactly_one_wins(tmp_path, round_):
    dead = replace(Holder.this_process(), pid=_dead_pid(), pid_started=None)
    assert _claims(tmp_path, dead).claim(NODE) is None
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 0.5
    takers = [context.Process(target=_take, args=(str(tmp_path), start, results)) for _ in range(6)]
    for taker in takers:
        taker.start()
    won = [results.get(timeout=30) for _ in takers]
    for taker in takers:
        taker.join()
    assert sum(won) == 1


def test_many_threads_claiming_a_free_node_one_wins(tmp_path):
    barrier = threading.Barrier(8)
    won = []

    def take() -> None:
        claims = _claims(tmp_path)
        barrier.wait()
        won.append(claims.claim(NODE) is None)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(won) == 1


def test_a_failure_is_final_for_the_runs_beside_it_and_retried_by_a_later_run(tmp_path):
    beside = _claims(tmp_path)  # running when the failure happens
    failing = _claims(tmp_path)
    assert failing.claim(NODE) is None
    failing.release(NODE, error="WorkerDiedError: worker killed by SIGKILL (signal 9)")
    blocker = beside.claim(NODE)
    assert blocker.state == "failed" and blocker.error.startswith("WorkerDiedError")
    later = _claims(tmp_path)  # a re-run, started after the failure
    assert later.claim(NODE) is None
    assert _files(tmp_path) == ["000001.json"]


def test_close_gives_up_what_is_still_held(tmp_path):
    holder = _claims(tmp_path)
    holder.start()
    assert holder.claim(NODE) is None
    holder.close()
    assert _claims(tmp_path).claim(NODE) is None


def test_the_lease_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(LEASE_ENV, raising=False)
    assert lease_seconds() == 180
    monkeypatch.setenv(LEASE_ENV, "45")
    assert lease_seconds() == 45
    monkeypatch.setenv(LEASE_ENV, "soon")
    with pytest.raises(ConfigError, match=r"^\$XSTILTS_CLAIM_LEASE: expected a number of seconds above 0, got 'soon'"):
        lease_seconds()
