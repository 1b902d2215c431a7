"""The report's table and figure sections: the paper-style table, one section per target, the
contrasts, the seeds advisor, the transfer gap and the stage trajectories.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xstilts.scoring.aggregate import primary_metric
from xstilts.results import plots
from xstilts.results.report.contrasts import contrast_values, seed_advice_table
from xstilts.results.report.rows import (
    averaged_languages, baseline_condition, condition_paths, target_name, target_rows, target_scores_per_run,
    target_task,
)
from xstilts.results.report.scores import counted_targets, suite_notes, suite_table
from xstilts.results.report.sequential_section import design_lines
from xstilts.results.report.trajectory import stage_trajectories, trajectory_summary
from xstilts.results.report.types import CORRECTION_NAMES, ReportOptions, Section
from xstilts.results.report.wording import contrast_table, metric_unit
from xstilts.results.statistics import (
    ALPHA,
    AVERAGE,
    GENERALISES_OVER,
    METHOD_NAMES,
    POWER,
    ContrastResult,
    cell_statistics,
    format_cell,
    format_number,
    format_p,
    language_order,
    with_language_average,
)
from xstilts.tasks.registry import get_suite, suite_tasks


def paper_table_section(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str],
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
    paragraphs.extend(suite_notes(rows, targets, options.suite))
    section = Section("Paper-style table", paragraphs)
    title = f"Target scores and {get_suite(options.suite).score_name} per condition" + (
        " (in brackets: difference from the no-intermediate baseline)" if base is not None else "")
    section.add_table("paper_table", pd.DataFrame(text).set_index("condition"), title)
    section.add_table("paper_table_values", numeric_frame, f"{title}: values")
    return section


def target_section(rows: pd.DataFrame, target: str, conditions: Sequence[str], options: ReportOptions) -> Section:
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
    unit = metric_unit(task)
    section.add_table(f"{target}_cells", text, f"{name}: {unit} per language and condition")
    section.add_table(f"{target}_cells_values", cells.reset_index(), f"{name}: {unit} per language and condition: values")
    means = cells["mean"].unstack("lang").reindex(index=present, columns=columns)
    base = baseline_condition(condition_paths(rows))
    if base in means.index:
        differences = (means - means.loc[base]).drop(index=base)
        if not differences.empty:
            section.figures[f"{target}_heatmap"] = plots.difference_heatmap(
                differences, f"{name}: difference from {base}", unit)
            title = f"{name}: {unit} difference from the no-intermediate baseline" + (
                f" ({base})" if base != "baseline" else "")
            section.add_table(f"{target}_differences",
                              differences.map(lambda v: format_number(v, sign=True)).astype(object), title)
            section.add_table(f"{target}_differences_values", differences, f"{title}: values")
    return section


def contrast_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> Section:
    correction = CORRECTION_NAMES[options.correction]
    section = Section("Order contrasts", [
        f"A - B per language and for the language average (the primary contrast), paired by seed on one seed set "
        f"(the seeds where both conditions have every language). Test: {METHOD_NAMES[options.test]} (df = seeds - 1); "
        f"it generalises over {GENERALISES_OVER[options.test]}. Fewer than 2 seeds: no test. {correction}-adjusted "
        f"p-values within two families: the primary contrasts of this report, and its per-language contrasts. The "
        f"interval is the t-interval at the level that agrees with the adjusted p (1 - {ALPHA} x p / adjusted p: it "
        f"excludes 0 exactly when the adjusted p is below {ALPHA}); the unadjusted 95% interval is in the CSV. "
        f"Significant: adjusted p < {ALPHA}. Beside it, the signed-rank p: the Wilcoxon signed-rank test of the "
        f"same per-seed differences (exact, unadjusted), which one collapsed run cannot dominate; at 2-5 seeds its "
        f"smallest possible p is 2 / 2^seeds (0.5 to 0.0625). Pairs compared: orders over the same stages (A: the English-first one), "
        f"each order against the mixed stage of its stages, and the study's [report] contrasts."])
    if options.sequential is not None:
        section.paragraphs.append(
            "This study runs a sequential seed design: the primary contrasts are not adjusted by "
            f"{correction}; each is read at the look where it stopped, with the design's adjusted p and repeated "
            "interval (section 'Sequential design').")
    if not contrasts:
        section.paragraphs.append("No pair of compared conditions has results: nothing to contrast.")
        return section
    title = "Order contrasts: difference A - B, its interval at the adjusted level and the adjusted p"
    section.add_table("contrasts", contrast_table(contrasts), title)
    values = contrast_values(contrasts)
    section.add_table("contrasts_values", values, f"{title}: values")
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
                metric_unit(str(part["task"].iloc[0])))
    return section


def seeds_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> Section | None:
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
    if options.sequential is not None:
        section.paragraphs += [*design_lines(options), "Under it, 'seeds' is where each contrast stopped; what those "
                               "seeds detect is for a fixed design of that many seeds."]
    shown = table.copy()
    for column in ("sd_of_differences", "detectable_80", "detectable_80_family"):
        shown[column] = shown[column].map(format_number)
    for column in ("seeds_needed", "seeds_needed_cautious", "seeds_needed_family"):
        shown[column] = shown[column].map(lambda v: "-" if v is None or pd.isna(v) else str(int(v)))
    title = (f"Seeds: the difference each primary contrast's seeds detect, and the seeds a difference of "
             f"{format_number(options.effect)} needs")
    section.add_table("seeds", shown.drop(columns="effect"), title)
    section.add_table("seeds_values", table, f"{title}: values")
    return section


def transfer_gap_section(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str]) -> Section | None:
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
    section.add_table("transfer_gap", table, "Transfer gap: the English score minus the mean of the other languages")
    return section


def trajectory_section(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str],
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
        name = target_name(rows, target)
        title = f"{name}: {metric_unit(target_task(rows, target))} after each stage of every order"
        section.add_table(f"{target}_trajectory", summary, title)
        section.add_table(f"{target}_trajectory_values", points, f"{title}: every seed")
        section.figures[f"{target}_trajectory"] = plots.stage_trajectories(
            summary, points, f"{name} after each stage", metric_unit(target_task(rows, target)))
    return section if section.tables else None

