"""Accuracy, as XTREME's evaluate.py computes it for XNLI and PAWS-X (string equality of labels)."""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Percentage of positions where the predicted label equals the gold label."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("accuracy of an empty set is undefined")
    correct = sum(int(p == g) for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}
