"""Accuracy as xtreme's evaluate.py computes it (XNLI, PAWS-X)."""

from __future__ import annotations

import random

import pytest

from xstilts.metrics.classification import accuracy
from xstilts.tasks.load import read_task_file
from xstilts.tasks.registry import get_task


def test_accuracy_hand_computed():
    assert accuracy(["a", "b", "a", "c"], ["a", "b", "b", "c"]) == {"accuracy": 75.0}


def test_accuracy_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="3 predictions for 2"):
        accuracy(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


def test_accuracy_on_real_xnli(shared_data):
    gold = [ex.label for ex in read_task_file(get_task("xnli"), shared_data / "xnli/dev-de.tsv")]
    rng = random.Random(7)
    predicted = [label if rng.random() < 0.6 else rng.choice(["entailment", "neutral", "contradiction"])
                 for label in gold]
    # evaluate.py: sum(p == l) / len(predictions) * 100. Counted on the raw TSV label column:
    # 1,823 of the 2,490 predictions are right.
    assert sum(p == g for p, g in zip(predicted, gold)) == 1823
    assert accuracy(gold, predicted)["accuracy"] == pytest.approx(100 * 1823 / 2490)


# ---------------------------------------------------------------- macro F1


def test_f1_macro_hand_computed_with_a_label_never_predicted_and_one_never_gold():
    from xstilts.metrics.classification import f1_macro

    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "d", "a"]
    # a: TP 2, predicted 3, gold 3 -> 4/6; b: TP 1, predicted 2, gold 2 -> 2/4;
    # c (gold, never predicted): 0; d (predicted, never gold): 0. Mean over 4 labels.
    expected = 100 * (4 / 6 + 2 / 4 + 0 + 0) / 4
    assert f1_macro(gold, pred) == {"f1_macro": pytest.approx(expected)}
    assert expected == pytest.approx(29.1666667)


def test_f1_macro_counts_only_the_labels_present_and_equals_accuracy_when_perfect():
    from xstilts.metrics.classification import f1_macro

    # Two labels present: 0 -> 2*1/(1+2) = 2/3, 1 -> 2*1/(2+1) = 2/3.
    assert f1_macro(["0", "0", "1"], ["0", "1", "1"])["f1_macro"] == pytest.approx(100 * 2 / 3)
    assert f1_macro(["x", "y", "y"], ["x", "y", "y"]) == {"f1_macro": 100.0}
    # Only a never-gold label predicted: every label scores 0.
    assert f1_macro(["x", "x"], ["y", "y"]) == {"f1_macro": 0.0}


def test_f1_macro_differs_from_accuracy_under_imbalance():
    from xstilts.metrics.classification import f1_macro

    gold = ["maj"] * 9 + ["min"]
    pred = ["maj"] * 10
    assert accuracy(gold, pred)["accuracy"] == pytest.approx(90.0)
    # maj: 2*9/(10+9) = 18/19; min: 0 -> mean 9/19.
    assert f1_macro(gold, pred)["f1_macro"] == pytest.approx(100 * 9 / 19)


def test_f1_macro_refuses_mismatched_or_empty_input():
    from xstilts.metrics.classification import f1_macro

    with pytest.raises(ValueError, match="3 predictions for 2"):
        f1_macro(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="empty"):
        f1_macro([], [])


def test_f1_macro_equals_the_precision_recall_form_on_random_data():
    # scikit-learn is not a dependency; its definition is written out here instead: per label of
    # the union, precision and recall (0 when undefined), F1 = 2PR / (P + R) (0 when both are 0).
    from xstilts.metrics.classification import f1_macro

    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(1, 30)
        gold = [rng.choice("abcd") for _ in range(n)]
        pred = [rng.choice("abcde") for _ in range(n)]
        scores = []
        for label in set(gold) | set(pred):
            tp = sum(g == p == label for g, p in zip(gold, pred))
            precision = tp / pred.count(label) if pred.count(label) else 0.0
            recall = tp / gold.count(label) if gold.count(label) else 0.0
            scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        assert f1_macro(gold, pred)["f1_macro"] == pytest.approx(100 * sum(scores) / len(scores))
