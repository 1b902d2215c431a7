"""The report's contrast statistics for per-seed scores made anywhere (jiant, HF scripts, a
spreadsheet): ``xstilts stats contrast FILE.csv``.

The CSV has one row per (task, lang, condition, seed) with its ``score``; ``--by`` names further
columns that split it into groups analysed on their own (no correction across groups). Within a
group and task, each contrast "A - B" is the report's: the paired t-test over the seeds both
conditions ran (primary: the per-seed mean over the languages both have), adjusted together with
the group's other contrasts of that task, with the interval at the adjusted level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError, DataFormatError
from xstilts.results.statistics import (
    ALPHA, AVERAGE, METHOD_NAMES, ContrastResult, adjust_family, language_order, paired_contrast,
)

REQUIRED = ("task", "lang", "condition", "seed", "score")
SEPARATOR = " - "


def read_score_table(path: str | Path, by: Sequence[str] = ()) -> pd.DataFrame:
    """The CSV as the statistics read it (``condition seed lang value`` + task and ``by``); one-line
    errors name the file and the line (the header is line 1) or the column."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataFormatError(path, None, f"not a CSV file ({str(error).splitlines()[0]})") from None
    missing = [column for column in (*REQUIRED, *by) if column not in frame.columns]
    if missing:
        raise DataFormatError(path, 1, f"missing column{'s' * (len(missing) > 1)} {', '.join(missing)} (has: "
                                       f"{', '.join(frame.columns)}); expected {', '.join(REQUIRED)}"
                                       + (f" and the --by columns {', '.join(by)}" if by else ""))
    frame = frame.assign(_line=range(2, len(frame) + 2))
    for column in (*REQUIRED, *by):
        empty = frame[frame[column].str.strip() == ""]
        if not empty.empty:
            raise DataFormatError(path, int(empty["_line"].iloc[0]), f"empty {column}")
    seeds = pd.to_numeric(frame["seed"], errors="coerce")
    bad = frame[seeds.isna() | (seeds != seeds.round())]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataFormatError(path, int(row["_line"]), f"seed {row['seed']!r} is not an integer")
    scores = pd.to_numeric(frame["score"], errors="coerce")
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
    return frame.assign(eval_node=frame["condition"] + ":" + frame["seed"].astype(str))


def parse_contrast(text: str) -> tuple[str, str]:
    """"A - B" -> (A, B); condition names may hold '-' but not ' - '."""
    parts = text.split(SEPARATOR)
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise ConfigError(f"--contrast {text!r}: expected \"A - B\" (two condition names around ' - ')")
    return parts[0].strip(), parts[1].strip()


def contrast_rows(frame: pd.DataFrame, contrasts: Sequence[tuple[str, str]] = (), by: Sequence[str] = (),
                  correction: str = "holm", per_language: bool = False) -> list[dict[str, Any]]:
    """One record per (group, task, contrast) — and per language with ``per_language`` — of the
    report's statistics. Without ``contrasts``: every pair of a task's conditions, in file order."""
    records: list[dict[str, Any]] = []
    groups = frame.groupby(list(by), sort=False) if by else [((), frame)]
    for values, group in groups:
        group_key = dict(zip(by, values if isinstance(values, tuple) else (values,)))
        for task, scores in group.groupby("task", sort=False):
            conditions = list(dict.fromkeys(scores["condition"]))
            pairs = list(contrasts) or [(a, b) for i, a in enumerate(conditions) for b in conditions[i + 1:]]
            unknown = sorted({name for pair in pairs for name in pair} - set(conditions))
            if unknown and contrasts:
                where = f" in {', '.join(f'{k}={v}' for k, v in group_key.items())}" if group_key else ""
                raise ConfigError(f"--contrast: no condition {unknown[0]!r} for task {task}{where} (conditions: "
                                  f"{', '.join(conditions)})")
            results, languages = [], {}
            for a, b in pairs:
                languages[(a, b)] = language_order(set(scores.loc[scores["condition"] == a, "lang"])
                                                   & set(scores.loc[scores["condition"] == b, "lang"]))
                if languages[(a, b)]:
                    results.extend(paired_contrast(scores, target=task, task=task, metric="score", condition_a=a,
                                                   condition_b=b, languages=languages[(a, b)]))
            primary = adjust_family([r for r in results if r.lang == AVERAGE], correction)
            secondary = adjust_family([r for r in results if r.lang != AVERAGE], correction) if per_language else []
            for result in [*primary, *secondary]:
                averaged = languages[(result.condition_a, result.condition_b)] if result.lang == AVERAGE else [result.lang]
                records.append(_record(result, group_key, correction, averaged))
    return records


def _record(result: ContrastResult, group_key: dict[str, Any], correction: str, languages: list[str]
            ) -> dict[str, Any]:
    low, high = result.interval or (None, None)
    raw_low, raw_high = result.unadjusted_interval() or (None, None)
    return {
        "task": result.task, "contrast": f"{result.condition_a}{SEPARATOR}{result.condition_b}", "by": group_key,
        "lang": result.lang, "languages": languages, "seeds": result.n_seeds, "seed_list": list(result.seeds),
        "mean_difference": result.mean_difference, "sd_of_differences": result.test.sd,
        "ci_low": low, "ci_high": high, "ci_level": result.interval_level if result.interval else None,
        "ci95_unadjusted_low": raw_low, "ci95_unadjusted_high": raw_high,
        "p": result.p, "adjusted_p": result.adjusted_p, "correction": correction,
        "family_size": result.family_size, "significant": result.significant, "alpha": ALPHA,
        "method": f"{METHOD_NAMES['t']} (df = seeds - 1)" if result.p is not None else f"none: {result.test.note}",
        "note": result.test.note,
    }
