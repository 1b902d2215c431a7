"""The Ray executor: the same plan on a Ray cluster (or a local Ray instance).

Every node becomes a Ray task, started when what it reads is finished; GPUs are Ray resources
(``gpus_per_node``), and the study directory must be a path every Ray node sees (a shared
file system), since checkpoints and models live there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xstilts.errors import ConfigError


class RayBackend:
    def __init__(self, address: str | None = None, cpus_per_node: float = 1, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise ConfigError("the Ray executor needs Ray: pip install 'xstilts[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if address is None and num_cpus is not None:
                options["num_cpus"] = num_cpus
            ray.init(**options)
        self.cpus_per_node = cpus_per_node
        self._remote: dict[Callable[..., Any], Any] = {}

    def submit(self, function: Callable[..., Any], *args: Any, gpus: float = 0) -> Any:
        if function not in self._remote:
            # max_retries=0: a failed node is reported, and a re-run of the study resumes it.
            self._remote[function] = self.ray.remote(max_retries=0)(function)
        return self._remote[function].options(num_cpus=self.cpus_per_node, num_gpus=gpus).remote(*args)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        return ready

    def result(self, handle: Any) -> Any:
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None

    def shutdown(self) -> None:
        self.ray.shutdown()
