"""Classification metrics: accuracy, as XTREME's evaluate.py computes it for XNLI and PAWS-X
(string equality of labels), and macro-averaged F1."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Percentage of positions where the predicted label equals the gold label."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("accuracy of an empty set is undefined")
    correct = sum(int(p == g) for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}


def label_counts(gold: Sequence[Hashable], pred: Sequence[Hashable]
                 ) -> dict[Hashable, tuple[int, int, int]]:
    """Per label of gold ∪ predicted (the labels present, sorted by their text): (true positives,
    times predicted, times gold)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("macro F1 of an empty set is undefined")
    counts = {label: [0, 0, 0] for label in sorted(set(gold) | set(pred), key=str)}
    for g, p in zip(gold, pred):
        counts[p][1] += 1
        counts[g][2] += 1
        if g == p:
            counts[g][0] += 1
    return {label: (tp, predicted, in_gold) for label, (tp, predicted, in_gold) in counts.items()}


def f1_macro(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """Macro-averaged F1 (x100): the plain mean over the labels PRESENT (every label that occurs in
    the gold or among the predictions, each counted once) of the per-label F1

        F1_l = 2 TP_l / (2 TP_l + FP_l + FN_l) = 2 TP_l / (predicted_l + gold_l).

    A gold label never predicted scores 0 (no true positive), and so does a predicted label that
    never occurs in the gold; both count in the mean. A label of the task's label list that occurs
    in neither is left out. This is scikit-learn's ``f1_score(gold, pred, average="macro")`` with
    its default ``labels=None`` (the sorted union of the labels in both) and default
    ``zero_division``: a label present on one side only has a denominator > 0, so that option
    never applies.
    """
    counts = label_counts(gold, pred)
    per_label = [2 * tp / (predicted + in_gold) for tp, predicted, in_gold in counts.values()]
    return {"f1_macro": 100.0 * sum(per_label) / len(per_label)}
