"""`xstilts stats collect`: the long per-seed score table from result files people already have."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from xstilts.cli.common import err_console, print_error, stats_app


@stats_app.command("collect")
def stats_collect(
    template: str = typer.Argument(..., metavar="TEMPLATE", help='A path with {condition} and {seed} (optional {task}, '
                                   '{lang}, * and **), e.g. "runs/{condition}/seed{seed}/results*.json". Quote it.'),
    out: Path = typer.Option(..., "--out", help="The CSV to write (task,lang,condition,seed,score,metric,scale,format,source)."),
    metric: Optional[str] = typer.Option(None, "--metric", help="The metric to read (harness: acc or 'acc,none'; "
                                         "Trainer: accuracy or eval_accuracy; jiant: major or a minor key such as acc; "
                                         "xstilts: f1 ...). Default: the task's primary metric (see below)."),
    task: Optional[str] = typer.Option(None, "--task", help="The task of files that name none (Trainer results) "
                                       "when TEMPLATE has no {task}."),
    lang: Optional[str] = typer.Option(None, "--lang", help="The language of files that name none when TEMPLATE "
                                       "has no {lang}."),
) -> None:
    """The long CSV `stats contrast` reads, from harness, Trainer, jiant or xstilts result files.

    Reads lm-evaluation-harness results JSON, Hugging Face Trainer all_results.json / eval_results.json, jiant val_metrics.json and xstilts' own rows (an `xstilts results export` CSV or rows.json), each recognised from its content, into one row per task, lang, condition and seed.

    Scores are on 0-100: fractions (accuracy, F1, exact match as the harness, the Trainer and jiant write them) are multiplied by 100; SQuAD-style exact/F1 already written as percentages, BLEU/chrF/TER and xstilts' own scores are kept.

    Default metric: harness acc, f1, exact_match, exact, acc_norm, em, mcc, bleu, chrf (the first the task reports; the ',none' filter first); Trainer eval_accuracy, eval_f1, eval_exact_match, eval_exact, ...; jiant the task's major metric; xstilts the task's primary metric. Task names like xnli_de split into task xnli and language de.

    A file that cannot be read (unknown format, metric missing, no {condition}/{seed}, two scores for one task/lang/condition/seed) is one line on stderr each, and nothing is written (exit 2)."""
    from xstilts.results.collect import CollectError, collect_scores, write_scores

    try:
        collected = collect_scores(template, metric, task=task, lang=lang)
    except CollectError as error:
        for problem in error.problems:
            print_error(problem)
        sys.exit(2)
    for note in collected.notes:
        print_error(note, prefix="note: ")
    table = collected.table
    path = write_scores(table, out)
    formats = ", ".join(f"{name} {count}" for name, count in table.groupby("format", sort=False)["source"].nunique().items())
    scaled = int((table["scale"] == "x100").sum())
    err_console.print(f"{len(table)} scores from {collected.files} files ({formats}): {_count(table, 'condition', 'condition')}, "
                      f"{_count(table, 'seed', 'seed')}, {_count(table, 'task', 'task')}, {_count(table, 'lang', 'language')}; "
                      f"on 0-100: {scaled} fractions x100, {len(table) - scaled} as written (column scale)",
                      markup=False, highlight=False, soft_wrap=True)
    print(path)


def _count(table, column: str, noun: str) -> str:
    named = set(table[column]) - {""} if column in table.columns else set()
    return f"{len(named) or 'no'} {noun}{'' if len(named) == 1 else 's'}"
