"""The study report: the answer to "does the order of intermediate stages change zero-shot
transfer, and where?", computed from the filtered store rows (``results.filtering``) with the
statistics of ``results.statistics``. ``build_report`` is pure (rows, study facts and a loader of
per-example outputs in; a ``Report`` of text, tables and PNG figures out); ``write_report``
writes report.md, a self-contained report.html (figures embedded), every table as CSV and every
figure as PNG.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.metrics.aggregate import primary_metric
from xstilts.results import plots
from xstilts.results.statistics import (
    AVERAGE, DEFAULT_RESAMPLES, DEFAULT_SEED, ContrastResult, ExampleLoader, adjust_primary, cell_statistics,
    format_cell, language_order, paired_contrast, with_language_average,
)
from xstilts.tasks.registry import TARGET_TASKS

BASELINE = "baseline"
THEN, MIX = ">", "+"
ALPHA = 0.05
CONFOUND_THRESHOLD = 0.10
QA_TASKS = ("xquad", "mlqa", "tydiqa")
RETRIEVAL_TASKS = ("bucc2018", "tatoeba")
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "zh": "Chinese", "ru": "Russian",
                  "ar": "Arabic", "hi": "Hindi", "sw": "Swahili", "ja": "Japanese", "ko": "Korean", "tr": "Turkish",
                  "vi": "Vietnamese", "th": "Thai", "el": "Greek", "bg": "Bulgarian", "ur": "Urdu"}
TASK_NAMES = {"panx": "PAN-X", "udpos": "UD-POS", "xnli": "XNLI", "pawsx": "PAWS-X", "xquad": "XQuAD",
              "mlqa": "MLQA", "tydiqa": "TyDiQA", "bucc2018": "BUCC", "tatoeba": "Tatoeba"}


@dataclass(frozen=True)
class ReportOptions:
    correction: str = "holm"  # across languages of a contrast, and across the primary contrasts
    test: str = "bootstrap"  # the primary test: bootstrap (falls back to t where it cannot run) or t
    resamples: int = DEFAULT_RESAMPLES
    bootstrap_seed: int = DEFAULT_SEED
    include_contaminated: bool = False


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
    contrasts: list[ContrastResult]  # every contrast, primary ones with report-wide adjusted p

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: table for section in self.sections for name, table in section.tables.items()}

    def figures(self) -> dict[str, bytes]:
        return {name: figure for section in self.sections for name, figure in section.figures.items()}


# ---------------------------------------------------------------- conditions


def condition_kind(condition: str) -> tuple[int, str]:
    """Sort key: baseline, single stages, orders, mixed stages, others (labelled ones last)."""
    name = condition.split(" (plan ")[0]
    if name == BASELINE:
        return 0, condition
    if THEN in name:
        return 2, condition
    if MIX in name:
        return 3, condition
    return 1, condition


def stage_set(condition: str) -> tuple[str, ...]:
    name = condition.split(" (plan ")[0]
    if name == BASELINE:
        return ()
    return tuple(sorted(part for step in name.split(THEN) for part in step.split(MIX)))


def contrast_pairs(conditions: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair of orders over the same stages, and each order against the mixed stage of them."""
    pairs = []
    orders = [c for c in conditions if condition_kind(c)[0] == 2]
    mixed = [c for c in conditions if condition_kind(c)[0] == 3]
    for i, a in enumerate(orders):
        for b in orders[i + 1:]:
            if stage_set(a) == stage_set(b):
                pairs.append((a, b))
        for m in mixed:
            if stage_set(a) == stage_set(m):
                pairs.append((a, m))
    return pairs


def first_stage_language(rows: pd.DataFrame, condition: str) -> str | None:
    """The language(s) the first intermediate stage of ``condition`` trained on."""
    for training in rows.loc[rows["condition"] == condition, "training"]:
        trainings = json.loads(training) if isinstance(training, str) else training
        stages = [t for t in trainings if not t.get("is_target")]
        if stages:
            langs = sorted({item["lang"] for item in stages[0]["train"]})
            return "+".join(langs)
    return None


def describe(rows: pd.DataFrame, condition: str, other: str) -> str:
    """``English-first (nli_en>nli_de)`` when the first stages' languages tell the two apart."""
    if condition_kind(condition)[0] == 3:
        return f"the mixed stage ({condition})"
    mine, theirs = first_stage_language(rows, condition), first_stage_language(rows, other)
    if mine and mine != theirs and "+" not in mine:
        return f"{LANGUAGE_NAMES.get(mine, mine)}-first ({condition})"
    return condition


# ---------------------------------------------------------------- scores


def task_rows(rows: pd.DataFrame, task: str, metric: str | None = None) -> pd.DataFrame:
    metric = metric or primary_metric(task)
    chosen = rows[(rows["task"] == task) & (rows["metric"] == metric)]
    splits = sorted(set(chosen["split"]))
    return chosen[chosen["split"] == splits[0]] if splits else chosen


def contaminated_languages(rows: pd.DataFrame, task: str) -> list[str]:
    scores = task_rows(rows, task)
    return sorted(set(scores.loc[scores["contaminated"].astype(bool), "lang"]))


def averaged_languages(rows: pd.DataFrame, task: str, include_contaminated: bool) -> list[str]:
    languages = language_order(task_rows(rows, task)["lang"])
    if include_contaminated:
        return languages
    dropped = set(contaminated_languages(rows, task))
    return [lang for lang in languages if lang not in dropped]


def task_scores_per_run(rows: pd.DataFrame, task: str, languages: Sequence[str]) -> pd.DataFrame:
    """Per (condition, seed): the task score over ``languages`` (QA: (mean F1 + mean EM) / 2)."""
    metrics = ["f1", "exact_match"] if task in QA_TASKS else [primary_metric(task)]
    parts = []
    for metric in metrics:
        scores = task_rows(rows, task, metric)
        scores = scores[scores["lang"].isin(languages)]
        runs = scores.groupby(["condition", "seed"]).agg(value=("value", "mean"), n=("lang", "nunique"),
                                                         eval_node=("eval_node", "first"))
        parts.append(runs[runs["n"] == len(languages)]["value"])
    combined = pd.concat(parts, axis=1).dropna().mean(axis=1).rename("value").reset_index()
    nodes = task_rows(rows, task).groupby(["condition", "seed"])["eval_node"].first().reset_index()
    return combined.merge(nodes, on=["condition", "seed"], how="left")


def _fmt(value: float | None, digits: int = 1, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


# ---------------------------------------------------------------- the report


def build_report(rows: pd.DataFrame, facts: Mapping[str, Any], load_examples: ExampleLoader | None,
                 options: ReportOptions = ReportOptions()) -> Report:
    """The report of the filtered store ``rows`` (with ``condition``); ``facts`` are study-level
    provenance (name, model, hashes, machine, excluded row counts...)."""
    tasks = [t for t in TARGET_TASKS if t in set(rows["task"])] + sorted(set(rows["task"]) - set(TARGET_TASKS))
    conditions = sorted(set(rows["condition"]), key=condition_kind)
    contrasts = _all_contrasts(rows, tasks, conditions, load_examples, options)
    sections = [
        _paper_table(rows, tasks, conditions, options),
        *[_task_section(rows, task, conditions, options) for task in tasks],
        _contrast_section(rows, contrasts, options),
        _transfer_gap(rows, tasks, conditions),
        _trajectory_section(rows, tasks),
        _warnings(rows, tasks, conditions, contrasts, facts, options),
        _provenance(rows, facts, options),
    ]
    headline = _headline(rows, contrasts, options)
    title = f"xstilts report: {facts.get('study', 'study')}"
    return Report(title, headline, [Section("Headline", [headline]), *[s for s in sections if s is not None]],
                  contrasts)


def _all_contrasts(rows: pd.DataFrame, tasks: Sequence[str], conditions: Sequence[str],
                   load_examples: ExampleLoader | None, options: ReportOptions) -> list[ContrastResult]:
    results: list[ContrastResult] = []
    for task in tasks:
        scores = task_rows(rows, task)
        languages = averaged_languages(rows, task, options.include_contaminated)
        metric = primary_metric(task)
        loader = None if task == "bucc2018" else load_examples
        for a, b in contrast_pairs([c for c in conditions if c in set(scores["condition"])]):
            if THEN in a and THEN in b and first_stage_language(rows, b) == "en" != first_stage_language(rows, a):
                a, b = b, a  # English-first is A, so a positive difference favours it
            results.extend(paired_contrast(scores, task, metric, a, b, languages, loader,
                                           resamples=options.resamples, seed=options.bootstrap_seed,
                                           correction=options.correction, test=options.test))
    primary = [c for c in results if c.lang == AVERAGE]
    adjusted = {id(c): a for c, a in zip(primary, adjust_primary(primary, options.correction, options.test))}
    return [adjusted.get(id(c), c) for c in results]


def _significant(contrast: ContrastResult) -> bool:
    return contrast.adjusted_p is not None and contrast.adjusted_p < ALPHA


def _headline(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> str:
    primary = [c for c in contrasts if c.lang == AVERAGE]
    orders = [c for c in primary if THEN in c.condition_a and THEN in c.condition_b] or primary
    if not orders:
        return "No order contrast can be computed: the study has no two orders over the same stages with results."
    method = "Holm" if options.correction == "holm" else "BH"
    sentences, insignificant = [], []
    for contrast in orders:
        task = TASK_NAMES.get(contrast.task, contrast.task)
        metric = "F1" if primary_metric(contrast.task) == "f1" else "accuracy"
        n_lang = len(averaged_languages(rows, contrast.task, options.include_contaminated))
        low, high = contrast.primary_ci(options.test) or (float("nan"), float("nan"))
        stats_text = (f"95% CI {_fmt(low)} to {_fmt(high)}, {method}-adjusted p = {_fmt_p(contrast.adjusted_p)}, "
                      f"{contrast.n_seeds} seeds")
        a = describe(rows, contrast.condition_a, contrast.condition_b)
        b = describe(rows, contrast.condition_b, contrast.condition_a)
        if _significant(contrast):
            winner, loser = (a, b) if contrast.mean_difference > 0 else (b, a)
            sentences.append(f"{winner[0].upper() + winner[1:]} beats {loser} on {task} by "
                             f"{abs(contrast.mean_difference):.1f} {metric} averaged over {n_lang} "
                             f"language{'s' * (n_lang != 1)} ({stats_text})")
        else:
            insignificant.append(f"{task} ({a} - {b} = {_fmt(contrast.mean_difference, sign=True)} {metric}, "
                                 f"{stats_text})")
    text = "; ".join(sentences)
    if insignificant:
        text += ("; " if text else "") + "no significant difference between the orders on " + "; ".join(insignificant)
    return text[0].upper() + text[1:] + "."


# ---------------------------------------------------------------- sections


def _paper_table(rows: pd.DataFrame, tasks: Sequence[str], conditions: Sequence[str],
                 options: ReportOptions) -> Section:
    means: dict[str, dict[str, float]] = {}
    for task in tasks:
        languages = averaged_languages(rows, task, options.include_contaminated)
        runs = task_scores_per_run(rows, task, languages)
        means[task] = runs.groupby("condition")["value"].mean().to_dict()
    targets = [t for t in tasks if t in TARGET_TASKS]
    complete = len(targets) == len(TARGET_TASKS)
    xtreme_column = "XTREME score" if complete else f"XTREME score (partial: {len(targets)}/{len(TARGET_TASKS)} tasks)"
    numeric, text = [], []
    for condition in conditions:
        values = {TASK_NAMES.get(t, t): means[t].get(condition) for t in tasks}
        present = [means[t][condition] for t in targets if condition in means[t]]
        values[xtreme_column] = sum(present) / len(present) if present and len(present) == len(targets) else None
        numeric.append({"condition": condition, **values})
    numeric_frame = pd.DataFrame(numeric).set_index("condition")
    base = numeric_frame.loc[BASELINE] if BASELINE in numeric_frame.index else None
    for condition, row in numeric_frame.iterrows():
        cells = {}
        for column, value in row.items():
            if value is None or pd.isna(value):
                cells[column] = "-"
            elif base is None or condition == BASELINE or pd.isna(base[column]):
                cells[column] = _fmt(value)
            else:
                cells[column] = f"{_fmt(value)} ({_fmt(value - base[column], sign=True)})"
        text.append({"condition": condition, **cells})
    section = Section("Paper-style table", [
        "Rows are conditions, columns task scores (mean over seeds of the per-seed mean over the task's "
        "languages; QA: (F1 + EM) / 2), in brackets the difference from the no-intermediate baseline. "
        + ("" if complete else f"The XTREME score needs all {len(TARGET_TASKS)} tasks: it is labelled partial and "
           "shows the mean of the tasks present.")])
    section.tables["paper_table"] = pd.DataFrame(text).set_index("condition")
    section.tables["paper_table_values"] = numeric_frame
    return section


def _task_section(rows: pd.DataFrame, task: str, conditions: Sequence[str], options: ReportOptions) -> Section:
    metric = primary_metric(task)
    scores = task_rows(rows, task)
    languages = language_order(scores["lang"])
    averaged = averaged_languages(rows, task, options.include_contaminated)
    cells = cell_statistics(with_language_average(scores, averaged))
    columns = [*languages, AVERAGE]
    present = [c for c in conditions if c in set(scores["condition"])]
    text = pd.DataFrame(index=present, columns=columns, dtype=object)
    for (condition, lang), cell in cells.iterrows():
        if condition in text.index:
            marker = "*" if lang != AVERAGE and _contaminated(scores, condition, lang) else ""
            text.loc[condition, lang] = format_cell(cell["mean"], cell["std"], int(cell["n"]),
                                                    bool(cell["deterministic"])) + marker
    text = text.fillna("-")
    text.index.name = "condition"
    name = TASK_NAMES.get(task, task)
    split = scores["split"].iloc[0] if not scores.empty else "?"
    section = Section(f"{name}: languages x conditions", [
        f"{metric} on {split}, mean ± sample std over seeds (n = seeds); det. = one deterministic evaluation "
        f"(no training, the same for every seed); * = contaminated cell. avg = mean over {', '.join(averaged)}."])
    section.tables[f"{task}_cells"] = text
    section.tables[f"{task}_cells_values"] = cells.reset_index()
    means = cells["mean"].unstack("lang").reindex(index=present, columns=columns)
    if BASELINE in means.index:
        differences = (means - means.loc[BASELINE]).drop(index=BASELINE)
        if not differences.empty:
            section.figures[f"{task}_heatmap"] = plots.difference_heatmap(
                differences, f"{name}: difference from baseline", metric)
            section.tables[f"{task}_differences"] = differences.round(3)
    return section


def _contaminated(scores: pd.DataFrame, condition: str, lang: str) -> bool:
    cell = scores[(scores["condition"] == condition) & (scores["lang"] == lang)]
    return bool(cell["contaminated"].astype(bool).any())


def contrast_table(contrasts: Sequence[ContrastResult], options: ReportOptions) -> pd.DataFrame:
    records = []
    for c in contrasts:
        low, high = c.primary_ci(options.test) or (None, None)
        records.append({
            "task": c.task, "contrast": f"{c.condition_a} - {c.condition_b}", "lang": c.lang, "seeds": c.n_seeds,
            "mean_difference": c.mean_difference,
            "t_ci_low": c.t_ci[0] if c.t_ci else None, "t_ci_high": c.t_ci[1] if c.t_ci else None, "t_p": c.t_p,
            "boot_ci_low": c.bootstrap_ci[0] if c.bootstrap_ci else None,
            "boot_ci_high": c.bootstrap_ci[1] if c.bootstrap_ci else None, "boot_p": c.bootstrap_p,
            "ci_low": low, "ci_high": high,
            "adjusted_p": c.adjusted_p, "significant": _significant(c), "primary": c.lang == AVERAGE,
            "note": c.bootstrap_note or "",
        })
    return pd.DataFrame(records)


def _contrast_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> Section:
    method = "Holm" if options.correction == "holm" else "Benjamini-Hochberg"
    section = Section("Order contrasts", [
        f"A - B per language and for the language average (the primary contrast), paired by seed. (a) paired "
        f"t-test over seeds with its 95% t-interval; (b) hierarchical paired bootstrap ({options.resamples} "
        f"resamples, random seed {options.bootstrap_seed}): seeds resampled, then evaluation examples within "
        f"each seed and language, the same examples for A and B. Primary test: {options.test} (t where the "
        f"bootstrap cannot run). {method}-adjusted p-values: per-language rows across the languages of their "
        f"contrast; average rows across all primary contrasts of this report. Significant: adjusted p < {ALPHA}. "
        f"The smallest bootstrap p with {options.resamples} resamples is {2 / (options.resamples + 1):.4f}."])
    if not contrasts:
        section.paragraphs.append("No pair of orders over the same stages has results: nothing to contrast.")
        return section
    table = contrast_table(contrasts, options)
    section.tables["contrasts"] = table
    significant = [c for c in contrasts if _significant(c)]
    if significant:
        lines = [f"{TASK_NAMES.get(c.task, c.task)} {c.lang}: {c.condition_a} - {c.condition_b} = "
                 f"{_fmt(c.mean_difference, sign=True)} (adjusted p = {_fmt_p(c.adjusted_p)})" for c in significant]
        section.paragraphs.append("Significant contrasts: " + "; ".join(lines) + ".")
    else:
        section.paragraphs.append(f"No contrast is significant at adjusted p < {ALPHA}.")
    for task, part in table.groupby("task", sort=False):
        unit = primary_metric(task)
        section.figures[f"{task}_contrasts"] = plots.contrast_intervals(
            part, f"{TASK_NAMES.get(task, task)}: order contrasts ({options.test} 95% interval)", unit)
    return section


def _transfer_gap(rows: pd.DataFrame, tasks: Sequence[str], conditions: Sequence[str]) -> Section | None:
    records = []
    for task in tasks:
        scores = task_rows(rows, task)
        if "en" not in set(scores["lang"]) or len(set(scores["lang"])) < 2:
            continue
        per_run = scores.pivot_table(index=["condition", "seed"], columns="lang", values="value", aggfunc="first")
        others = [c for c in per_run.columns if c != "en"]
        gap = (per_run["en"] - per_run[others].mean(axis=1)).dropna().rename("gap").reset_index()
        for condition, part in gap.groupby("condition"):
            records.append({"task": task, "condition": condition, "gap_mean": part["gap"].mean(),
                            "gap_std": part["gap"].std(), "seeds": len(part)})
    if not records:
        return None
    table = pd.DataFrame(records)
    table["order"] = table["condition"].map(condition_kind)
    table = table.sort_values(["task", "order"]).drop(columns="order").reset_index(drop=True)
    section = Section("Transfer gap", ["English score minus the mean of the other languages, per condition "
                                       "(mean and sample std over seeds; smaller is better transfer)."])
    section.tables["transfer_gap"] = table
    return section


def stage_trajectories(rows: pd.DataFrame, task: str) -> pd.DataFrame:
    """For every order: the retrieval score (language average) after 0, 1, ... of its stages,
    read from the evaluations of the order's own stage models (a stage shared with a shorter
    order was evaluated as that order's model)."""
    scores = task_rows(rows, task)
    per_model = scores.groupby(["node_id", "seed"])["value"].mean()  # language average per evaluated model
    base = scores[scores["node_id"] == "base"]["value"]
    records = []
    for condition in sorted(set(scores["condition"]), key=condition_kind):
        if condition == BASELINE:
            continue
        one = scores[scores["condition"] == condition]
        for seed, part in one.groupby("seed"):
            trainings = part["training"].iloc[0]
            trainings = json.loads(trainings) if isinstance(trainings, str) else trainings
            stages = [t for t in trainings if not t.get("is_target")]
            if not base.empty:
                records.append((condition, seed, 0, "none", float(base.mean())))
            for index, stage in enumerate(stages, start=1):
                key = (stage["node"], seed)
                if key in per_model.index:
                    records.append((condition, seed, index, stage["label"], float(per_model.loc[key])))
    frame = pd.DataFrame(records, columns=["order", "seed", "after_stages", "stage", "value"])
    if frame.empty:
        return frame
    summary = frame.groupby(["order", "after_stages", "stage"], sort=False).agg(
        mean=("value", "mean"), std=("value", "std"), seeds=("value", "size")).reset_index()
    summary.loc[summary["after_stages"] == 0, "std"] = float("nan")  # the untrained encoder: one evaluation
    return summary


def _trajectory_section(rows: pd.DataFrame, tasks: Sequence[str]) -> Section | None:
    retrieval = [t for t in tasks if t in RETRIEVAL_TASKS]
    if not retrieval:
        return None
    section = Section("Stage trajectory", [
        "For every order, the retrieval score (no fine-tuning; mean over languages and seeds) of the encoder "
        "after each of its stages: what each stage did to the cross-lingual representation. A point is "
        "missing when that stage model was not evaluated on its own."])
    for task in retrieval:
        trajectory = stage_trajectories(rows, task)
        if trajectory.empty:
            continue
        section.tables[f"{task}_trajectory"] = trajectory
        section.figures[f"{task}_trajectory"] = plots.stage_trajectories(
            trajectory, f"{TASK_NAMES.get(task, task)} after each stage", primary_metric(task))
    return section


def compute_confounds(rows: pd.DataFrame, contrasts: Sequence[ContrastResult]) -> list[str]:
    """Compared conditions whose intermediate optimizer steps or training examples differ by more
    than 10%: the contrast then measures compute as well as order."""
    lines = []
    seen = set()
    for contrast in contrasts:
        pair = (contrast.condition_a, contrast.condition_b)
        if pair in seen:
            continue
        seen.add(pair)
        values: dict[str, dict[str, float]] = {}
        for column in ("train_steps", "train_examples"):
            for condition in pair:
                series = pd.to_numeric(rows.loc[rows["condition"] == condition, column], errors="coerce").dropna()
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


def _warnings(rows: pd.DataFrame, tasks: Sequence[str], conditions: Sequence[str],
              contrasts: Sequence[ContrastResult], facts: Mapping[str, Any], options: ReportOptions) -> Section:
    lines = []
    for task in tasks:
        dropped = contaminated_languages(rows, task)
        if dropped:
            reasons = sorted(set(task_rows(rows, task).loc[lambda f: f["contaminated"].astype(bool),
                                                            "contamination_reason"].dropna()))
            verb = "included in" if options.include_contaminated else "left out of"
            lines.append(f"Contaminated: {TASK_NAMES.get(task, task)} {', '.join(dropped)} ({'; '.join(reasons)}); "
                         f"{verb} the language averages")
    not_zero_shot = rows[~rows["zero_shot"].astype(bool)]
    for condition, part in not_zero_shot.groupby("condition"):
        selections = sorted({f"{s.get('stage')}: {s['task']} {s['lang']} {s['split']}" for value in part["selection"]
                             for s in (json.loads(value) if isinstance(value, str) else value) if s["lang"] != "en"})
        lines.append(f"Not zero-shot: {condition} ({', '.join(sorted(set(part['task'])))}) selects or trains the target "
                     f"on non-English data ({'; '.join(selections) or 'non-English target training'})")
    oracle = rows[rows["oracle"].astype(bool)]
    for task, part in oracle.groupby("task"):
        lines.append(f"Oracle threshold: {TASK_NAMES.get(task, task)} {', '.join(sorted(set(part['lang'])))} is scored "
                     "with a threshold tuned on the scored split's own gold (no test gold): an upper bound")
    lines.extend(f"Compute confound: {line}" for line in compute_confounds(rows, contrasts))
    for task in tasks:
        cells = cell_statistics(task_rows(rows, task))
        single = [f"{c} {lang}" for (c, lang), cell in cells.iterrows() if cell["n"] == 1]
        if single:
            lines.append(f"Single-seed cells ({TASK_NAMES.get(task, task)}): {', '.join(single)}: no spread, no test")
        deterministic = sorted({c for (c, lang), cell in cells.iterrows() if cell["deterministic"]})
        if deterministic:
            lines.append(f"Deterministic ({TASK_NAMES.get(task, task)}): {', '.join(deterministic)} is one evaluation "
                         "without training, shown as a single value (no ± over seeds)")
    notes = sorted({c.bootstrap_note for c in contrasts if c.bootstrap_note})
    lines.extend(f"Bootstrap: {note}" for note in notes)
    if facts.get("rows_not_in_plan"):
        lines.append(f"{facts['rows_not_in_plan']} stored rows belong to other plans (earlier versions of the study) "
                     "and are not used (--all-rows shows them, labelled)")
    return Section("Warnings", lines or ["None."])


def result_notes(rows: pd.DataFrame, facts: Mapping[str, Any]) -> list[str]:
    """The warnings that need no contrast (for ``results show``)."""
    tasks = sorted(set(rows["task"]))
    conditions = sorted(set(rows["condition"]), key=condition_kind)
    section = _warnings(rows, tasks, conditions, [], facts, ReportOptions())
    return [line for line in section.paragraphs if line != "None."]


def differing_hyperparameters(rows: pd.DataFrame) -> pd.DataFrame:
    """Every training setting whose value differs between conditions (by training role)."""
    values: dict[tuple[str, str], dict[str, set]] = {}
    for condition, part in rows.groupby("condition"):
        for training in part["training"]:
            for t in (json.loads(training) if isinstance(training, str) else training):
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


def _provenance(rows: pd.DataFrame, facts: Mapping[str, Any], options: ReportOptions) -> Section:
    retrieval = sorted({json.dumps((json.loads(s) if isinstance(s, str) else s).get("retrieval"), sort_keys=True)
                        for s in rows.loc[rows["task"].isin(RETRIEVAL_TASKS), "settings"]})
    selection = sorted({f"{s.get('stage')}: best on {s['task']} {s['lang']} {s['split']} {s.get('slice') or ''}".strip()
                        for value in rows["selection"] for s in (json.loads(value) if isinstance(value, str) else value)})
    lines = [
        f"Study: {facts.get('study')} ({facts.get('study_file', '')}); plan hash {facts.get('plan_hash', '?')}",
        f"Model: {facts.get('model')} (content hash {facts.get('model_hash', 'n/a')})",
        f"Code version: {', '.join(sorted(set(rows['code_version'])))}",
        f"Selection rule: {'; '.join(selection) or 'no training selects a checkpoint (last weights)'}; stages with "
        "dev = false keep their last weights",
        f"Retrieval: {'; '.join(retrieval) or 'none'}",
        f"Report made {facts.get('date', '?')} on {facts.get('machine', '?')}; rows recorded "
        f"{rows['created_at'].min() if not rows.empty else '-'} to {rows['created_at'].max() if not rows.empty else '-'}",
        f"Statistics: {options.test} primary test, {options.correction} correction, {options.resamples} bootstrap "
        f"resamples (seed {options.bootstrap_seed}), contaminated cells "
        f"{'included' if options.include_contaminated else 'left out of averages'}",
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


def _markdown_table(table: pd.DataFrame) -> str:
    frame = table.reset_index() if table.index.name or not isinstance(table.index, pd.RangeIndex) else table

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return _fmt(value, 3) if not math.isnan(value) else "-"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def render_markdown(report: Report) -> str:
    parts = [f"# {report.title}", ""]
    for section in report.sections:
        parts += [f"## {section.title}", ""]
        warnings = section.title == "Warnings"
        parts += [(f"- {p}" if warnings else p) for p in section.paragraphs]
        parts.append("")
        for name, table in section.tables.items():
            if name.endswith("_values"):
                continue
            parts += [f"**{name}** ([csv]({name}.csv))", "", _markdown_table(table), ""]
        for name in section.figures:
            parts += [f"![{name}]({name}.png)", ""]
    return "\n".join(parts)


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}td,th{border:1px solid #bbb;padding:3px 6px;
text-align:right}th{background:#eee}.headline{font-size:1.2em;background:#f3f7ff;padding:0.8em;border-left:4px solid
#36c}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"""


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
            if name.endswith("_values"):
                continue
            body.append(f"<h3>{html.escape(name)}</h3>")
            body.append(table.to_html(na_rep="-", float_format=lambda v: f"{v:.3f}", table_id=name,
                                      classes="report-table"))
        for name, png in section.figures.items():
            encoded = base64.b64encode(png).decode("ascii")
            body.append(f"<img alt='{html.escape(name)}' id='{html.escape(name)}' src='data:image/png;base64,{encoded}'>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(report.title)
            + f"</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>")


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write report.md, report.html, NAME.csv per table and NAME.png per figure; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in report.tables().items():
        _write_atomic(out_dir / f"{name}.csv", table.to_csv().encode())
    for name, png in report.figures().items():
        _write_atomic(out_dir / f"{name}.png", png)
    _write_atomic(out_dir / "report.md", render_markdown(report).encode())
    _write_atomic(out_dir / "report.html", render_html(report).encode())
    return out_dir / "report.html"
