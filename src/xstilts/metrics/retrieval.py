"""Retrieval scores: BUCC 2018 pair F1 with its threshold rule, and Tatoeba top-1 accuracy.

Semantics follow xtreme's evaluate.py (``bucc_f1``, ``accuracy``) and third_party/utils_retrieve.py
(``bucc_optimize``, ``bucc_extract``, ``read_candidate2score``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Pair = tuple[str, str]  # (source sentence id, target sentence id)
Candidate = tuple[str, str, float]  # (source id, target id, margin score)


def bucc_f1(gold_pairs: Iterable[Pair], pred_pairs: Iterable[Pair]) -> dict[str, float]:
    """F1, precision (correct/predicted) and recall (correct/gold) of id pairs, x100.

    Pairs are compared as sets; with no correct pair all three are 0.
    """
    gold, pred = set(gold_pairs), set(pred_pairs)
    correct = len(gold & pred)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision = correct / len(pred)
    recall = correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall)
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def _best_score_per_pair(candidates: Iterable[Candidate]) -> dict[Pair, float]:
    # A pair proposed twice (forward and backward search) keeps its best score; dict order is
    # first appearance, which decides ties in the stable sort below, as in the reference.
    scores: dict[Pair, float] = {}
    for source, target, score in candidates:
        pair = (source, target)
        scores[pair] = max(score, scores.get(pair, score))
    return scores


def bucc_optimal_threshold(candidates: Sequence[Candidate], gold_pairs: Iterable[Pair]) -> float:
    """The score threshold that maximises F1 against ``gold_pairs`` (xtreme's ``bucc_optimize``).

    Walks the candidates by descending score; at every prefix whose F1 beats the best so far the
    threshold moves midway between that candidate's score and the next one's. Two cases the
    reference leaves undefined: with no correct candidate the threshold stays 0 (as there), and when
    the best prefix is the whole list (the reference fails with an IndexError) the threshold is the
    last candidate's own score, so that ``bucc_pairs_at_threshold`` keeps every candidate.
    """
    gold = set(gold_pairs)
    ranked = sorted(_best_score_per_pair(candidates).items(), key=lambda item: -item[1])
    threshold, best_f1, correct = 0.0, 0.0, 0
    for extracted, (pair, score) in enumerate(ranked, start=1):
        correct += pair in gold
        if correct == 0:
            continue
        precision, recall = correct / extracted, correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1 = f1
            next_score = ranked[extracted][1] if extracted < len(ranked) else score
            threshold = (score + next_score) / 2
    return threshold


def bucc_pairs_at_threshold(candidates: Iterable[Candidate], threshold: float) -> set[Pair]:
    """The candidate pairs whose (best) score is at least ``threshold`` (xtreme's ``bucc_extract``)."""
    return {pair for pair, score in _best_score_per_pair(candidates).items() if score >= threshold}


def tatoeba_accuracy(pred: Sequence[int], gold: Sequence[int]) -> dict[str, float]:
    """Top-1 accuracy (x100): the share of queries whose retrieved index is the gold index."""
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold indices")
    if not gold:
        raise ValueError("accuracy of an empty set is undefined")
    correct = sum(int(p == g) for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}
