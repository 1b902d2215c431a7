"""Extractive QA (SQuAD layout): sliding windows over the context and a start/end span head.

The question goes first, the context second and only the context is cut into windows of
``max_length`` tokens. By default (``doc_stride_mode="step"``) ``doc_stride`` is the step between
window starts, as in XTREME's and jiant's SQuAD featurisation (``squad_convert_examples_to_features``
passes ``max_length - doc_stride - question - specials`` as the tokenizer's overlap); with
``"overlap"`` windows overlap by ``doc_stride`` tokens, as in Hugging Face's newer ``run_qa.py``
(fewer windows on long contexts). Like XTREME's SQuAD features, questions longer than
``max_query_length`` pieces are cut first, so every window keeps room for context. Models with
token types (mBERT) get ``token_type_ids``.

Bookkeeping columns of a feature row:
- ``example_index``: position of the row's example in the list given to ``featurize``;
- ``offset_mapping``: per token ``[start_char, end_char]`` in the context, or None for question
  and special tokens (Arrow stores None in a list of lists, so no sentinel is needed).
Decoding those back into answer strings lives in ``qa_postprocess``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.modeling.kinds.qa_postprocess import CLS_INDEX, SpanDecoding, decode_answers
from xstilts.tasks.types import QAExample, TaskKind

CONTEXT_SEQUENCE = 1  # ``sequence_ids`` value of context tokens (question = 0, specials = None)
TOKENIZE_BATCH = 1000  # examples per tokenizer call: the fast tokenizer parallelises a batch


class QAAdapter(KindAdapter):
    kind = TaskKind.EXTRACTIVE_QA
    model_columns = ("input_ids", "attention_mask", "token_type_ids", "start_positions", "end_positions")
    per_token_logits = True

    def __init__(self, allow_no_answer: bool = False, n_best_size: int = 20, max_answer_length: int = 30,
                 null_score_diff_threshold: float = 0.0):
        self.decoding = SpanDecoding(n_best_size=n_best_size, max_answer_length=max_answer_length,
                                     allow_no_answer=allow_no_answer,
                                     null_score_diff_threshold=null_score_diff_threshold)

    def featurize(self, examples: Sequence[QAExample], tokenizer: Any, labels: Sequence[str] | None,
                  settings: FeatureSettings) -> list[dict[str, Any]]:
        check_window_settings(tokenizer, settings)
        rows: list[dict[str, Any]] = []
        for first in range(0, len(examples), TOKENIZE_BATCH):
            rows.extend(featurize_batch(examples[first:first + TOKENIZE_BATCH], first, tokenizer, settings))
        return rows

    def build_head(self, hidden_size: int, num_labels: int | None) -> nn.Module:
        return nn.Linear(hidden_size, 2)  # a start and an end logit per token

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
        """Logits are (start_logits, end_logits), each [batch, seq_len]."""
        inputs = {name: batch[name] for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch}
        hidden = encoder(**inputs).last_hidden_state
        start_logits, end_logits = head(hidden).unbind(dim=-1)
        loss = None
        if "start_positions" in batch:
            loss = span_loss(start_logits, end_logits, batch["start_positions"], batch["end_positions"])
        return loss, (start_logits, end_logits)

    def decode(self, logits: Sequence[Any], features: Sequence[dict[str, Any]], examples: Sequence[QAExample],
               labels: Sequence[str] | None) -> dict[str, str]:
        return decode_answers(logits, features, examples, self.decoding)

    def pad_values(self, pad_token_id: int) -> dict[str, int]:
        # start/end positions are one scalar per row: the collator stacks them, nothing to pad.
        return {"input_ids": pad_token_id, "attention_mask": 0, "token_type_ids": 0}


def check_window_settings(tokenizer: Any, settings: FeatureSettings) -> None:
    """Windows must advance: the overlap has to be shorter than the context part of a window."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"extractive QA needs a fast tokenizer (character offsets); got {type(tokenizer).__name__}")
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    room = settings.max_length - settings.max_query_length - specials
    if settings.doc_stride >= room:
        raise ConfigError(f"doc_stride={settings.doc_stride} must be below max_length - max_query_length - "
                          f"{specials} special tokens = {room}")


def featurize_batch(examples: Sequence[QAExample], first_index: int, tokenizer: Any,
                    settings: FeatureSettings) -> list[dict[str, Any]]:
    """Windows of one batch of examples; ``first_index`` is the batch's offset in the full list."""
    questions = truncate_questions([example.question.lstrip() for example in examples], tokenizer,
                                   settings.max_query_length)
    groups: dict[int, list[int]] = {}  # tokenizer overlap -> examples (in batch) that use it
    if settings.doc_stride_mode == "overlap":
        groups[settings.doc_stride] = list(range(len(examples)))
    else:
        specials = tokenizer.num_special_tokens_to_add(pair=True)
        lengths = [len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]]
        for index, length in enumerate(lengths):
            room = settings.max_length - length - specials  # context tokens per window
            groups.setdefault(max(0, room - settings.doc_stride), []).append(index)
    rows: list[tuple[int, dict[str, Any]]] = []
    for overlap, members in groups.items():
        encoded = tokenizer([questions[i] for i in members], [examples[i].context for i in members],
                            truncation="only_second", max_length=settings.max_length, stride=overlap,
                            return_overflowing_tokens=True, return_offsets_mapping=True)
        for window, in_group in enumerate(encoded["overflow_to_sample_mapping"]):
            in_batch = members[in_group]
            offsets = [list(span) if sequence == CONTEXT_SEQUENCE else None
                       for span, sequence in zip(encoded["offset_mapping"][window], encoded.sequence_ids(window))]
            start, end = answer_token_span(examples[in_batch], offsets)
            row = {
                "input_ids": encoded["input_ids"][window],
                "attention_mask": encoded["attention_mask"][window],
                "start_positions": start,
                "end_positions": end,
                "example_index": first_index + in_batch,
                "offset_mapping": offsets,
            }
            if "token_type_ids" in encoded:
                row["token_type_ids"] = encoded["token_type_ids"][window]
            rows.append((in_batch, row))
    rows.sort(key=lambda item: item[0])  # stable: an example's windows stay in order
    return [row for _, row in rows]


def truncate_questions(questions: list[str], tokenizer: Any, max_query_length: int) -> list[str]:
    """Cut each question after its ``max_query_length``-th piece (at that piece's last character)."""
    pieces = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return [question[:spans[max_query_length - 1][1]] if len(spans) > max_query_length else question
            for question, spans in zip(questions, pieces)]


def answer_token_span(example: QAExample, offsets: list[list[int] | None]) -> tuple[int, int]:
    """Token indices of the first gold answer inside this window, or (CLS, CLS) when the window does
    not hold the whole answer or there is nothing to point at: an unanswerable question, an empty
    answer text or an unknown offset (-1)."""
    answer = example.answers[0] if example.answers and not example.is_impossible else None
    if answer is None or not answer.text or answer.start < 0:
        return CLS_INDEX, CLS_INDEX
    start_char, end_char = answer.start, answer.start + len(answer.text)
    context = [index for index, span in enumerate(offsets) if span is not None]
    if not context or not (offsets[context[0]][0] <= start_char and offsets[context[-1]][1] >= end_char):
        return CLS_INDEX, CLS_INDEX
    first, last = context[0], context[-1]
    start = first  # the last token that starts at or before the answer
    while start < last and offsets[start + 1][0] <= start_char:
        start += 1
    end = last  # the first token that ends at or after the answer
    while end > first and offsets[end - 1][1] >= end_char:
        end -= 1
    return start, end


def span_loss(start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor,
              end_positions: torch.Tensor) -> torch.Tensor:
    """Mean of start and end cross-entropy; positions past the sequence are ignored, as in HF's
    ``*ForQuestionAnswering`` models."""
    seq_len = start_logits.size(-1)
    start_loss = nn.functional.cross_entropy(start_logits, start_positions.clamp(0, seq_len), ignore_index=seq_len)
    end_loss = nn.functional.cross_entropy(end_logits, end_positions.clamp(0, seq_len), ignore_index=seq_len)
    return (start_loss + end_loss) / 2
