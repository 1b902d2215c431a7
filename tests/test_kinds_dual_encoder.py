"""The dual-encoder kind on a tiny random encoder with the real tokenizer: the reference's loss,
packing, dev mAP@20, exact resume, and a saved model that retrieval evaluation pools as trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.kinds.retrieval import RetrievalSettings, embed_sentences, retrieval_options
from xstilts.modeling.model import MultiTaskModel
from xstilts.modeling.packing import pack_batch, packing_support
from xstilts.scoring.kinds import scorer_for_kind
from xstilts.tasks.readers import squad_retrieval_json
from xstilts.tasks.registry import get_task
from xstilts.tasks.selection import DataSelection
from xstilts.tasks.types import RetrievalPairExample, TaskKind
from xstilts.training.config import TrainConfig
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer

ADAPTER = get_adapter(TaskKind.DUAL_ENCODER)
SETTINGS = FeatureSettings(max_length=48, max_query_length=12)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def pairs(shared_data) -> list[RetrievalPairExample]:
    return squad_retrieval_json(shared_data / "tydiqa" / "tydiqa.goldp.en.dev.json", "en")[:6]


def _model(tiny_model_dir) -> MultiTaskModel:
    torch.manual_seed(0)
    model = MultiTaskModel.from_pretrained_encoder(tiny_model_dir)
    model.add_head("squad_retrieval", TaskKind.DUAL_ENCODER)
    return model.eval()


def test_rows_hold_the_query_and_the_candidate_cut_at_their_own_lengths(pairs, tokenizer):
    rows = ADAPTER.featurize(pairs, tokenizer, None, SETTINGS)
    query, candidate = rows[0]["input_ids"]
    assert query == tokenizer(pairs[0].query, truncation=True, max_length=12)["input_ids"]
    assert candidate == tokenizer(pairs[0].candidate, truncation=True, max_length=48)["input_ids"]
    batch = ADAPTER.collator(tokenizer)(rows[:3])
    # Queries first, then candidates: one [2 x rows, longest] batch, the layout packing packs.
    assert batch["input_ids"].shape == (6, 48)
    assert batch["input_ids"][1, :len(rows[1]["input_ids"][0])].tolist() == rows[1]["input_ids"][0]
    assert batch["input_ids"][3, :48].tolist() == rows[0]["input_ids"][1]


def test_loss_is_the_references_in_batch_softmax(pairs, tokenizer, tiny_model_dir):
    """bert.py BertForRetrieval: normalised vectors, similarity x logit_scale (100), CE vs arange."""
    model = _model(tiny_model_dir)
    head = model.heads["squad_retrieval"]
    assert head.logit_scale.requires_grad and head.logit_scale.item() == 100.0
    rows = ADAPTER.featurize(pairs[:4], tokenizer, None, SETTINGS)
    with torch.no_grad():
        loss, (queries, candidates) = model("squad_retrieval", ADAPTER.collator(tokenizer)(rows))

        def cls(texts, length):
            encoded = tokenizer(texts, truncation=True, max_length=length, padding=True, return_tensors="pt")
            return torch.nn.functional.normalize(model.encoder(**encoded).last_hidden_state[:, 0], dim=-1)

        q, c = cls([p.query for p in pairs[:4]], 12), cls([p.candidate for p in pairs[:4]], 48)
        expected = torch.nn.functional.cross_entropy(100.0 * q @ c.T, torch.arange(4))
    torch.testing.assert_close(queries, q, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(candidates, c, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(loss, expected, atol=1e-4, rtol=1e-4)


def test_packed_batches_give_the_padded_loss_and_gradients(pairs, tokenizer, tiny_model_dir):
    rows = ADAPTER.featurize(pairs, tokenizer, None, SETTINGS)
    batch = ADAPTER.collator(tokenizer)(rows)
    results = []
    for packed in (False, True):
        model = _model(tiny_model_dir)
        support = packing_support(model.encoder)
        inputs = pack_batch(batch, support.position_offset, tokenizer.pad_token_id) if packed else batch
        loss, (queries, _) = model("squad_retrieval", inputs)
        loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((loss.detach(), queries.detach(), grads))
    (loss, queries, grads), (packed_loss, packed_queries, packed_grads) = results
    torch.testing.assert_close(packed_loss, loss, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed_queries, queries, atol=1e-5, rtol=1e-4)
    assert grads.keys() == packed_grads.keys() and "heads.squad_retrieval.logit_scale" in grads
    for name in grads:
        torch.testing.assert_close(packed_grads[name], grads[name], atol=1e-5, rtol=1e-3, msg=name)


def test_decoding_ranks_each_query_against_the_distinct_candidates():
    examples = [RetrievalPairExample("a", "qa", "ca", "c1"), RetrievalPairExample("b", "qb", "ca", "c1"),
                RetrievalPairExample("c", "qc", "cc", "c2")]
    unit = np.eye(3, dtype=np.float32)
    # Query a points at c2, b and c at c1: c1 is pooled once (from its first example).
    vectors = [(unit[1], unit[0]), (unit[0], unit[2]), (unit[0], unit[1])]
    ranked = ADAPTER.decode(vectors, [], examples, None)
    assert ranked == {"a": ["c2", "c1"], "b": ["c1", "c2"], "c": ["c1", "c2"]}
    scores = scorer_for_kind(TaskKind.DUAL_ENCODER).score_predictions(get_task("squad_retrieval"), "en", examples,
                                                                        ranked)
    assert scores == pytest.approx({"map_at_20": 100 * (0.5 + 1 + 0.5) / 3})


# ---------------------------------------------------------------- training

CONFIG = dict(max_steps=6, batch_size=8, grad_accumulation=2, learning_rate=5e-4, max_length=48, max_query_length=12,
              eval_every=3, checkpoint_every=2, seed=3, warmup_ratio=0.0, weight_decay=0.0)


def _stage(shared_data: Path) -> StageData:
    folder = shared_data / "tydiqa"
    train = DataSelection("squad_retrieval", "en", "train", "[:40]", (str(folder / "tydiqa.goldp.en.train.json"),))
    dev = DataSelection("squad_retrieval", "en", "dev", "[:24]", (str(folder / "tydiqa.goldp.en.dev.json"),))
    return StageData([prepare_task_data(train, dev, None)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data, tiny_model_dir):
    run_dir = tmp_path_factory.mktemp("dual")
    return run_dir, Trainer(_stage(shared_data), TrainConfig(**CONFIG), run_dir).run(str(tiny_model_dir))


def test_training_selects_on_dev_map_and_packs_and_trims(trained):
    _, result = trained
    assert [h["step"] for h in result.history] == [3, 6]
    assert result.dev_metric == "map_at_20" and all(0 < h["score"] <= 100 for h in result.history)
    assert result.packing == {"packed": ["squad_retrieval"]}
    assert result.vocabulary["trimmed"]


def test_resume_after_a_crash_gives_identical_weights_and_history(trained, tmp_path, shared_data, tiny_model_dir):
    from safetensors.numpy import load_file

    reference_dir, reference = trained

    def crash(event, info):
        if event == "step" and info["step"] == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(_stage(shared_data), TrainConfig(**CONFIG), tmp_path, progress=crash).run(str(tiny_model_dir))
    events = []
    resumed = Trainer(_stage(shared_data), TrainConfig(**CONFIG), tmp_path,
                      progress=lambda event, info: events.append((event, info))).run(str(tiny_model_dir))
    assert ("resume", {"step": 4}) in events
    assert resumed.history == reference.history

    def weights(run_dir: Path) -> dict:
        model = run_dir / "model"
        files = [model / "heads.safetensors", *sorted((model / "encoder").glob("*.safetensors"))]
        return {key: value for file in files for key, value in load_file(file).items()}

    before, after = weights(reference_dir), weights(tmp_path)
    assert before.keys() == after.keys() and "squad_retrieval.logit_scale" in before
    assert all((before[key] == after[key]).all() for key in before)


def test_the_saved_encoder_is_evaluated_with_the_trained_pooling(trained, shared_data, tokenizer):
    """Retrieval evaluation of the saved model (nothing set by the study) reads the record and
    gives the very vectors training ranked with."""
    run_dir, _ = trained
    encoder = run_dir / "model" / "encoder"
    options, source = retrieval_options(encoder, {"layer": None, "pooling": None, "prefix": None})
    assert (options, source) == ({"layer": -1, "pooling": "cls", "prefix": "", "max_length": 48}, "model folder")
    model = MultiTaskModel.load(run_dir / "model").eval()
    texts = [p.candidate for p in squad_retrieval_json(shared_data / "tydiqa" / "tydiqa.goldp.en.dev.json", "en")[:5]]
    evaluated = embed_sentences(model, tokenizer, texts, RetrievalSettings(**options))
    rows = ADAPTER.featurize([RetrievalPairExample(str(i), t, t, str(i)) for i, t in enumerate(texts)], tokenizer, None,
                             FeatureSettings(max_length=48, max_query_length=48))
    with torch.no_grad():
        _, (_, trained_vectors) = model("squad_retrieval", ADAPTER.collator(tokenizer)(rows))
    np.testing.assert_allclose(evaluated, trained_vectors.numpy(), atol=1e-5)
    assert json.loads((encoder / "xstilts-retrieval.json").read_text())["source"].startswith("dual_encoder")
