"""`xstilts tasks` and `xstilts data check|fetch`: the registered tasks and the data on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from xstilts.cli.common import app, console, data_app, data_dir_or_default, err_console, study_and_plan
from xstilts.errors import ConfigError


@app.command("tasks")
def list_tasks(
    study: Optional[Path] = typer.Option(None, "--study", help="Also list the tasks this study file declares "
                                                               "([tasks.NAME])."),
) -> None:
    """List the registered tasks with their kind, metric, suites, languages and source; with
    --study, the study's declared tasks too (source: study file)."""
    from rich.table import Table

    from xstilts.tasks.registry import all_tasks, source_of

    if study is not None:
        from xstilts.study import load_study

        load_study(study)  # registers its [tasks.NAME] tables (a mistake in it: one line, exit 2)
    table = Table(title="xstilts tasks" if study is None else f"xstilts tasks, with those of {study}")
    for column in ("task", "name", "kind", "metric", "target of", "languages", "source"):
        table.add_column(column)
    for task in all_tasks():
        suites = ", ".join(f"{member.suite} ({member.group})" for member in task.suites)
        table.add_row(task.name, task.title, task.kind.value, task.metric.value, suites,
                      f"{len(task.languages)}: {' '.join(task.languages)}", source_of(task.name))
    console.print(table)


@data_app.command("check")
def data_check(
    data_dir: Path = typer.Argument(None, help="Data directory (default: $XSTILTS_DATA or ../shared/xtreme-data)."),
) -> None:
    """Table of the tasks, languages and splits found under DATA_DIR, with counts and problems."""
    from xstilts.tasks.data_check import check_data_dir, render_report

    directory = data_dir_or_default(data_dir)
    report = check_data_dir(directory)
    render_report(report, console)
    if report.problems:
        raise typer.Exit(1)


@data_app.command("fetch")
def data_fetch(
    tasks: list[str] = typer.Argument(None, help="Tasks to fetch (e.g. xnli mnli squad_v1 anli_plus); default: --study."),
    to: Optional[Path] = typer.Option(None, "--to", help="Data directory to write (default: the study's data_dir)."),
    study: Optional[Path] = typer.Option(None, help="Fetch exactly what `xstilts plan STUDY` reports missing."),
    langs: Optional[str] = typer.Option(None, help="Languages, e.g. de,sw (default: all of each task's)."),
    splits: Optional[str] = typer.Option(None, help="Splits, e.g. train,dev (default: every published split)."),
    translated: bool = typer.Option(False, help="Also the machine-translated train sets of non-English languages."),
    mlm_corpus: Optional[str] = typer.Option(None, help="Write a masked-LM text corpus for these languages (e.g. de,sw)."),
    max_chars: int = typer.Option(2_000_000, help="--mlm-corpus: characters per language at most."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be fetched, and from where."),
) -> None:
    """Download sets from the Hugging Face hub into the XTREME layout the readers read (resumable)."""
    from xstilts.paths import fetched_data_dir
    from xstilts.tasks.fetch.sources import mlm_corpus_source, sources_for_selections, sources_for_tasks

    def codes(text: Optional[str]) -> Optional[list[str]]:
        return [c.strip() for c in text.split(",") if c.strip()] if text else None

    sources = []
    target = to
    if study is not None:
        _, run_plan = study_and_plan(study, to)
        target = to or run_plan.data_dir or fetched_data_dir()  # the last one is found without XSTILTS_DATA
        sources += sources_for_selections(run_plan.missing_selections)
    if tasks:
        sources += sources_for_tasks(tasks, codes(langs), codes(splits), translated)
    if mlm_corpus:
        sources += [mlm_corpus_source(lang, max_chars) for lang in codes(mlm_corpus)]
    if study is None and not tasks and not mlm_corpus:
        raise ConfigError("name the tasks to fetch, or --study FILE, or --mlm-corpus LANGS")
    if target is None:
        raise ConfigError("pass --to DIR: the data directory to write")
    run_fetch(sources, Path(target), dry_run)


def run_fetch(sources, target: Path, dry_run: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xstilts.tasks.fetch.download import fetch_sources

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=dry_run) as bar:
        overall = bar.add_task("fetching", total=len({s.destination for s in sources if s.fetchable}))

        def on_event(event: str, outcome) -> None:
            source = outcome.source
            if event == "start":
                bar.update(overall, description=f"{source.task} {source.split}-{source.lang}")
            else:
                bar.advance(overall)

        outcomes = fetch_sources(sources, target, dry_run=dry_run, on_event=on_event)
    notes_shown = set()
    counts: dict[str, int] = {}
    for outcome in outcomes:
        source = outcome.source
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        where = f"{source.task} {source.split}-{source.lang}"
        if outcome.status == "unavailable":
            if outcome.message not in notes_shown:
                notes_shown.add(outcome.message)
                console.print(f"[yellow]not on the hub[/] {where}: {outcome.message}", highlight=False, soft_wrap=True)
            continue
        style = {"fetched": "green", "skipped": "dim", "planned": "cyan", "failed": "red"}[outcome.status]
        console.print(f"[{style}]{outcome.status}[/] {where} -> {source.destination}: {outcome.message}",
                      highlight=False, soft_wrap=True)
    console.print(f"{target}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())), highlight=False)
    if counts.get("failed"):
        raise typer.Exit(1)
