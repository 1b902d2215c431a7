"""Per-example pieces of the metrics add up to the reference corpus scores (hand-made cases)."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts.metrics import qa
from xstilts.metrics.classification import f1_macro
from xstilts.metrics.per_example import (accuracy_units, f1_macro_influence, f1_macro_units, qa_units, score_from_units,
                                         tagging_units)


def test_tagging_pieces_give_the_seqeval_0_0_12_worked_example():
    # The worked example of xstilts.metrics.tagging: 16 gold, 14 predicted, 11 correct chunks,
    # F1 = 2 * 11 / (16 + 14) = 0.7333; token accuracy 0.8125 (13 of 16 tokens).
    gold = [["X", "NOUN", "SCONJ", "VERB"], ["DET", "VERB", "DET", "SCONJ", "NOUN", "DET"],
            ["ADJ", "NOUN", "INTJ", "SCONJ", "DET", "X"]]
    pred = [["X", "NOUN", "SCONJ", "VERB"], ["DET", "VERB", "DET", "DET", "VERB", "DET"],
            ["ADJ", "NOUN", "INTJ", "DET", "DET", "X"]]
    units = tagging_units(gold, pred)
    assert len(units) == 3
    assert units["f1_num"].sum() == 22 and units["f1_den"].sum() == 30
    assert score_from_units(units, "f1") == pytest.approx(73.333333, abs=1e-4)
    assert score_from_units(units, "accuracy") == pytest.approx(81.25)
    # Bootstrap weights: counting the first sentence twice adds its 4 + 4 chunks, all correct.
    assert score_from_units(units, "f1", weights=[2, 1, 1]) == pytest.approx(100 * 30 / 38)


def test_qa_pieces_are_per_question_best_f1_and_em_missing_scores_zero():
    gold = {"q1": ["the cat", "a dog"], "q2": ["Paris"], "q3": ["blue sky"]}
    pred = {"q1": "dog", "q3": "blue"}  # q2 missing
    units = qa_units(qa.per_question(gold, pred, qa.normalize_squad))
    assert list(units["guid"]) == ["q1", "q2", "q3"]
    assert list(units["exact_match_num"]) == [1.0, 0.0, 0.0]
    # q3: 1 shared token, precision 1, recall 1/2 -> F1 2/3.
    assert list(units["f1_num"]) == pytest.approx([1.0, 0.0, 2 / 3])
    assert score_from_units(units, "f1") == pytest.approx(qa.squad_metrics(gold, pred)["f1"])
    assert score_from_units(units, "exact_match") == pytest.approx(qa.squad_metrics(gold, pred)["exact_match"])


def test_accuracy_pieces():
    units = accuracy_units(["a", "b", "c", "a"], ["a", "c", "c", "a"])
    assert score_from_units(units, "accuracy") == 75.0


# ---------------------------------------------------------------- macro F1: pseudo-values


def _weighted_f1_macro(gold: np.ndarray, pred: np.ndarray, weights: np.ndarray, k: int) -> float:
    """Macro F1 of a weighted sample (bootstrap counts), written out independently of the package."""
    correct = gold == pred
    tp = np.bincount(gold[correct], weights[correct], minlength=k)
    both = np.bincount(pred, weights, minlength=k) + np.bincount(gold, weights, minlength=k)
    present = both > 0
    return float(np.mean(2 * tp[present] / both[present]))


def test_f1_macro_pseudo_values_give_back_the_score_and_are_its_derivative():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "d", "a"]
    units = f1_macro_units(gold, pred)
    assert list(units.columns) == ["f1_macro_num", "f1_macro_den"]
    assert score_from_units(units, "f1_macro") == pytest.approx(f1_macro(gold, pred)["f1_macro"], abs=1e-12)
    # psi_i = n x dF/dw_i (F is a ratio of weighted counts, so homogeneous of degree 0 in the weights).
    codes = {label: i for i, label in enumerate("abcd")}
    g, p = np.array([codes[x] for x in gold]), np.array([codes[x] for x in pred])
    score, psi = f1_macro_influence(gold, pred)
    step = 1e-6
    for i in range(len(gold)):
        weights = np.ones(len(gold))
        weights[i] += step
        derivative = (_weighted_f1_macro(g, p, weights, 4) - score) / step
        assert psi[i] == pytest.approx(len(gold) * derivative, abs=1e-4)
    # By hand, example 0 (gold a, predicted a; F_a = 2/3, a's P + G = 6, K = 4): (2 - 4/3) x 6/6 / 4.
    assert psi[0] == pytest.approx((2 - 2 * 2 / 3) * 1 / 4)
    # Example 5 (gold c never predicted, F_c = 0; predicted a): -(F_a x 6/6 + F_c x 6/1) / 4.
    assert psi[5] == pytest.approx(-(2 / 3) / 4)


def test_f1_macro_pseudo_values_give_the_bootstrap_variance_over_items():
    # Four imbalanced labels, a classifier that confuses them unevenly: the variance of the mean of
    # the pseudo-values is the bootstrap variance of macro F1 over the items (to first order).
    rng = np.random.default_rng(11)
    n, k = 3000, 4
    gold = rng.choice(k, size=n, p=[0.5, 0.25, 0.15, 0.10])
    keep = rng.random(n) < np.array([0.85, 0.6, 0.5, 0.4])[gold]
    pred = np.where(keep, gold, rng.choice(k, size=n, p=[0.6, 0.2, 0.1, 0.1]))
    units = f1_macro_units(list(gold), list(pred))
    linearised = float(np.var(units["f1_macro_num"] * 100, ddof=1)) / n
    boot = [100 * _weighted_f1_macro(gold, pred, rng.multinomial(n, np.full(n, 1 / n)).astype(float), k)
            for _ in range(2000)]
    assert float(np.mean(boot)) == pytest.approx(f1_macro(list(gold), list(pred))["f1_macro"], abs=0.2)
    assert linearised == pytest.approx(float(np.var(boot, ddof=1)), rel=0.12)
    # Accuracy's binomial variance would be another number: the check can tell them apart.
    accuracy_variance = float(np.var((gold == pred) * 100.0, ddof=1)) / n
    assert abs(accuracy_variance - linearised) / linearised > 0.12
