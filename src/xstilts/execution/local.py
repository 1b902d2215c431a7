"""The embedded executor: N worker processes on this machine (several per GPU if asked).

Each worker is its own process with its own pipe, running one node at a time, so the study
process always knows which node a worker runs. A worker that dies (a signal, an OOM kill, a
segfault, ``os._exit``) fails only that node, with the signal or exit code named, and is
replaced when work is next handed out; the other workers and their nodes go on. (A
``ProcessPoolExecutor`` cannot do this: one dead worker, or one result it cannot unpickle,
breaks the whole pool and every node running in it.)

Workers are spawned (not forked: torch and threads do not survive a fork), kept for the next
node (imports are paid once), and each limits its torch threads so that N workers share the
cores instead of fighting over them. A worker whose study process dies (``kill -9``) exits too,
so a re-run never races a leftover worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait as wait_for
from typing import Any

from xstilts.errors import WorkerDiedError, WorkerError, one_line
from xstilts.execution.portable_errors import portable


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


def _serve(connection: Connection, parent_pid: int) -> None:
    """A worker's life: run the calls it is sent, one at a time, and send back each outcome."""
    _exit_with_parent(parent_pid)
    while True:
        try:
            call = connection.recv()
        except (EOFError, OSError):  # the study process closed the pipe (or died)
            return
        if call is None:
            return
        function, args = call
        try:
            outcome: tuple[str, Any] = ("value", function(*args))
        except BaseException as error:  # SystemExit too: the node fails, the worker lives on
            outcome = ("error", portable(error))
        try:
            connection.send(outcome)
        except Exception as error:  # a return value that cannot be pickled
            connection.send(("error", WorkerError(type(error).__name__, f"the node's result could not be sent back: "
                                                                        f"{one_line(error)}")))


def death_message(exitcode: int | None) -> str:
    """What ended a worker, for the node it was running (``Process.exitcode``: -N is signal N)."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "an unknown signal"
        text = f"worker killed by {name} (signal {number}) while running this node"
        if number == signal.SIGKILL:
            text += "; if nobody killed it, the system ran out of memory"
        return text
    return f"worker exited with code {exitcode} while running this node"


@dataclass(eq=False)
class LocalTask:
    """A handle on one submitted call: waiting for a worker, running, or finished."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    outcome: tuple[str, Any] | None = None  # ("value", v) or ("error", exception)

    @property
    def done(self) -> bool:
        return self.outcome is not None


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    connection: Connection
    task: LocalTask | None = None


class LocalBackend:
    def __init__(self, workers: int):
        self.size = max(1, workers)
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.queue: list[LocalTask] = []

    # -------------------------------------------------------------- the Backend protocol

    def submit(self, function: Callable[..., Any], *args: Any, gpus: float = 0) -> LocalTask:
        task = LocalTask(function, args)
        self.queue.append(task)
        self._dispatch()
        return task

    def wait(self, handles: list[LocalTask], timeout: float) -> list[LocalTask]:
        deadline = time.monotonic() + timeout
        while True:
            finished = [task for task in handles if task.done]
            left = deadline - time.monotonic()
            if finished or left <= 0:
                return finished
            self._collect(left)
            self._dispatch()

    def result(self, handle: LocalTask) -> Any:
        assert handle.outcome is not None, "result() of a task that has not finished"
        kind, payload = handle.outcome
        if kind == "error":
            raise payload
        return payload

    def shutdown(self) -> None:
        for worker in self.workers:
            try:
                worker.connection.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self.workers = []

    def abort(self) -> None:
        """Stop at once (Ctrl-C): running nodes are killed; they resume from their checkpoints."""
        for worker in self.workers:
            worker.process.kill()
        for worker in self.workers:
            worker.process.join()
            worker.connection.close()
        self.workers = []

    def worker_pids(self) -> list[int]:
        return [worker.process.pid for worker in self.workers]

    # -------------------------------------------------------------- workers

    def _start_worker(self) -> _Worker:
        parent_end, child_end = self.context.Pipe(duplex=True)
        process = self.context.Process(target=_serve, args=(child_end, os.getpid()), name="xstilts-worker")
        process.start()
        child_end.close()  # the worker holds its own copy: its death closes the pipe
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        return worker

    def _dispatch(self) -> None:
        """Hand queued calls to idle workers, starting workers (first use, or after a death) as needed."""
        while self.queue:
            worker = next((w for w in self.workers if w.task is None), None)
            if worker is None:
                if len(self.workers) >= self.size:
                    return
                worker = self._start_worker()
            task = self.queue[0]
            try:
                worker.connection.send((task.function, task.args))
            except (BrokenPipeError, ConnectionResetError):  # it died while idle: replace it, try again
                self._remove(worker)
                continue
            self.queue.pop(0)
            worker.task = task

    def _collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` for an outcome or a death, and record what happened."""
        busy = [w for w in self.workers if w.task is not None]
        by_connection = {w.connection: w for w in busy}
        by_sentinel = {w.process.sentinel: w for w in self.workers}
        if not by_connection and not by_sentinel:
            time.sleep(min(timeout, 0.05))
            return
        for ready in wait_for([*by_connection, *by_sentinel], timeout=timeout):
            if ready in by_connection:
                self._receive(by_connection[ready])
        for worker in list(self.workers):
            if worker.process.exitcode is not None:
                # An outcome sent just before the end still counts; otherwise the death is the outcome.
                if worker.task is not None and worker.connection.poll():
                    self._receive(worker)
                if worker.task is not None:
                    worker.task.outcome = ("error", WorkerDiedError(death_message(worker.process.exitcode)))
                    worker.task = None
                self._remove(worker)

    def _receive(self, worker: _Worker) -> None:
        task = worker.task
        assert task is not None
        try:
            task.outcome = worker.connection.recv()
        except (EOFError, OSError):
            # The pipe closed: the worker is dying. Its exit code names the cause once it is gone.
            worker.process.join(timeout=5)
            if worker.process.is_alive():  # not dying after all, but unreachable: give up on it
                task.outcome = ("error", WorkerDiedError("worker closed its pipe while running this node"))
                worker.task = None
                worker.process.kill()
            return
        except Exception as error:  # an outcome this process cannot unpickle: that node fails, not the study
            task.outcome = ("error", WorkerError(type(error).__name__,
                                                 f"the node's outcome could not be read back: {one_line(error)}"))
        worker.task = None

    def _remove(self, worker: _Worker) -> None:
        worker.process.join(timeout=1)
        if worker.process.is_alive():  # its pipe broke but it lives on: it cannot be reached any more
            worker.process.kill()
            worker.process.join()
        worker.connection.close()
        self.workers.remove(worker)
