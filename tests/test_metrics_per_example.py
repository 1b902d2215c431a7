"""Per-example pieces of the metrics add up to the reference corpus scores (hand-made cases)."""

from __future__ import annotations

import pytest

from xstilts.metrics import qa
from xstilts.metrics.per_example import accuracy_units, qa_units, score_from_units, tagging_units


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
