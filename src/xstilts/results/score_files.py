"""Result files people already have -> per-seed scores: each file's format recognised from its
content and its scores read on the 0-100 scale (``xstilts.results.collect`` builds the table).

Each file's format is recognised from its CONTENT, never its name:

* lm-evaluation-harness results JSON: ``{"results": {"xnli_de": {"acc,none": 0.41, ...}}, ...}``
  with ``versions``/``configs``/``config`` beside it (older versions write ``"acc"`` without the
  ``,none`` filter). Group entries (``groups``/``group_subtasks``) are skipped.
* Hugging Face Trainer ``all_results.json`` / ``eval_results.json``: one flat object of numbers with
  ``eval_*`` (or ``predict_*``/``test_*``) keys.
* jiant ``val_metrics.json``: ``{"aggregated": x, "<task>": {"loss": l, "metrics": {"major": m,
  "minor": {...}}}}`` (jiant.proj.main.components.evaluate.write_val_results).
* xstilts' own result rows: an ``xstilts results export`` CSV, an evaluation's ``rows.json`` or a
  JSON list of row objects (task, lang, metric, value, seed, order_name ...).

Task names like ``xnli_de`` (harness, jiant) split into task ``xnli`` and language ``de`` when the
part after the last ``_`` is a language code (``xstilts.languages.is_language``); ``mlqa_de_de``
gives ``mlqa``/``de`` and ``belebele_deu_Latn`` gives ``belebele``/``deu_Latn``. Otherwise the whole
name is the task and the language comes from ``{lang}`` or ``lang`` (or stays empty).

Scores are on the 0-100 scale: fractions (accuracy, F1, exact match of classifiers and taggers:
the harness's, the Trainer's and jiant's usual output) are multiplied by 100; values those tools
already write as percentages are kept (SQuAD-style exact/F1: the Trainer's ``eval_exact_match``/
``eval_f1`` beside it, jiant's XQuAD/TyDiQA/MLQA ``exact``/``exact_match`` results, the harness's
``squadv2`` ``exact``/``f1``; BLEU, chrF, TER); perplexities are kept as written. A value that
should be a fraction but is not within [0, 1] is an error, never a silent x100.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import UnknownTaskError, XstiltsError
from xstilts.languages import is_language

SCALED, AS_WRITTEN = "x100", "as written"  # the ``scale`` column: how ``score`` came from the file's value

HARNESS, TRAINER, JIANT, XSTILTS = "lm-evaluation-harness", "hf-trainer", "jiant", "xstilts"
FORMAT_NAMES = {HARNESS: "lm-evaluation-harness results", TRAINER: "Hugging Face Trainer results",
                JIANT: "jiant val_metrics", XSTILTS: "xstilts result rows"}

# The primary metric of a task when --metric is not given: the first of these the task reports.
HARNESS_PREFERENCE = ("acc", "f1", "exact_match", "exact", "acc_norm", "em", "mcc", "bleu", "chrf")
TRAINER_PREFERENCE = ("accuracy", "f1", "exact_match", "exact", "matthews_correlation", "pearson", "spearmanr")
TRAINER_PREFIXES = ("eval_", "predict_", "test_")
JIANT_DEFAULT = "major"  # jiant's own primary metric of each task

# Written on 0-100 already (sacrebleu; SQuAD-style scripts); not scores on any scale (kept as is).
PERCENT_METRICS = frozenset({"bleu", "chrf", "ter", "exact", "best_exact", "best_f1", "HasAns_exact", "HasAns_f1",
                             "NoAns_exact", "NoAns_f1"})
UNSCALED_METRICS = frozenset({"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "loss"})
_SQUAD_EXACT = ("exact", "exact_match")


class CollectError(XstiltsError):
    """Files that could not be read into the table: one line per problem (``problems``)."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        extra = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{self.problems[0]}{extra}")


@dataclass
class Score:
    task: str
    lang: str
    metric: str
    score: float
    scale: str = SCALED
    condition: str | None = None
    seed: int | None = None


class Problem(Exception):
    """One line about one file (the path is prefixed where it is caught)."""


# ------------------------------------------------------------------ one file


def read_scores(path: str | Path, metric: str | None = None) -> tuple[str, list[Score], list[str]]:
    """(format, scores, notes) of one file, its format recognised from its content."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Problem("not UTF-8 text: not a results file of any known format "
                       f"({', '.join(FORMAT_NAMES.values())})") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
        header = _csv_header(text)
        if header is not None and {"task", "lang", "metric", "value", "seed"} <= header and (
                "order_name" in header or "condition" in header):
            return XSTILTS, *_read_xstilts_rows(list(csv.DictReader(io.StringIO(text))), metric)
    if isinstance(data, dict):
        if isinstance(data.get("results"), dict) and any(key in data for key in ("versions", "configs", "config")):
            return HARNESS, *_read_harness(data, metric)
        if _is_number(data.get("aggregated")) and _jiant_tasks(data):
            return JIANT, *_read_jiant(data, metric)
        if data.get("format") == 1 and isinstance(data.get("records"), dict):
            rows = [row for records in data["records"].values() if isinstance(records, list) for row in records]
            return XSTILTS, *_read_xstilts_rows(rows, metric)
        if data and all(_is_number(value) or value is None for value in data.values()) and any(
                key.startswith(TRAINER_PREFIXES) for key in data):
            return TRAINER, *_read_trainer(data, metric)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data) and {
            "task", "lang", "metric", "value", "seed"} <= set(data[0]):
        return XSTILTS, *_read_xstilts_rows(data, metric)
    kind = "empty" if not text.strip() else ("JSON of no known layout" if data is not None or text.strip() == "null"
                                             else "neither JSON nor an xstilts results CSV")
    raise Problem(f"{kind}: not a results file of any known format ({', '.join(FORMAT_NAMES.values())})")


def _csv_header(text: str) -> set[str] | None:
    first = text.splitlines()[0] if text.strip() else ""
    if "," not in first:
        return None
    return {name.strip() for name in next(csv.reader([first]))}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def split_task_name(name: str) -> tuple[str, str]:
    """``xnli_de`` -> (``xnli``, ``de``); ``mlqa_de_de`` -> (``mlqa``, ``de``); ``belebele_deu_Latn``
    -> (``belebele``, ``deu_Latn``); ``hellaswag`` or ``arc_easy`` -> (the name, "")."""
    parts = name.split("_")
    if len(parts) >= 3 and re.fullmatch(r"[A-Z][a-z]{3}", parts[-1]) and is_language(f"{parts[-2]}-{parts[-1]}"):
        return "_".join(parts[:-2]), f"{parts[-2]}_{parts[-1]}"
    if len(parts) >= 2 and parts[-1] and is_language(parts[-1]):
        task = "_".join(parts[:-1])
        if len(parts) >= 3 and parts[-2] == parts[-1]:  # jiant's and the harness's mlqa_de_de
            task = "_".join(parts[:-2])
        return task, parts[-1]
    return name, ""


def _scaled(value: float, metric: str, percent: bool, where: str) -> tuple[float, str]:
    """(score on 0-100, scale): a fraction x100, a percentage or an unscaled value as written."""
    if not math.isfinite(value):
        raise Problem(f"{where}{metric} = {value}: not a finite number")
    if percent or metric.split(",", 1)[0] in UNSCALED_METRICS:
        return float(value), AS_WRITTEN
    if not 0.0 <= value <= 1.0:
        raise Problem(f"{where}{metric} = {value:g} is not a fraction in [0, 1] (scores are written x100; "
                       "is this file already on 0-100?)")
    return float(value) * 100.0, SCALED


# lm-evaluation-harness ---------------------------------------------------------------------------


def _harness_metrics(values: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """base metric name -> [(key as written, value)] in file order; stderr, alias and N/A left out."""
    found: dict[str, list[tuple[str, float]]] = {}
    for key, value in values.items():
        base = key.split(",", 1)[0]
        if base.endswith("_stderr") or not _is_number(value):
            continue
        found.setdefault(base, []).append((key, float(value)))
    return found


def _pick_harness(metrics: dict[str, list[tuple[str, float]]], wanted: str) -> tuple[str, float] | None:
    if "," in wanted:
        return next(((key, value) for keys in metrics.values() for key, value in keys if key == wanted), None)
    keys = metrics.get(wanted)
    if not keys:
        return None
    return next(((key, value) for key, value in keys if key in (wanted, f"{wanted},none")), keys[0])


def _read_harness(data: dict[str, Any], metric: str | None) -> tuple[list[Score], list[str]]:
    groups = set(data.get("groups") or {}) | {name for name, subtasks in (data.get("group_subtasks") or {}).items()
                                                 if subtasks}
    scores, skipped = [], []
    for name, values in data["results"].items():
        if name in groups:
            skipped.append(name)
            continue
        if not isinstance(values, dict):
            raise Problem(f"results[{name!r}] is not an object of metrics")
        metrics = _harness_metrics(values)
        chosen = (_pick_harness(metrics, metric) if metric else
                  next((found for wanted in HARNESS_PREFERENCE if (found := _pick_harness(metrics, wanted))), None))
        if chosen is None:
            has = ", ".join(key for keys in metrics.values() for key, _ in keys) or "none"
            asked = f"no metric {metric!r}" if metric else f"none of the metrics {', '.join(HARNESS_PREFERENCE)}"
            raise Problem(f"task {name}: {asked} (has: {has})" + ("" if metric else "; choose one with --metric"))
        key, value = chosen
        base = key.split(",", 1)[0]
        percent = base in PERCENT_METRICS or (base == "f1" and "exact" in metrics)
        task, lang = split_task_name(name)
        scores.append(Score(task, lang, key, *_scaled(value, key, percent, f"task {name}: ")))
    notes = [f"{len(skipped)} group entr{'y' if len(skipped) == 1 else 'ies'} ({', '.join(skipped)}) left out: "
             "their member tasks are read"] if skipped else []
    return scores, notes


# Hugging Face Trainer ----------------------------------------------------------------------------


def _read_trainer(data: dict[str, Any], metric: str | None) -> tuple[list[Score], list[str]]:
    if metric:
        candidates = [metric] if metric in data else [f"{prefix}{metric}" for prefix in TRAINER_PREFIXES]
        key = next((name for name in candidates if _is_number(data.get(name))), None)
        if key is None:
            raise Problem(f"no metric {metric!r} (has: {', '.join(data)})")
    else:
        key = next((f"eval_{name}" for name in TRAINER_PREFERENCE if _is_number(data.get(f"eval_{name}"))), None)
        if key is None:
            raise Problem(f"none of the metrics {', '.join('eval_' + name for name in TRAINER_PREFERENCE)} "
                           f"(has: {', '.join(data)}); choose one with --metric")
    prefix = next((p for p in TRAINER_PREFIXES if key.startswith(p)), "")
    base = key[len(prefix):]
    squad = any(_is_number(data.get(f"{prefix}{name}")) for name in _SQUAD_EXACT)
    percent = base in PERCENT_METRICS or (squad and base in ("f1", *_SQUAD_EXACT))
    return [Score("", "", key, *_scaled(float(data[key]), key, percent, ""))], []


# jiant -------------------------------------------------------------------------------------------


def _jiant_tasks(data: dict[str, Any]) -> list[str]:
    names = [name for name in data if name != "aggregated"]
    if names and all(isinstance(data[name], dict) and isinstance(data[name].get("metrics"), dict)
                     and "major" in data[name]["metrics"] for name in names):
        return names
    return []


def _read_jiant(data: dict[str, Any], metric: str | None) -> tuple[list[Score], list[str]]:
    wanted = metric or JIANT_DEFAULT
    scores = []
    for name in _jiant_tasks(data):
        metrics = data[name]["metrics"]
        minor = metrics.get("minor") if isinstance(metrics.get("minor"), dict) else {}
        value = metrics.get("major") if wanted == "major" else minor.get(wanted)
        if not _is_number(value):
            has = ", ".join(["major", *(key for key, item in minor.items() if _is_number(item))])
            raise Problem(f"task {name}: no metric {wanted!r} (has: {has})")
        # jiant's SQuAD-style results (XQuAD, TyDiQA, MLQA: exact/exact_match beside f1) are percentages.
        percent = wanted in PERCENT_METRICS or any(key in minor for key in _SQUAD_EXACT)
        task, lang = split_task_name(name)
        scores.append(Score(task, lang, wanted, *_scaled(float(value), wanted, percent, f"task {name}: ")))
    return scores, []


# xstilts' own rows -------------------------------------------------------------------------------


def _read_xstilts_rows(rows: Iterable[dict[str, Any]], metric: str | None) -> tuple[list[Score], list[str]]:
    """Rows are already x100. Conditions' results only (no trajectory points), each target's
    metric (``--metric`` or the task's primary one) on its first split in name order, as the report."""
    from xstilts.scoring.aggregate import primary_metric

    frame = pd.DataFrame(list(rows))
    missing = [c for c in ("task", "lang", "metric", "value", "seed") if c not in frame.columns]
    if missing or frame.empty:
        raise Problem(f"xstilts rows without {', '.join(missing) or 'any row'}")
    notes = []
    if "role" in frame.columns:
        trajectory = frame["role"].astype(str) == "trajectory"
        if trajectory.any():
            notes.append(f"{int(trajectory.sum())} trajectory rows left out (no condition's result)")
        frame = frame[~trajectory]
    frame = frame.assign(target=frame["target"].where(frame["target"].astype(str).str.strip() != "", frame["task"])
                         if "target" in frame.columns else frame["task"])
    if "split" not in frame.columns:
        frame = frame.assign(split="")
    scores = []
    for target, rows_of in frame.groupby("target", sort=False):
        task = str(rows_of["task"].iloc[0])
        if metric:
            wanted = metric
        else:
            try:
                wanted = primary_metric(task)
            except UnknownTaskError:
                names = sorted(set(rows_of["metric"].astype(str)))
                if len(names) != 1:
                    raise Problem(f"task {task} is not in xstilts' registry and has several metrics "
                                   f"({', '.join(names)}); choose one with --metric") from None
                wanted = names[0]
        chosen = rows_of[rows_of["metric"].astype(str) == wanted]
        if chosen.empty:
            raise Problem(f"target {target}: no metric {wanted!r} (has: {', '.join(sorted(set(rows_of['metric'].astype(str))))})")
        split = sorted(set(chosen["split"].astype(str)))[0]
        chosen = chosen[chosen["split"].astype(str) == split]
        unseeded = 0
        for row in chosen.to_dict("records"):
            seed = pd.to_numeric(row.get("seed"), errors="coerce")
            if seed is None or pd.isna(seed):
                unseeded += 1
                continue
            value = pd.to_numeric(row["value"], errors="coerce")
            if pd.isna(value) or not math.isfinite(value):
                raise Problem(f"target {target}: value {row['value']!r} is not a finite number")
            condition = row.get("condition") if str(row.get("condition") or "").strip() else row.get("order_name")
            scores.append(Score(str(target), str(row["lang"]), wanted, float(value), AS_WRITTEN,
                                 condition=None if condition is None or pd.isna(condition) else str(condition),
                                 seed=int(seed)))
        if unseeded:
            notes.append(f"target {target}: {unseeded} rows without a seed left out (a model no seeded training made)")
    return scores, notes
