"""Retrieval straight from an encoder: sentence vectors, Tatoeba search, BUCC mining and scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.retrieval import RetrievalSettings, embed_sentences
from xstilts.evaluation.retrieval import (
    bucc_candidates, evaluate_bucc, evaluate_tatoeba, nearest_neighbours, tatoeba_predict, unique_sentences,
)
from xstilts.tasks.types import RetrievalSet, SentencePair

# ---------------------------------------------------------------- settings


def test_default_layer_is_seven_twelfths_of_the_depth():
    assert RetrievalSettings().resolve(24).layer == 14  # XLM-R large, as in the XTREME paper
    assert RetrievalSettings().resolve(12).layer == 7
    assert RetrievalSettings(layer=-1).resolve(12).layer == 12
    assert RetrievalSettings(layer=0).resolve(12).layer == 0


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="retrieval.layer"):
        RetrievalSettings(layer=13).resolve(12)
    with pytest.raises(ConfigError, match="retrieval.pooling"):
        RetrievalSettings(pooling="max")


def test_settings_are_recorded_as_a_dict():
    assert RetrievalSettings(prefix="query: ").resolve(12).as_dict() == {
        "layer": 7, "pooling": "mean", "prefix": "query: ", "max_length": 512, "batch_size": 64, "normalize": True}


# ---------------------------------------------------------------- search on hand-made vectors


def test_tatoeba_predict_identity_and_permutation():
    vectors = np.eye(4, dtype=np.float32) + 0.1
    assert tatoeba_predict(vectors, vectors) == [0, 1, 2, 3]
    permutation = [2, 0, 3, 1]
    # target row j is source row permutation[j]: source i is found where permutation points back
    assert tatoeba_predict(vectors * 5, vectors[permutation]) == [1, 3, 0, 2]


def test_blocked_search_equals_full_search():
    rng = np.random.default_rng(0)
    queries, database = rng.normal(size=(50, 8)), rng.normal(size=(30, 8))
    sims, indices = nearest_neighbours(queries, database, k=3, block_size=7)
    full = queries @ database.T
    expected = np.argsort(-full, axis=1)[:, :3]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(full, expected, axis=1), rtol=1e-5)


def test_margin_scores_by_hand():
    # cos(x1,y1)=1, cos(x1,y2)=0.6, cos(x2,y1)=0, cos(x2,y2)=0.8. With k=2 the neighbourhood means
    # are x1: 0.8, x2: 0.4, y1: 0.5, y2: 0.7, so margin(x1,y1) = 1/0.65 and margin(x2,y2) = 0.8/0.55.
    x = np.array([[1, 0], [0, 1]], dtype=np.float32)
    y = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)
    candidates = bucc_candidates(["x1", "x2"], x, ["y1", "y2"], y, k=2)
    assert [(s, t) for s, t, _ in candidates] == [("x1", "y1"), ("x2", "y2")]
    np.testing.assert_allclose([score for *_, score in candidates], [1 / 0.65, 0.8 / 0.55], rtol=1e-6)


def test_candidates_are_one_to_one_by_descending_score():
    # Both sources' best target is y1; x1 scores 1/0.95 there, x2 only 0.8/0.85, so x2 loses it.
    x = np.array([[1, 0], [0.8, 0.6]], dtype=np.float32)
    y = np.array([[1, 0]], dtype=np.float32)
    candidates = bucc_candidates(["x1", "x2"], x, ["y1"], y, k=4)
    assert [(s, t) for s, t, _ in candidates] == [("x1", "y1")]
    assert candidates[0][2] == pytest.approx(1 / 0.95)


def test_repeated_sentences_are_dropped_like_xtreme_or_mapped_to_every_id():
    texts, ids = unique_sentences([SentencePair("a1", "same"), SentencePair("b", "other"), SentencePair("a2", "same")])
    assert texts == ["same", "other"] and ids == [("a1", "a2"), ("b",)]
    x = np.array([[1, 0], [0, 1]], dtype=np.float32)
    y = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)
    dropped = bucc_candidates(ids, x, ["y1", "y2"], y, k=2)
    assert [(s, t) for s, t, _ in dropped] == [("b", "y2")]
    kept = bucc_candidates(ids, x, ["y1", "y2"], y, k=2, keep_repeated=True)
    assert [(s, t) for s, t, _ in kept] == [("a1", "y1"), ("a2", "y1"), ("b", "y2")]


def test_pairs_without_positive_score_are_not_candidates():
    x = np.array([[1, 0]], dtype=np.float32)
    y = np.array([[0, 1]], dtype=np.float32)
    assert bucc_candidates(["x"], x, ["y"], y) == []


# ---------------------------------------------------------------- sentence vectors from a tiny model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)


SENTENCES = ["A rather long sentence with quite a few more words than the others.", "Short.",
             "Der Hund schläft.", "狗在睡觉。", "Two words"]


def test_batched_vectors_come_back_in_input_order(tiny):
    model, tokenizer = tiny
    settings = RetrievalSettings(batch_size=2)
    together = embed_sentences(model, tokenizer, SENTENCES, settings)
    one_by_one = np.concatenate([embed_sentences(model, tokenizer, [s], settings) for s in SENTENCES])
    assert together.shape == (5, 32) and together.dtype == np.float32
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_pooling_of_the_chosen_hidden_layer(tiny, pooling):
    model, tokenizer = tiny
    settings = RetrievalSettings(layer=1, pooling=pooling, normalize=False, prefix="query: ")
    inputs = tokenizer(["query: Der Hund schläft."], return_tensors="pt")
    with torch.no_grad():
        states = model(**inputs, output_hidden_states=True).hidden_states[1][0]
    expected = states.mean(dim=0) if pooling == "mean" else states[0]  # mean includes <s> and </s>
    vector = embed_sentences(model, tokenizer, ["Der Hund schläft."], settings)[0]
    np.testing.assert_allclose(vector, expected.numpy(), atol=1e-5)


def test_multitask_container_is_unwrapped_and_left_in_training_mode(tiny):
    model, tokenizer = tiny

    class Container(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = model
            self.head = nn.Linear(32, 2)

    container = Container().train()
    done: list[tuple[int, int]] = []
    vectors = embed_sentences(container, tokenizer, SENTENCES, RetrievalSettings(batch_size=2),
                              progress=lambda n, total: done.append((n, total)))
    np.testing.assert_allclose(vectors, embed_sentences(model, tokenizer, SENTENCES, RetrievalSettings()), atol=1e-5)
    assert container.training and model.training
    assert done[-1] == (5, 5)


def _retrieval_set(guid: str, source: list[str], target: list[str], gold: list[tuple[int, int]]) -> RetrievalSet:
    return RetrievalSet(
        guid=guid, source_lang="de", target_lang="en",
        source=tuple(SentencePair(f"de-{i}", text) for i, text in enumerate(source)),
        target=tuple(SentencePair(f"en-{i}", text) for i, text in enumerate(target)),
        gold=tuple((f"de-{s}", f"en-{t}") for s, t in gold))


def test_tatoeba_finds_identical_sentences(tiny):
    # Identical texts give identical vectors (cosine 1), so every English sentence finds its copy.
    model, tokenizer = tiny
    english = SENTENCES[::-1]
    retrieval_set = _retrieval_set("tatoeba-de", SENTENCES, english, [(i, 4 - i) for i in range(5)])
    result = evaluate_tatoeba(model, tokenizer, retrieval_set, RetrievalSettings())
    assert result["predictions"] == [4, 3, 2, 1, 0]
    assert result["accuracy"] == 100.0
    assert result["settings"]["layer"] == 1  # round(7/12 * 2)


def test_bucc_with_identical_sentences_and_an_oracle_label(tiny):
    model, tokenizer = tiny
    distractors = ["Völlig anderer Inhalt hier.", "Noch ein Satz ohne Partner."]
    dev = _retrieval_set("bucc-dev", SENTENCES + distractors, SENTENCES[::-1], [(i, 4 - i) for i in range(5)])
    result = evaluate_bucc(model, tokenizer, dev, None, RetrievalSettings())
    assert result["oracle_threshold"] is True
    assert result["f1"] == 100.0
    assert result["predictions"] == sorted(dev.gold)

    test = _retrieval_set("bucc-test", SENTENCES[:3], SENTENCES[:3], [(i, i) for i in range(3)])
    transferred = evaluate_bucc(model, tokenizer, dev, test, RetrievalSettings())
    assert transferred["oracle_threshold"] is False
    assert transferred["threshold"] == result["threshold"]
    assert transferred["scored_set"] == "bucc-test" and transferred["threshold_tuned_on"] == "bucc-dev"
    assert transferred["recall"] == 100.0


def test_bucc_needs_dev_gold(tiny):
    model, tokenizer = tiny
    with pytest.raises(ConfigError, match="needs a dev set with gold"):
        evaluate_bucc(model, tokenizer, _retrieval_set("bucc-dev", ["a"], ["a"], []), None, RetrievalSettings())


# ---------------------------------------------------------------- the real offline encoder


@pytest.mark.slow
def test_multilingual_e5_small_zero_shot_retrieval(shared_data):
    """The done-criterion: e5-small, no training, last layer mean-pooled, "query: " prefix."""
    from xstilts.errors import XstiltsError
    from xstilts.modeling.loading import load_encoder, load_tokenizer
    from xstilts.tasks.load import load_examples
    from xstilts.tasks.registry import get_task

    try:
        model, tokenizer = load_encoder("multilingual-e5-small"), load_tokenizer("multilingual-e5-small")
    except XstiltsError as error:
        pytest.skip(f"offline e5 cannot be prepared: {error}")
    settings = RetrievalSettings(layer=-1, prefix="query: ")
    accuracy = {}
    for lang in ("de", "zh"):
        (pairs,) = load_examples(get_task("tatoeba"), lang, "test", shared_data)
        accuracy[lang] = evaluate_tatoeba(model, tokenizer, pairs, settings)["accuracy"]
    assert accuracy["de"] >= 95 and accuracy["zh"] >= 85, accuracy

    (dev,) = load_examples(get_task("bucc2018"), "zh", "dev", shared_data)
    bucc = evaluate_bucc(model, tokenizer, dev, None, settings)
    assert bucc["oracle_threshold"] is True
    assert bucc["settings"]["layer"] == 12
    assert bucc["f1"] >= 80, bucc["f1"]  # measured 87.4
