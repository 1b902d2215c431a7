"""Dynamic padding of feature rows and length-grouped batch order."""

from __future__ import annotations

import pytest
import torch

from xstilts.modeling.collate import MEGABATCH_FACTOR, PadCollator, length_grouped_indices, row_length
from xstilts.modeling.kinds import get_adapter

PAD = 1


def test_pads_to_the_longest_row_with_each_columns_pad_value():
    rows = [
        {"input_ids": [0, 5, 6, 2], "attention_mask": [1, 1, 1, 1], "labels": [-100, 3, 4, -100],
         "example_index": 0, "word_ids": [-1, 0, 1, -1]},
        {"input_ids": [0, 7, 2], "attention_mask": [1, 1, 1], "labels": [-100, 2, -100],
         "example_index": 1, "word_ids": [-1, 0, -1]},
    ]
    batch = PadCollator(get_adapter("tagging"), PAD)(rows)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}  # bookkeeping stays behind
    assert batch["input_ids"].tolist() == [[0, 5, 6, 2], [0, 7, 2, PAD]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 3, 4, -100], [-100, 2, -100, -100]]
    assert all(t.dtype == torch.long for t in batch.values())


def test_scalar_labels_are_stacked_and_token_type_ids_padded():
    rows = [{"input_ids": [0, 5, 2], "attention_mask": [1, 1, 1], "token_type_ids": [0, 0, 0], "labels": 2},
            {"input_ids": [0, 2], "attention_mask": [1, 1], "token_type_ids": [0, 1], "labels": 0}]
    batch = PadCollator(get_adapter("pair_classification"), PAD)(rows)
    assert batch["labels"].tolist() == [2, 0]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0], [0, 1, 0]]


def test_rows_must_share_columns():
    rows = [{"input_ids": [0, 2], "attention_mask": [1, 1], "labels": 1}, {"input_ids": [0, 2], "attention_mask": [1, 1]}]
    with pytest.raises(ValueError, match="differ in columns"):
        PadCollator(get_adapter("pair_classification"), PAD)(rows)


def test_row_length_of_choices_is_the_longest_choice():
    assert row_length({"input_ids": [[0, 2], [0, 5, 6, 2]]}) == 4
    assert row_length({"input_ids": [0, 5, 2]}) == 3


def test_length_grouping_is_a_seeded_permutation_sorted_within_megabatches():
    batch_size = 2
    lengths = [(i * 37) % 101 for i in range(250)]
    order = length_grouped_indices(lengths, batch_size, seed=3)
    assert sorted(order) == list(range(len(lengths)))
    assert order == length_grouped_indices(lengths, batch_size, seed=3)
    assert order != length_grouped_indices(lengths, batch_size, seed=4)
    assert lengths[order[0]] == max(lengths)  # out-of-memory shows up at the first step
    size = MEGABATCH_FACTOR * batch_size
    for start in range(0, len(order), size):
        # Sorted longest first, except the head that may have been swapped with the overall longest.
        chunk = [lengths[i] for i in order[start + 1:start + size]]
        assert chunk == sorted(chunk, reverse=True)
    assert length_grouped_indices([], batch_size, seed=0) == []
