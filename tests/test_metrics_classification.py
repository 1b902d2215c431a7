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
