"""Per-example pieces of the XTREME metrics, for paired tests that resample evaluation examples.

Every metric of a language is written as a ratio of sums over its examples::

    score = 100 * sum(num) / sum(den)

* accuracy (classification, multiple choice, Tatoeba, token accuracy): num = correct, den = 1
  (token accuracy: correct tokens and tokens of the sentence);
* tagging span F1 (PAN-X, UD-POS with seqeval 0.0.12 chunks): num = 2 x correct chunks,
  den = predicted + gold chunks of the sentence. seqeval puts an ``O`` after every sentence, so no
  chunk crosses a sentence and the sentence counts sum to the corpus counts (micro F1 = 2TP/(P+G));
* QA F1 / EM: num = the question's best F1 / EM over its gold answers, den = 1.

A frame has one row per example and the columns ``{metric}_num`` and ``{metric}_den`` of every
metric it can resample; ``score_from_units`` gives back the corpus score, so a bootstrap resample
is just a weighted ratio. BUCC's F1 comes from one threshold over the whole candidate set and has
no per-example form: it is compared over seeds only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xstilts.metrics.tagging import get_entities


def accuracy_units(gold: Sequence[object], pred: Sequence[object]) -> pd.DataFrame:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    correct = np.array([g == p for g, p in zip(gold, pred)], dtype=float)
    return pd.DataFrame({"accuracy_num": correct, "accuracy_den": np.ones(len(correct))})


def mean_units(metric: str, values: Sequence[float]) -> pd.DataFrame:
    """A metric that is a plain mean of per-example values (LAReQA's and Mewsli-X's AP@20 per query)."""
    return pd.DataFrame({f"{metric}_num": np.asarray(values, dtype=float), f"{metric}_den": np.ones(len(values))})


def tagging_units(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per sentence: chunk counts for F1 and token counts for token accuracy."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predicted sentences for {len(gold)} gold sentences")
    rows = []
    for gold_tags, pred_tags in zip(gold, pred):
        gold_chunks, pred_chunks = set(get_entities([gold_tags])), set(get_entities([pred_tags]))
        rows.append((2.0 * len(gold_chunks & pred_chunks), float(len(gold_chunks) + len(pred_chunks)),
                     float(sum(g == p for g, p in zip(gold_tags, pred_tags))), float(len(gold_tags))))
    return pd.DataFrame(rows, columns=["f1_num", "f1_den", "accuracy_num", "accuracy_den"])


def qa_units(scores: Sequence[tuple[str, float, float]]) -> pd.DataFrame:
    """From ``xstilts.metrics.qa.per_question``: (question id, EM, F1) per gold question."""
    frame = pd.DataFrame(scores, columns=["guid", "exact_match_num", "f1_num"])
    frame["exact_match_den"] = 1.0
    frame["f1_den"] = 1.0
    return frame


def metrics_of(units: pd.DataFrame) -> list[str]:
    return [column[:-4] for column in units.columns if column.endswith("_num") and f"{column[:-4]}_den" in units]


def score_from_units(units: pd.DataFrame, metric: str, weights: np.ndarray | None = None) -> float:
    """100 x sum(num) / sum(den), optionally with per-example weights (bootstrap counts)."""
    num, den = units[f"{metric}_num"].to_numpy(float), units[f"{metric}_den"].to_numpy(float)
    if weights is not None:
        num, den = num * weights, den * weights
    total = den.sum()
    return float(100.0 * num.sum() / total) if total > 0 else 0.0


def check_units(units: Mapping[str, pd.DataFrame], scores: Mapping[str, Mapping[str, float]]) -> None:
    """Fail loudly if per-example pieces do not add up to the reported scores (they must)."""
    for lang, frame in units.items():
        for metric in metrics_of(frame):
            if metric in scores.get(lang, {}):
                expected, got = float(scores[lang][metric]), score_from_units(frame, metric)
                if abs(expected - got) > 1e-6 * max(1.0, abs(expected)):
                    raise AssertionError(f"{lang} {metric}: per-example pieces give {got}, the scorer {expected}")
