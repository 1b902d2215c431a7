"""`xstilts run`: pick a backend, run the plan with a study-wide progress bar, report."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from xstilts.errors import ConfigError
from xstilts.execution.local import LocalBackend
from xstilts.execution.looks import run_looks
from xstilts.execution.nodes import StudyContext
from xstilts.execution.ray_backend import RayBackend
from xstilts.execution.scheduler import RunSummary, Scheduler
from xstilts.modeling.reference import ModelRef
from xstilts.study.plan import Plan
from xstilts.threads import choose_threads
from xstilts.study.spec import KEEP_ALL_REMOVED

EXECUTORS = ("local", "ray")
KEEP = ("best", "leaves")


def make_backend(executor: str, workers: int, ray_address: str | None):
    if executor == "local":
        return LocalBackend(workers)
    if executor == "ray":
        return RayBackend(address=ray_address, num_cpus=workers if ray_address is None else None)
    raise ConfigError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")




def check_output_dir(directory: Path) -> None:
    """Create the study folder, or one line saying why it cannot be used (before any work)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"output_dir {directory}: exists and is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"output_dir {directory}: cannot be created ({error.strerror or error})") from None
    probe = directory / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"output_dir {directory}: not writable ({error.strerror or error})") from None


def run_study(plan: Plan, *, executor: str = "local", workers: int | None = None, keep: str | None = None,
              ray_address: str | None = None, gpus_per_node: float = 0.0, console: Console | None = None) -> RunSummary:
    study = plan.study
    workers = workers or study.execution.workers
    keep = keep or study.execution.keep
    if keep == "all":
        raise ConfigError(f"--keep: {KEEP_ALL_REMOVED}")
    if keep not in KEEP:
        raise ConfigError(f"--keep: expected one of {', '.join(KEEP)}, got {keep!r}")
    if plan.missing_data:
        raise ConfigError(f"{study.name}: data missing for this study: {plan.missing_data[0]}"
                          + (f" (and {len(plan.missing_data) - 1} more; see `xstilts plan`)" if len(plan.missing_data) > 1 else ""))
    ModelRef.of(study.model).check()  # a wrong base model fails at once, in one line, not in every worker
    check_output_dir(study.output_dir)
    # The CPUs this process may use (affinity, cgroup quota) shared out; never the load of a moment.
    # Ray tasks choose on the node that runs them, from the CPUs Ray assigned (ray_backend).
    threads = choose_threads(workers) if executor == "local" else None
    context = StudyContext(study_dir=str(study.output_dir), data_dir=str(plan.data_dir) if plan.data_dir else None,
                           base_model=study.model, torch_threads=threads.threads if threads else None,
                           threads_from=threads.source if threads else "", plan_hash=plan.plan_hash(),
                           tasks=study.declared_tasks())
    console = console or Console(stderr=True)
    backend = make_backend(executor, workers, ray_address)  # a wrong --executor fails alone, in one line
    each = (f"{threads.threads} torch thread{'s' if threads.threads > 1 else ''} each ({threads.source})" if threads
            else "torch threads from the CPUs Ray assigns each node")
    console.print(f"{workers} worker{'s' if workers > 1 else ''}, {each}", markup=False, highlight=False)
    scheduler_args = dict(workers=workers, keep=keep, gpus_per_node=gpus_per_node)
    backends = [backend]

    def run_part(part: Plan) -> RunSummary:  # a scheduler shuts its backend down: one per part
        chosen = backends.pop() if backends else make_backend(executor, workers, ray_address)
        if console.is_terminal and sys.stdout.isatty():
            return _run_with_bar(part, context, chosen, console, f"{study.name} ({executor})", scheduler_args)
        return Scheduler(part, context, chosen, progress=RunLog(console, workers), **scheduler_args).run()

    if study.sequential is None:
        summary = run_part(plan)
    else:  # look by look, only what undecided contrasts need (execution.looks)
        summary = run_looks(plan, run_part, lambda text: console.print(text, markup=False, highlight=False))
        for unused in backends:
            unused.shutdown()
    console.print(summary.line(), markup=False, highlight=False, soft_wrap=True)  # one line in logs too
    return summary


def _run_with_bar(plan: Plan, context: StudyContext, backend, console: Console, title: str,
                  scheduler_args: dict[str, Any]) -> RunSummary:
    """Interactive: one live study-wide bar, node starts and failures printed above it."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=console) as bar:
        task_id = bar.add_task(escape(title), total=None, status="")

        def on_event(event: str, info: dict[str, Any]) -> None:
            if event == "start":
                bar.update(task_id, total=info["total"], completed=info["done"],
                           status=f"{info['done']} already done")
            elif event == "progress":
                bar.update(task_id, completed=info["done"],
                           status=f"running {info['running']}, failed {info['failed']}")
            elif event == "node_start":
                console.print(Text(f"start {info['node_type']} {info['label']} ({info['id'][:12]})", style="dim"))
            elif event == "node_done" and info.get("resumed_from"):
                console.print(Text(f"done {info['node_type']} {info['label']} "
                                   f"(resumed from step {info['resumed_from']})", style="dim"))
            elif event == "node_failed":
                console.print(Text(f"failed {info['id'][:12]}: {info['error']}", style="red"))
            elif event in _ELSEWHERE:
                console.print(Text(_ELSEWHERE[event](info), style="red" if event == "failed_elsewhere" else "dim"))
            elif event == "waiting":
                bar.update(task_id, status="waiting for " + ", ".join(f"{what} on {by}"
                                                                      for what, by in sorted(info["nodes"].items())))

        return Scheduler(plan, context, backend, progress=on_event, **scheduler_args).run()


class RunLog:
    """Non-interactive runs (a file, CI, nohup, tee): one timestamped line per node start and
    end, with its duration, the step a training resumed from, and an estimate of the time left
    (mean node time of this run x nodes left / workers)."""

    def __init__(self, console: Console, workers: int):
        self.console = console
        self.workers = max(1, workers)
        self.total = 0
        self.done = 0
        self.durations: list[float] = []
        self.started = time.time()
        self.waiting: dict[str, str] = {}

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "start":
            self.total, self.done = info["total"], info["done"]
            self._line(f"study: {self.total} nodes, {self.done} already done")
        elif event == "progress":
            self.done = info["done"]
        elif event == "node_start":
            self._line(f"start {info['node_type']} {info['label']} ({info['id'][:12]})")
        elif event in _ELSEWHERE:
            self.done += event == "done_elsewhere"
            self._line(_ELSEWHERE[event](info))
        elif event == "waiting" and info["nodes"] != self.waiting:  # once each time it changes
            self.waiting = info["nodes"]
            self._line("waiting for " + ", ".join(f"{what} on {by}" for what, by in sorted(self.waiting.items())))
        elif event in ("node_done", "node_failed"):
            self.durations.append(info["seconds"])
            finished = self.done + (1 if event == "node_done" else 0)
            resumed = f", resumed from step {info['resumed_from']}" if info.get("resumed_from") else ""
            outcome = "done" if event == "node_done" else f"FAILED ({info['error']})"
            self._line(f"{outcome} {info['node_type']} {info['label']} ({info['id'][:12]}) in "
                       f"{_duration(info['seconds'])}{resumed}; {finished}/{self.total} done, ETA {self._eta(finished)}")

    def _eta(self, finished: int) -> str:
        left = self.total - finished
        if left <= 0:
            return "0s"
        mean = sum(self.durations) / len(self.durations)
        return _duration(mean * left / self.workers)

    def _line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        self.console.print(Text(f"{stamp} {text}"), soft_wrap=True)


# What other processes of the study did, one line each (never starting with "done": a run's
# "done" lines are the nodes it ran itself).
_ELSEWHERE = {
    "held_elsewhere": lambda i: f"skip {i['node_type']} {i['label']} ({i['id'][:12]}): {i['by']} is running it",
    "done_elsewhere": lambda i: f"finished by {i['by']}: {i['node_type']} {i['label']} ({i['id'][:12]})",
    "failed_elsewhere": lambda i: f"FAILED {i['node_type']} {i['label']} ({i['id'][:12]}) {i['error']}",
}


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
