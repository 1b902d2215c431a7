"""BUCC pair F1, the BUCC threshold rule, and Tatoeba accuracy.

Oracle numbers below come from xtreme's evaluate.py ``bucc_f1`` and third_party/utils_retrieve.py
``bucc_optimize``/``bucc_extract`` (with ``read_candidate2score``'s max-merge of repeated pairs),
run outside the repository on the shared BUCC zh-en sample with ``bucc_predictions`` and
``bucc_candidates`` below.
"""

from __future__ import annotations

import random

import pytest

from xstilts.metrics.retrieval import bucc_f1, bucc_optimal_threshold, bucc_pairs_at_threshold, tatoeba_accuracy
from xstilts.tasks.load import read_task_file
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import RetrievalSet


def bucc_predictions(retrieval_set: RetrievalSet, seed: int) -> list[tuple[str, str]]:
    """Seeded predictions: 75% of the gold pairs, 10% with a wrong English id, 60 random pairs."""
    rng = random.Random(seed)
    english = [sentence.id for sentence in retrieval_set.target]
    source = [sentence.id for sentence in retrieval_set.source]
    predicted = []
    for src, trg in retrieval_set.gold:
        draw = rng.random()
        if draw < 0.75:
            predicted.append((src, trg))
        elif draw < 0.85:
            predicted.append((src, rng.choice(english)))
    predicted += [(rng.choice(source), rng.choice(english)) for _ in range(60)]
    return predicted


def bucc_candidates(retrieval_set: RetrievalSet, seed: int) -> list[tuple[str, str, float]]:
    """Seeded margin scores: gold pairs around 1.15, 400 distractors around 1.0, scores rounded to
    0.01 (ties), some pairs proposed twice with another score (forward and backward search)."""
    rng = random.Random(seed)
    english = [sentence.id for sentence in retrieval_set.target]
    source = [sentence.id for sentence in retrieval_set.source]
    candidates = [(src, trg, round(rng.gauss(1.15, 0.06), 2)) for src, trg in retrieval_set.gold]
    candidates += [(rng.choice(source), rng.choice(english), round(rng.gauss(1.0, 0.06), 2)) for _ in range(400)]
    repeated = rng.sample(candidates, 80)
    candidates += [(src, trg, round(score + rng.uniform(-0.1, 0.1), 2)) for src, trg, score in repeated]
    return candidates


# ---------------------------------------------------------------- hand-computed


def test_bucc_f1_counts_sets_of_pairs():
    gold = [("zh-1", "en-1"), ("zh-2", "en-2"), ("zh-3", "en-3"), ("zh-4", "en-4")]
    pred = [("zh-1", "en-1"), ("zh-1", "en-1"), ("zh-2", "en-9")]
    scores = bucc_f1(gold, pred)  # 1 correct of 2 distinct predicted, of 4 gold
    assert scores == pytest.approx({"precision": 50.0, "recall": 25.0, "f1": 100 * 2 * 0.5 * 0.25 / 0.75})
    assert bucc_f1(gold, [("zh-9", "en-9")]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_threshold_is_midway_below_the_f1_best_prefix():
    candidates = [("a", "1", 0.9), ("b", "2", 0.8), ("c", "9", 0.7), ("d", "4", 0.6), ("e", "8", 0.5)]
    gold = [("a", "1"), ("b", "2"), ("d", "4")]
    # prefixes: F1 0.5, 0.8, 0.667, 0.857 (best, 4 candidates), 0.75 -> midway between 0.6 and 0.5
    assert bucc_optimal_threshold(candidates, gold) == pytest.approx(0.55)
    assert bucc_pairs_at_threshold(candidates, 0.55) == {("a", "1"), ("b", "2"), ("c", "9"), ("d", "4")}


def test_repeated_pair_keeps_its_best_score():
    candidates = [("a", "1", 0.2), ("b", "2", 0.8), ("a", "1", 0.9), ("c", "3", 0.1)]
    assert bucc_optimal_threshold(candidates, [("a", "1")]) == pytest.approx((0.9 + 0.8) / 2)


def test_threshold_when_best_prefix_is_everything_or_nothing():
    # The reference fails with an IndexError here; we keep every candidate.
    assert bucc_optimal_threshold([("a", "1", 0.9), ("b", "2", 0.4)], [("a", "1"), ("b", "2")]) == 0.4
    # No correct candidate: the reference's initial threshold 0.
    assert bucc_optimal_threshold([("a", "2", 0.9)], [("a", "1")]) == 0.0


def test_tatoeba_accuracy():
    assert tatoeba_accuracy([0, 1, 5, 3], [0, 1, 2, 3]) == {"accuracy": 75.0}
    with pytest.raises(ValueError, match="3 predictions for 4"):
        tatoeba_accuracy([0, 1, 2], [0, 1, 2, 3])


# ---------------------------------------------------------------- real data against xtreme's code

# seed -> (f1, precision, recall) of bucc_f1 on the zh-en sample
BUCC_F1_ORACLE = {
    51: (68.42105263157895, 66.18181818181819, 70.8171206225681),
    52: (74.86238532110092, 70.83333333333334, 79.37743190661479),
}
# seed -> (threshold, f1, precision, recall) of bucc_optimize + bucc_extract + bucc_f1
# (both land on a tie at 1.08, so extraction with >= keeps the tied pairs past the best prefix)
BUCC_THRESHOLD_ORACLE = {
    61: (1.08, 86.45640074211502, 82.62411347517731, 90.6614785992218),
    62: (1.08, 88.14814814814815, 84.09893992932862, 92.60700389105058),
}


@pytest.fixture(scope="module")
def bucc_sample(shared_data) -> RetrievalSet:
    return read_task_file(get_task("bucc2018"), shared_data / "bucc2018/zh-en.dev.zh")[0]


@pytest.mark.parametrize("seed", sorted(BUCC_F1_ORACLE))
def test_bucc_f1_matches_xtreme_on_real_gold(bucc_sample, seed):
    f1, precision, recall = BUCC_F1_ORACLE[seed]
    scores = bucc_f1(bucc_sample.gold, bucc_predictions(bucc_sample, seed))
    assert scores == pytest.approx({"f1": f1, "precision": precision, "recall": recall}, abs=1e-4)


@pytest.mark.parametrize("seed", sorted(BUCC_THRESHOLD_ORACLE))
def test_bucc_threshold_matches_xtreme_on_real_gold(bucc_sample, seed):
    threshold, f1, precision, recall = BUCC_THRESHOLD_ORACLE[seed]
    candidates = bucc_candidates(bucc_sample, seed)
    assert bucc_optimal_threshold(candidates, bucc_sample.gold) == pytest.approx(threshold, abs=1e-9)
    scores = bucc_f1(bucc_sample.gold, bucc_pairs_at_threshold(candidates, threshold))
    assert scores == pytest.approx({"f1": f1, "precision": precision, "recall": recall}, abs=1e-4)
