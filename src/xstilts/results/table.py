"""The study's summary: per-condition, per-language tables of each target.

One table per TARGET (a study may evaluate one task twice: ``panx`` and ``panx2``): rows are
conditions (stage orders: ``"baseline"``, ``"nli_en>nli_de"``, ...), columns the target's
languages and ``avg``; a cell is the mean and the sample standard deviation (ddof 1) over seeds of
the task's primary metric (``results.statistics.cell_statistics``, the report's cells too):

* accuracy: XNLI, PAWS-X, XCOPA and the other classification / multiple-choice tasks, Tatoeba;
* macro F1 (x100, like accuracy): a classification task whose metric is ``f1_macro``;
* F1: UD-POS (seqeval-0.0.12 chunk F1), PAN-X (span F1), BUCC (pair F1) and the QA tasks.

QA tables show F1 (the per-language number XTREME and X-STILTs tabulate); EM stays in the store,
and XTREME's QA task score, (mean F1 + mean EM) / 2, is ``xstilts.scoring.aggregate.task_score``.

``avg`` follows XTREME (plain mean over the languages, English included), taken per seed over the
table's languages, then summarised over seeds like a language; a seed missing a language has no
average. A cell is contaminated (``*``) when one of its runs was evaluated on data that an
intermediate stage trained on. Trajectory points (a model after some of an order's stages) are
no condition's result and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table

from xstilts.errors import ConfigError, UnknownTaskError
from xstilts.scoring.aggregate import primary_metric
from xstilts.results.filtering import condition_rows
from xstilts.results.statistics import AVERAGE, cell_statistics, format_number, with_language_average
from xstilts.tasks.registry import get_task, suite_tasks

CELL_FIELDS = ("mean", "std", "n", "contaminated")

__all__ = ["AVERAGE", "CELL_FIELDS", "build_tables", "primary_metric", "render_tables"]


# ---------------------------------------------------------------- tables


def build_tables(results: pd.DataFrame, *, split: str | None = None,
                 orders: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """One table per target of ``results`` (rows with ``condition``, or ``order_name`` for raw
    store rows), XTREME's target tasks first.

    A table is indexed by condition (``orders`` chooses and sorts them; default: every one, by
    name) and has columns ``(language or "avg", field)`` with fields ``mean std n contaminated``.
    ``attrs`` holds ``target``, ``task``, ``metric``, ``split`` and ``contamination_reasons``.
    ``split`` picks the evaluation split when a target was scored on several.
    """
    frame = condition_rows(results)
    if "condition" not in frame:
        frame = frame.assign(condition=frame["order_name"])
    tables = {}
    for target, task in _targets(frame):
        scores = _primary_scores(frame[frame["target"] == target], target, task, split)
        if not scores.empty:
            tables[target] = _target_table(scores, target, task, orders)
    return tables


def _targets(frame: pd.DataFrame) -> list[tuple[str, str]]:
    rank = {task.name: index for index, task in enumerate(suite_tasks())}
    pairs = set(frame[["target", "task"]].itertuples(index=False, name=None))
    return sorted(pairs, key=lambda pair: (rank.get(pair[1], len(rank)), pair[1], pair[0]))


def _primary_scores(scores: pd.DataFrame, target: str, task: str, split: str | None) -> pd.DataFrame:
    """The target's primary-metric rows on one split, at most one per (condition, seed, language)."""
    metric = primary_metric(task)
    scores = scores[scores["metric"] == metric]
    splits = sorted(set(scores["split"]))
    if split is None and len(splits) > 1:
        raise ConfigError(f"{target} was scored on several splits ({', '.join(splits)}): pass the split to tabulate")
    chosen = split if split is not None else (splits[0] if splits else None)
    scores = scores[scores["split"] == chosen]
    duplicated = scores[scores.duplicated(["condition", "seed", "lang"], keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ConfigError(f"{target}: several {metric} results for order {first['condition']!r}, seed {first['seed']}, "
                          f"language {first['lang']!r} (different models or settings?): filter the results first")
    return scores


def _languages(task: str, present: set[str]) -> list[str]:
    try:
        official = [lang for lang in get_task(task).languages if lang in present]
    except UnknownTaskError:
        official = []
    return official + sorted(present - set(official))


def _target_table(scores: pd.DataFrame, target: str, task: str, orders: Sequence[str] | None) -> pd.DataFrame:
    languages = _languages(task, set(scores["lang"]))
    cells = cell_statistics(with_language_average(scores, languages))
    present = set(scores["condition"])
    rows = [order for order in orders if order in present] if orders is not None else sorted(present)
    columns = pd.MultiIndex.from_product([[*languages, AVERAGE], CELL_FIELDS], names=["lang", "field"])
    table = cells.drop(columns="deterministic").unstack("lang").swaplevel(axis=1).reindex(index=rows, columns=columns)
    table.index.name = "order"
    for column in [*languages, AVERAGE]:
        table[(column, "n")] = table[(column, "n")].fillna(0).astype(int)
        table[(column, "contaminated")] = table[(column, "contaminated")].fillna(False).astype(bool)
    contaminated = scores[scores["contaminated"].astype(bool) & scores["condition"].isin(rows)]
    table.attrs = {"target": target, "task": task, "metric": primary_metric(task),
                   "split": scores["split"].iloc[0],
                   "contamination_reasons": sorted(set(contaminated["contamination_reason"].dropna()))}
    return table


# ---------------------------------------------------------------- rendering


def render_tables(tables: Mapping[str, pd.DataFrame], console: Console) -> None:
    """Print each table as a rich table: ``mean ± std`` cells, ``*`` and a footnote on contamination."""
    for table in tables.values():
        show_n = len(set(_seed_counts(table))) > 1
        console.print(_heading(table, show_n), style="bold")
        console.print(_rich_table(table, show_n))
        footnote = _footnote(table)
        if footnote:
            console.print(footnote)


def _seed_counts(table: pd.DataFrame) -> list[int]:
    """The seed count of every filled cell."""
    return [n for (_, field), column in table.items() if field == "n" for n in column if n > 0]


def _heading(table: pd.DataFrame, show_n: bool) -> str:
    attrs, counts = table.attrs, _seed_counts(table)
    seeds = "seeds (n where counts differ)" if show_n or not counts else f"{counts[0]} seed{'s' * (counts[0] != 1)}"
    name = attrs["target"] if attrs["target"] == attrs["task"] else f"{attrs['target']} ({attrs['task']})"
    return f"{name} {attrs['split']} {attrs['metric']}: mean ± sample std over {seeds}"


def _rich_table(table: pd.DataFrame, show_n: bool) -> Table:
    columns = list(dict.fromkeys(table.columns.get_level_values("lang")))
    rich_table = Table()
    rich_table.add_column("order")
    for column in columns:
        rich_table.add_column(column, justify="right")
    for order, row in table.iterrows():
        rich_table.add_row(str(order), *(_cell_text(row[column], show_n) for column in columns))
    return rich_table


def _cell_text(cell: pd.Series, show_n: bool) -> str:
    if cell["n"] == 0:
        return "-"
    text = format_number(cell["mean"])
    if not math.isnan(cell["std"]):
        text += f" ± {format_number(cell['std'])}"
    if show_n:
        text += f" (n={cell['n']})"
    return text + ("*" if cell["contaminated"] else "")


def _footnote(table: pd.DataFrame) -> str | None:
    columns = set(table.columns.get_level_values("lang"))
    if not any(table[(column, "contaminated")].any() for column in columns):
        return None
    reasons = "; ".join(table.attrs["contamination_reasons"]) or "an intermediate stage trained on its data"
    return f"* contaminated (evaluation data seen in training): {reasons}"
