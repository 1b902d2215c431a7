"""`xstilts score` and `xstilts score-folder`: XTREME's official scoring of prediction files."""

from __future__ import annotations

from pathlib import Path

import typer

from xstilts.cli.common import app, print_json


@app.command("score")
def score(
    task: str = typer.Option(..., help="Task name, e.g. xnli, udpos, panx, mlqa, bucc2018, tatoeba."),
    lang: str = typer.Option(..., help="Language (two-letter XTREME code)."),
    gold: Path = typer.Option(..., help="Gold file: the task's own data file (see docs/tasks/index.md)."),
    pred: Path = typer.Option(..., help="Prediction file in XTREME's prediction format."),
) -> None:
    """Score one prediction file exactly as XTREME's official scorer; prints one JSON object (x100)."""
    from xstilts.scoring import score_file

    print_json(score_file(task, lang, gold, pred))


@app.command("score-folder")
def score_folder(
    pred: Path = typer.Option(..., help="Prediction folder (layout in docs/tasks/index.md)."),
    gold: Path = typer.Option(..., help="Gold folder (the XTREME data layout)."),
    suite: str = typer.Option("xtreme", help="Benchmark whose groups, languages and score: xtreme | xtreme-r."),
) -> None:
    """Score a whole prediction folder like XTREME's evaluate.py (--xtreme_version): per language,
    task, group and suite score."""
    from xstilts.scoring import score_folder as score_folder_fn
    from xstilts.tasks.registry import get_suite

    print_json(score_folder_fn(pred, gold, suite=get_suite(suite).name))
