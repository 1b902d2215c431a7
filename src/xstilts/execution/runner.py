"""`xstilts run`: pick a backend, run the plan with a study-wide progress bar, report."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from xstilts.errors import ConfigError
from xstilts.execution.nodes import StudyContext
from xstilts.execution.scheduler import RunSummary, Scheduler
from xstilts.study.plan import Plan

EXECUTORS = ("local", "ray")
KEEP = ("best", "all", "leaves")


def make_backend(executor: str, workers: int, ray_address: str | None):
    if executor == "local":
        from xstilts.execution.local import LocalBackend

        return LocalBackend(workers)
    if executor == "ray":
        from xstilts.execution.ray_backend import RayBackend

        return RayBackend(address=ray_address, num_cpus=workers if ray_address is None else None)
    raise ConfigError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")


def run_study(plan: Plan, *, executor: str = "local", workers: int | None = None, keep: str | None = None,
              ray_address: str | None = None, gpus_per_node: float = 0.0, console: Console | None = None) -> RunSummary:
    study = plan.study
    workers = workers or study.execution.workers
    keep = keep or study.execution.keep
    if keep not in KEEP:
        raise ConfigError(f"--keep: expected one of {', '.join(KEEP)}, got {keep!r}")
    if plan.missing_data:
        raise ConfigError(f"{study.name}: data missing for this study: {plan.missing_data[0]}"
                          + (f" (and {len(plan.missing_data) - 1} more; see `xstilts plan`)" if len(plan.missing_data) > 1 else ""))
    study.output_dir.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    context = StudyContext(study_dir=str(study.output_dir), data_dir=str(plan.data_dir) if plan.data_dir else None,
                           base_model=study.model, torch_threads=max(1, cores // workers),
                           plan_hash=plan.plan_hash())
    console = console or Console(stderr=True)
    backend = make_backend(executor, workers, ray_address)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=console) as bar:
        task_id = bar.add_task(f"{study.name} ({executor})", total=None, status="")

        def on_event(event: str, info: dict[str, Any]) -> None:
            if event == "start":
                bar.update(task_id, total=info["total"], completed=info["done"],
                           status=f"{info['done']} already done")
            elif event == "progress":
                bar.update(task_id, completed=info["done"],
                           status=f"running {info['running']}, failed {info['failed']}")
            elif event == "node_start":
                console.print(f"[dim]start {info['kind']} {info['label']} ({info['id'][:12]})[/]", highlight=False)
            elif event == "node_failed":
                console.print(f"[red]failed {info['id'][:12]}: {info['error']}[/]", highlight=False)

        summary = Scheduler(plan, context, backend, workers=workers, keep=keep, gpus_per_node=gpus_per_node,
                            progress=on_event).run()
    console.print(f"{len(summary.trained)} trained, {len(summary.evaluated)} evaluated, {summary.skipped} already done, "
                  f"{len(summary.failed)} failed, {len(summary.blocked)} blocked in {summary.wall_seconds:.0f}s")
    return summary
