"""The study's summary: per-order, per-language tables, and paired tests between two orders.

One table per task: rows are stage orders (``"baseline"``, ``"nli_en>nli_de"``, ...), columns the
task's languages and ``avg``; a cell is the mean and the sample standard deviation (ddof 1) over
seeds of the task's primary metric:

* accuracy: XNLI, PAWS-X, XCOPA and the other classification / multiple-choice tasks, Tatoeba;
* F1: UD-POS (seqeval-0.0.12 chunk F1), PAN-X (span F1), BUCC (pair F1) and the QA tasks.

QA tables show F1 (the per-language number XTREME and X-STILTs tabulate); EM stays in the store,
and XTREME's QA task score, (mean F1 + mean EM) / 2, is ``xstilts.metrics.aggregate.task_score``.

``avg`` follows XTREME (plain mean over the languages, English included), taken per seed over the
table's languages, then summarised over seeds like a language; a seed missing a language has no
average. A cell is contaminated (``*``) when one of its runs was evaluated on data that an
intermediate stage trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy import stats

from xstilts.errors import ConfigError, UnknownTaskError
from xstilts.tasks.registry import TARGET_TASKS, get_task
from xstilts.metrics.aggregate import primary_metric

AVERAGE = "avg"
CELL_FIELDS = ("mean", "std", "n", "contaminated")
_RUN = ["order_name", "seed"]


@dataclass(frozen=True)
class PairedDifference:
    """Order A minus order B on one language (or ``avg``), paired by seed."""

    lang: str
    n_pairs: int
    mean_difference: float
    t_statistic: float | None  # None with fewer than 2 pairs or when all differences are equal
    p_value: float | None  # two-sided paired t-test (scipy.stats.ttest_rel)
    contaminated: bool  # either order's cell is contaminated


# ---------------------------------------------------------------- tables


def build_tables(results: pd.DataFrame, *, split: str | None = None,
                 orders: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """One table per task of ``results`` (``ResultStore.to_dataframe()``), target tasks first.

    A table is indexed by order (``orders`` chooses and sorts them; default: every order, by
    name) and has columns ``(language or "avg", field)`` with fields ``mean std n contaminated``.
    ``attrs`` holds ``task``, ``metric``, ``split`` and ``contamination_reasons``. ``split``
    picks the evaluation split when a task was scored on several.
    """
    tables = {}
    for task in _tasks(results):
        scores = _primary_scores(results, task, split)
        if not scores.empty:
            tables[task] = _task_table(scores, task, orders)
    return tables


def _tasks(results: pd.DataFrame) -> list[str]:
    present = set(results["task"])
    return [task for task in TARGET_TASKS if task in present] + sorted(present - set(TARGET_TASKS))


def _primary_scores(results: pd.DataFrame, task: str, split: str | None) -> pd.DataFrame:
    """The task's primary-metric rows on one split, at most one per (order, seed, language)."""
    metric = primary_metric(task)
    scores = results[(results["task"] == task) & (results["metric"] == metric)]
    splits = sorted(set(scores["split"]))
    if split is None and len(splits) > 1:
        raise ConfigError(f"{task} was scored on several splits ({', '.join(splits)}): pass the split to tabulate")
    chosen = split if split is not None else (splits[0] if splits else None)
    scores = scores[scores["split"] == chosen]
    duplicated = scores[scores.duplicated([*_RUN, "lang"], keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ConfigError(f"{task}: several {metric} results for order {first['order_name']!r}, seed {first['seed']}, "
                          f"language {first['lang']!r} (different models or settings?): filter the results first")
    return scores


def _languages(task: str, present: set[str]) -> list[str]:
    try:
        official = [lang for lang in get_task(task).languages if lang in present]
    except UnknownTaskError:
        official = []
    return official + sorted(present - set(official))


def _task_table(scores: pd.DataFrame, task: str, orders: Sequence[str] | None) -> pd.DataFrame:
    languages = _languages(task, set(scores["lang"]))
    averages = _run_averages(scores, languages).assign(lang=AVERAGE)
    cells = _cell_statistics(pd.concat([scores, averages], ignore_index=True))
    present = set(scores["order_name"])
    rows = [order for order in orders if order in present] if orders is not None else sorted(present)
    columns = pd.MultiIndex.from_product([[*languages, AVERAGE], CELL_FIELDS], names=["lang", "field"])
    table = cells.unstack("lang").swaplevel(axis=1).reindex(index=rows, columns=columns)
    table.index.name = "order"
    for column in [*languages, AVERAGE]:
        table[(column, "n")] = table[(column, "n")].fillna(0).astype(int)
        table[(column, "contaminated")] = table[(column, "contaminated")].fillna(False).astype(bool)
    contaminated = scores[scores["contaminated"].astype(bool) & scores["order_name"].isin(rows)]
    table.attrs = {"task": task, "metric": primary_metric(task),
                   "split": scores["split"].iloc[0],
                   "contamination_reasons": sorted(set(contaminated["contamination_reason"].dropna()))}
    return table


def _run_averages(scores: pd.DataFrame, languages: Sequence[str]) -> pd.DataFrame:
    """Per (order, seed): the mean over ``languages``; runs missing one of them are left out."""
    scores = scores[scores["lang"].isin(languages)]
    runs = scores.groupby(_RUN, dropna=False).agg(value=("value", "mean"), languages=("lang", "nunique"),
                                                   contaminated=("contaminated", "any"),
                                                   eval_node=("eval_node", lambda s: "|".join(sorted(set(s)))))
    return runs[runs["languages"] == len(languages)].drop(columns="languages").reset_index()


def _cell_statistics(scores: pd.DataFrame) -> pd.DataFrame:
    cells = scores.groupby(["order_name", "lang"]).agg(
        mean=("value", "mean"), std=("value", "std"), n=("value", "size"), contaminated=("contaminated", "any"),
        evaluations=("eval_node", "nunique"))
    # One evaluation recorded under every seed (an untrained encoder) has no spread: not "± 0.0".
    cells.loc[(cells["evaluations"] == 1) & (cells["n"] > 1), "std"] = float("nan")
    return cells.drop(columns="evaluations")


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
    return f"{attrs['task']} {attrs['split']} {attrs['metric']}: mean ± sample std over {seeds}"


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
    text = f"{cell['mean']:.1f}"
    if not math.isnan(cell["std"]):
        text += f" ± {cell['std']:.1f}"
    if show_n:
        text += f" (n={cell['n']})"
    return text + ("*" if cell["contaminated"] else "")


def _footnote(table: pd.DataFrame) -> str | None:
    columns = set(table.columns.get_level_values("lang"))
    if not any(table[(column, "contaminated")].any() for column in columns):
        return None
    reasons = "; ".join(table.attrs["contamination_reasons"]) or "an intermediate stage trained on its data"
    return f"* contaminated (evaluation data seen in training): {reasons}"


# ---------------------------------------------------------------- paired comparison


def paired_differences(results: pd.DataFrame, task: str, order_a: str, order_b: str, *,
                       split: str | None = None) -> list[PairedDifference]:
    """Per language and ``avg``: the mean over seeds of (order A - order B) on the task's primary
    metric, with a paired t-test over the seeds both orders ran (runs without a seed are left out)."""
    scores = _primary_scores(results, task, split)
    scores = scores[scores["seed"].notna()]
    known = set(scores["order_name"])
    for order in (order_a, order_b):
        if order not in known:
            raise ConfigError(f"order {order!r} has no seeded {task} results; known: {', '.join(sorted(known))}")
    languages = _languages(task, _common_languages(scores, order_a, order_b))
    scores = scores[scores["lang"].isin(languages)]
    with_averages = pd.concat([scores, _run_averages(scores, languages).assign(lang=AVERAGE)], ignore_index=True)
    runs = {order: _by_seed(with_averages[with_averages["order_name"] == order]) for order in (order_a, order_b)}
    differences = [_paired(column, runs[order_a], runs[order_b]) for column in [*languages, AVERAGE]
                   if column in runs[order_a]["value"] and column in runs[order_b]["value"]]
    return [difference for difference in differences if difference.n_pairs > 0]


def _by_seed(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Seed x language tables of the values and of the contamination flags of one order."""
    return {"value": scores.pivot(index="seed", columns="lang", values="value").astype(float),
            "contaminated": scores.pivot(index="seed", columns="lang", values="contaminated").astype(bool)}


def _common_languages(scores: pd.DataFrame, order_a: str, order_b: str) -> set[str]:
    return (set(scores.loc[scores["order_name"] == order_a, "lang"])
            & set(scores.loc[scores["order_name"] == order_b, "lang"]))


def _paired(column: str, runs_a: dict[str, pd.DataFrame], runs_b: dict[str, pd.DataFrame]) -> PairedDifference:
    values = pd.concat({"a": runs_a["value"][column], "b": runs_b["value"][column]}, axis=1).dropna()
    differences = values["a"] - values["b"]
    contaminated = bool(runs_a["contaminated"][column].any() or runs_b["contaminated"][column].any())
    t_statistic = p_value = None
    if len(values) >= 2 and differences.nunique() > 1:  # constant differences leave t undefined
        test = stats.ttest_rel(values["a"], values["b"])
        t_statistic, p_value = float(test.statistic), float(test.pvalue)
    return PairedDifference(lang=column, n_pairs=len(values), mean_difference=float(differences.mean()),
                            t_statistic=t_statistic, p_value=p_value, contaminated=contaminated)
