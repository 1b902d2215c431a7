"""The report's warnings (contamination, not zero-shot, oracle thresholds, compute confounds,
untested cells) and its provenance (study, model, code, selection, statistics, differing settings).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import (
    averaged_languages, contaminated_languages, ordered_targets, target_name, target_rows, trainings_of,
)
from xstilts.results.report.types import CORRECTION_NAMES, ReportOptions, Section
from xstilts.results.statistics import (
    ALPHA,
    AVERAGE,
    GENERALISES_OVER,
    METHOD_NAMES,
    ContrastResult,
    cell_statistics,
    format_number,
    format_p,
    paired_contrast,
)
from xstilts.results.outliers import OUTLIER_MADS, describe_outlying, outlying_runs, run_scores, without_runs


CONFOUND_THRESHOLD = 0.10


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


def outlying_lines(rows: pd.DataFrame, targets: Sequence[str], contrasts: Sequence[ContrastResult],
                   options: ReportOptions) -> list[str]:
    """Per target with collapsed or outlying runs (a run's score over the averaged languages more
    than OUTLIER_MADS robust SDs below its condition's median): the runs, and each primary contrast
    of their conditions recomputed without them (beside the primary contrast, which keeps them)."""
    lines = []
    for target in targets:
        scores = target_rows(rows, target)
        languages = averaged_languages(rows, target, options.include_contaminated)
        if scores.empty or not languages:
            continue
        outlying = outlying_runs(run_scores(scores, languages))
        if outlying.empty:
            continue
        flagged = set(outlying["condition"])
        kept = without_runs(scores, outlying)
        without = []
        for c in contrasts:
            if c.target != target or c.lang != AVERAGE or not {c.condition_a, c.condition_b} & flagged:
                continue
            (result,) = [r for r in paired_contrast(kept, target=target, task=c.task, metric="", condition_a=c.condition_a,
                                                    condition_b=c.condition_b, languages=languages) if r.lang == AVERAGE]
            low, high = result.unadjusted_interval() or (None, None)
            without.append(f"{c.condition_a} - {c.condition_b} = {format_number(result.mean_difference, 2, sign=True)} "
                           f"(95% CI {format_number(low, 2)} to {format_number(high, 2)}, p = {format_p(result.p)}, "
                           f"unadjusted, {result.n_seeds} seeds; with them {format_number(c.mean_difference, 2, sign=True)})")
        lines.append(f"Outlying runs ({target_name(rows, target)}; more than {OUTLIER_MADS} robust SDs below their "
                     f"condition's median, e.g. collapsed to one class): {'; '.join(describe_outlying(outlying))}"
                     + (f"; without them: {'; '.join(without)}" if without else ""))
    return lines


def warnings_section(rows: pd.DataFrame, targets: Sequence[str], contrasts: Sequence[ContrastResult],
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
    lines.extend(outlying_lines(rows, targets, contrasts, options))
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
    section = warnings_section(rows, ordered_targets(condition_rows(rows)), [], facts, ReportOptions())
    return [line for line in section.paragraphs if line != "None."]


def differing_hyperparameters(rows: pd.DataFrame) -> pd.DataFrame:
    """Every training setting whose value differs between conditions (by training role)."""
    values: dict[tuple[str, str], dict[str, set]] = {}
    for condition, part in condition_rows(rows).groupby("condition"):
        for training in part["training"]:
            for t in trainings_of(training):
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


def eval_precisions(rows: pd.DataFrame) -> str:
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


def provenance_section(rows: pd.DataFrame, facts: Mapping[str, Any], options: ReportOptions) -> Section:
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
        f"Evaluation precision: {eval_precisions(rows)}",
        f"Report made {facts.get('date', '?')} on {facts.get('machine', '?')}; rows recorded "
        f"{rows['created_at'].min() if not rows.empty else '-'} to {rows['created_at'].max() if not rows.empty else '-'}",
        f"Statistics: {METHOD_NAMES[options.test]} (generalises over {GENERALISES_OVER[options.test]}), "
        f"{CORRECTION_NAMES[options.correction]} correction within the primary and the per-language families, "
        f"alpha {ALPHA}; contaminated cells {'included in' if options.include_contaminated else 'left out of'} "
        "averages",
    ]
    if options.sequential is not None:
        bounds = options.sequential.bounds
        made = 1 + max((look for looks in options.sequential.recorded.values() for look in looks), default=-1)
        lines.append(f"Sequential design: {bounds.design.describe()}; |t| boundaries "
                     f"{', '.join(format_number(b, 2) for b in bounds.efficacy)}, futility "
                     f"{', '.join(format_number(f, 2) for f in bounds.futility[:-1]) or 'none'}; "
                     f"{made} look{'s' * (made != 1)} recorded in sequential.json" if made else
                     f"Sequential design: {bounds.design.describe()}; no look recorded (decided from the rows)")
    environments = facts.get("environments")
    if environments:
        lines.append(f"Recorded with the trainings: {'; '.join(environments)}")
    section = Section("Provenance", lines)
    data = facts.get("data_files") or {}
    if data:
        section.add_table("data_files", pd.DataFrame(sorted(data.items()), columns=["data", "sha256"]),
                          "Data files and their SHA-256")
    hyper = differing_hyperparameters(rows)
    section.paragraphs.append("Hyper-parameters that differ between conditions: "
                              + ("see the table." if not hyper.empty else "none."))
    if not hyper.empty:
        section.add_table("differing_hyperparameters", hyper, "Hyper-parameters that differ between conditions")
    return section

