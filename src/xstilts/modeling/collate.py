"""Batching feature rows: dynamic padding of the model columns and length-grouped ordering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

# HF's LengthGroupedSampler: sort by length within chunks of this many batches.
MEGABATCH_FACTOR = 50


class PadCollator:
    """Turns feature rows into a batch of tensors for ``adapter.forward``.

    Only the adapter's model columns present in the rows are kept (bookkeeping columns stay in
    the feature rows). Scalars (a class label) are stacked; token lists are padded to the longest
    row of the batch; multiple-choice rows ([num_choices, length]) are padded to the longest
    choice of the batch.
    """

    def __init__(self, adapter: Any, pad_token_id: int):
        """``adapter``: the task kind's adapter (its ``model_columns`` and ``pad_values``)."""
        self.columns = adapter.model_columns
        self.pad_values = adapter.pad_values(pad_token_id)

    def __call__(self, rows: Sequence[dict[str, Any]], seed: Any = None) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        present = [name for name in self.columns if name in rows[0]]
        for row in rows:
            if any(name not in row for name in present):
                raise ValueError(f"rows of one batch differ in columns: expected all of {present}")
        return {name: self._column(name, [row[name] for row in rows]) for name in present}

    def _column(self, name: str, values: list[Any]) -> torch.Tensor:
        first = values[0]
        if not isinstance(first, (list, tuple)):
            return torch.tensor(values, dtype=torch.long)
        if first and isinstance(first[0], (list, tuple)):
            return _pad_choices(values, self.pad_values[name])
        return _pad_sequences(values, self.pad_values[name])


def _pad_sequences(sequences: list[Sequence[int]], value: int) -> torch.Tensor:
    """[batch, longest] tensor."""
    longest = max(len(seq) for seq in sequences)
    padded = torch.full((len(sequences), longest), value, dtype=torch.long)
    for i, seq in enumerate(sequences):
        padded[i, :len(seq)] = torch.tensor(seq, dtype=torch.long)
    return padded


def _pad_choices(rows: list[Sequence[Sequence[int]]], value: int) -> torch.Tensor:
    """[batch, num_choices, longest] tensor; every row must have the same number of choices."""
    num_choices = len(rows[0])
    if any(len(choices) != num_choices for choices in rows):
        raise ValueError(f"rows of one batch have different numbers of choices (first has {num_choices})")
    flat = _pad_sequences([seq for choices in rows for seq in choices], value)
    return flat.reshape(len(rows), num_choices, flat.shape[-1])


def row_length(row: dict[str, Any]) -> int:
    """Tokens in a feature row (the longest choice for multiple choice): the key of length grouping."""
    input_ids = row["input_ids"]
    if input_ids and isinstance(input_ids[0], (list, tuple)):
        return max(len(choice) for choice in input_ids)
    return len(input_ids)


def length_grouped_indices(lengths: Sequence[int], batch_size: int, seed: int) -> list[int]:
    """A permutation of range(len(lengths)) in which consecutive batches hold similar lengths.

    As Hugging Face's ``LengthGroupedSampler``: shuffle, cut into megabatches of
    ``50 * batch_size``, sort each by length (longest first), and move the overall longest row to
    the very front so that an out-of-memory batch shows up at the first step. Deterministic given
    the seed.
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    size = MEGABATCH_FACTOR * batch_size
    megabatches = [sorted(order[i:i + size], key=lambda j: -lengths[j]) for i in range(0, len(order), size)]
    if megabatches:
        longest = max(range(len(megabatches)), key=lambda k: lengths[megabatches[k][0]])
        megabatches[0][0], megabatches[longest][0] = megabatches[longest][0], megabatches[0][0]
    return [index for megabatch in megabatches for index in megabatch]
