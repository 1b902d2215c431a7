"""Tatoeba, BUCC 2018 and XTREME-R's pool retrieval (LAReQA, Mewsli-X) scored straight from an
encoder, as XTREME's retrieval scripts do (for the pool tasks XTREME-R fine-tunes a dual encoder
first: see their task files).

Mirrors google-research/xtreme third_party/evaluate_retrieval.py and utils_retrieve.py with
brute-force cosine search in blocks instead of faiss (same neighbours, exact search either way).

Tatoeba (``similarity_search``): the English sentences are the queries; each gets the index of
its cosine-nearest other-language sentence. XTREME's prediction file holds that index, one
integer per line, one line per English sentence; accuracy = share of English sentences whose
neighbour is their translation.

BUCC (``mine_bitext`` with margin "ratio", retrieval "max", then ``bucc_eval``): identical
sentences are embedded once; k-NN both ways; each source's best target and each target's best
source by ratio margin are candidates, taken greedily one-to-one by descending score; the
threshold is the dev-gold F1 optimum and is applied unchanged to the scored split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.retrieval import ProgressCallback, RetrievalSettings, embed_sentences, encoder_depth
from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION
from xstilts.metrics.retrieval import (
    Candidate, bucc_f1, bucc_optimal_threshold, bucc_pairs_at_threshold, gold_rankings, map_at_k, tatoeba_accuracy,
)
from xstilts.tasks.types import RetrievalSet, SentencePair


# ---------------------------------------------------------------- search


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def nearest_neighbours(queries: np.ndarray, database: np.ndarray, k: int,
                       block_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` inner products of every query row against the database, best first.

    Queries go in blocks so memory stays at ``block_size x len(database)`` floats.
    Returns (similarities, indices), both of shape (len(queries), k).
    """
    database_t = torch.from_numpy(np.ascontiguousarray(database, dtype=np.float32)).T
    sims, indices = [], []
    for start in range(0, len(queries), block_size):
        block = torch.from_numpy(np.ascontiguousarray(queries[start:start + block_size], dtype=np.float32))
        top = torch.topk(block @ database_t, k, dim=1)
        sims.append(top.values.numpy())
        indices.append(top.indices.numpy())
    if not sims:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(sims), np.concatenate(indices)


# ---------------------------------------------------------------- Tatoeba


def tatoeba_predict(src_emb: np.ndarray, trg_emb: np.ndarray) -> list[int]:
    """For each source row, the index of its cosine-nearest target row."""
    _, indices = nearest_neighbours(l2_normalize(src_emb), l2_normalize(trg_emb), k=1)
    return [int(i) for i in indices[:, 0]]


def evaluate_tatoeba(model: nn.Module, tokenizer: Any, retrieval_set: RetrievalSet,
                     settings: RetrievalSettings, device: torch.device | str | None = None,
                     progress: ProgressCallback | None = None,
                     precision: str = DEFAULT_EVAL_PRECISION) -> dict[str, Any]:
    """Accuracy (x100) of English -> other-language top-1 cosine search.

    ``predictions[i]`` is the position in the other-language side of the sentence retrieved for
    the i-th English sentence (XTREME's prediction-file line i).
    """
    english, other = _english_first(retrieval_set)
    predictions = tatoeba_predict(
        embed_sentences(model, tokenizer, [s.text for s in english], settings, device, progress, precision),
        embed_sentences(model, tokenizer, [s.text for s in other], settings, device, progress, precision))
    return {
        **tatoeba_accuracy(predictions, _gold_positions(retrieval_set, english, other)),
        "num_queries": len(english),
        "query_lang": "en",
        "predictions": predictions,
        "settings": settings.resolve(encoder_depth(model)).as_dict(),
    }


def _english_first(retrieval_set: RetrievalSet) -> tuple[tuple[SentencePair, ...], tuple[SentencePair, ...]]:
    if retrieval_set.target_lang == "en":
        return retrieval_set.target, retrieval_set.source
    if retrieval_set.source_lang == "en":
        return retrieval_set.source, retrieval_set.target
    raise ConfigError(f"{retrieval_set.guid}: Tatoeba pairs a language with English, "
                     f"got {retrieval_set.source_lang}-{retrieval_set.target_lang}")


def _gold_positions(retrieval_set: RetrievalSet, english: Sequence[SentencePair],
                    other: Sequence[SentencePair]) -> list[int]:
    """For each English sentence the position of its translation on the other side (-1: none)."""
    position = {sentence.id: i for i, sentence in enumerate(other)}
    english_is_target = retrieval_set.target_lang == "en"
    translation = dict((t, s) if english_is_target else (s, t) for s, t in retrieval_set.gold)  # en id -> other id
    return [position.get(translation.get(sentence.id, ""), -1) for sentence in english]


# ---------------------------------------------------------------- ranked retrieval from a pool


def rank_pool(query_emb: np.ndarray, pool_emb: np.ndarray, k: int) -> np.ndarray:
    """Per query the indices of its ``k`` cosine-nearest pool rows, best first."""
    _, indices = nearest_neighbours(l2_normalize(query_emb), l2_normalize(pool_emb), k=min(k, len(pool_emb)))
    return indices


def evaluate_ranked(model: nn.Module, tokenizer: Any, retrieval_set: RetrievalSet, settings: RetrievalSettings,
                    device: torch.device | str | None = None, pool_vectors: dict[tuple, np.ndarray] | None = None,
                    k: int = 20, progress: ProgressCallback | None = None,
                    precision: str = DEFAULT_EVAL_PRECISION) -> dict[str, Any]:
    """mAP@k (x100) of every query against the whole pool (LAReQA, Mewsli-X: XTREME-R's protocol
    with cosine similarity of the encoder's sentence vectors). ``pool_vectors`` keeps the pool's
    vectors between the languages of one task (every LAReQA language shares one pool).
    ``predictions``: {query id: [pool ids, best first]} (XTREME-R's prediction file)."""
    key = (retrieval_set.target_lang, len(retrieval_set.target),
           hash(tuple(item.id for item in retrieval_set.target)))
    cache = pool_vectors if pool_vectors is not None else {}
    if key not in cache:
        cache[key] = embed_sentences(model, tokenizer, [item.text for item in retrieval_set.target], settings,
                                     device, progress, precision)
    queries = embed_sentences(model, tokenizer, [item.text for item in retrieval_set.source], settings, device,
                              progress, precision)
    ranked = rank_pool(queries, cache[key], k)
    predictions = {query.id: [retrieval_set.target[int(i)].id for i in row]
                   for query, row in zip(retrieval_set.source, ranked)}
    gold = gold_rankings(retrieval_set.gold)
    gold = {query.id: gold[query.id] for query in retrieval_set.source if query.id in gold}
    return {
        **map_at_k(gold, predictions, k),
        "num_queries": len(retrieval_set.source),
        "pool_size": len(retrieval_set.target),
        "predictions": predictions,
        "settings": settings.resolve(encoder_depth(model)).as_dict(),
    }


# ---------------------------------------------------------------- BUCC


def unique_sentences(sentences: Sequence[SentencePair]) -> tuple[list[str], list[tuple[str, ...]]]:
    """Distinct texts in first-seen order, and for each the ids of every sentence carrying it."""
    ids_of: dict[str, list[str]] = {}
    for sentence in sentences:
        ids_of.setdefault(sentence.text, []).append(sentence.id)
    return list(ids_of), [tuple(ids) for ids in ids_of.values()]


def bucc_candidates(src_ids: Sequence[str | Sequence[str]], src_emb: np.ndarray,
                    trg_ids: Sequence[str | Sequence[str]], trg_emb: np.ndarray, k: int = 4,
                    keep_repeated: bool = False) -> list[Candidate]:
    """Mined sentence pairs with their ratio-margin scores, best first, one-to-one.

    Row i of ``src_emb`` is one distinct sentence and ``src_ids[i]`` its id, or the ids of all
    sentences with that text (likewise for targets); see ``unique_sentences``. XTREME maps mined
    text back to an id and drops texts that occur more than once on their side (their id is
    ambiguous); ``keep_repeated=True`` pairs every id of such a text instead. Like XTREME's miner
    (threshold 0) only positive scores are kept.
    """
    src_groups, trg_groups = _id_groups(src_ids), _id_groups(trg_ids)
    x, y = l2_normalize(src_emb), l2_normalize(trg_emb)
    fwd_sim, fwd_idx = nearest_neighbours(x, y, min(k, len(y)))
    bwd_sim, bwd_idx = nearest_neighbours(y, x, min(k, len(x)))
    fwd_mean, bwd_mean = fwd_sim.mean(axis=1), bwd_sim.mean(axis=1)
    # Ratio margin: cos(x, y) over the mean of both sides' average cosine to their k neighbours.
    # Neighbourhoods of mean 0 give NaN scores, which are dropped below like XTREME's "> 0" test.
    with np.errstate(divide="ignore", invalid="ignore"):
        fwd_scores = fwd_sim / ((fwd_mean[:, None] + bwd_mean[fwd_idx]) / 2)
        bwd_scores = bwd_sim / ((bwd_mean[:, None] + fwd_mean[bwd_idx]) / 2)
    fwd_best = fwd_idx[np.arange(len(x)), fwd_scores.argmax(axis=1)]
    bwd_best = bwd_idx[np.arange(len(y)), bwd_scores.argmax(axis=1)]
    pairs = np.concatenate([np.stack([np.arange(len(x)), fwd_best], axis=1),
                            np.stack([bwd_best, np.arange(len(y))], axis=1)])
    scores = np.concatenate([fwd_scores.max(axis=1), bwd_scores.max(axis=1)])

    candidates: list[Candidate] = []
    seen_src, seen_trg = set(), set()
    for row in np.argsort(-scores, kind="stable"):
        src, trg = (int(i) for i in pairs[row])
        if src in seen_src or trg in seen_trg:
            continue
        seen_src.add(src)
        seen_trg.add(trg)
        repeated = len(src_groups[src]) > 1 or len(trg_groups[trg]) > 1
        if not scores[row] > 0 or (repeated and not keep_repeated):
            continue
        candidates.extend((s, t, float(scores[row])) for s in src_groups[src] for t in trg_groups[trg])
    return candidates


def _id_groups(ids: Sequence[str | Sequence[str]]) -> list[tuple[str, ...]]:
    """A plain id stands for a sentence that occurs once."""
    return [(group,) if isinstance(group, str) else tuple(group) for group in ids]


def mine_candidates(model: nn.Module, tokenizer: Any, retrieval_set: RetrievalSet, settings: RetrievalSettings,
                    k: int = 4, keep_repeated: bool = False, device: torch.device | str | None = None,
                    progress: ProgressCallback | None = None,
                    precision: str = DEFAULT_EVAL_PRECISION) -> list[Candidate]:
    """Embed both corpora (each distinct sentence once) and mine BUCC candidates."""
    src_texts, src_ids = unique_sentences(retrieval_set.source)
    trg_texts, trg_ids = unique_sentences(retrieval_set.target)
    src_emb = embed_sentences(model, tokenizer, src_texts, settings, device, progress, precision)
    trg_emb = embed_sentences(model, tokenizer, trg_texts, settings, device, progress, precision)
    return bucc_candidates(src_ids, src_emb, trg_ids, trg_emb, k, keep_repeated)


def evaluate_bucc(model: nn.Module, tokenizer: Any, dev_set: RetrievalSet, test_set: RetrievalSet | None,
                  settings: RetrievalSettings, k: int = 4, keep_repeated: bool = False,
                  device: torch.device | str | None = None,
                  progress: ProgressCallback | None = None,
                  precision: str = DEFAULT_EVAL_PRECISION) -> dict[str, Any]:
    """BUCC F1 (x100) with the threshold tuned on the dev gold.

    With a test set the dev threshold is applied to the test candidates (F1 only when the test
    set has gold). Without one the dev set itself is scored with its own tuned threshold: an
    oracle, labelled ``oracle_threshold: True``.
    """
    if not dev_set.gold:
        raise ConfigError(f"{dev_set.guid}: BUCC threshold tuning needs a dev set with gold pairs")
    mine = dict(model=model, tokenizer=tokenizer, settings=settings, k=k, keep_repeated=keep_repeated,
                device=device, progress=progress, precision=precision)
    dev_candidates = mine_candidates(retrieval_set=dev_set, **mine)
    threshold = bucc_optimal_threshold(dev_candidates, dev_set.gold)
    scored_set = dev_set if test_set is None else test_set
    candidates = dev_candidates if test_set is None else mine_candidates(retrieval_set=test_set, **mine)
    predictions = sorted(bucc_pairs_at_threshold(candidates, threshold))
    result: dict[str, Any] = {
        "scored_set": scored_set.guid,
        "threshold": threshold,
        "threshold_tuned_on": dev_set.guid,
        "oracle_threshold": test_set is None,
        "num_candidates": len(candidates),
        "predictions": predictions,
        "k": k,
        "keep_repeated": keep_repeated,
        "settings": settings.resolve(encoder_depth(model)).as_dict(),
    }
    if scored_set.gold:
        result.update(bucc_f1(scored_set.gold, predictions))
    return result
