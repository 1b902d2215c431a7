"""The study report: the answer to "does the order of intermediate stages change zero-shot
transfer, and where?", computed from the filtered store rows (``results.filtering``) with the
statistics of ``results.statistics``. ``build_report`` is pure (rows, study facts and a loader of
per-example outputs in; a ``Report`` of text, tables and PNG figures out); ``write_report``
writes report.md, a self-contained report.html (figures embedded), every table as CSV and every
figure as PNG.

Rows are keyed by TARGET (a study may evaluate one task twice, e.g. ``panx`` and ``panx2`` on
another train slice); what is compared is found from what each condition trained
(``study.comparisons``), never from order names. The headline states only what the tests
support: the interval beside an adjusted p is at the level that agrees with it, its sign follows
the sentence, and a contrast with fewer than 2 seeds is not tested.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.files import write_bytes_atomic
from xstilts.scoring.aggregate import primary_metric, task_score
from xstilts.results import plots
from xstilts.results.filtering import condition_rows
from xstilts.results.statistics import (
    ALPHA, AVERAGE, GENERALISES_OVER, METHOD_NAMES, POWER, ContrastResult, ExampleLoader, adjust_family,
    cell_statistics, format_cell, format_number, format_p, language_order, paired_contrast, seed_advice,
    with_language_average,
)
from xstilts.study.comparisons import ConditionPath, PlannedContrast, condition_path, planned_contrasts
from xstilts.results.suite_table import suite_columns
from xstilts.languages import language_name
from xstilts.tasks.registry import DEFAULT_SUITE, display_name, get_suite, get_task, suite_tasks

CONFOUND_THRESHOLD = 0.10
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
HEADLINE_KINDS = ("orders", "listed")  # the contrasts the headline speaks about (others: the contrast table)


@dataclass(frozen=True)
class ReportOptions:
    correction: str = "holm"  # within each family: the primary contrasts; the per-language contrasts
    test: str = "t"  # t (seeds) | t+items (seeds and evaluation items)
    include_contaminated: bool = False
    listed_contrasts: tuple[tuple[str, str], ...] = ()  # the study's [report] contrasts
    effect: float = 1.0  # the difference the seeds advisor sizes for (metric points)
    suite: str = DEFAULT_SUITE  # whose table and score (the study's ``suite``)


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> table (written as name.csv)
    figures: dict[str, bytes] = field(default_factory=dict)  # name -> PNG (written as name.png)


@dataclass
class Report:
    title: str
    headline: str
    sections: list[Section]
    contrasts: list[ContrastResult]  # every contrast, adjusted within its family

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: table for section in self.sections for name, table in section.tables.items()}

    def figures(self) -> dict[str, bytes]:
        return {name: figure for section in self.sections for name, figure in section.figures.items()}


# ---------------------------------------------------------------- conditions and targets


def _trainings(value: Any) -> list[dict[str, Any]]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def condition_paths(rows: pd.DataFrame) -> dict[str, ConditionPath]:
    """Each condition's stages, from the ``training`` its result rows record."""
    paths: dict[str, ConditionPath] = {}
    for condition, training in condition_rows(rows)[["condition", "training"]].itertuples(index=False):
        if condition not in paths:
            paths[condition] = condition_path(condition, _trainings(training))
    return paths


def ordered_conditions(paths: Mapping[str, ConditionPath]) -> list[str]:
    """No intermediate stage first, then by number of stages, a mixed stage after its singles."""
    return sorted(paths, key=lambda name: (len(paths[name].stages),
                                           sum(len(stage.data) for stage in paths[name].stages), name))


def baseline_condition(paths: Mapping[str, ConditionPath]) -> str | None:
    """The condition without intermediate training, if the study has one."""
    return next((name for name in ordered_conditions(paths) if not paths[name].stages), None)


def describe(paths: Mapping[str, ConditionPath], condition: str, other: str) -> str:
    """``English-first (nli_en>nli_de)`` when the first stages' languages tell the two apart."""
    mine, theirs = paths[condition], paths.get(other)
    if len(mine.stages) == 1 and len(mine.stages[0].data) > 1:
        return f"the mixed stage ({condition})"
    languages = mine.first_languages()
    if (len(mine.stages) > 1 and theirs is not None and len(theirs.stages) > 1 and len(languages) == 1
            and languages != theirs.first_languages()):
        (language,) = languages
        return f"{language_name(language)}-first ({condition})"
    return condition


def target_task(rows: pd.DataFrame, target: str) -> str:
    return str(rows.loc[rows["target"] == target, "task"].iloc[0])


def ordered_targets(rows: pd.DataFrame) -> list[str]:
    """XTREME's task order, then other tasks; a task's targets in name order."""
    rank = {task.name: index for index, task in enumerate(suite_tasks())}
    pairs = rows[["target", "task"]].drop_duplicates()
    return [target for target, task in sorted(pairs.itertuples(index=False),
                                              key=lambda pair: (rank.get(pair[1], len(rank)), pair[1], pair[0]))]


def target_name(rows: pd.DataFrame, target: str) -> str:
    """``PAN-X``, or ``PAN-X (panx2)`` for a second target of the task."""
    task = target_task(rows, target)
    name = display_name(task)
    return name if target == task else f"{name} ({target})"


def target_rows(rows: pd.DataFrame, target: str, metric: str | None = None, *, trajectory: bool = False
                ) -> pd.DataFrame:
    """The target's rows of one metric (default: its primary metric) on one split; conditions'
    results only, unless ``trajectory`` (then trajectory points too)."""
    chosen = rows if trajectory else condition_rows(rows)
    chosen = chosen[chosen["target"] == target]
    if chosen.empty:
        return chosen
    chosen = chosen[chosen["metric"] == (metric or primary_metric(str(chosen["task"].iloc[0])))]
    splits = sorted(set(chosen["split"]))
    return chosen[chosen["split"] == splits[0]] if splits else chosen


def contaminated_languages(rows: pd.DataFrame, target: str) -> list[str]:
    return _contaminated(target_rows(rows, target))


def _contaminated(scores: pd.DataFrame) -> list[str]:
    return sorted(set(scores.loc[scores["contaminated"].astype(bool), "lang"]))


def averaged_languages(rows: pd.DataFrame, target: str, include_contaminated: bool) -> list[str]:
    return _averaged(target_rows(rows, target), include_contaminated)


def _averaged(scores: pd.DataFrame, include_contaminated: bool) -> list[str]:
    """The languages of a target's average: all of them, or the clean ones."""
    languages = language_order(scores["lang"])
    if include_contaminated:
        return languages
    dropped = set(_contaminated(scores))
    return [lang for lang in languages if lang not in dropped]


def target_scores_per_run(rows: pd.DataFrame, target: str, languages: Sequence[str]) -> pd.DataFrame:
    """Per (condition, seed): XTREME's task score over ``languages`` (QA: (mean F1 + mean EM) / 2)."""
    frame = condition_rows(rows)
    frame = frame[(frame["target"] == target) & frame["lang"].isin(languages)]
    split = sorted(set(target_rows(rows, target)["split"]))[:1]
    frame = frame[frame["split"].isin(split)]
    task = target_task(rows, target)
    averages = frame.groupby(["condition", "seed", "metric"]).agg(value=("value", "mean"), n=("lang", "nunique"))
    averages = averages[averages["n"] == len(languages)]["value"].unstack("metric")
    records = []
    for (condition, seed), metrics in averages.iterrows():
        try:
            records.append((condition, seed, task_score(task, metrics.dropna().to_dict())))
        except KeyError:  # a metric of the task score is missing for this run
            continue
    return pd.DataFrame(records, columns=["condition", "seed", "value"])


# ---------------------------------------------------------------- contrasts


def compute_contrasts(rows: pd.DataFrame, load_examples: ExampleLoader | None,
                      options: ReportOptions = ReportOptions()) -> list[ContrastResult]:
    """Every planned contrast on every target where both conditions have results: the primary
    (language-average) contrasts adjusted as one family, the per-language ones as a second."""
    paths = condition_paths(rows)
    planned = planned_contrasts([paths[name] for name in ordered_conditions(paths)],
                                [pair for pair in options.listed_contrasts if set(pair) <= set(paths)])
    results: list[ContrastResult] = []
    conditions = condition_rows(rows)
    by_target = dict(tuple(conditions.groupby("target", sort=False)))
    for target in ordered_targets(conditions):
        scores = target_rows(by_target[target], target)  # one target's rows: cheap on large studies
        task = str(scores["task"].iloc[0])
        languages = _averaged(scores, options.include_contaminated)
        present = set(scores["condition"])
        for contrast in planned:
            if {contrast.a, contrast.b} <= present and languages:
                results.extend(paired_contrast(scores, target=target, task=task, metric=primary_metric(task),
                                               condition_a=contrast.a, condition_b=contrast.b, languages=languages,
                                               kind=contrast.kind, method=options.test, load_examples=load_examples))
    primary = adjust_family([c for c in results if c.lang == AVERAGE], options.correction)
    per_language = adjust_family([c for c in results if c.lang != AVERAGE], options.correction)
    by_key = {_key(c): c for c in [*primary, *per_language]}
    return [by_key[_key(c)] for c in results]


def _key(contrast: ContrastResult) -> tuple[str, str, str, str]:
    return contrast.target, contrast.condition_a, contrast.condition_b, contrast.lang


def oriented(contrast: ContrastResult) -> tuple[str, str, float, tuple[float, float] | None]:
    """(winner, loser, difference >= 0, interval of winner - loser): the sentence's direction."""
    interval = contrast.interval
    if contrast.mean_difference >= 0:
        return contrast.condition_a, contrast.condition_b, contrast.mean_difference, interval
    flipped = (-interval[1], -interval[0]) if interval else None
    return contrast.condition_b, contrast.condition_a, -contrast.mean_difference, flipped


def _level(level: float) -> str:
    """95% / 98.3% / 99.998%: the interval's confidence level, never rounded up to 100%."""
    for digits in range(1, 6):
        text = f"{100 * level:.{digits}f}"
        if float(text) < 100:
            return text.rstrip("0").rstrip(".") + "%"
    return f"{100 * level:.6f}%"


def _magnitude(difference: float) -> str:
    """A difference > 0 with the digits it needs to show that it is not 0 (0.04 -> "0.04")."""
    for digits in range(1, 5):
        if round(difference, digits) > 0:
            return format_number(difference, digits)
    return f"{difference:.1e}"


def _method_clause(contrast: ContrastResult) -> str:
    text = f"{'paired t-test' if contrast.method == 't' else 'paired t-test with item variance'} over " \
           f"{contrast.n_seeds} seed{'s' * (contrast.n_seeds != 1)}"
    note = contrast.test.note
    return f"{text}; {note}" if note and "fell back" in note else text


UNIT_NAMES = {"f1": "F1", "f1_macro": "macro F1"}


def _unit(task: str) -> str:
    return UNIT_NAMES.get(primary_metric(task), primary_metric(task))


def _statistics_clause(contrast: ContrastResult, correction: str, interval: tuple[float, float] | None) -> str:
    low, high = interval or (None, None)
    adjusted = (f"{CORRECTION_NAMES[correction]}-adjusted over {contrast.family_size} contrast"
                f"{'s' * (contrast.family_size != 1)}: p = {format_p(contrast.adjusted_p)}")
    return (f"{adjusted}, {_level(contrast.interval_level)} CI {format_number(low)} to {format_number(high)}; "
            f"{_method_clause(contrast)}")


def headline(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> str:
    """One clause per primary order contrast (orders and listed pairs; all primary contrasts when
    there are none), each naming its test, its adjusted p and the interval that agrees with it."""
    paths = condition_paths(rows)
    primary = [c for c in contrasts if c.lang == AVERAGE]
    chosen = [c for c in primary if c.kind in HEADLINE_KINDS] or primary
    if not chosen:
        return ("No contrast can be computed: no two conditions that the study compares (orders over the same "
                "stages, an order and its mixed stage, or [report] contrasts) have results on a common target.")
    clauses = []
    for contrast in chosen:
        name = target_name(rows, contrast.target)
        unit = _unit(contrast.task)
        a = describe(paths, contrast.condition_a, contrast.condition_b)
        b = describe(paths, contrast.condition_b, contrast.condition_a)
        n_lang = len(averaged_languages(rows, contrast.target, options.include_contaminated))
        over = f"averaged over {n_lang} language{'s' * (n_lang != 1)}"
        if contrast.n_seeds < 2:
            clauses.append(f"{name}: {a} vs {b} cannot be tested with {contrast.n_seeds} seed"
                           f"{'s' * (contrast.n_seeds != 1)} (difference {format_number(contrast.mean_difference, sign=True)} "
                           f"{unit}): a paired test needs at least 2 seeds of both, and how many a given difference "
                           "needs depends on the seed variance (`xstilts plan STUDY --pilot PILOT` sizes it from a "
                           "pilot with 2 or more seeds)")
        elif contrast.p is None:
            clauses.append(f"{name}: {a} - {b} = {format_number(contrast.mean_difference, sign=True)} {unit} in every "
                           f"one of {contrast.n_seeds} seeds: {contrast.test.note}")
        elif contrast.significant:
            winner, loser, difference, interval = oriented(contrast)
            winner_text = describe(paths, winner, loser)
            loser_text = describe(paths, loser, winner)
            clauses.append(f"{winner_text} beats {loser_text} on {name} by {_magnitude(difference)} {unit} {over} "
                           f"({_statistics_clause(contrast, options.correction, interval)})")
        else:
            advice = seed_advice(contrast.test.sd, contrast.n_seeds, options.effect)
            detectable = (f"; these seeds detect a difference of {format_number(advice.detectable)} {unit} with "
                          f"{POWER:.0%} power" if advice.detectable is not None else "")
            clauses.append(f"no significant difference between {a} and {b} on {name} ({contrast.condition_a} - "
                           f"{contrast.condition_b} = {format_number(contrast.mean_difference, sign=True)} {unit} {over}; "
                           f"{_statistics_clause(contrast, options.correction, contrast.interval)}{detectable})")
    text = "; ".join(clauses)
    # A sentence starts with a capital, but a condition's own name is never changed ("en_start").
    if not any(text.startswith(name) for name in paths):
        text = text[0].upper() + text[1:]
    return text + "."


# ---------------------------------------------------------------- the report


def build_report(rows: pd.DataFrame, facts: Mapping[str, Any], load_examples: ExampleLoader | None,
                 options: ReportOptions = ReportOptions()) -> Report:
    """The report of the filtered store ``rows`` (with ``condition``); ``facts`` are study-level
    provenance (name, model, hashes, machine, excluded row counts...)."""
    paths = condition_paths(rows)
    conditions = ordered_conditions(paths)
    targets = ordered_targets(condition_rows(rows))
    contrasts = compute_contrasts(rows, load_examples, options)
    sections = [
        _paper_table(rows, targets, conditions, options),
        *[_target_section(rows, target, conditions, options) for target in targets],
        _contrast_section(rows, contrasts, options),
        _seeds_section(rows, contrasts, options),
        _transfer_gap(rows, targets, conditions),
        _trajectory_section(rows, targets, conditions, options),
        _warnings(rows, targets, contrasts, facts, options),
        _provenance(rows, facts, options),
    ]
    text = headline(rows, contrasts, options)
    title = f"xstilts report: {facts.get('study', 'study')}"
    return Report(title, text, [Section("Headline", [text]), *[s for s in sections if s is not None]], contrasts)


# ---------------------------------------------------------------- sections


def counted_targets(rows: pd.DataFrame, targets: Sequence[str], suite: str) -> dict[str, str]:
    """Task -> the target that counts for it in ``suite``'s score: each task once, its target named
    after the task, else its first target."""
    members = {task.name for task in suite_tasks(suite)}
    counted: dict[str, str] = {}
    for target in targets:
        task = target_task(rows, target)
        if task in members and (task not in counted or target == task):
            counted[task] = target
    return counted


def suite_table(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str], suite: str,
                include_contaminated: bool = False) -> pd.DataFrame:
    """Per condition, ``suite``'s group scores and score (``results.suite_table.suite_columns``)
    from the mean over seeds of each counted target's per-seed task score over the suite's
    languages of it (XTREME scores PAN-X on 40 of its 48 languages)."""
    means = {}
    for task, target in counted_targets(rows, targets, suite).items():
        spec = get_task(task)
        languages = [lang for lang in averaged_languages(rows, target, include_contaminated)
                     if lang in spec.suite_languages(suite)]
        means[task] = (target_scores_per_run(rows, target, languages).groupby("condition")["value"].mean()
                       if languages else pd.Series(dtype=float))
    return suite_columns(pd.DataFrame(means, index=list(conditions), columns=list(means)), suite)


def _paper_table(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str],
                 options: ReportOptions) -> Section:
    means: dict[str, dict[str, float]] = {}
    for target in targets:
        runs = target_scores_per_run(rows, target, averaged_languages(rows, target, options.include_contaminated))
        means[target] = runs.groupby("condition")["value"].mean().to_dict()
    members = suite_tasks(options.suite)
    table = suite_table(rows, targets, conditions, options.suite, options.include_contaminated)
    suite_score = table.iloc[:, -1]
    xtreme_column = str(suite_score.name)
    counted = counted_targets(rows, targets, options.suite)
    complete = len(counted) == len(members)
    numeric = []
    for condition in conditions:
        values = {target_name(rows, t): means[t].get(condition) for t in targets}
        value = suite_score.get(condition)
        values[xtreme_column] = None if value is None or pd.isna(value) else float(value)
        numeric.append({"condition": condition, **values})
    numeric_frame = pd.DataFrame(numeric).set_index("condition")
    base_name = baseline_condition(condition_paths(rows))
    base = numeric_frame.loc[base_name] if base_name in numeric_frame.index else None
    text = []
    for condition, row in numeric_frame.iterrows():
        cells = {}
        for column, value in row.items():
            if value is None or pd.isna(value):
                cells[column] = "-"
            elif base is None or condition == base_name or pd.isna(base[column]):
                cells[column] = format_number(value)
            else:
                cells[column] = f"{format_number(value)} ({format_number(value - base[column], sign=True)})"
        text.append({"condition": condition, **cells})
    paragraphs = [
        "Rows are conditions, columns target scores (mean over seeds of the per-seed mean over the target's "
        "languages; QA: (F1 + EM) / 2)" + (f", in brackets the difference from the no-intermediate baseline "
                                            f"({base_name})." if base is not None else ".")]
    if not complete:
        paragraphs.append(f"The {get_suite(options.suite).score_name} needs all {len(members)} tasks: it is labelled "
                          "partial and shows the mean of the tasks present.")
    doubled = sorted({t: target_task(rows, t) for t in targets if target_task(rows, t) in counted
                      and counted[target_task(rows, t)] != t}.items())
    if doubled:
        paragraphs.append(f"Tasks with several targets count once in the {get_suite(options.suite).score_name}: "
                          + "; ".join(f"{task} as {counted[task]} (not {target})" for target, task in doubled) + ".")
    section = Section("Paper-style table", paragraphs)
    section.tables["paper_table"] = pd.DataFrame(text).set_index("condition")
    section.tables["paper_table_values"] = numeric_frame
    return section


def _target_section(rows: pd.DataFrame, target: str, conditions: Sequence[str], options: ReportOptions) -> Section:
    task = target_task(rows, target)
    metric = primary_metric(task)
    scores = target_rows(rows, target)
    languages = language_order(scores["lang"])
    averaged = averaged_languages(rows, target, options.include_contaminated)
    cells = cell_statistics(with_language_average(scores, averaged))
    columns = [*languages, AVERAGE]
    present = [c for c in conditions if c in set(scores["condition"])]
    text = pd.DataFrame(index=present, columns=columns, dtype=object)
    for (condition, lang), cell in cells.iterrows():
        if condition in text.index:
            marker = "*" if lang != AVERAGE and bool(cell.get("contaminated", False)) else ""
            text.loc[condition, lang] = format_cell(cell["mean"], cell["std"], int(cell["n"]),
                                                    bool(cell["deterministic"])) + marker
    text = text.fillna("-")
    text.index.name = "condition"
    name = target_name(rows, target)
    split = scores["split"].iloc[0] if not scores.empty else "?"
    section = Section(f"{name}: languages x conditions", [
        f"{metric} on {split}, mean ± sample std over seeds (n = seeds); det. = one deterministic evaluation "
        f"(no training, the same for every seed); * = contaminated cell. avg = mean over {', '.join(averaged)}."])
    section.tables[f"{target}_cells"] = text
    section.tables[f"{target}_cells_values"] = cells.reset_index()
    means = cells["mean"].unstack("lang").reindex(index=present, columns=columns)
    base = baseline_condition(condition_paths(rows))
    if base in means.index:
        differences = (means - means.loc[base]).drop(index=base)
        if not differences.empty:
            section.figures[f"{target}_heatmap"] = plots.difference_heatmap(
                differences, f"{name}: difference from {base}", metric)
            section.tables[f"{target}_differences"] = differences.round(3)
    return section


def contrast_values(contrasts: Sequence[ContrastResult]) -> pd.DataFrame:
    """Every contrast's numbers (for the CSV and the plots)."""
    records = []
    for c in contrasts:
        low, high = c.interval or (None, None)
        raw_low, raw_high = c.unadjusted_interval() or (None, None)
        records.append({
            "target": c.target, "task": c.task, "contrast": f"{c.condition_a} - {c.condition_b}", "kind": c.kind,
            "lang": c.lang, "family": "primary" if c.lang == AVERAGE else "per-language",
            "seeds": c.n_seeds, "seed_list": " ".join(map(str, c.seeds)), "mean_difference": c.mean_difference,
            "sd_of_differences": c.test.sd, "method": c.method, "df": c.test.df, "p": c.p, "adjusted_p": c.adjusted_p,
            "family_size": c.family_size, "ci_level": c.interval_level, "ci_low": low, "ci_high": high,
            "ci95_unadjusted_low": raw_low, "ci95_unadjusted_high": raw_high, "significant": c.significant,
            "note": c.test.note or "",
        })
    return pd.DataFrame(records)


def contrast_table(contrasts: Sequence[ContrastResult]) -> pd.DataFrame:
    """The contrasts as a reader sees them: difference, adjusted p and the interval that agrees with it."""
    records = []
    for c in contrasts:
        low, high = c.interval or (None, None)
        records.append({
            "target": c.target, "contrast": f"{c.condition_a} - {c.condition_b}", "lang": c.lang, "seeds": c.n_seeds,
            "A - B": format_number(c.mean_difference, 2, sign=True),
            "CI": f"{format_number(low, 2)} to {format_number(high, 2)} ({_level(c.interval_level)})"
                  if c.interval else "-",
            "p": format_p(c.p), "adjusted p": format_p(c.adjusted_p), "significant": "yes" if c.significant else "",
            "note": c.test.note or "",
        })
    return pd.DataFrame(records)


def _contrast_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> Section:
    correction = CORRECTION_NAMES[options.correction]
    section = Section("Order contrasts", [
        f"A - B per language and for the language average (the primary contrast), paired by seed on one seed set "
        f"(the seeds where both conditions have every language). Test: {METHOD_NAMES[options.test]} (df = seeds - 1); "
        f"it generalises over {GENERALISES_OVER[options.test]}. Fewer than 2 seeds: no test. {correction}-adjusted "
        f"p-values within two families: the primary contrasts of this report, and its per-language contrasts. The "
        f"interval is the t-interval at the level that agrees with the adjusted p (1 - {ALPHA} x p / adjusted p: it "
        f"excludes 0 exactly when the adjusted p is below {ALPHA}); the unadjusted 95% interval is in the CSV. "
        f"Significant: adjusted p < {ALPHA}. Pairs compared: orders over the same stages (A: the English-first one), "
        f"each order against the mixed stage of its stages, and the study's [report] contrasts."])
    if not contrasts:
        section.paragraphs.append("No pair of compared conditions has results: nothing to contrast.")
        return section
    section.tables["contrasts"] = contrast_table(contrasts)
    values = contrast_values(contrasts)
    section.tables["contrasts_values"] = values
    significant = [c for c in contrasts if c.significant]
    if significant:
        lines = [f"{target_name(rows, c.target)} {c.lang}: {c.condition_a} - {c.condition_b} = "
                 f"{format_number(c.mean_difference, 2, sign=True)} (adjusted p = {format_p(c.adjusted_p)})"
                 for c in significant]
        section.paragraphs.append("Significant contrasts: " + "; ".join(lines) + ".")
    else:
        section.paragraphs.append(f"No contrast is significant at adjusted p < {ALPHA}.")
    for target, part in values.groupby("target", sort=False):
        tested = part[part["ci_low"].notna()]
        if not tested.empty:
            section.figures[f"{target}_contrasts"] = plots.contrast_intervals(
                tested, f"{target_name(rows, target)}: contrasts (interval at the adjusted level)",
                _unit(str(part["task"].iloc[0])))
    return section


def seed_advice_table(contrasts: Sequence[ContrastResult], effect: float) -> pd.DataFrame:
    """Per primary contrast: what its seeds detect, and the seeds ``effect`` needs."""
    records = []
    for c in contrasts:
        if c.lang != AVERAGE:
            continue
        advice = seed_advice(c.test.sd, c.n_seeds, effect)
        adjusted = seed_advice(c.test.sd, c.n_seeds, effect, alpha=ALPHA / max(1, c.family_size))
        records.append({
            "target": c.target, "contrast": f"{c.condition_a} - {c.condition_b}", "seeds": c.n_seeds,
            "sd_of_differences": advice.sd, "detectable_80": advice.detectable,
            "detectable_80_family": adjusted.detectable, "effect": effect, "seeds_needed": advice.seeds_needed,
            "seeds_needed_cautious": advice.seeds_needed_cautious, "seeds_needed_family": adjusted.seeds_needed,
        })
    return pd.DataFrame(records)


def _seeds_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> Section | None:
    table = seed_advice_table(contrasts, options.effect)
    if table.empty:
        return None
    section = Section("How many seeds?", [
        f"For each primary contrast, from the SD of its per-seed differences: the smallest true difference the paired "
        f"t-test detects with {POWER:.0%} power at the seeds run (alpha {ALPHA} two-sided; 'family': at alpha / the "
        f"number of primary contrasts, Bonferroni, which Holm never needs more than), and the seeds a difference of "
        f"{format_number(options.effect)} needs ('cautious': with the SD's 80% upper confidence bound, since a few seeds "
        f"estimate it poorly). `xstilts report --effect X` sizes for another difference; `xstilts plan STUDY --pilot "
        f"PILOT_STUDY` sizes a new study from a finished pilot. Contrasts with fewer than 2 seeds have no SD."])
    shown = table.copy()
    for column in ("sd_of_differences", "detectable_80", "detectable_80_family"):
        shown[column] = shown[column].map(lambda v: format_number(v, 2))
    for column in ("seeds_needed", "seeds_needed_cautious", "seeds_needed_family"):
        shown[column] = shown[column].map(lambda v: "-" if v is None or pd.isna(v) else str(int(v)))
    section.tables["seeds"] = shown.drop(columns="effect")
    section.tables["seeds_values"] = table
    return section


def _transfer_gap(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str]) -> Section | None:
    records = []
    for target in targets:
        scores = target_rows(rows, target)
        if "en" not in set(scores["lang"]) or len(set(scores["lang"])) < 2:
            continue
        per_run = scores.pivot_table(index=["condition", "seed"], columns="lang", values="value", aggfunc="first")
        others = [c for c in per_run.columns if c != "en"]
        gap = (per_run["en"] - per_run[others].mean(axis=1)).dropna().rename("gap").reset_index()
        for condition, part in gap.groupby("condition"):
            records.append({"target": target, "condition": condition, "gap_mean": part["gap"].mean(),
                            "gap_std": part["gap"].std(), "seeds": len(part)})
    if not records:
        return None
    rank = {condition: index for index, condition in enumerate(conditions)}
    target_rank = {target: index for index, target in enumerate(targets)}
    table = pd.DataFrame(records)
    table = table.iloc[sorted(range(len(table)), key=lambda i: (target_rank[table["target"].iloc[i]],
                                                               rank.get(table["condition"].iloc[i], len(rank))))]
    table = table.reset_index(drop=True)
    section = Section("Transfer gap", ["English score minus the mean of the other languages, per condition "
                                       "(mean and sample std over seeds; smaller is better transfer)."])
    section.tables["transfer_gap"] = table
    return section


def stage_trajectories(rows: pd.DataFrame, target: str, languages: Sequence[str],
                       conditions: Sequence[str]) -> pd.DataFrame:
    """For every condition with stages: the target's score (mean over ``languages``) after 0, 1, ...
    of its stages, per seed: the evaluations of the models after each prefix of the condition
    (trajectory points, or another condition's result when a shorter order is that prefix)."""
    scores = target_rows(rows, target, trajectory=True)
    scores = scores[scores["lang"].isin(languages)]
    per_model: dict[tuple[tuple[str, ...], Any], tuple[float, str]] = {}
    for (training, seed), part in scores.groupby([scores["training"].map(_stage_nodes), "seed"]):
        if part["lang"].nunique() == len(languages):
            per_model[(training, seed)] = (float(part.groupby("lang")["value"].first().mean()),
                                           str(part["eval_node"].iloc[0]))
    final = condition_rows(scores)
    records = []
    for condition in conditions:
        one = final[final["condition"] == condition]
        for seed, part in one.groupby("seed"):
            stages = [t for t in _trainings(part["training"].iloc[0]) if not t.get("is_target")]
            if not stages:
                continue
            nodes = tuple(stage["node"] for stage in stages)
            for after in range(len(stages) + 1):
                found = per_model.get((nodes[:after], seed))
                if found is not None:
                    label = "none" if after == 0 else stages[after - 1]["label"]
                    records.append((condition, seed, after, label, *found))
    return pd.DataFrame(records, columns=["order", "seed", "after_stages", "stage", "value", "eval_node"])


def _stage_nodes(training: Any) -> tuple[str, ...]:
    return tuple(t["node"] for t in _trainings(training) if not t.get("is_target"))


def trajectory_summary(points: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and number of seeds per (order, stages done); no std where every seed has
    the same evaluation (the untrained encoder)."""
    if points.empty:
        return pd.DataFrame(columns=["order", "after_stages", "stage", "mean", "std", "seeds"])
    summary = points.groupby(["order", "after_stages", "stage"], sort=False).agg(
        mean=("value", "mean"), std=("value", "std"), seeds=("value", "size"),
        evaluations=("eval_node", "nunique")).reset_index()
    summary.loc[summary["evaluations"] == 1, "std"] = float("nan")
    return summary.drop(columns="evaluations")


def _trajectory_section(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str],
                        options: ReportOptions) -> Section | None:
    section = Section("Stage trajectory", [
        "For every order, the target's score (mean over its averaged languages) of the model after each of its "
        "stages: what each stage did to the previous one's effect. Points are every seed's score; the line joins "
        "the means and the bars are ± one sample std over seeds (none for the untrained encoder, one evaluation). "
        "Retrieval targets are evaluated after every stage by default (a target's `trajectory` setting)."])
    for target in targets:
        languages = averaged_languages(rows, target, options.include_contaminated)
        points = stage_trajectories(rows, target, languages, conditions)
        if points.empty or points.groupby("order")["after_stages"].nunique().max() < 2:
            continue
        summary = trajectory_summary(points)
        section.tables[f"{target}_trajectory"] = summary
        section.tables[f"{target}_trajectory_values"] = points
        section.figures[f"{target}_trajectory"] = plots.stage_trajectories(
            summary, points, f"{target_name(rows, target)} after each stage", primary_metric(target_task(rows, target)))
    return section if section.tables else None


def compute_confounds(rows: pd.DataFrame, contrasts: Sequence[ContrastResult]) -> list[str]:
    """Compared conditions whose intermediate optimizer steps or training examples differ by more
    than 10%: the contrast then measures compute as well as order."""
    lines = []
    seen = set()
    frame = condition_rows(rows)
    for contrast in contrasts:
        pair = (contrast.condition_a, contrast.condition_b)
        if pair in seen:
            continue
        seen.add(pair)
        values: dict[str, dict[str, float]] = {}
        for column in ("train_steps", "train_examples"):
            for condition in pair:
                series = pd.to_numeric(frame.loc[frame["condition"] == condition, column], errors="coerce").dropna()
                if not series.empty:
                    values.setdefault(column, {})[condition] = float(series.mean())
        differing = []
        for column, what in (("train_steps", "optimizer steps"), ("train_examples", "training examples")):
            found = values.get(column, {})
            if len(found) == 2:
                a, b = found[pair[0]], found[pair[1]]
                if max(a, b) > 0 and abs(a - b) / max(a, b) > CONFOUND_THRESHOLD:
                    differing.append(f"{a:.0f} vs {b:.0f} intermediate {what} "
                                     f"({(b - a) / a * 100 if a else float('inf'):+.0f}%)")
        if differing:
            lines.append(f"{pair[0]} vs {pair[1]}: {', '.join(differing)}; their contrast measures compute as "
                         "well as order")
    return lines


def _warnings(rows: pd.DataFrame, targets: Sequence[str], contrasts: Sequence[ContrastResult],
              facts: Mapping[str, Any], options: ReportOptions) -> Section:
    lines = []
    frame = condition_rows(rows)
    for target in targets:
        dropped = contaminated_languages(rows, target)
        if dropped:
            reasons = sorted(set(target_rows(rows, target).loc[lambda f: f["contaminated"].astype(bool),
                                                                "contamination_reason"].dropna()))
            verb = "included in" if options.include_contaminated else "left out of"
            lines.append(f"Contaminated: {target_name(rows, target)} {', '.join(dropped)} ({'; '.join(reasons)}); "
                         f"{verb} the language averages")
    not_zero_shot = frame[~frame["zero_shot"].astype(bool)]
    for condition, part in not_zero_shot.groupby("condition"):
        selections = sorted({f"{s.get('stage')}: {s['task']} {s['lang']} {s['split']}" for value in part["selection"]
                             for s in (json.loads(value) if isinstance(value, str) else value) if s["lang"] != "en"})
        lines.append(f"Not zero-shot: {condition} ({', '.join(sorted(set(part['target'])))}) selects or trains the "
                     f"target on non-English data ({'; '.join(selections) or 'non-English target training'})")
    oracle = frame[frame["oracle"].astype(bool)]
    for target, part in oracle.groupby("target"):
        lines.append(f"Oracle threshold: {target_name(rows, target)} {', '.join(sorted(set(part['lang'])))} is scored "
                     "with a threshold tuned on the scored split's own gold (no test gold): an upper bound")
    lines.extend(f"Compute confound: {line}" for line in compute_confounds(rows, contrasts))
    for target in targets:
        cells = cell_statistics(target_rows(rows, target))
        name = target_name(rows, target)
        single = [f"{c} {lang}" for (c, lang), cell in cells.iterrows() if cell["n"] == 1]
        if single:
            lines.append(f"Single-seed cells ({name}): {', '.join(single)}: no spread, no test")
        deterministic = sorted({c for (c, lang), cell in cells.iterrows() if cell["deterministic"]})
        if deterministic:
            lines.append(f"Deterministic ({name}): {', '.join(deterministic)} is one evaluation "
                         "without training, shown as a single value (no ± over seeds)")
    notes = sorted({f"{target_name(rows, c.target)} {c.condition_a} - {c.condition_b}: {c.test.note}"
                    for c in contrasts if c.lang == AVERAGE and c.test.note})
    lines.extend(f"Test: {note}" for note in notes)
    missing = sorted({name for pair in options.listed_contrasts for name in pair} - set(frame["condition"]))
    if missing:
        lines.append(f"Listed contrasts with no results yet: {', '.join(missing)}")
    if facts.get("rows_not_in_plan"):
        lines.append(f"{facts['rows_not_in_plan']} stored rows belong to other plans (earlier versions of the study) "
                     "and are not used (--all-rows shows them, labelled)")
    return Section("Warnings", lines or ["None."])


def result_notes(rows: pd.DataFrame, facts: Mapping[str, Any]) -> list[str]:
    """The warnings that need no contrast (for ``results show``)."""
    section = _warnings(rows, ordered_targets(condition_rows(rows)), [], facts, ReportOptions())
    return [line for line in section.paragraphs if line != "None."]


def differing_hyperparameters(rows: pd.DataFrame) -> pd.DataFrame:
    """Every training setting whose value differs between conditions (by training role)."""
    values: dict[tuple[str, str], dict[str, set]] = {}
    for condition, part in condition_rows(rows).groupby("condition"):
        for training in part["training"]:
            for t in _trainings(training):
                role = f"{t['label']} fine-tuning" if t.get("is_target") else "intermediate stages"
                for key, value in (t.get("config") or {}).items():
                    values.setdefault((role, key), {}).setdefault(condition, set()).add(json.dumps(value))
    records = []
    for (role, key), by_condition in sorted(values.items()):
        distinct = set().union(*by_condition.values())
        if len(distinct) > 1:
            records.append({"training": role, "setting": key,
                            **{c: ", ".join(sorted(v)) for c, v in sorted(by_condition.items())}})
    return pd.DataFrame(records)


def _eval_precisions(rows: pd.DataFrame) -> str:
    """"fp32", "bf16", or per precision its targets when they differ. Rows record eval_precision in
    their settings only when it is not fp32 (xstilts.evaluation.zero_shot)."""
    by_precision: dict[str, set[str]] = {}
    for target, settings in zip(rows["target"], rows["settings"]):
        precision = (json.loads(settings) if isinstance(settings, str) else settings).get("eval_precision", "fp32")
        by_precision.setdefault(precision, set()).add(str(target))
    if len(by_precision) <= 1:
        return next(iter(by_precision), "fp32")
    return "; ".join(f"{precision} ({', '.join(sorted(targets))})"
                     for precision, targets in sorted(by_precision.items()))


def _provenance(rows: pd.DataFrame, facts: Mapping[str, Any], options: ReportOptions) -> Section:
    retrieval = sorted({json.dumps((json.loads(s) if isinstance(s, str) else s).get("retrieval"), sort_keys=True)
                        for s in rows["settings"]
                        if (json.loads(s) if isinstance(s, str) else s).get("retrieval") is not None})
    selection = sorted({f"{s.get('stage')}: best on {s['task']} {s['lang']} {s['split']} {s.get('slice') or ''}".strip()
                        for value in rows["selection"] for s in (json.loads(value) if isinstance(value, str) else value)})
    lines = [
        f"Study: {facts.get('study')} ({facts.get('study_file', '')}); plan hash {facts.get('plan_hash', '?')}",
        f"Model: {facts.get('model')} (content hash {facts.get('model_hash', 'n/a')})",
        f"Code version: {', '.join(sorted(set(rows['code_version'])))}",
        f"Selection rule: {'; '.join(selection) or 'no training selects a checkpoint (last weights)'}; stages with "
        "dev = false keep their last weights",
        f"Retrieval: {'; '.join(retrieval) or 'none'}",
        f"Evaluation precision: {_eval_precisions(rows)}",
        f"Report made {facts.get('date', '?')} on {facts.get('machine', '?')}; rows recorded "
        f"{rows['created_at'].min() if not rows.empty else '-'} to {rows['created_at'].max() if not rows.empty else '-'}",
        f"Statistics: {METHOD_NAMES[options.test]} (generalises over {GENERALISES_OVER[options.test]}), "
        f"{CORRECTION_NAMES[options.correction]} correction within the primary and the per-language families, "
        f"alpha {ALPHA}; contaminated cells {'included in' if options.include_contaminated else 'left out of'} "
        "averages",
    ]
    environments = facts.get("environments")
    if environments:
        lines.append(f"Recorded with the trainings: {'; '.join(environments)}")
    section = Section("Provenance", lines)
    data = facts.get("data_files") or {}
    if data:
        section.tables["data_files"] = pd.DataFrame(sorted(data.items()), columns=["data", "sha256"])
    hyper = differing_hyperparameters(rows)
    section.paragraphs.append("Hyper-parameters that differ between conditions: "
                              + ("see the table." if not hyper.empty else "none."))
    if not hyper.empty:
        section.tables["differing_hyperparameters"] = hyper
    return section


# ---------------------------------------------------------------- writing


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a meaningful index (``condition``) as its first column and no header row for
    the columns' own name."""
    frame = table.reset_index() if table.index.name or not isinstance(table.index, pd.RangeIndex) else table.copy()
    frame.columns.name = None
    return frame


def _markdown_table(table: pd.DataFrame) -> str:
    frame = _shown(table)

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return format_number(value, 3)
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _displayed(name: str) -> bool:
    return not name.endswith("_values")


def render_markdown(report: Report) -> str:
    parts = [f"# {report.title}", ""]
    for section in report.sections:
        parts += [f"## {section.title}", ""]
        warnings = section.title == "Warnings"
        parts += [(f"- {p}" if warnings else p) for p in section.paragraphs]
        parts.append("")
        for name, table in section.tables.items():
            if _displayed(name):
                parts += [f"**{name}** ([csv]({name}.csv))", "", _markdown_table(table), ""]
        for name in section.figures:
            parts += [f"![{name}]({name}.png)", ""]
    return "\n".join(parts)


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.scroll{overflow-x:auto;max-width:100%;margin:0.5em 0 1.5em}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #bbb;padding:3px 6px;
text-align:right;white-space:nowrap}th{background:#eee}.headline{font-size:1.2em;background:#f3f7ff;padding:0.8em;
border-left:4px solid #36c}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"""


def render_html(report: Report) -> str:
    body = [f"<h1>{html.escape(report.title)}</h1>",
            f"<p class='headline' id='headline'>{html.escape(report.headline)}</p>"]
    for section in report.sections[1:]:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.title == "Warnings":
            body.append("<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in section.paragraphs) + "</ul>")
        else:
            body += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        for name, table in section.tables.items():
            if not _displayed(name):
                continue
            body.append(f"<h3>{html.escape(name)}</h3>")
            # Wide tables scroll inside their box instead of running off the page.
            body.append("<div class='scroll'>" + _shown(table).to_html(
                index=False, na_rep="-", float_format=lambda v: format_number(v, 3), table_id=name,
                classes="report-table") + "</div>")
        for name, png in section.figures.items():
            encoded = base64.b64encode(png).decode("ascii")
            body.append(f"<img alt='{html.escape(name)}' id='{html.escape(name)}' src='data:image/png;base64,{encoded}'>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(report.title)
            + f"</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>")


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write report.md, report.html, NAME.csv per table and NAME.png per figure; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in report.tables().items():
        write_bytes_atomic(out_dir / f"{name}.csv", table.to_csv().encode())
    for name, png in report.figures().items():
        write_bytes_atomic(out_dir / f"{name}.png", png)
    write_bytes_atomic(out_dir / "report.md", render_markdown(report).encode())
    write_bytes_atomic(out_dir / "report.html", render_html(report).encode())
    return out_dir / "report.html"
