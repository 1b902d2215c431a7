"""Multiple-choice features: one (context + question, choice) pair per choice, padded per batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xstilts.errors import XstiltsError
from xstilts.modeling.collate import PadCollator, row_length
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import MultipleChoiceExample


@pytest.fixture(scope="module")
def tokenizer(xlmr_tokenizer_file):
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_file))


def segments(tokenizer, ids: list[int]) -> tuple[str, str]:
    """The two texts of an XLM-R pair encoding <s> A </s></s> B </s>."""
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    separator = ids.index(tokenizer.sep_token_id)
    assert ids[separator + 1] == tokenizer.sep_token_id
    return tokenizer.decode(ids[1:separator]).strip(), tokenizer.decode(ids[separator + 2:-1]).strip()


@pytest.fixture(scope="module")
def siqa(shared_data):
    return load_examples(get_task("siqa"), "en", "dev", shared_data)[:16]


def test_each_choice_is_a_pair_of_context_question_and_choice(siqa, tokenizer):
    features = get_adapter("multiple_choice").featurize(siqa, tokenizer, None, FeatureSettings(max_length=64))
    assert len(features) == len(siqa)
    for example, feature in zip(siqa, features):
        assert len(feature["input_ids"]) == len(feature["attention_mask"]) == 3
        assert feature["labels"] == example.label
        for choice, ids in zip(example.choices, feature["input_ids"]):
            assert segments(tokenizer, ids) == (f"{example.context} {example.question}", choice)


def test_empty_context_gives_the_question_alone(shared_data, tokenizer):
    example = load_examples(get_task("csqa"), "en", "dev", shared_data)[0]
    assert example.context == ""
    [feature] = get_adapter("multiple_choice").featurize([example], tokenizer, None, FeatureSettings())
    assert len(feature["input_ids"]) == 5
    assert segments(tokenizer, feature["input_ids"][0]) == (example.question, example.choices[0])


def test_collator_pads_every_choice_to_the_longest_in_the_batch(siqa, tokenizer):
    adapter = get_adapter("multiple_choice")
    features = adapter.featurize(siqa, tokenizer, None, FeatureSettings())
    batch = PadCollator(adapter, tokenizer.pad_token_id)(features[:4])
    longest = max(row_length(f) for f in features[:4])
    assert batch["input_ids"].shape == (4, 3, longest)
    assert batch["attention_mask"].shape == (4, 3, longest)
    assert batch["labels"].tolist() == [ex.label for ex in siqa[:4]]
    for row, feature in enumerate(features[:4]):
        for choice, ids in enumerate(feature["input_ids"]):
            assert batch["input_ids"][row, choice, :len(ids)].tolist() == ids
            assert torch.all(batch["input_ids"][row, choice, len(ids):] == tokenizer.pad_token_id)
            assert int(batch["attention_mask"][row, choice].sum()) == len(ids)


def test_rows_with_different_numbers_of_choices_do_not_collate(tokenizer):
    adapter = get_adapter("multiple_choice")
    examples = [MultipleChoiceExample("a", "c", "q", ("x", "y"), 0), MultipleChoiceExample("b", "c", "q", ("x",), 0)]
    features = adapter.featurize(examples, tokenizer, None, FeatureSettings())
    with pytest.raises(ValueError, match="different numbers of choices"):
        PadCollator(adapter, tokenizer.pad_token_id)(features)


def test_label_outside_the_choices_is_a_user_error(tokenizer):
    example = MultipleChoiceExample("q9", "c", "q", ("x", "y"), 2)
    with pytest.raises(XstiltsError, match=r"example q9: label 2 is not a choice index \(0..1\)"):
        get_adapter("multiple_choice").featurize([example], tokenizer, None, FeatureSettings())


def test_decode_returns_the_best_choice(siqa):
    gold = [ex.label for ex in siqa]
    logits = np.eye(3, dtype=np.float32)[gold] - 0.5
    assert get_adapter("multiple_choice").decode(list(logits), [{}] * len(siqa), siqa, None) == gold
