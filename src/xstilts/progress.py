"""Rich progress bars for long steps, driven by (event, info) callbacks from the library code."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from xstilts.metrics.registry import progress_keys

SHOWN_METRICS = frozenset(progress_keys())


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=console, transient=False)


@contextmanager
def training_progress(console: Console, title: str) -> Iterator[Any]:
    """A callback for ``Trainer(progress=...)`` showing steps, loss, dev scores and ETA."""
    with _progress(console) as bar:
        task_id = bar.add_task(title, total=None, status="")

        def on_event(event: str, info: dict[str, Any]) -> None:
            if event == "featurize":
                bar.update(task_id, status=f"tokenising {info['examples']} examples")
            elif event == "resume":
                console.print(f"resuming from the checkpoint at step {info['step']}")
            elif event == "start":
                bar.update(task_id, total=info["total_steps"], completed=info["done_steps"],
                           status=f"{info['features']} features")
            elif event == "step":
                if info.get("loss") is None:  # GPU runs report the loss every few steps only
                    bar.update(task_id, completed=info["step"])
                else:
                    bar.update(task_id, completed=info["step"], status=f"loss {info['loss']:.4f}")
            elif event == "eval":
                console.print(f"step {info['step']}: dev {info['score']:.2f}")

        yield on_event


@contextmanager
def evaluation_progress(console: Console, title: str) -> Iterator[Any]:
    """A callback for ``evaluate(progress=...)``: one bar per language, scores as they come."""
    with _progress(console) as bar:
        state: dict[str, Any] = {"task": None}

        def on_event(event: str, info: dict[str, Any]) -> None:
            if event == "language":
                state["task"] = bar.add_task(f"{title} {info['lang']}", total=None, status="")
            elif event == "batch" and state["task"] is not None:
                bar.update(state["task"], total=info["total"], advance=info["rows"])
            elif event == "scored" and state["task"] is not None:
                shown = {k: v for k, v in info.items() if k in SHOWN_METRICS}
                bar.update(state["task"], status=" ".join(f"{k} {v:.2f}" for k, v in shown.items()))
                if bar.tasks[state["task"]].total is None:
                    bar.update(state["task"], total=1, completed=1)
            elif event == "note":
                console.print(f"[yellow]{info['lang']}: {info['message']}")

        yield on_event
