"""How many torch threads a worker gets: the CPUs this process may use, split among the workers.

The CPUs a process may use are the fewer of its CPU affinity (``taskset``, a scheduler's
cpuset) and its cgroup's CPU quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us``; a container's ``--cpus``), the quota of every enclosing cgroup included.
Torch does not look at the quota: in a 2-CPU container on a 64-core host it would start 64
threads and be throttled. Neither is the current load looked at: a sample of it is a moment,
and a moment of load at start would pin a whole training to fewer threads for its life. More
threads than the study's share of CPUs make torch's threads spin-wait for each other (measured
by benchmarks/thread_oversubscription.py), so each of N workers gets 1/N of the CPUs, at least 1.
``XSTILTS_TORCH_THREADS=N`` overrides the choice. What was chosen, and from what, is recorded
with every training (``result.json`` ``numerics``: ``torch_threads``, ``threads_from``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OVERRIDE = "XSTILTS_TORCH_THREADS"


@dataclass(frozen=True)
class CpuBudget:
    cpus: float  # may be fractional under a cgroup quota
    source: str  # "affinity 2 CPUs", "cgroup v2 cpu.max 150000/100000 = 1.5 CPUs (affinity 16 CPUs)"


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    source: str  # where the number came from, recorded with each training


def choose_threads(workers: int, environ: Mapping[str, str] | None = None, budget: CpuBudget | None = None) -> ThreadChoice:
    """Torch threads for each of ``workers`` workers sharing this process's CPUs."""
    environ = os.environ if environ is None else environ
    forced = environ.get(OVERRIDE, "").strip()
    if forced.isdigit() and int(forced) > 0:
        return ThreadChoice(int(forced), f"{OVERRIDE}={int(forced)}")
    budget = budget or usable_cpus()
    workers = max(1, workers)
    threads = max(1, math.floor(budget.cpus / workers + 1e-9))
    return ThreadChoice(threads, f"{budget.source} / {workers} worker{'s' if workers > 1 else ''}")


def usable_cpus(root: Path = Path("/"), affinity: set[int] | None = None) -> CpuBudget:
    """The CPUs this process may use: its affinity, lowered by a cgroup quota when there is one.
    ``root`` is where /proc and /sys are found (tests point it at fake files)."""
    if affinity is None:
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = max(1, len(affinity))
    quota = cgroup_cpu_quota(root)
    if quota is not None and quota[0] < cores:
        return CpuBudget(quota[0], f"{quota[1]} (affinity {_count(cores)})")
    return CpuBudget(float(cores), f"affinity {_count(cores)}")


def cgroup_cpu_quota(root: Path = Path("/")) -> tuple[float, str] | None:
    """The tightest CPU quota over this process's cgroup and its ancestors, in CPUs, with the file
    and values it came from; None without a quota (or without cgroups: not Linux, no /proc)."""
    memberships = _read_memberships(root / "proc/self/cgroup")
    mounts = _read_cgroup_mounts(root / "proc/self/mountinfo")
    if memberships is None:
        return None
    found: list[tuple[float, str]] = []
    for version, mount_root, mount_point in mounts or [("2", "/", "/sys/fs/cgroup")]:
        path = memberships.get("2" if version == "2" else "cpu")
        if path is None:
            continue
        for directory in _cgroup_chain(root, mount_point, mount_root, path):
            quota = _v2_quota(directory) if version == "2" else _v1_quota(directory)
            if quota is not None:
                found.append(quota)
    return min(found, default=None, key=lambda item: item[0])


def _read_memberships(path: Path) -> dict[str, str] | None:
    """/proc/self/cgroup as {"2": path} for the unified (v2) hierarchy and {"cpu": path} for v1's
    cpu controller; lines are ``hierarchy-id:controllers:path``."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    memberships: dict[str, str] = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, cgroup_path = parts
        if hierarchy == "0" and controllers == "":
            memberships["2"] = cgroup_path
        elif "cpu" in controllers.split(","):
            memberships["cpu"] = cgroup_path
    return memberships


def _read_cgroup_mounts(path: Path) -> list[tuple[str, str, str]] | None:
    """cgroup mounts from /proc/self/mountinfo as (version, mount root, mount point): v2 mounts and
    v1 mounts carrying the cpu controller. Fields: id parent dev root mountpoint options [optional
    fields] - fstype source super-options."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    mounts: list[tuple[str, str, str]] = []
    for line in lines:
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        separator = fields.index("-", 6)
        fstype, super_options = fields[separator + 1], fields[separator + 3] if len(fields) > separator + 3 else ""
        mount_root, mount_point = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            mounts.append(("2", mount_root, mount_point))
        elif fstype == "cgroup" and "cpu" in super_options.split(","):
            mounts.append(("1", mount_root, mount_point))
    return mounts


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


def _cgroup_chain(root: Path, mount_point: str, mount_root: str, cgroup_path: str) -> list[Path]:
    """The folders of the process's cgroup and of each ancestor up to the mount point. Inside a
    container (a cgroup namespace, or a mount of the container's own cgroup) the path may not lie
    under the mount's root: then the mount point is the process's cgroup."""
    base = root / mount_point.lstrip("/")
    relative = os.path.relpath(cgroup_path, mount_root) if cgroup_path.startswith(mount_root) else "."
    parts = [] if relative == "." or relative.startswith("..") else Path(relative).parts
    chain = [base.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    return [folder for folder in chain if folder.is_dir()]


def _v2_quota(directory: Path) -> tuple[float, str] | None:
    """cpu.max holds ``$MAX $PERIOD`` (``max`` = no limit)."""
    try:
        text = (directory / "cpu.max").read_text().split()
    except OSError:
        return None
    if len(text) != 2 or text[0] == "max":
        return None
    try:
        quota, period = int(text[0]), int(text[1])
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period, f"cgroup v2 cpu.max {quota}/{period} = {_cpus(quota / period)} CPUs"


def _v1_quota(directory: Path) -> tuple[float, str] | None:
    """cpu.cfs_quota_us (-1 = no limit) over cpu.cfs_period_us."""
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text().strip())
        period = int((directory / "cpu.cfs_period_us").read_text().strip())
    except (OSError, ValueError):
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period, f"cgroup v1 cpu.cfs_quota_us {quota}/{period} = {_cpus(quota / period)} CPUs"


def _count(cores: int) -> str:
    return f"{cores} CPU{'s' if cores != 1 else ''}"


def _cpus(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ applying and recording

_applied: ThreadChoice | None = None


def apply_threads(choice: ThreadChoice) -> None:
    """Set torch's thread count for this process, and remember where it came from."""
    global _applied
    import torch

    torch.set_num_threads(choice.threads)
    _applied = choice


def threads_record() -> dict[str, object]:
    """What a training records: torch's thread count now and where it came from (the choice
    applied in this process when it still holds, else torch's own default or the caller's)."""
    import torch

    threads = torch.get_num_threads()
    if _applied is not None and _applied.threads == threads:
        source = _applied.source
    else:
        source = "torch default" if _applied is None else "set by the caller"
    return {"torch_threads": threads, "threads_from": source}
