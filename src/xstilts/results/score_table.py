"""The report's contrast statistics for per-seed scores made anywhere (jiant, HF scripts, a
spreadsheet): ``xstilts stats contrast FILE.csv``.

The file (CSV, TSV by extension, or any ``sep``) has one row per (task, lang, condition, seed)
with its ``score``; ``task`` and ``lang`` may be absent (one task, one language: read as "-"),
and ``columns`` maps other column names (``condition=model``). ``by`` names further columns that
split it into groups analysed on their own (no correction across groups). Within a group and
task, each contrast "A - B" is the report's: the paired t-test over the seeds both conditions ran
(primary: the per-seed mean over the languages both have), adjusted together with the group's
other contrasts of that task, with the interval at the adjusted level; or, ``unpaired``, Welch's
t-test over the runs. Beside it: the rank-based companion, the detectable difference, the runs
of each condition (mean, SD, minimum) and its outlying runs with the contrast recomputed without
them. Whatever is dropped or averaged over a partial set is said (``Analysis.warnings``); a file
that cannot give an answer is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError, DataFormatError
from xstilts.results.statistics import (
    ALPHA,
    AVERAGE,
    METHOD_NAMES,
    RANK_TESTS,
    ContrastResult,
    adjust_family,
    format_number,
    format_p,
    language_order,
    paired_contrast,
    rank_sum_p,
    welch_t,
)
from xstilts.results.outliers import OUTLIER_MADS, describe_outlying, outlying_runs, run_scores, without_runs
from xstilts.results.power import seed_advice
from xstilts.results.sequential.outcome import outcome_record
from xstilts.results.sequential.scores import sequential_primary

REQUIRED = ("condition", "seed", "score")
OPTIONAL = {"task": "-", "lang": "-"}  # absent: one task, one language
COLUMNS = ("task", "lang", "condition", "seed", "score")
SEPARATOR = " - "
SCALE_RATIO = 20.0  # one condition's scores in 0-1 and another's median this many times larger: 0-1 vs 0-100


def parse_columns(text: str | None) -> dict[str, str]:
    """``condition=model,score=accuracy`` -> {"condition": "model", "score": "accuracy"}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in (text or "").split(","))):
        name, equals, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not equals or not column or name not in COLUMNS:
            raise ConfigError(f"--columns {part!r}: expected NAME=COLUMN with NAME one of {', '.join(COLUMNS)}")
        mapping[name] = column
    return mapping


def separator_for(path: Path, sep: str | None) -> str:
    """``sep`` as given ("\\t" and "tab" are a tab), else a tab for .tsv/.tab files, else a comma."""
    if sep:
        return "\t" if sep in ("\\t", "tab", "TAB") else sep
    return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","


def read_score_table(path: str | Path, by: Sequence[str] = (), columns: Mapping[str, str] | None = None,
                     sep: str | None = None) -> pd.DataFrame:
    """The file as the statistics read it (``condition seed lang value`` + task and ``by``); one-line
    errors name the file and the line (the header is line 1) or the column."""
    path = Path(path)
    columns = dict(columns or {})
    delimiter = separator_for(path, sep)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, sep=delimiter)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataFormatError(path, None, f"not a CSV file ({str(error).splitlines()[0]})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    absent = [f"{name}={column}" for name, column in columns.items() if column not in frame.columns]
    if absent:
        raise DataFormatError(path, 1, f"--columns {', '.join(absent)}: no such column (has: {', '.join(frame.columns)})")
    renamed = {column: name for name, column in columns.items()}
    frame = frame.drop(columns=[name for name in columns if name in frame.columns and name not in renamed])
    frame = frame.rename(columns=renamed)
    missing = [column for column in (*REQUIRED, *by) if column not in frame.columns]
    if missing:
        hint = (f" (is the separator {'a tab' if delimiter == ',' else 'a comma'}? --sep sets it)"
                if len(frame.columns) == 1 else " (--columns NAME=COLUMN maps other names)")
        raise DataFormatError(path, 1, f"missing column{'s' * (len(missing) > 1)} {', '.join(missing)} (has: "
                                       f"{', '.join(frame.columns)}); expected {', '.join(REQUIRED)} (task and lang "
                                       f"optional)" + (f" and the --by columns {', '.join(by)}" if by else "") + hint)
    if frame.empty:
        raise DataFormatError(path, None, "no scores: the file has a header and no rows")
    frame = frame.assign(**{name: value for name, value in OPTIONAL.items() if name not in frame.columns})
    frame = frame.assign(_line=range(2, len(frame) + 2))
    for column in (*COLUMNS, *by):
        empty = frame[frame[column].str.strip() == ""]
        if not empty.empty:
            raise DataFormatError(path, int(empty["_line"].iloc[0]), f"empty {column}")
    seeds = pd.to_numeric(frame["seed"], errors="coerce")
    bad = frame[seeds.isna() | (seeds != seeds.round())]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataFormatError(path, int(row["_line"]), f"seed {row['seed']!r} is not an integer")
    text = frame["score"].str.strip()
    if delimiter != ",":  # ";"-separated files often write decimal commas (70,5)
        text = text.str.replace(",", ".", regex=False)
    scores = pd.to_numeric(text, errors="coerce")
    bad = frame[scores.isna() | ~scores.map(lambda v: math.isfinite(v) if v == v else False)]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataFormatError(path, int(row["_line"]), f"score {row['score']!r} is not a finite number")
    frame = frame.assign(seed=seeds.astype(int), value=scores.astype(float))
    key = ["task", "lang", "condition", "seed", *by]
    repeated = frame[frame.duplicated(key, keep="first")]
    if not repeated.empty:
        row = repeated.iloc[0]
        first = frame[(frame[key] == row[key]).all(axis=1)]["_line"].iloc[0]
        raise DataFormatError(path, int(row["_line"]), f"a second score for {', '.join(f'{k}={row[k]}' for k in key)} "
                                                       f"(the first is on line {first})")
    _check_language_case(path, frame)
    return frame.assign(eval_node=frame["condition"] + ":" + frame["seed"].astype(str))


def _check_language_case(path: Path, frame: pd.DataFrame) -> None:
    """``DE`` in one row and ``de`` in another are two languages to pandas and one to a person."""
    for task, part in frame.groupby("task", sort=False):
        spellings: dict[str, dict[str, str]] = {}
        for lang, condition, line in zip(part["lang"], part["condition"], part["_line"]):
            spellings.setdefault(lang.lower(), {}).setdefault(lang, f"{condition}, line {line}")
        for found in spellings.values():
            if len(found) > 1:
                (first, where_first), (second, where_second) = list(found.items())[:2]
                raise DataFormatError(path, None, f"language {first!r} ({where_first}) and {second!r} "
                                                  f"({where_second}) differ only in case: spell them one way")


def parse_contrast(text: str) -> tuple[str, str]:
    """"A - B" -> (A, B); condition names may hold '-' but not ' - '."""
    parts = text.split(SEPARATOR)
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise ConfigError(f"--contrast {text!r}: expected \"A - B\" (two condition names around ' - ')")
    return parts[0].strip(), parts[1].strip()


@dataclass
class Analysis:
    """What ``stats contrast`` says: one record per contrast (the JSON lines), one per condition,
    and every warning (a dropped contrast, a partial average, ...), each one line."""

    records: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    contrasts: list[ContrastResult] = field(default_factory=list)  # beside records, same order


def _seed_text(seeds: Sequence[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds[:8])) + (f", ... ({len(seeds)})" if len(seeds) > 8 else "")


def _where(task: str, group_key: Mapping[str, Any]) -> str:
    parts = ([f"task {task}"] if task != "-" else []) + [f"{k}={v}" for k, v in group_key.items()]
    return f" ({', '.join(parts)})" if parts else ""


def analyse(frame: pd.DataFrame, contrasts: Sequence[tuple[str, str]] = (), by: Sequence[str] = (),
            correction: str = "holm", per_language: bool = False, unpaired: bool = False,
            effect: float | None = None, k: float = OUTLIER_MADS, sequential: Sequence[int] | None = None) -> Analysis:
    """Every contrast of every (group, task): the report's statistics and what to say beside them;
    with ``sequential`` (looks), each primary contrast's decision under that design."""
    analysis = Analysis()
    groups = frame.groupby(list(by), sort=False) if by else [((), frame)]
    for values, group in groups:
        group_key = dict(zip(by, values if isinstance(values, tuple) else (values,)))
        for task, scores in group.groupby("task", sort=False):
            _analyse_task(analysis, scores, str(task), group_key, contrasts, correction, per_language, unpaired,
                          effect, k, sequential)
    return analysis


def _analyse_task(analysis: Analysis, scores: pd.DataFrame, task: str, group_key: dict[str, Any],
                  contrasts: Sequence[tuple[str, str]], correction: str, per_language: bool, unpaired: bool,
                  effect: float | None, k: float, sequential: Sequence[int] | None = None) -> None:
    where = _where(task, group_key)
    conditions = list(dict.fromkeys(scores["condition"]))
    unknown = sorted({name for pair in contrasts for name in pair} - set(conditions))
    if unknown and contrasts:
        raise ConfigError(f"--contrast: no condition {unknown[0]!r}{where} (conditions: {', '.join(conditions)})")
    if len(conditions) < 2:
        analysis.warnings.append(f"only one condition{where}: {conditions[0]}; a contrast needs two")
        return
    _check_scale(scores, conditions, where)
    pairs = list(contrasts) or [(a, b) for i, a in enumerate(conditions) for b in conditions[i + 1:]]
    # Per condition: its runs (mean over the languages every one of its runs has) and their outliers.
    runs_by_condition = {}
    for condition in conditions:
        part = scores[scores["condition"] == condition]
        per_seed = part.groupby("seed")["lang"].agg(set)
        common = language_order(set.intersection(*per_seed)) if len(per_seed) else []
        runs_by_condition[condition] = run_scores(part, common)
    runs = pd.concat(runs_by_condition.values(), ignore_index=True)
    outlying = outlying_runs(runs, k)
    for condition in conditions:
        values = runs_by_condition[condition]
        flagged = outlying[outlying["condition"] == condition]
        lowest = values.loc[values["value"].idxmin()] if not values.empty else None
        analysis.conditions.append({
            "task": task, "by": group_key, "condition": condition, "runs": len(values),
            "mean": float(values["value"].mean()) if len(values) else None,
            "sd": float(values["value"].std(ddof=1)) if len(values) > 1 else None,
            "min": float(lowest["value"]) if lowest is not None else None,
            "min_seed": int(lowest["seed"]) if lowest is not None else None,
            "languages": language_order(scores.loc[scores["condition"] == condition, "lang"]),
            "outlying": [{"seed": int(s), "score": float(v)} for s, v in zip(flagged["seed"], flagged["value"])],
            "outlying_below": float(flagged["threshold"].iloc[0]) if not flagged.empty else None,
        })
    for line in describe_outlying(outlying):
        analysis.warnings.append(f"outlying runs{where} (more than {k:g} robust SDs below their condition's median, "
                                 f"e.g. collapsed): {line}; the contrasts are shown with and without them")
    results, languages, scored = [], {}, {}
    for a, b in pairs:
        langs_a = set(scores.loc[scores["condition"] == a, "lang"])
        langs_b = set(scores.loc[scores["condition"] == b, "lang"])
        shared = language_order(langs_a & langs_b)
        name = f"{a}{SEPARATOR}{b}{where}"
        if not shared:
            analysis.warnings.append(f"{name}: dropped, no language is shared by {a} ({', '.join(language_order(langs_a))}) "
                                     f"and {b} ({', '.join(language_order(langs_b))})")
            continue
        if langs_a != langs_b:
            only = [f"{', '.join(language_order(langs - set(shared)))} only in {c}"
                    for c, langs in ((a, langs_a), (b, langs_b)) if langs - set(shared)]
            analysis.warnings.append(f"{name}: averaged over the {len(shared)} shared language"
                                     f"{'s' * (len(shared) != 1)} ({', '.join(shared)}); {'; '.join(only)}")
        languages[(a, b)] = shared
        if unpaired:
            found = _welch_contrast(scores, task, a, b, shared)
        else:
            seeds_a = set(scores.loc[scores["condition"] == a, "seed"])
            seeds_b = set(scores.loc[scores["condition"] == b, "seed"])
            if not seeds_a & seeds_b:
                analysis.warnings.append(f"{name}: dropped, no seed is shared by {a} (seeds {_seed_text(seeds_a)}) and "
                                         f"{b} (seeds {_seed_text(seeds_b)}); --unpaired compares their runs as "
                                         "independent (Welch's t-test)")
                continue
            found = paired_contrast(scores, target=task, task=task, metric="score", condition_a=a, condition_b=b,
                                    languages=shared)
            average = next(r for r in found if r.lang == AVERAGE)
            if not average.seeds:
                analysis.warnings.append(f"{name}: dropped, no seed has every one of {', '.join(shared)} in both "
                                         f"{a} and {b}")
                continue
            unused = sorted((seeds_a | seeds_b) - set(average.seeds))
            if unused:
                analysis.warnings.append(f"{name}: paired over the {average.n_seeds} seed"
                                         f"{'s' * (average.n_seeds != 1)} both ran with every language; not "
                                         f"used: seed{'s' * (len(unused) != 1)} {_seed_text(unused)}")
        results.extend(found)
        scored[(a, b)] = found
    primary = adjust_family([r for r in results if r.lang == AVERAGE], correction)
    if sequential:  # the design's decision, adjusted p and repeated interval instead of the correction's
        primary = sequential_primary(scores, primary, languages, sequential)
    secondary = adjust_family([r for r in results if r.lang != AVERAGE], correction) if per_language else []
    for result in [*primary, *secondary]:
        pair = (result.condition_a, result.condition_b)
        averaged = languages[pair] if result.lang == AVERAGE else [result.lang]
        record = _record(result, group_key, correction, averaged, effect)
        record["runs"] = {c: _condition_summary(analysis, task, group_key, c) for c in pair}
        record["outlying"] = {c: s["outlying"] for c, s in record["runs"].items()}
        record["without_outlying"] = None
        flagged = outlying[outlying["condition"].isin(pair)]
        if result.lang == AVERAGE and not flagged.empty:
            kept = without_runs(scores, flagged)
            if unpaired:
                again = _welch_contrast(kept, task, *pair, averaged)
            else:
                again = paired_contrast(kept, target=task, task=task, metric="score", condition_a=pair[0],
                                        condition_b=pair[1], languages=averaged)
            other = next(r for r in again if r.lang == AVERAGE)
            low, high = other.unadjusted_interval() or (None, None)
            record["without_outlying"] = {
                "excluded": {c: [int(s) for s in flagged.loc[flagged["condition"] == c, "seed"]] for c in pair},
                "seeds": other.n_seeds if not unpaired else sum(other.runs or (0, 0)),
                "mean_difference": other.mean_difference, "ci95_low": low, "ci95_high": high, "p": other.p,
                "rank_p": other.rank_p, "note": other.test.note,
            }
        analysis.records.append(record)
        analysis.contrasts.append(result)


def _condition_summary(analysis: Analysis, task: str, group_key: dict[str, Any], condition: str) -> dict[str, Any]:
    for summary in analysis.conditions:
        if summary["task"] == task and summary["by"] == group_key and summary["condition"] == condition:
            return {key: summary[key] for key in ("runs", "mean", "sd", "min", "min_seed", "outlying")}
    return {}


def _check_scale(scores: pd.DataFrame, conditions: Sequence[str], where: str) -> None:
    """Scores on 0-1 beside scores on 0-100 give a difference of ~70 points and a tiny p: refuse."""
    if (scores["value"] < 0).any():  # differences or losses: no 0-1 / 0-100 scale to tell apart
        return
    medians = {c: float(scores.loc[scores["condition"] == c, "value"].median()) for c in conditions}
    # A condition whose runs all scored 0 (collapsed) is on no particular scale.
    fractions = [c for c in conditions if scores.loc[scores["condition"] == c, "value"].max() <= 1.0 and medians[c] > 0]
    percents = [c for c in conditions if medians[c] > 1.0]
    for small in fractions:
        for large in percents:
            if medians[large] >= SCALE_RATIO * max(medians[small], 1e-12):
                raise ConfigError(f"scores on two scales{where}: {small}'s lie in 0-1 (median {medians[small]:.3g}) "
                                  f"and {large}'s do not (median {medians[large]:.3g}); put them on one scale "
                                  "(e.g. x 100) before contrasting them")


def _welch_contrast(scores: pd.DataFrame, task: str, a: str, b: str, languages: Sequence[str]
                    ) -> list[ContrastResult]:
    """A - B over independent runs: Welch's t-test of the runs' means over ``languages`` (and per
    language), with the rank-sum test beside it."""
    results = []
    for lang in [*languages, AVERAGE]:
        chosen = list(languages) if lang == AVERAGE else [lang]
        runs = run_scores(scores[scores["condition"].isin([a, b])], chosen)
        x = runs.loc[runs["condition"] == a, "value"].to_numpy(float)
        y = runs.loc[runs["condition"] == b, "value"].to_numpy(float)
        test = welch_t(x, y)
        seeds = tuple(sorted(set(runs["seed"].astype(int))))
        results.append(ContrastResult(task, task, a, b, "listed", lang, seeds, test, rank_p=rank_sum_p(x, y),
                                      runs=(len(x), len(y))))
    return results


def contrast_rows(frame: pd.DataFrame, contrasts: Sequence[tuple[str, str]] = (), by: Sequence[str] = (),
                  correction: str = "holm", per_language: bool = False) -> list[dict[str, Any]]:
    """One record per (group, task, contrast) — and per language with ``per_language`` — of the
    report's statistics. Without ``contrasts``: every pair of a task's conditions, in file order."""
    return analyse(frame, contrasts, by, correction, per_language).records


def _record(result: ContrastResult, group_key: dict[str, Any], correction: str, languages: list[str],
            effect: float | None = None) -> dict[str, Any]:
    low, high = result.interval or (None, None)
    raw_low, raw_high = result.unadjusted_interval() or (None, None)
    welch = result.method == "welch"
    if result.p is None:
        method = f"none: {result.test.note}"
    elif welch:
        method = f"{METHOD_NAMES['welch']} (Welch-Satterthwaite df)"
    else:
        method = f"{METHOD_NAMES['t']} (df = seeds - 1)"
    advice = seed_advice(result.test.sd, result.n_seeds, effect if effect is not None else 1.0)
    return {
        "task": result.task, "contrast": f"{result.condition_a}{SEPARATOR}{result.condition_b}", "by": group_key,
        "lang": result.lang, "languages": languages,
        "seeds": sum(result.runs) if welch and result.runs else result.n_seeds, "seed_list": list(result.seeds),
        "mean_difference": result.mean_difference, "sd_of_differences": result.test.sd,
        "ci_low": low, "ci_high": high, "ci_level": result.interval_level if result.interval else None,
        "ci95_unadjusted_low": raw_low, "ci95_unadjusted_high": raw_high,
        "p": result.p, "adjusted_p": result.adjusted_p, "correction": correction,
        "family_size": result.family_size, "significant": result.significant, "alpha": ALPHA,
        "method": method, "note": result.test.note, "paired": not welch,
        "rank_test": RANK_TESTS["rank-sum" if welch else "signed-rank"], "rank_p": result.rank_p,
        "detectable_difference": None if welch or result.p is None else advice.detectable,
        "effect": effect, "seeds_needed": None if welch or effect is None else advice.seeds_needed,
        "seeds_needed_cautious": None if welch or effect is None else advice.seeds_needed_cautious,
        **({"decision": result.sequential.decision, "sequential": outcome_record(result.sequential)}
           if result.sequential is not None else {}),
    }


def _number(value: float | None, digits: int = 2, sign: bool = False) -> str:
    return format_number(value, digits, sign=sign)


def render_text(analysis: Analysis, frame: pd.DataFrame, source: str, correction: str) -> str:
    """``stats contrast`` for a person: the runs per condition, the contrasts as a table, the contrasts
    without outlying runs (beside, never instead), and one sentence per primary contrast in the
    report's wording."""
    from xstilts.results.report.types import CORRECTION_NAMES
    from xstilts.results.report.wording import _level, contrast_clause

    one_task = set(frame["task"]) == {"-"}
    one_lang = set(frame["lang"]) == {"-"}

    def group(record: Mapping[str, Any]) -> dict[str, str]:
        return {**({} if one_task else {"task": record["task"]}), **{k: str(v) for k, v in record["by"].items()}}

    test = "paired t-test" if analysis.records[0]["paired"] else "Welch's t-test"
    grouped = [name for name, present in (("task", not one_task), ("--by group", bool(analysis.records[0]["by"])))
               if present]
    family = f"the contrasts of each {' and '.join(grouped)} (a family)" if grouped else "all contrasts (one family)"
    design = next((r["sequential"]["design"] for r in analysis.records if r.get("sequential")), None)
    adjusted = (f"the primary contrasts under a sequential design ({design}): at the look where each stopped, the "
                "stage-wise p x the family's contrasts and the repeated confidence interval" if design else
                f"p {CORRECTION_NAMES[correction]}-adjusted over {family}, the interval at the level that agrees with "
                "the adjusted p")
    lines = [f"{source}: {len(frame)} scores. Per contrast A - B: {test}, {adjusted}; signed-rank / rank-sum p "
             "unadjusted.", "",
             "Runs per condition" + (" (a run's score: its mean over its languages)" if not one_lang else "")]
    runs = []
    for c in analysis.conditions:
        outlying = ", ".join(str(o["seed"]) for o in c["outlying"][:6]) + (", ..." if len(c["outlying"]) > 6 else "")
        runs.append({**group(c), "condition": c["condition"], "runs": c["runs"],
                     "mean ± SD": f"{_number(c['mean'])} ± {_number(c['sd'])}",
                     "min (seed)": f"{_number(c['min'])} ({c['min_seed']})",
                     "outlying runs": f"{len(c['outlying'])} (seeds {outlying})" if c["outlying"] else "0"})
    lines.append(pd.DataFrame(runs).to_string(index=False))
    table = []
    for record, result in zip(analysis.records, analysis.contrasts):
        level = _level(record["ci_level"]) if record["ci_level"] else ""
        table.append({**group(record), "contrast": record["contrast"],
                      **({} if one_lang else {"lang": record["lang"]}),
                      "seeds": f"{result.n_runs_text}" if not record["paired"] else record["seeds"],
                      **({} if one_lang else {"languages": len(record["languages"])}),
                      "A - B": _number(record["mean_difference"], sign=True),
                      "interval (level)": f"{_number(record['ci_low'])} to {_number(record['ci_high'])} ({level})"
                      if record["ci_low"] is not None else "-",
                      "p": format_p(record["p"]), "adjusted p": format_p(record["adjusted_p"]),
                      "family": record["family_size"],
                      ("rank-sum p" if not record["paired"] else "signed-rank p"): format_p(record["rank_p"]),
                      **({"decision": f"{record['decision']}, {record['sequential']['where']}"}
                         if record.get("sequential") else {}),
                      **({} if not record["paired"] else {"detectable (80%)": _number(record["detectable_difference"])}),
                      **({} if record["effect"] is None or not record["paired"] else
                         {f"seeds for {_number(record['effect'], 2)}": record["seeds_needed"] or "-"})})
    paired = analysis.records[0]["paired"]
    lines += ["", "Contrasts (A - B" + ("" if one_lang else "; avg: the per-seed mean over the shared languages")
              + ("; detectable: the difference these seeds detect with 80% power at alpha 0.05" if paired else "")
              + ")",
              pd.DataFrame(table).to_string(index=False)]
    without = [r for r in analysis.records if r["without_outlying"]]
    if without:
        rows = []
        for record in without:
            w = record["without_outlying"]
            excluded = "; ".join(f"{c}: {', '.join(map(str, s))}" for c, s in w["excluded"].items() if s)
            rows.append({**group(record), "contrast": record["contrast"], "excluded seeds": excluded,
                         "seeds": w["seeds"], "A - B": _number(w["mean_difference"], sign=True),
                         "95% CI": f"{_number(w['ci95_low'])} to {_number(w['ci95_high'])}"
                         if w["ci95_low"] is not None else "-",
                         "p": format_p(w["p"]), "rank p": format_p(w["rank_p"]),
                         "with them": _number(record["mean_difference"], sign=True)})
        lines += ["", f"Without outlying runs (more than {OUTLIER_MADS:g} robust SDs below their condition's median; "
                      "unadjusted; beside the contrasts above, which keep every run)", pd.DataFrame(rows).to_string(index=False)]
    sentences = []
    for record, result in zip(analysis.records, analysis.contrasts):
        if result.lang != AVERAGE:
            continue
        name = "these scores" if one_task else result.task
        n_lang = len(record["languages"])
        over = "" if one_lang else f"averaged over {n_lang} language{'s' * (n_lang != 1)}"
        text = contrast_clause(result, {result.condition_a: result.condition_a, result.condition_b: result.condition_b},
                               name, "points", over, correction,
                               record["effect"] if record["effect"] is not None else 1.0)
        where = ", ".join(f"{k}={v}" for k, v in record["by"].items())
        if not text.startswith((result.condition_a, result.condition_b)):  # a condition's name is never changed
            text = text[0].upper() + text[1:]
        sentences.append(f"- {where + ': ' if where else ''}{text}.")
    lines += ["", "In words:", *sentences]
    return "\n".join(lines)
