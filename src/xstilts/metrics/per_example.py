"""Per-example pieces of the XTREME metrics, for paired tests that resample evaluation examples.

Every metric of a language is written as a ratio of sums over its examples::

    score = 100 * sum(num) / sum(den)

* accuracy (classification, multiple choice, Tatoeba, token accuracy): num = correct, den = 1
  (token accuracy: correct tokens and tokens of the sentence);
* tagging span F1 (PAN-X, UD-POS with seqeval 0.0.12 chunks): num = 2 x correct chunks,
  den = predicted + gold chunks of the sentence. seqeval puts an ``O`` after every sentence, so no
  chunk crosses a sentence and the sentence counts sum to the corpus counts (micro F1 = 2TP/(P+G));
* QA F1 / EM: num = the question's best F1 / EM over its gold answers, den = 1.

Macro F1 (``f1_macro``) is a mean of per-label ratios, not one ratio of sums: no num/den split of
examples adds up to it under resampling. Its columns hold PSEUDO-VALUES instead (den = 1,
num = F + psi_i, with psi_i example i's influence on macro F1, the delta method over every
label's 2TP/(predicted + gold) with the label set held fixed), so that ``score_from_units`` gives
back the corpus score exactly (the influences sum to 0) and the items' variance of
``results.statistics.item_variance`` (which reads num - ratio x den) is macro F1's first-order
sampling variance (checked against a bootstrap over items in ``tests/test_metrics_per_example.py``).
A weighted ``score_from_units`` of these columns is the LINEARISED resample of macro F1, not the
resampled macro F1 itself.

A frame has one row per example and the columns ``{metric}_num`` and ``{metric}_den`` of every
metric it can resample; ``score_from_units`` gives back the corpus score, so a bootstrap resample
is just a weighted ratio. BUCC's F1 comes from one threshold over the whole candidate set and has
no per-example form: it is compared over seeds only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xstilts.metrics.classification import label_counts
from xstilts.metrics.tagging import get_entities


def accuracy_units(gold: Sequence[object], pred: Sequence[object]) -> pd.DataFrame:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    correct = np.array([g == p for g, p in zip(gold, pred)], dtype=float)
    return pd.DataFrame({"accuracy_num": correct, "accuracy_den": np.ones(len(correct))})


def mean_units(metric: str, values: Sequence[float]) -> pd.DataFrame:
    """A metric that is a plain mean of per-example values (LAReQA's and Mewsli-X's AP@20 per query)."""
    return pd.DataFrame({f"{metric}_num": np.asarray(values, dtype=float), f"{metric}_den": np.ones(len(values))})
def f1_macro_influence(gold: Sequence[object], pred: Sequence[object]) -> tuple[float, np.ndarray]:
    """(macro F1 as a fraction, per-example influences psi_i in the same units).

    With n examples, K labels present (gold ∪ predicted) and, per label l, F_l = 2TP_l / (P_l + G_l)
    and b_l = (P_l + G_l) / n::

        psi_i = (1 / K) * sum_l (2 tp_il - F_l (p_il + g_il)) / b_l

    where tp_il, p_il, g_il are example i's 0/1 contributions to TP_l, P_l (predicted l) and G_l
    (gold l). The mean of psi over a resample of the items is, to first order, how far that
    resample's macro F1 moves from F; the label set is held fixed (a label that a resample loses
    or gains entirely is a higher-order effect).
    """
    counts = label_counts(gold, pred)
    n, k = len(gold), len(counts)
    f1 = {label: 2 * tp / (predicted + in_gold) for label, (tp, predicted, in_gold) in counts.items()}
    scale = {label: n / (predicted + in_gold) for label, (_, predicted, in_gold) in counts.items()}
    psi = np.empty(n)
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g == p:
            psi[i] = (2.0 - 2.0 * f1[g]) * scale[g]
        else:
            psi[i] = -f1[g] * scale[g] - f1[p] * scale[p]
    return sum(f1.values()) / k, psi / k


def f1_macro_units(gold: Sequence[object], pred: Sequence[object]) -> pd.DataFrame:
    """Pseudo-values of macro F1 (see the module's docstring): num = F + psi_i, den = 1."""
    score, psi = f1_macro_influence(gold, pred)
    return pd.DataFrame({"f1_macro_num": score + psi, "f1_macro_den": np.ones(len(psi))})


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
