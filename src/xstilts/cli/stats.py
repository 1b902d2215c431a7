"""`xstilts stats contrast`: the report's paired contrasts for per-seed scores made anywhere."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from xstilts.cli.common import stats_app
from xstilts.errors import ConfigError


@stats_app.command("contrast")
def stats_contrast(
    file: Path = typer.Argument(..., metavar="FILE.csv", help="Columns task,lang,condition,seed,score (+ --by columns)."),
    contrast: list[str] = typer.Option(None, "--contrast", help='"A - B" (repeatable; default: every pair of a '
                                                                "task's conditions). Corrected together per group and task."),
    by: list[str] = typer.Option(None, "--by", help="A column that splits the file into groups analysed on their own "
                                                     "(repeatable; no correction across groups)."),
    correction: str = typer.Option("holm", help="holm | bh."),
    per_language: bool = typer.Option(False, "--per-language", help="Also one line per language (a second family)."),
) -> None:
    """The report's paired contrasts for per-seed scores from any source: one JSON object per line per
    (group, task, contrast) with seeds, mean_difference (A - B), ci_low/ci_high, p, adjusted_p, method."""
    from xstilts.results.score_table import contrast_rows, parse_contrast, read_score_table
    from xstilts.results.statistics import CORRECTIONS

    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}")
    pairs = [parse_contrast(text) for text in contrast or []]
    frame = read_score_table(file, by or [])
    for record in contrast_rows(frame, pairs, by or [], correction, per_language):
        print(json.dumps(finite(record), ensure_ascii=False))


def finite(value):
    """JSON has no NaN: a missing number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value
