"""Scoring one prediction file, or in-memory predictions, through the task kind's scorer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError, DataFormatError, MissingDataError, UnknownLanguageError
from xstilts.scoring.kinds import scorer_for
from xstilts.tasks.load import language_of_file, read_task_file
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import Example, TaskSpec


def prediction_path(task: TaskSpec, pred_dir: Path, split: str, lang: str) -> Path:
    """``PRED_DIR/{task}/{split}-{lang}.{tsv|json}``: the layout ``xstilts score-folder`` reads."""
    return Path(pred_dir) / task.name / f"{split}-{lang}.{scorer_for(task).file_suffix(task)}"


def write_predictions(task: TaskSpec, pred_dir: Path, split: str, lang: str, predictions: Any) -> Path:
    """Write predictions in XTREME's format where ``score-folder`` finds them; returns the path."""
    path = prediction_path(task, pred_dir, split, lang)
    scorer_for(task).write(task, path, predictions)
    return path


def score_file(task: str, lang: str, gold: Path, pred: Path) -> dict[str, float]:
    """Metrics (x100) of one prediction file; keys by task kind: classification ``accuracy``
    (and ``f1_macro`` for a task whose metric it is);
    tagging ``f1 precision recall accuracy``; QA ``exact_match f1``; BUCC ``f1 precision recall``;
    Tatoeba ``accuracy``."""
    spec = get_task(task)
    gold, pred = Path(gold), Path(pred)
    if not gold.is_file():
        raise MissingDataError(f"{gold}: gold file not found")
    _check_language(spec, lang, gold)
    scorer = scorer_for(spec)
    if scorer.is_label_file(spec, lang, gold):
        return scorer.score_label_file(spec, gold, pred)
    return score_examples(spec, lang, read_task_file(spec, gold, lang=lang), str(gold), pred)


def _check_language(task: TaskSpec, lang: str, gold: Path) -> None:
    """Refuse a --lang the task does not have or the gold file's name contradicts: the language
    picks the answer normalisation (MLQA) and the reader's options, so a wrong one scores wrong."""
    if lang not in task.languages:
        raise UnknownLanguageError(f"--lang {lang!r}: not a language of {task.name} "
                                   f"(its languages: {' '.join(task.languages)})")
    named = language_of_file(task, gold)
    if named is not None and named != lang and named in task.languages:
        raise ConfigError(f"--lang {lang}: the gold file {gold} is named for language {named!r}; "
                          f"pass --lang {named} or the {lang} gold file")


def score_examples(task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str,
                   pred: Path) -> dict[str, float]:
    """Score the prediction file ``pred`` against gold examples read from ``gold_name``."""
    if not gold:
        raise DataFormatError(gold_name, None, f"no {task.name} examples to score against")
    return scorer_for(task).score(task, lang, gold, gold_name, pred)


def example_units(task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path
                  ) -> pd.DataFrame | None:
    """Per-example pieces of the metrics of the prediction file ``pred`` (see
    ``xstilts.metrics.per_example``), read exactly as ``score_examples`` reads it; None for BUCC."""
    return scorer_for(task).units(task, lang, gold, gold_name, pred)


def score_predictions(task: TaskSpec, lang: str, examples: Sequence[Example], predictions: Any) -> dict[str, float]:
    """Metrics (x100) of in-memory predictions in the scorer's format (see KindAdapter.decode)."""
    return scorer_for(task).score_predictions(task, lang, examples, predictions)
