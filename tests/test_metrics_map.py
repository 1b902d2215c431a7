"""mAP@20 (XTREME-R's LAReQA and Mewsli-X metric) against hand-computed values."""

import json

import pytest

from xstilts.errors import DataFormatError
from xstilts.metrics.predictions import read_rankings, write_rankings
from xstilts.metrics.retrieval import average_precision_at_k, map_at_k


def test_average_precision_hand_computed():
    # Gold {a, b}; ranked a x b: hits at ranks 1 and 3 -> (1/1 + 2/3) / 2 = 0.8333...
    assert average_precision_at_k({"a", "b"}, ["a", "x", "b"]) == pytest.approx((1 + 2 / 3) / 2)
    # One gold item at rank 4: the reciprocal rank (Mewsli-X's MRR).
    assert average_precision_at_k({"e"}, ["p", "q", "r", "e"]) == pytest.approx(0.25)
    # A gold item found twice counts once; a missing one scores 0.
    assert average_precision_at_k({"a", "b"}, ["a", "a", "y"]) == pytest.approx(0.5)
    assert average_precision_at_k({"a"}, []) == 0.0


def test_cut_at_k_and_divisor_min_gold_k():
    # Gold item at rank 21 is outside the top 20.
    assert average_precision_at_k({"g"}, [f"x{i}" for i in range(20)] + ["g"]) == 0.0
    # 25 gold items, all ranked first: the divisor is min(25, 20) = 20 -> AP = 1.
    gold = {f"g{i}" for i in range(25)}
    assert average_precision_at_k(gold, sorted(gold)) == pytest.approx(1.0)
    # k = 2: gold {a, b, c}, ranked a b c -> (1 + 1) / min(3, 2) = 1.
    assert average_precision_at_k({"a", "b", "c"}, ["a", "b", "c"], k=2) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        average_precision_at_k(set(), ["a"])


def test_map_averages_over_gold_queries_x100():
    gold = {"q1": {"a", "b"}, "q2": {"c"}, "q3": {"d"}}
    predicted = {"q1": ["a", "x", "b"], "q2": ["y", "c"], "extra": ["z"]}  # q3 unanswered -> 0
    expected = ((1 + 2 / 3) / 2 + 1 / 2 + 0) / 3 * 100
    assert map_at_k(gold, predicted) == {"map_at_20": pytest.approx(expected)}


def test_rankings_file_roundtrip_and_errors(tmp_path):
    path = tmp_path / "test-de.json"
    write_rankings(path, {"q1": ["a", "b"], "q2": []})
    assert read_rankings(path) == {"q1": ["a", "b"], "q2": []}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"q1": "a"}))
    with pytest.raises(DataFormatError, match="query 'q1': expected a list"):
        read_rankings(bad)
