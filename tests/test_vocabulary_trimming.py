"""Vocabulary trimming is exact: the saved model equals full-vocabulary training up to float rounding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from torch import nn

from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import RESULT_FILE, Trainer
from xstilts.training.vocabulary import TrimmedEmbedding, trim_vocabulary, why_not_trim

# A large weight decay so that the untouched rows visibly shrink (0.5% a step at the peak lr).
CONFIG = dict(max_steps=5, batch_size=8, learning_rate=1e-3, weight_decay=5.0, max_length=48, seed=2,
              warmup_ratio=0.2, checkpoint_every=2, eval_every=3, select_best=False)
# The learning rate of each of the 5 steps: one warm-up step from 0, then linear decay to 0.
STEP_LRS = [0.0, 1e-3, 7.5e-4, 5e-4, 2.5e-4]


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    weights = dict(load_file(model_dir / "heads.safetensors"))
    for shard in sorted((model_dir / "encoder").glob("*.safetensors")):
        weights.update(load_file(shard))
    return weights


def _stage(shared_data: Path) -> StageData:
    return StageData([prepare_task_data(DataSelection("xnli", "en", "dev", "[:40]"),
                                        DataSelection("xnli", "en", "dev", "[2400:2424]"), shared_data)])


@pytest.fixture(scope="module")
def full_and_trimmed(tmp_path_factory, shared_data, tiny_model_dir):
    root = tmp_path_factory.mktemp("trim")
    results = {}
    for trim in (False, True):
        run_dir = root / f"trim-{trim}"
        result = Trainer(_stage(shared_data), TrainConfig(**CONFIG, trim_vocabulary=trim), run_dir).run(str(tiny_model_dir))
        results[trim] = (run_dir, result)
    return results


def test_trimmed_training_saves_the_full_vocabulary_model(full_and_trimmed, tiny_model_dir):
    (full_dir, full), (trim_dir, trimmed) = full_and_trimmed[False], full_and_trimmed[True]
    assert full.vocabulary == {"trimmed": False, "reason": "switched off"}
    assert trimmed.vocabulary["trimmed"] and 0 < trimmed.vocabulary["rows"] < 250037 // 20
    assert json.loads((trim_dir / RESULT_FILE).read_text())["vocabulary"] == trimmed.vocabulary
    a, b = _weights(full_dir / "model"), _weights(trim_dir / "model")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-7, err_msg=key)
    assert [h["score"] for h in full.history] == [h["score"] for h in trimmed.history]

    # Not vacuous: untouched rows were decayed (by the product of 1 - lr_t * wd) and touched rows trained.
    key = next(k for k in a if k.endswith("word_embeddings.weight"))
    initial = load_file(tiny_model_dir / "model.safetensors")[key]
    changed = np.abs(a[key] - initial).max(axis=1) > 0
    assert changed.sum() > 250037 // 2  # decay reaches every row of the full run
    untouched_row = 200_000  # a rare piece no English NLI example of the slice uses
    expected = np.prod([1 - lr * CONFIG["weight_decay"] for lr in STEP_LRS])  # AdamW's decoupled decay
    np.testing.assert_allclose(a[key][untouched_row], initial[untouched_row] * expected, rtol=1e-6)
    np.testing.assert_allclose(b[key][untouched_row], initial[untouched_row] * expected, rtol=1e-6)


def test_trimming_turns_itself_off_for_tied_or_frozen_embeddings():
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    model = nn.Module()
    model.encoder = BertModel(config)
    assert why_not_trim(model, ["pair_classification"]) is None
    assert "masked-LM" in why_not_trim(model, ["mlm"])
    model.lm_head = nn.Linear(8, 50, bias=False)
    model.lm_head.weight = model.encoder.get_input_embeddings().weight
    assert "tied" in why_not_trim(model, ["pair_classification"])
    del model.lm_head
    model.encoder.get_input_embeddings().weight.requires_grad_(False)
    assert "frozen" in why_not_trim(model, ["pair_classification"])


def test_unknown_ids_read_the_decayed_original_rows():
    torch.manual_seed(0)
    embedding = nn.Embedding(10, 4, padding_idx=1)
    model = nn.Module()
    model.encoder = nn.Module()
    model.encoder.emb = embedding
    model.encoder.get_input_embeddings = lambda: model.encoder.emb
    model.encoder.set_input_embeddings = lambda value: setattr(model.encoder, "emb", value)
    original = embedding.weight.detach().clone()
    trimming = trim_vocabulary(model, torch.tensor([1, 3, 5]))
    assert isinstance(model.encoder.emb, TrimmedEmbedding) and trimming.rows == 3
    with torch.no_grad():
        trimming.module.weight.add_(1.0)
        trimming.module.decay.fill_(0.5)
    out = model.encoder.emb(torch.tensor([[3, 4, 1]]))[0]
    assert torch.equal(out[0], original[3] + 1.0)
    assert torch.equal(out[1], original[4] * 0.5)
    assert torch.equal(out[2], original[1] + 1.0)
    with trimming.original_embeddings(decayed=True):
        full = model.encoder.emb.weight.detach()
        assert torch.equal(full[5], original[5] + 1.0) and torch.equal(full[7], original[7] * 0.5)
    with trimming.original_embeddings(decayed=False):
        assert torch.equal(model.encoder.emb.weight, original)
    assert model.encoder.emb is trimming.module
