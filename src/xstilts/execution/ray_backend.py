"""The Ray executor: the same plan on a Ray cluster (or a local Ray instance).

Every node becomes a Ray task, started when what it reads is finished; GPUs are Ray resources
(``gpus_per_node``), and the study directory must be a path every Ray node sees (a shared
file system), since checkpoints and models live there.

A local Ray instance started here runs its workers at normal priority (Ray's default is nice 15,
which starves them on a busy machine; set RAY_worker_niceness yourself to choose), keeps token
authentication on without its notice on every run, and keeps its session files in a private
temporary folder removed at shutdown (folders of runs that were killed are removed next time).

Threads: a task sets its torch threads on the Ray node that runs it, from the CPUs Ray assigned
it (``cpus_per_node``; ``XSTILTS_TORCH_THREADS`` still wins), not from the driver's machine.

Failures: a node's own exception (a bad file, a wrong setting: deterministic) is never retried;
the node fails with it and a re-run resumes. A lost worker or Ray node (killed, out of memory,
crashed) is retried ``LOST_WORKER_RETRIES`` times by Ray, resuming from the node's checkpoints;
after that the node fails with a WorkerDiedError saying so, and the other nodes go on.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, WorkerDiedError, one_line
from xstilts.execution.portable_errors import call_portably

LOST_WORKER_RETRIES = 2


class RayBackend:
    def __init__(self, address: str | None = None, cpus_per_node: float = 1, num_cpus: int | None = None):
        if address is None:
            # A local instance talks over loopback only (Ray otherwise binds the machine's network
            # address); read by Ray when it is imported.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError:
            raise ConfigError("the Ray executor needs Ray: pip install 'xstilts[ray]'") from None
        self.ray = ray
        self.temp_dir: Path | None = None
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if address is None:
                os.environ.setdefault("RAY_worker_niceness", "0")
                # Token authentication stays on (Ray's default); only its notice on every run goes.
                logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
                self.temp_dir = _private_temp_dir()
                options["_temp_dir"] = str(self.temp_dir)
                if num_cpus is not None:
                    options["num_cpus"] = num_cpus
            try:
                ray.init(**options)
            except Exception as error:  # Ray's own start-up errors are long and internal
                raise ConfigError(f"--executor ray: could not {'reach ' + address if address else 'start a local Ray'}"
                                  f" ({type(error).__name__}: {str(error).strip().splitlines()[0][:200]})") from None
        self.cpus_per_node = cpus_per_node
        self._call: Any = None

    def submit(self, function: Callable[..., Any], *args: Any, gpus: float = 0) -> Any:
        if self._call is None:
            # max_retries counts lost workers only; retry_exceptions=False: an exception the node
            # raised is reported as it is (a re-run of the study resumes the node).
            self._call = self.ray.remote(max_retries=LOST_WORKER_RETRIES, retry_exceptions=False)(call_in_ray_worker)
        # The task's name is the node function's: Ray's worker shows it as "ray::run_train_node".
        return self._call.options(num_cpus=self.cpus_per_node, num_gpus=gpus,
                                  name=function.__name__).remote(function, *args)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        return ready

    def result(self, handle: Any) -> Any:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(handle)
        except exceptions.RayTaskError as error:
            # The node's own exception, as raised in the worker (not Ray's wrapper around it).
            raise (error.cause if isinstance(error.cause, BaseException) else error.as_instanceof_cause()) from None
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError, exceptions.OutOfMemoryError,
                exceptions.LocalRayletDiedError, exceptions.ObjectLostError) as error:
            raise WorkerDiedError(f"Ray lost the worker running this node (retried up to {LOST_WORKER_RETRIES} "
                                  f"times; {type(error).__name__}: {one_line(error)[:300]})") from None

    def shutdown(self) -> None:
        self.ray.shutdown()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def call_in_ray_worker(function: Callable[..., Any], *args: Any) -> Any:
    """Runs on the Ray node: torch threads from the CPUs Ray gave this task, then the node."""
    import ray

    from xstilts.threads import CpuBudget, apply_threads, choose_threads

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    if cpus:
        apply_threads(choose_threads(1, budget=CpuBudget(float(cpus), f"Ray assigned {float(cpus):g} CPUs")))
    return call_portably(function, *args)


_TEMP_PREFIX = "xstilts-ray-"


def _private_temp_dir() -> Path:
    """A short per-process folder (Ray's socket paths must stay under ~100 characters)."""
    root = Path(tempfile.gettempdir())
    for stale in root.glob(f"{_TEMP_PREFIX}*"):
        pid = stale.name[len(_TEMP_PREFIX):]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = root / f"{_TEMP_PREFIX}{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
