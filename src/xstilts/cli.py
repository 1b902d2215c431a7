"""The `xstilts` command line: one entry point, sub-commands per job.

Heavy imports (torch, transformers) happen inside the commands so that `xstilts --help`
and the scorer start instantly. User mistakes (``XstiltsError``) print one line and exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from xstilts.errors import XstiltsError

app = typer.Typer(
    name="xstilts",
    help="Intermediate-task training, stage orders and zero-shot cross-lingual transfer on XTREME.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect task data on disk.", no_args_is_help=True)
model_app = typer.Typer(help="Build and inspect encoders.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")

console = Console()
err_console = Console(stderr=True)


def _print_json(obj: object) -> None:
    # Plain print, not rich: the output is meant for machines (jq, scripts).
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))


# ------------------------------------------------------------------ tasks


@app.command("tasks")
def list_tasks() -> None:
    """List the registered tasks with their kind, metric and languages."""
    from rich.table import Table

    from xstilts.tasks.registry import all_tasks

    table = Table(title="xstilts tasks")
    for column in ("task", "kind", "metric", "target", "languages"):
        table.add_column(column)
    for task in all_tasks():
        table.add_row(task.name, task.kind.value, task.metric.value, "yes" if task.is_target else "",
                      f"{len(task.languages)}: {' '.join(task.languages)}")
    console.print(table)


# ------------------------------------------------------------------ data


@data_app.command("check")
def data_check(
    data_dir: Path = typer.Argument(None, help="Data directory (default: $XSTILTS_DATA or ../shared/xtreme-data)."),
) -> None:
    """Table of the tasks, languages and splits found under DATA_DIR, with counts and problems."""
    from xstilts.tasks.data_check import check_data_dir, render_report

    directory = _data_dir_or_default(data_dir)
    report = check_data_dir(directory)
    render_report(report, console)
    if report.problems:
        raise typer.Exit(1)


def _data_dir_or_default(data_dir: Path | None) -> Path:
    from xstilts.errors import MissingDataError
    from xstilts.paths import default_data_dir

    directory = data_dir or default_data_dir()
    if directory is None:
        raise MissingDataError("no data directory given and none found (set XSTILTS_DATA or pass --data DIR)")
    if not Path(directory).is_dir():
        raise MissingDataError(f"{directory}: data directory does not exist")
    return Path(directory)


# ------------------------------------------------------------------ scoring


@app.command("score")
def score(
    task: str = typer.Option(..., help="Task name, e.g. xnli, udpos, panx, mlqa, bucc2018, tatoeba."),
    lang: str = typer.Option(..., help="Language (two-letter XTREME code)."),
    gold: Path = typer.Option(..., help="Gold file: the task's own data file (see README)."),
    pred: Path = typer.Option(..., help="Prediction file in XTREME's prediction format."),
) -> None:
    """Score one prediction file exactly as XTREME's official scorer; prints one JSON object (x100)."""
    from xstilts.scoring import score_file

    _print_json(score_file(task, lang, gold, pred))


@app.command("score-folder")
def score_folder(
    pred: Path = typer.Option(..., help="Prediction folder (layout in README)."),
    gold: Path = typer.Option(..., help="Gold folder (the XTREME data layout)."),
) -> None:
    """Score a whole prediction folder like XTREME's evaluate.py: per language, task, group, XTREME score."""
    from xstilts.scoring import score_folder as score_folder_fn

    _print_json(score_folder_fn(pred, gold))


# ------------------------------------------------------------------ models


@model_app.command("prepare")
def model_prepare(
    name: str = typer.Argument("multilingual-e5-small", help="Offline model to build."),
    force: bool = typer.Option(False, help="Rebuild even if a verified folder exists."),
) -> None:
    """Build a standard Hugging Face folder of an offline model; prints the folder path last."""
    from xstilts.modeling.offline_e5 import prepare_model

    with console.status(f"preparing {name} ..."):
        path = prepare_model(name, force=force)
    print(path)


# ------------------------------------------------------------------ entry point


def main(argv: Optional[list[str]] = None) -> None:
    # Typer handles usage errors itself (message + exit 2); our own errors are one line too.
    try:
        app(args=argv)
    except XstiltsError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
