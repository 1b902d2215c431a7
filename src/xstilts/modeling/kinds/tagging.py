"""Token tagging (UD-POS, PAN-X, CCG): one tag per word, predicted at the word's first sub-word.

Words are tokenised one by one (as XTREME does), so a word's sub-words never depend on its
neighbours. A word that tokenises to nothing (e.g. U+007F) becomes the unknown token so it still
gets a position and a prediction.

A sentence longer than ``max_length`` is never truncated: it is cut at word boundaries into
windows of at most ``max_length`` tokens (specials included) that overlap by
``min(doc_stride, budget // 2)`` sub-words, where budget = ``max_length - 2``; the cap keeps every
window advancing by at least half its size. Each word is owned by exactly one window: the one in
which its first sub-word has the most context on its poorer side (BERT's "max context" rule,
ties go to the earlier window). A window carries labels, and is decoded, only at the words it
owns; the other words in it are context. A single word longer than the budget keeps only its first
``budget`` sub-words.

Bookkeeping columns per row: ``example_index`` (the sentence) and ``word_ids``: per token
position, the index of the word this window predicts there (its first sub-word), -1 elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.modeling.kinds.common import (
    HEAD_DROPOUT,
    argmax,
    chunks,
    cross_entropy,
    label_indexer,
    last_hidden_state,
    require_labels,
)
from xstilts.tasks.types import UNKNOWN_TAG, TaggingExample, TaskKind

IGNORE = -100  # label of positions that carry no loss
NO_WORD = -1  # word_ids entry of positions that predict nothing


@dataclass(frozen=True)
class Window:
    """Words [start, end) of a sentence encoded together; ``owned`` are the words it predicts."""

    start: int
    end: int
    owned: frozenset[int]


class TaggingAdapter(KindAdapter):
    kind = TaskKind.TAGGING
    model_columns = ("input_ids", "attention_mask", "labels")
    packable = True  # padding positions have label -100 and are never decoded
    per_token_logits = True

    def featurize(self, examples: Sequence[TaggingExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        index = label_indexer(require_labels(labels, "tagging"))
        if UNKNOWN_TAG in labels:
            # An open tag set (CCG): tags unseen in training become the unknown label.
            positions = {label: i for i, label in enumerate(labels)}
            index = lambda tag, guid: positions.get(tag, positions[UNKNOWN_TAG])  # noqa: E731
        budget = settings.max_length - 2  # <s> ... </s>
        if budget < 1:
            raise XstiltsError(f"max_length {settings.max_length} leaves no room for words (need at least 3)")
        overlap = min(settings.doc_stride, budget // 2)
        rows = []
        for first, chunk in chunks(examples):
            for offset, (example, word_pieces) in enumerate(zip(chunk, _word_pieces(chunk, tokenizer, budget))):
                tag_ids = _tag_ids(example, index)
                for window in split_windows([len(p) for p in word_pieces], budget, overlap):
                    rows.append(_window_row(first + offset, window, word_pieces, tag_ids, tokenizer))
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        if not num_labels:
            raise ValueError("a tagging head needs num_labels")
        return nn.Sequential(nn.Dropout(HEAD_DROPOUT), nn.Linear(hidden_size, num_labels))

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        logits = head(last_hidden_state(encoder, batch))
        loss = cross_entropy(logits, batch["labels"]) if "labels" in batch else None
        return loss, logits

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]],
               examples: Sequence[TaggingExample], labels: Sequence[str] | None) -> list[list[str]]:
        """One tag per word for every sentence, in order, reassembled from the windows' owned words."""
        labels = require_labels(labels, "tagging")
        if len(logits) != len(features):
            raise ValueError(f"got logits for {len(logits)} features but there are {len(features)}")
        tags: list[list[str | None]] = [[None] * len(ex.words) for ex in examples]
        for feature_logits, feature in zip(logits, features):
            best = argmax(feature_logits)
            sentence = tags[feature["example_index"]]
            for position, word in enumerate(feature["word_ids"]):
                if word != NO_WORD:
                    sentence[word] = labels[int(best[position])]
        for example, sentence in zip(examples, tags):
            if None in sentence:
                raise ValueError(f"example {example.guid}: word {sentence.index(None)} has no prediction; "
                                 "features do not belong to these examples")
        return tags


def split_windows(word_lengths: Sequence[int], budget: int, overlap: int) -> list[Window]:
    """Cut words (given their sub-word counts, each <= budget) into overlapping windows of at most
    ``budget`` sub-words and give each word to the window where it has the most context."""
    bounds = []
    start = 0
    while start < len(word_lengths) or not bounds:
        end, used = start, 0
        while end < len(word_lengths) and used + word_lengths[end] <= budget:
            used += word_lengths[end]
            end += 1
        bounds.append((start, end))
        if end == len(word_lengths):
            break
        start = _next_start(word_lengths, start, end, overlap)
    return _assign_owners(word_lengths, bounds)


def _next_start(word_lengths: Sequence[int], start: int, end: int, overlap: int) -> int:
    """The first word of the next window: step back from ``end`` while the overlap allows it,
    but always past ``start`` so that windows advance."""
    next_start, shared = end, 0
    while next_start - 1 > start and shared + word_lengths[next_start - 1] <= overlap:
        next_start -= 1
        shared += word_lengths[next_start]
    return next_start


def _assign_owners(word_lengths: Sequence[int], bounds: list[tuple[int, int]]) -> list[Window]:
    offsets = [0, *accumulate(word_lengths)]  # sub-word offset of each word's first sub-word

    def context(word: int, start: int, end: int) -> int:
        before = offsets[word] - offsets[start]
        after = offsets[end] - offsets[word] - 1
        return min(before, after)

    owned: list[set[int]] = [set() for _ in bounds]
    for word in range(len(word_lengths)):
        candidates = [k for k, (start, end) in enumerate(bounds) if start <= word < end]
        best = max(candidates, key=lambda k: (context(word, *bounds[k]), -k))
        owned[best].add(word)
    # A window that owns nothing would carry no labels (and a NaN loss): drop it.
    return [Window(start, end, frozenset(words)) for (start, end), words in zip(bounds, owned) if words]


def _word_pieces(examples: Sequence[TaggingExample], tokenizer: Any, budget: int) -> list[list[list[int]]]:
    """Sub-word ids of every word of every sentence (one batched tokenizer call)."""
    words = [word for example in examples for word in example.words]
    if not words:
        return [[] for _ in examples]
    encoded = tokenizer(words, add_special_tokens=False, return_attention_mask=False)["input_ids"]
    unknown = [tokenizer.unk_token_id]
    result, offset = [], 0
    for example in examples:
        count = len(example.words)
        result.append([(ids or unknown)[:budget] for ids in encoded[offset:offset + count]])
        offset += count
    return result


def _tag_ids(example: TaggingExample, index: Callable[[str, str], int]) -> list[int] | None:
    if example.tags is None:
        return None
    if len(example.tags) != len(example.words):
        raise XstiltsError(f"example {example.guid}: {len(example.words)} words but {len(example.tags)} tags")
    return [index(tag, example.guid) for tag in example.tags]


def _window_row(example_index: int, window: Window, word_pieces: list[list[int]], tag_ids: list[int] | None,
                tokenizer: Any) -> dict[str, Any]:
    input_ids = [tokenizer.cls_token_id]
    word_ids = [NO_WORD]
    for word in range(window.start, window.end):
        input_ids += word_pieces[word]
        first = word if word in window.owned else NO_WORD
        word_ids += [first] + [NO_WORD] * (len(word_pieces[word]) - 1)
    input_ids.append(tokenizer.sep_token_id)
    word_ids.append(NO_WORD)
    row = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids),
           "example_index": example_index, "word_ids": word_ids}
    if tag_ids is not None:
        row["labels"] = [IGNORE if word == NO_WORD else tag_ids[word] for word in word_ids]
    return row
