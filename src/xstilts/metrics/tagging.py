"""Chunk F1 for tagging, exactly as XTREME scores UD-POS and PAN-X: seqeval 0.0.12.

XTREME's evaluate.py calls seqeval's ``f1_score``/``precision_score``/``recall_score`` (default
``suffix=False``) on lists of sentences for BOTH tasks. seqeval is unpinned there and pinned to
0.0.12 by jiant; this module re-implements that version's ``get_entities`` rules:

* A tag is read as ``prefix = tag[0]`` and ``type = tag.split('-')[-1]``. For IOB2 NER tags this
  gives conlleval semantics: ``B-X`` starts a chunk, ``I-X`` continues one of the same type and
  starts a new one after ``O`` or after another type.
* Bare UPOS tags are read the same way, so ``NOUN`` has prefix ``N`` and type ``NOUN``: a run of
  identical tags is ONE chunk (NOUN NOUN = 1 chunk), tags starting with ``S`` (SCONJ, SYM) are
  single-token chunks, ``B``-initial tags would start a chunk and ``I``-initial tags (INTJ) continue
  one. Hence POS "F1" is not token accuracy; we report token accuracy beside it.
* Sentences are flattened with an ``O`` after each sentence (and one more ``O`` at the very end),
  so chunks never cross sentence boundaries and chunk offsets are positions in that flat list.
* Precision, recall and F1 are micro-averaged over the sets of (type, start, end) chunks.

seqeval 1.x (default mode) reads bare tags differently: the type is ``tag[1:]``, an empty one
written ``_``, so ``X`` and the ``O`` separator share the type ``_``: an ``X`` chunk that ends a
sentence is never closed (dropped, or merged across the boundary with a following ``X``).
Worked example (found and checked with the real packages; asserted in the tests)::

    gold = [["X", "NOUN", "SCONJ", "VERB"],
            ["DET", "VERB", "DET", "SCONJ", "NOUN", "DET"],
            ["ADJ", "NOUN", "INTJ", "SCONJ", "DET", "X"]]
    pred = [["X", "NOUN", "SCONJ", "VERB"],
            ["DET", "VERB", "DET", "DET", "VERB", "DET"],
            ["ADJ", "NOUN", "INTJ", "DET", "DET", "X"]]

    token accuracy 0.8125; seqeval 0.0.12 (this module): 16 gold, 14 predicted, 11 correct chunks,
    F1 0.7333; seqeval 1.2.2 drops the final X from both sides: 15, 13, 10, F1 0.7143.
"""

from __future__ import annotations

from collections.abc import Sequence

Chunk = tuple[str, int, int]  # (type, first position, last position) in the flattened sequence

# seqeval's sentence separator and end sentinel.
_OUTSIDE = "O"


def _prefix_and_type(tag: str) -> tuple[str, str]:
    return tag[0], tag.split("-")[-1]


def _ends_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``end_of_chunk``: did a chunk end just before the current tag?"""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in ("O", ".") and prev_type != type_


def _starts_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``start_of_chunk``: does a chunk start at the current tag?"""
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in ("O", ".") and prev_type != type_


def get_entities(sentences: Sequence[Sequence[str]]) -> list[Chunk]:
    """The chunks of a list of tagged sentences, as seqeval 0.0.12's ``get_entities``."""
    flat = [tag for sentence in sentences for tag in (*sentence, _OUTSIDE)]
    chunks: list[Chunk] = []
    prev_prefix, prev_type, begin = _OUTSIDE, "", 0
    for position, tag in enumerate([*flat, _OUTSIDE]):
        prefix, type_ = _prefix_and_type(tag)
        if _ends_chunk(prev_prefix, prefix, prev_type, type_):
            chunks.append((prev_type, begin, position - 1))
        if _starts_chunk(prev_prefix, prefix, prev_type, type_):
            begin = position
        prev_prefix, prev_type = prefix, type_
    return chunks


def _check_aligned(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    # Chunk offsets are flat positions, so every sentence must have the same length in both.
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predicted sentences for {len(gold)} gold sentences")
    for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred)):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(f"sentence {index}: {len(pred_tags)} predicted tags for {len(gold_tags)} gold tags")


def token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Fraction of words whose predicted tag equals the gold tag (seqeval's ``accuracy_score``)."""
    _check_aligned(gold, pred)
    pairs = [(g, p) for gold_tags, pred_tags in zip(gold, pred) for g, p in zip(gold_tags, pred_tags)]
    if not pairs:
        raise ValueError("token accuracy of an empty set is undefined")
    return sum(g == p for g, p in pairs) / len(pairs)


def chunk_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro precision, recall and F1 over chunks, as fractions (seqeval 0.0.12's ``*_score``)."""
    _check_aligned(gold, pred)
    gold_chunks, pred_chunks = set(get_entities(gold)), set(get_entities(pred))
    correct = len(gold_chunks & pred_chunks)
    precision = correct / len(pred_chunks) if pred_chunks else 0
    recall = correct / len(gold_chunks) if gold_chunks else 0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0
    return {"f1": f1, "precision": precision, "recall": recall}


def _xtreme_tagging_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    scores = {name: float(value * 100) for name, value in chunk_scores(gold, pred).items()}
    scores["accuracy"] = token_accuracy(gold, pred) * 100
    return scores


def pos_metrics(gold_sents: Sequence[Sequence[str]], pred_sents: Sequence[Sequence[str]]) -> dict[str, float]:
    """UD-POS: XTREME's F1/precision/recall (seqeval 0.0.12 chunks of bare UPOS tags) and token
    accuracy, all x100. The XTREME paper calls the F1 "accuracy"; ``accuracy`` here is the real one."""
    return _xtreme_tagging_metrics(gold_sents, pred_sents)


def ner_metrics(gold_sents: Sequence[Sequence[str]], pred_sents: Sequence[Sequence[str]]) -> dict[str, float]:
    """PAN-X: entity-span F1/precision/recall over IOB2 tags (conlleval-style) and token accuracy, x100."""
    return _xtreme_tagging_metrics(gold_sents, pred_sents)
