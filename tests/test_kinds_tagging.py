"""Tagging features: first-sub-word labels, overlapping windows, one prediction per word."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from xstilts.errors import XstiltsError
from xstilts.modeling.collate import PadCollator
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.kinds.tagging import IGNORE, NO_WORD, TaggingAdapter, split_windows
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.catalog.panx import PANX_TAGS
from xstilts.tasks.catalog.udpos import UPOS_TAGS
from xstilts.tasks.types import TaggingExample

SHORT = FeatureSettings(max_length=32, doc_stride=8)


@pytest.fixture(scope="module")
def tokenizer(xlmr_tokenizer_file):
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_file))


@pytest.fixture(scope="module", params=[("panx", "de"), ("panx", "zh"), ("udpos", "en"), ("udpos", "fi")])
def real_sentences(request, shared_data):
    task_name, lang = request.param
    task = get_task(task_name)
    split = "test" if (task_name, lang) == ("udpos", "fi") else "dev"
    return task.labels, load_examples(task, lang, split, shared_data)[:300]


def oracle_logits(features, examples, labels):
    """Logits that are one-hot on the gold tag at every predicted position."""
    result = []
    for feature in features:
        tags = examples[feature["example_index"]].tags
        logits = np.zeros((len(feature["input_ids"]), len(labels)), dtype=np.float32)
        for position, word in enumerate(feature["word_ids"]):
            if word != NO_WORD:
                logits[position, labels.index(tags[word])] = 1.0
        result.append(logits)
    return result


def test_every_word_is_predicted_once_and_gold_round_trips(real_sentences, tokenizer):
    labels, examples = real_sentences
    adapter = get_adapter("tagging")
    features = adapter.featurize(examples, tokenizer, labels, SHORT)

    assert all(len(f["input_ids"]) <= SHORT.max_length for f in features)
    windows_per_sentence = Counter(f["example_index"] for f in features)
    assert max(windows_per_sentence.values()) > 1, "the sample must contain a sentence longer than max_length"
    predicted = {i: Counter() for i in range(len(examples))}
    for feature in features:
        predicted[feature["example_index"]].update(w for w in feature["word_ids"] if w != NO_WORD)
    for i, example in enumerate(examples):
        assert predicted[i] == Counter(range(len(example.words))), example.guid

    # Labels sit exactly on the predicted first sub-words.
    for feature in features:
        tags = examples[feature["example_index"]].tags
        expected = [IGNORE if w == NO_WORD else labels.index(tags[w]) for w in feature["word_ids"]]
        assert feature["labels"] == expected

    decoded = adapter.decode(oracle_logits(features, examples, list(labels)), features, examples, labels)
    assert decoded == [list(example.tags) for example in examples]


def test_first_subword_carries_the_label(tokenizer):
    example = TaggingExample("s1", ("Anton", "Zuccalmaglio", "."), ("B-PER", "I-PER", "O"))
    [feature] = TaggingAdapter().featurize([example], tokenizer, PANX_TAGS, FeatureSettings())
    pieces = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert pieces == ["<s>", "▁Anton", "▁Zu", "cca", "lma", "glio", "▁", ".", "</s>"]
    assert feature["word_ids"] == [-1, 0, 1, -1, -1, -1, 2, -1, -1]
    assert feature["labels"] == [-100, 1, 2, -100, -100, -100, 0, -100, -100]
    assert feature["example_index"] == 0


def test_word_without_subwords_becomes_unknown_and_is_predicted(tokenizer):
    assert tokenizer("\x7f", add_special_tokens=False)["input_ids"] == []
    example = TaggingExample("s1", ("Hello", "\x7f", "", "world"), ("X", "SYM", "SYM", "NOUN"))
    [feature] = TaggingAdapter().featurize([example], tokenizer, UPOS_TAGS, FeatureSettings())
    assert feature["input_ids"][2:4] == [tokenizer.unk_token_id] * 2
    decoded = TaggingAdapter().decode(oracle_logits([feature], [example], list(UPOS_TAGS)), [feature], [example],
                                      UPOS_TAGS)
    assert decoded == [["X", "SYM", "SYM", "NOUN"]]


def test_word_longer_than_a_window_keeps_its_first_subwords(tokenizer):
    word = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"
    example = TaggingExample("s1", ("Der", word, "kam"), ("O", "B-PER", "O"))
    settings = FeatureSettings(max_length=6, doc_stride=2)
    features = TaggingAdapter().featurize([example], tokenizer, PANX_TAGS, settings)
    assert all(len(f["input_ids"]) <= 6 for f in features)
    owned = sorted(w for f in features for w in f["word_ids"] if w != NO_WORD)
    assert owned == [0, 1, 2]


def test_windows_overlap_and_each_word_goes_to_its_most_central_window():
    windows = split_windows([1] * 10, budget=6, overlap=3)
    assert [(w.start, w.end) for w in windows] == [(0, 6), (3, 9), (6, 10)]
    # Word 4 ties (one sub-word of context on its poorer side in both windows): the earlier wins.
    assert [sorted(w.owned) for w in windows] == [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9]]


def test_windows_respect_the_budget_with_uneven_words():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 6, size=200).tolist()
    windows = split_windows(lengths, budget=20, overlap=10)
    assert windows[0].start == 0 and windows[-1].end == len(lengths)
    assert all(sum(lengths[w.start:w.end]) <= 20 for w in windows)
    assert all(a.start < b.start and b.start < a.end for a, b in zip(windows, windows[1:]))  # advance, overlap
    owned = sorted(word for w in windows for word in w.owned)
    assert owned == list(range(len(lengths)))


def test_sentence_that_fits_is_one_window_and_empty_sentence_none():
    assert [(w.start, w.end, sorted(w.owned)) for w in split_windows([2, 3], 5, 2)] == [(0, 2, [0, 1])]
    assert split_windows([], 5, 2) == []


def test_unlabelled_sentences_have_no_labels_column(tokenizer):
    example = TaggingExample("s1", ("ein", "Test"), None)
    features = TaggingAdapter().featurize([example], tokenizer, PANX_TAGS, FeatureSettings())
    assert "labels" not in features[0]
    batch = PadCollator(TaggingAdapter(), tokenizer.pad_token_id)(features)
    assert set(batch) == {"input_ids", "attention_mask"}


def test_bad_tags_are_user_errors(tokenizer):
    adapter = TaggingAdapter()
    with pytest.raises(XstiltsError, match="example s1: 2 words but 1 tags"):
        adapter.featurize([TaggingExample("s1", ("a", "b"), ("O",))], tokenizer, PANX_TAGS, FeatureSettings())
    with pytest.raises(XstiltsError, match="example s2: label 'B-MISC' is not one of"):
        adapter.featurize([TaggingExample("s2", ("a",), ("B-MISC",))], tokenizer, PANX_TAGS, FeatureSettings())
    with pytest.raises(XstiltsError, match="label list"):
        adapter.featurize([TaggingExample("s3", ("a",), ("N",))], tokenizer, None, FeatureSettings())


def test_decode_rejects_features_of_other_examples(tokenizer):
    adapter = TaggingAdapter()
    example = TaggingExample("s1", ("a", "b"), ("O", "O"))
    features = adapter.featurize([example], tokenizer, PANX_TAGS, FeatureSettings())
    longer = TaggingExample("s1", ("a", "b", "c"), ("O", "O", "O"))
    logits = oracle_logits(features, [example], list(PANX_TAGS))
    with pytest.raises(ValueError, match="word 2 has no prediction"):
        adapter.decode(logits, features, [longer], PANX_TAGS)


def test_ccg_tags_unseen_in_training_map_to_the_unknown_label(tokenizer):
    from xstilts.tasks.types import UNKNOWN_TAG

    train = [TaggingExample("t0", ("The", "dog", "barks"), ("NP/N", "N", "S\\NP"))]
    labels = get_task("ccg").training_labels(train)
    assert labels == ("N", "NP/N", "S\\NP", UNKNOWN_TAG)
    dev = [TaggingExample("d0", ("Dogs", "bark", "loudly"), ("N", "S\\NP", "(S\\NP)\\(S\\NP)"))]
    (row,) = TaggingAdapter().featurize(dev, tokenizer, labels, FeatureSettings(max_length=32))
    assert [label for label in row["labels"] if label != IGNORE] == [0, 2, 3]
    # A closed label set still refuses an unknown tag.
    bad = [TaggingExample("p0", ("Paris",), ("B-CITY",))]
    with pytest.raises(XstiltsError, match="B-CITY"):
        TaggingAdapter().featurize(bad, tokenizer, PANX_TAGS, FeatureSettings(max_length=32))
