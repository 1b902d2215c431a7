"""The embedded executor: N worker processes on this machine (several per GPU if asked).

Workers are spawned (not forked: torch and threads do not survive a fork) and each limits its
torch threads so that N workers share the cores instead of fighting over them. A worker whose
study process dies (``kill -9``) exits too, so a re-run never races a leftover worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


def _exit_with_parent(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the study process handles it (and stops the
    # workers); a worker printing its own KeyboardInterrupt traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="xstilts-parent-watch").start()


class LocalBackend:
    def __init__(self, workers: int):
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context,
                                        initializer=_exit_with_parent, initargs=(os.getpid(),))

    def submit(self, function: Callable[..., Any], *args: Any, gpus: float = 0) -> Future:
        return self.pool.submit(function, *args)

    def wait(self, handles: list[Future], timeout: float) -> list[Future]:
        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Future) -> Any:
        return handle.result()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Stop at once (Ctrl-C): running nodes are killed; they resume from their checkpoints."""
        for process in list(getattr(self.pool, "_processes", {}).values()):
            process.kill()
        self.pool.shutdown(wait=False, cancel_futures=True)
