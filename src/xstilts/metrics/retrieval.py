"""Retrieval scores: BUCC 2018 pair F1 with its threshold rule, Tatoeba top-1 accuracy, and
XTREME-R's mAP@20 of ranked retrieval from a pool (LAReQA, Mewsli-X).

Semantics follow xtreme's evaluate.py (``bucc_f1``, ``accuracy``) and third_party/utils_retrieve.py
(``bucc_optimize``, ``bucc_extract``, ``read_candidate2score``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

Pair = tuple[str, str]  # (source sentence id, target sentence id)
MAP_DEPTH = 20  # XTREME-R's mAP@20 (key map_at_20): a ranking keeps its top 20
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


def average_precision_at_k(gold: Collection[str], ranked: Sequence[str], k: int = 20) -> float:
    """AP@k of one query, as LAReQA's ``average_precision_at_k`` (google-research/xtreme
    third_party/utils_lareqa.py): over the first ``k`` predictions, each first occurrence of a gold
    item adds (gold items found so far) / (its rank); the sum is divided by min(len(gold), k).
    A repeated prediction counts once. With one gold item this is the reciprocal rank (Mewsli-X).
    """
    if not gold:
        raise ValueError("average precision needs at least one gold item")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    top = list(ranked[:k])
    hits = 0
    score = 0.0
    for rank, item in enumerate(top, start=1):
        if item in gold and item not in top[:rank - 1]:
            hits += 1
            score += hits / rank
    return score / min(len(gold), k)


def query_average_precisions(gold: Mapping[str, Collection[str]], predicted: Mapping[str, Sequence[str]],
                             k: int = 20) -> list[float]:
    """AP@k of every gold query in gold order; a query without predictions scores 0."""
    return [average_precision_at_k(items, predicted.get(query, ()), k) for query, items in gold.items()]


def map_at_k(gold: Mapping[str, Collection[str]], predicted: Mapping[str, Sequence[str]],
             k: int = 20) -> dict[str, float]:
    """Mean AP@k (x100) over every gold query; a query without predictions scores 0, predictions
    for queries without gold are ignored (Mewsli-X's ``evaluate``). Key ``map_at_{k}``."""
    if not gold:
        raise ValueError("mAP of an empty query set is undefined")
    scores = query_average_precisions(gold, predicted, k)
    return {f"map_at_{k}": sum(scores) / len(scores) * 100}


def gold_rankings(pairs: Iterable[Pair]) -> dict[str, set[str]]:
    """(query id, correct id) pairs -> {query id: its correct ids}, queries in first-seen order."""
    gold: dict[str, set[str]] = {}
    for query, item in pairs:
        gold.setdefault(query, set()).add(item)
    return gold
