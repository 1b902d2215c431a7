"""From per-window start/end logits to one answer string per question (HF ``utils_qa.py`` rules).

Per window: the ``n_best_size`` highest start and end logits are paired; a pair is a candidate
when both tokens lie in the context, end >= start and the span has at most ``max_answer_length``
tokens; its score is start logit + end logit. The best candidate over all windows of a question
wins. SQuAD v2: the null score is the smallest CLS start + end score over the windows, and the
answer is "" when it beats the best span by more than ``null_score_diff_threshold``.

Differences from ``utils_qa.py``, none of which changes SQuAD/MLQA scores (both normalisations
strip whitespace): the answer is stripped, because SentencePiece offsets of a "▁word" piece include
the space before the word; a question without any valid span gets "" instead of the string "empty".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xstilts.tasks.types import QAExample

# The question comes first, so the classifier token <s>/[CLS] is token 0: it labels windows
# without the answer and scores "no answer" (SQuAD v2).
CLS_INDEX = 0


@dataclass(frozen=True)
class SpanDecoding:
    n_best_size: int = 20
    max_answer_length: int = 30  # in tokens
    allow_no_answer: bool = False  # SQuAD v2
    null_score_diff_threshold: float = 0.0


@dataclass(frozen=True)
class Span:
    score: float
    start_char: int
    end_char: int


def decode_answers(logits: Sequence[Any], features: Sequence[dict[str, Any]], examples: Sequence[QAExample],
                   decoding: SpanDecoding) -> dict[str, str]:
    """{question id: answer text}; ``logits[i]`` is (start_logits, end_logits) of ``features[i]``."""
    windows: dict[int, list[tuple[np.ndarray, list[list[int] | None]]]] = defaultdict(list)
    for feature, feature_logits in zip(features, logits, strict=True):
        windows[feature["example_index"]].append((np.asarray(feature_logits, dtype=np.float64),
                                                  feature["offset_mapping"]))
    return {example.guid: answer_text(example, windows[index], decoding) for index, example in enumerate(examples)}


def answer_text(example: QAExample, windows: list[tuple[np.ndarray, list[list[int] | None]]],
                decoding: SpanDecoding) -> str:
    best: Span | None = None
    for window_logits, offsets in windows:
        span = best_span(window_logits, offsets, decoding)
        if span is not None and (best is None or span.score > best.score):
            best = span
    if best is None:
        return ""
    if decoding.allow_no_answer:
        null_score = min(float(window_logits[0, CLS_INDEX] + window_logits[1, CLS_INDEX])
                         for window_logits, _ in windows)
        if null_score - best.score > decoding.null_score_diff_threshold:
            return ""
    return example.context[best.start_char:best.end_char].strip()


def best_span(window_logits: np.ndarray, offsets: list[list[int] | None], decoding: SpanDecoding) -> Span | None:
    """The highest-scoring valid span of one window, or None when no candidate pair is valid."""
    length = len(offsets)  # logits may be longer: the batch was padded
    start_logits, end_logits = window_logits[0, :length], window_logits[1, :length]
    starts = np.argsort(-start_logits, kind="stable")[:decoding.n_best_size, None]
    ends = np.argsort(-end_logits, kind="stable")[None, :decoding.n_best_size]
    in_context = np.array([span is not None for span in offsets])
    valid = in_context[starts] & in_context[ends] & (ends >= starts) & (ends - starts < decoding.max_answer_length)
    if not valid.any():
        return None
    scores = np.where(valid, start_logits[starts] + end_logits[ends], -np.inf)
    row, column = np.unravel_index(np.argmax(scores), scores.shape)
    start, end = int(starts[row, 0]), int(ends[0, column])
    return Span(float(scores[row, column]), offsets[start][0], offsets[end][1])
