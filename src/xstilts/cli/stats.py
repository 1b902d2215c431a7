"""`xstilts stats contrast`: the report's paired contrasts for per-seed scores made anywhere."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from xstilts.cli.common import stats_app
from xstilts.errors import ConfigError


@stats_app.command("contrast")
def stats_contrast(
    file: Path = typer.Argument(..., metavar="FILE.csv", help="Columns condition,seed,score (+ task, lang, --by "
                                                              "columns); .tsv files are read as TSV."),
    contrast: list[str] = typer.Option(None, "--contrast", help='"A - B" (repeatable; default: every pair of a '
                                                                "task's conditions). Corrected together per group and task."),
    by: list[str] = typer.Option(None, "--by", help="A column that splits the file into groups analysed on their own "
                                                     "(repeatable; no correction across groups)."),
    correction: str = typer.Option("holm", help="holm | bh."),
    per_language: bool = typer.Option(False, "--per-language", help="Also one line per language (a second family)."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Other column names: "
                                          "condition=model,score=accuracy,seed=run,task=...,lang=..."),
    sep: Optional[str] = typer.Option(None, "--sep", help='The separator (";", "\\t" or "tab"; default: a tab for '
                                                          ".tsv/.tab files, else a comma)."),
    unpaired: bool = typer.Option(False, "--unpaired", help="Runs whose seed numbers do not correspond: Welch's "
                                                            "t-test over the runs (rank-sum test beside it)."),
    effect: Optional[float] = typer.Option(None, "--effect", help="A difference (score points) to size the seeds for: "
                                                                  "seeds_needed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line per contrast (machines)."),
    sequential: Optional[str] = typer.Option(None, "--sequential", metavar="LOOKS",
                                             help="A sequential seed design's looks, e.g. 3,5,8: each primary "
                                                  "contrast's decision (effect | no effect | continue) for the seeds "
                                                  "in the file (ascending), with the design's adjusted p and repeated "
                                                  "interval (docs/sequential.md)."),
) -> None:
    """The report's contrasts for per-seed scores from any source: per condition its runs (mean ± SD,
    n, minimum, outlying runs), per contrast A - B with its interval, p, adjusted p, the signed-rank p
    beside it, what the seeds detect, and one sentence. --json: one object per line per (group, task,
    contrast). Warnings (a dropped contrast, a partial average, outlying runs) go to stderr, one line
    each; a file that gives no contrast at all is an error."""
    from xstilts.cli.common import print_error
    from xstilts.results.score_table import analyse, parse_columns, parse_contrast, read_score_table
    from xstilts.results.statistics import CORRECTIONS

    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if effect is not None and (not math.isfinite(effect) or effect == 0):
        raise ConfigError(f"--effect: expected a non-zero difference, got {effect}")
    looks = None
    if sequential is not None:
        from xstilts.results.sequential.design import parse_looks

        if unpaired:
            raise ConfigError("--sequential: a sequential design pairs the seeds of both conditions; not with --unpaired")
        try:
            looks = parse_looks(sequential)
        except ValueError as error:
            raise ConfigError(f"--sequential: {error}") from None
    pairs = [parse_contrast(text) for text in contrast or []]
    frame = read_score_table(file, by or [], parse_columns(columns), sep)
    analysis = analyse(frame, pairs, by or [], correction, per_language, unpaired, effect, sequential=looks)
    if not analysis.records:
        raise ConfigError(f"{file}: no contrast: " + "; ".join(analysis.warnings or ["nothing to compare"]))
    if as_json:
        for record in analysis.records:
            print(json.dumps(finite(record), ensure_ascii=False))
    else:
        from xstilts.results.score_table import render_text

        print(render_text(analysis, frame, str(file), correction))
    for line in analysis.warnings:
        print_error(line, prefix="warning: ")


def finite(value):
    """JSON has no NaN: a missing number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value
