"""Sequence packing computes what the padded batch computes: same hidden states at real tokens,
same gradients, same trained weights (up to float rounding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from xstilts.modeling.packing import encode_packed, first_fit_rows, pack_batch, packing_support
from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer

PAD = 1


def _encoder(model_type: str, attention: str = "sdpa"):
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    common = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=64, max_position_embeddings=300, type_vocab_size=2, pad_token_id=PAD,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config = BertConfig(**common) if model_type == "bert" else XLMRobertaConfig(**common)
    config._attn_implementation = attention
    model_class = BertModel if model_type == "bert" else XLMRobertaModel
    return model_class(config, add_pooling_layer=False)


def _batch(lengths: list[int], longest: int, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Right-padded random ids with pair-style token types (second half of each row is type 1)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), longest), PAD)
    mask = torch.zeros((len(lengths), longest), dtype=torch.long)
    types = torch.zeros((len(lengths), longest), dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(5, 300, (n,), generator=generator)
        mask[i, :n] = 1
        types[i, n // 2:n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_first_fit_places_every_sequence_once_within_capacity():
    lengths = [50, 7, 120, 33, 33, 90, 1, 64, 130]
    rows = first_fit_rows(lengths, 128)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    for row in rows:
        assert sum(lengths[i] for i in row) <= 128 or len(row) == 1  # 130 > capacity: a row of its own
    assert len(rows) == 5  # 522 tokens: 5 rows is the fewest possible with a 130-token sequence


def test_pack_batch_layout():
    batch = _batch([5, 3, 8], 8)
    packed = pack_batch(batch, position_offset=2, pad_token_id=PAD, capacity=16)
    assert packed["packed_input_ids"].shape == (1, 16)  # 16 positions, a multiple of 8
    segments = packed["packed_segments"][0].tolist()
    assert segments == [1] * 8 + [2] * 5 + [3] * 3  # longest first
    assert packed["packed_position_ids"][0, :8].tolist() == list(range(2, 10))
    # Every real token comes back to its place; padding points at the extra zero row (index 16).
    flat_ids = torch.cat([packed["packed_input_ids"].reshape(-1), torch.tensor([PAD])])
    unpacked = flat_ids[packed["unpack_index"]]
    assert torch.equal(unpacked, batch["input_ids"])
    assert (packed["unpack_index"][batch["attention_mask"] == 0] == 16).all()


@pytest.mark.parametrize("model_type,attention", [("bert", "sdpa"), ("xlm-roberta", "sdpa"), ("bert", "eager"),
                                                  ("xlm-roberta", "eager")])
def test_packed_encoder_matches_padded_outputs_and_gradients(model_type, attention):
    encoder = _encoder(model_type, attention)
    support = packing_support(encoder)
    assert support.packable
    assert support.position_offset == (PAD + 1 if model_type == "xlm-roberta" else 0)
    batch = _batch([23, 7, 40, 18, 40, 3, 31], 40)
    real = batch["attention_mask"].bool()
    weights = torch.randn(40, 32)  # a loss that weighs every real position differently

    def loss_and_grads(hidden):
        loss = (hidden * weights)[real].sum()
        grads = torch.autograd.grad(loss, list(encoder.parameters()), allow_unused=True)
        return hidden[real].detach(), grads

    padded, padded_grads = loss_and_grads(encoder(**batch).last_hidden_state)
    packed_batch = pack_batch(batch, support.position_offset, PAD, capacity=64)
    assert packed_batch["packed_input_ids"].numel() < batch["input_ids"].numel()
    hidden = encode_packed(encoder, packed_batch)
    assert (hidden[~real] == 0).all()
    packed, packed_grads = loss_and_grads(hidden)
    torch.testing.assert_close(packed, padded, atol=1e-5, rtol=1e-4)
    for a, b in zip(padded_grads, packed_grads):
        if a is None:
            assert b is None or not b.any()
            continue
        torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-3)


def test_packing_support_names_what_it_cannot_pack():
    from transformers import DistilBertConfig, DistilBertModel

    encoder = DistilBertModel(DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32))
    support = packing_support(encoder)
    assert not support.packable and "distilbert" in support.reason


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    weights = dict(load_file(model_dir / "heads.safetensors"))
    for shard in sorted((model_dir / "encoder").glob("*.safetensors")):
        weights.update(load_file(shard))
    return weights


@pytest.mark.parametrize("task,lang,split", [("xnli", "en", "dev"), ("panx", "en", "dev")])
def test_packed_training_ends_with_the_padded_weights(tmp_path, shared_data, tiny_model_dir, task, lang, split):
    stage = StageData([prepare_task_data(DataSelection(task, lang, split, "[:24]"), None, shared_data)])
    config = dict(max_steps=3, batch_size=8, learning_rate=1e-3, max_length=48, seed=3, dropout=0.0,
                  select_best=False, mixed_precision="no")  # fp32: the comparison is of the math
    results = {}
    for pack in (False, True):
        result = Trainer(stage, TrainConfig(**config, pack_sequences=pack), tmp_path / f"pack-{pack}").run(str(tiny_model_dir))
        results[pack] = result
    assert results[True].packing == {"packed": [task]}
    assert results[False].packing == {"packed": [], "reason": "switched off"}
    padded, packed = (_weights(Path(results[p].model_dir)) for p in (False, True))
    assert padded.keys() == packed.keys()
    for name in padded:
        np.testing.assert_allclose(packed[name], padded[name], atol=2e-5, rtol=1e-4, err_msg=name)
