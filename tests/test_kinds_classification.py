"""Classification features and decoding with the real XLM-R tokenizer on real XNLI / PAWS-X rows."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts.errors import XstiltsError
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.kinds.classification import ClassificationAdapter
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import ClassificationExample, TaskKind

BOS, EOS = 0, 2


@pytest.fixture(scope="module")
def tokenizer(xlmr_tokenizer_file):
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_file))


@pytest.fixture(scope="module")
def xnli_de(shared_data):
    task = get_task("xnli")
    return task.labels, load_examples(task, "de", "dev", shared_data)[:200]


def test_pairs_are_encoded_with_labels_as_indices(xnli_de, tokenizer):
    labels, examples = xnli_de
    features = get_adapter("pair_classification").featurize(examples, tokenizer, labels, FeatureSettings())
    assert len(features) == len(examples)
    first = features[0]
    assert set(first) == {"input_ids", "attention_mask", "labels"}  # XLM-R: no token_type_ids
    assert first["input_ids"][0] == BOS and first["input_ids"][-1] == EOS
    # XLM-R separates the two sentences with </s></s>.
    text = tokenizer.decode(first["input_ids"], skip_special_tokens=True)
    assert examples[0].text_a in text and examples[0].text_b in text
    assert [f["labels"] for f in features] == [labels.index(ex.label) for ex in examples]
    assert {f["labels"] for f in features} == {0, 1, 2}


def test_longest_first_truncation_keeps_both_sentences(xnli_de, tokenizer):
    labels, examples = xnli_de
    features = ClassificationAdapter().featurize(examples, tokenizer, labels, FeatureSettings(max_length=24))
    lengths = [len(f["input_ids"]) for f in features]
    assert max(lengths) == 24 and min(lengths) < 24
    for feature in features:
        separators = [i for i, t in enumerate(feature["input_ids"]) if t == EOS]
        assert len(separators) == 3 and separators[0] > 1 and separators[2] - separators[1] > 1


def test_single_sentences(tokenizer):
    examples = [ClassificationExample("a", "a fine film", None, "1"), ClassificationExample("b", "dull", None, None)]
    adapter = get_adapter(TaskKind.SINGLE_CLASSIFICATION)
    features = adapter.featurize(examples, tokenizer, ("0", "1"), FeatureSettings())
    assert features[0]["input_ids"].count(EOS) == 1
    assert features[0]["labels"] == 1 and "labels" not in features[1]


def test_decode_returns_the_argmax_label_per_example(xnli_de, tokenizer):
    labels, examples = xnli_de
    gold = [labels.index(ex.label) for ex in examples]
    logits = np.eye(len(labels), dtype=np.float32)[gold] * 3.0 - 1.0
    adapter = ClassificationAdapter()
    assert adapter.decode(list(logits), [{}] * len(examples), examples, labels) == [ex.label for ex in examples]
    with pytest.raises(ValueError):
        adapter.decode(list(logits[:-1]), [], examples, labels)


def test_user_errors_name_the_example(tokenizer):
    adapter = ClassificationAdapter()
    bad_label = [ClassificationExample("x7", "p", "h", "maybe")]
    with pytest.raises(XstiltsError, match=r"example x7: label 'maybe' is not one of .*entailment"):
        adapter.featurize(bad_label, tokenizer, ("entailment", "neutral", "contradiction"), FeatureSettings())
    mixed = [ClassificationExample("p1", "p", "h", "0"), ClassificationExample("p2", "p", None, "0")]
    with pytest.raises(XstiltsError, match="example p2: no second sentence"):
        adapter.featurize(mixed, tokenizer, ("0", "1"), FeatureSettings())


def test_pawsx_labels_follow_the_task_label_list(shared_data, tokenizer):
    task = get_task("pawsx")
    examples = load_examples(task, "ja", "dev", shared_data)[:50]
    features = ClassificationAdapter().featurize(examples, tokenizer, task.labels, FeatureSettings(max_length=128))
    assert [f["labels"] for f in features] == [int(ex.label) for ex in examples]
