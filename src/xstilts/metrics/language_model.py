"""Masked-LM dev metrics: perplexity and masked-token accuracy over the masked positions."""

from __future__ import annotations

import math


def masked_lm_metrics(nll_sum: float, correct: float, tokens: int) -> dict[str, float]:
    """perplexity = exp(mean negative log-likelihood of the masked tokens); accuracy x100; loss = the mean NLL."""
    if tokens <= 0:
        raise ValueError("no masked tokens to score (the held-out slice is empty or too short)")
    loss = nll_sum / tokens
    return {"perplexity": math.exp(min(loss, 700.0)), "masked_accuracy": 100.0 * correct / tokens, "loss": loss,
            "masked_tokens": float(tokens)}
