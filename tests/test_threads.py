"""Torch threads from the CPUs the process may use: affinity and cgroup quotas read from fake
/proc and /sys trees, split among workers, with the XSTILTS_TORCH_THREADS override."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.threads import CpuBudget, cgroup_cpu_quota, choose_threads, usable_cpus

V2_MOUNT = "41 31 0:38 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTS = ("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
             "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:11 - cgroup cgroup rw,cpuset\n")


def fake_root(tmp_path: Path, cgroup: str, mountinfo: str | None, files: dict[str, str]) -> Path:
    root = tmp_path / "root"
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    if mountinfo is not None:
        (root / "proc/self/mountinfo").write_text(mountinfo)
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_cgroup_v2_quota_of_the_process_cgroup(tmp_path):
    root = fake_root(tmp_path, "0::/system.slice/job.scope\n", V2_MOUNT,
                     {"/sys/fs/cgroup/system.slice/job.scope/cpu.max": "150000 100000\n"})
    assert cgroup_cpu_quota(root) == (1.5, "cgroup v2 cpu.max 150000/100000 = 1.5 CPUs")
    budget = usable_cpus(root, affinity=set(range(16)))
    assert budget == CpuBudget(1.5, "cgroup v2 cpu.max 150000/100000 = 1.5 CPUs (affinity 16 CPUs)")


def test_cgroup_v2_an_ancestor_limit_applies_and_the_tightest_wins(tmp_path):
    root = fake_root(tmp_path, "0::/batch/user/job\n", V2_MOUNT, {
        "/sys/fs/cgroup/batch/cpu.max": "200000 100000\n",       # 2 CPUs for the whole batch slice
        "/sys/fs/cgroup/batch/user/cpu.max": "max 100000\n",     # no limit of its own
        "/sys/fs/cgroup/batch/user/job/cpu.max": "800000 100000\n",  # 8, but the parent allows 2
    })
    assert cgroup_cpu_quota(root)[0] == 2.0
    assert choose_threads(2, environ={}, budget=usable_cpus(root, affinity=set(range(8)))).threads == 1


def test_cgroup_v2_without_a_limit_leaves_the_affinity(tmp_path):
    root = fake_root(tmp_path, "0::/\n", V2_MOUNT, {"/sys/fs/cgroup/cpu.max": "max 100000\n"})
    assert cgroup_cpu_quota(root) is None
    assert usable_cpus(root, affinity={0, 1, 2, 3}) == CpuBudget(4.0, "affinity 4 CPUs")


def test_a_container_sees_its_own_cgroup_at_the_mount_point(tmp_path):
    """A container's /proc/self/cgroup may name a path of the host's tree that is not under the
    mount's root: the mount point is then the container's own cgroup."""
    mountinfo = "900 800 0:38 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n"
    root = fake_root(tmp_path, "0::/docker/abc\n", mountinfo, {"/sys/fs/cgroup/cpu.max": "300000 100000\n"})
    assert cgroup_cpu_quota(root)[0] == 3.0
    root_ns = fake_root(tmp_path / "ns", "0::/../other\n", mountinfo, {"/sys/fs/cgroup/cpu.max": "100000 100000\n"})
    assert cgroup_cpu_quota(root_ns)[0] == 1.0


def test_cgroup_v1_cfs_quota(tmp_path):
    cgroup = "12:cpuset:/\n4:cpu,cpuacct:/kubepods/pod1/ctr\n1:name=systemd:/\n"
    root = fake_root(tmp_path, cgroup, V1_MOUNTS, {
        "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_quota_us": "250000\n",
        "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_period_us": "100000\n",
        "/sys/fs/cgroup/cpu,cpuacct/kubepods/cpu.cfs_quota_us": "-1\n",
        "/sys/fs/cgroup/cpu,cpuacct/kubepods/cpu.cfs_period_us": "100000\n",
    })
    assert cgroup_cpu_quota(root) == (2.5, "cgroup v1 cpu.cfs_quota_us 250000/100000 = 2.5 CPUs")
    assert choose_threads(1, environ={}, budget=usable_cpus(root, affinity=set(range(32)))).threads == 2


def test_cgroup_v1_without_a_quota(tmp_path):
    root = fake_root(tmp_path, "1:cpu:/\n", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", {
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_quota(root) is None


def test_no_cgroup_files_at_all_means_no_quota(tmp_path):
    assert cgroup_cpu_quota(tmp_path) is None  # no /proc (not Linux, or a sandbox)
    assert usable_cpus(tmp_path, affinity={0}) == CpuBudget(1.0, "affinity 1 CPU")


def test_a_quota_above_the_affinity_does_not_raise_it(tmp_path):
    root = fake_root(tmp_path, "0::/\n", V2_MOUNT, {"/sys/fs/cgroup/cpu.max": "800000 100000\n"})
    assert usable_cpus(root, affinity={0, 1}) == CpuBudget(2.0, "affinity 2 CPUs")


def test_mountinfo_paths_with_escaped_spaces(tmp_path):
    mountinfo = "41 31 0:38 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
    root = fake_root(tmp_path, "0::/a\n", mountinfo, {"/sys/fs/my cgroup/a/cpu.max": "100000 100000\n"})
    assert cgroup_cpu_quota(root)[0] == 1.0


@pytest.mark.parametrize("cpus, workers, threads", [
    (16.0, 4, 4), (2.0, 1, 2), (2.0, 2, 1), (1.0, 2, 1), (1.5, 1, 1), (3.0, 2, 1), (8.0, 3, 2)])
def test_threads_split_the_cpus_among_workers_never_below_one(cpus, workers, threads):
    choice = choose_threads(workers, environ={}, budget=CpuBudget(cpus, f"affinity {cpus:g} CPUs"))
    assert choice.threads == threads
    assert choice.source == f"affinity {cpus:g} CPUs / {workers} worker{'s' if workers > 1 else ''}"


def test_the_environment_overrides_the_choice():
    budget = CpuBudget(16.0, "affinity 16 CPUs")
    assert choose_threads(2, environ={"XSTILTS_TORCH_THREADS": "3"}, budget=budget).threads == 3
    assert choose_threads(2, environ={"XSTILTS_TORCH_THREADS": "3"}, budget=budget).source == "XSTILTS_TORCH_THREADS=3"
    assert choose_threads(2, environ={"XSTILTS_TORCH_THREADS": "zero"}, budget=budget).threads == 8


def test_the_choice_does_not_read_the_current_load(monkeypatch):
    """A moment of load at start must not pin a training to fewer threads for its life: the load
    and /proc/stat are never read (here they would say every CPU is busy)."""
    import builtins
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    real_open = builtins.open

    def refuse_proc_stat(path, *args, **kwargs):
        assert str(path) != "/proc/stat", "the thread choice read the current load"
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse_proc_stat)
    choice = choose_threads(1, environ={})
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= choice.threads <= affinity


def test_a_training_records_its_threads_and_where_they_came_from(monkeypatch):
    import torch

    from xstilts import threads
    from xstilts.threads import ThreadChoice, apply_threads, threads_record

    monkeypatch.setattr(threads, "_applied", None)  # this process's record is put back afterwards

    before = torch.get_num_threads()
    try:
        apply_threads(ThreadChoice(1, "affinity 2 CPUs / 2 workers"))
        assert threads_record() == {"torch_threads": 1, "threads_from": "affinity 2 CPUs / 2 workers"}
        torch.set_num_threads(2)  # changed behind its back: not claimed as the choice
        assert threads_record() == {"torch_threads": 2, "threads_from": "set by the caller"}
    finally:
        torch.set_num_threads(before)


def test_a_lone_train_or_evaluate_uses_the_cpus_the_process_may_use(monkeypatch):
    import torch

    from xstilts import threads
    from xstilts.cli import _use_process_cpus
    from xstilts.threads import threads_record

    monkeypatch.setattr(threads, "_applied", None)
    monkeypatch.delenv(threads.OVERRIDE, raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: threads.CpuBudget(1.5, "cgroup v2 cpu.max 150000/100000"))
    before = torch.get_num_threads()
    try:
        _use_process_cpus()  # `xstilts train` / `evaluate` outside a study: the quota, not torch's core count
        assert threads_record() == {"torch_threads": 1, "threads_from": "cgroup v2 cpu.max 150000/100000 / 1 worker"}
    finally:
        torch.set_num_threads(before)
