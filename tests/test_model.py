"""MultiTaskModel: one encoder, a head per task, every kind trains; save/load round trips."""

from __future__ import annotations

import json

import pytest
import torch

from xstilts.errors import ConfigError, MissingDataError
from xstilts.modeling.collate import PadCollator
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.model import MultiTaskModel
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import TaskKind

# head name, task, language, number of examples, feature settings
CASES = {
    TaskKind.PAIR_CLASSIFICATION: ("nli", "xnli", "de", 4, FeatureSettings(max_length=48)),
    TaskKind.MULTIPLE_CHOICE: ("siqa", "siqa", "en", 4, FeatureSettings(max_length=48)),
    TaskKind.TAGGING: ("panx", "panx", "en", 4, FeatureSettings(max_length=48)),
    TaskKind.EXTRACTIVE_QA: ("tydiqa", "tydiqa", "en", 2,
                             FeatureSettings(max_length=64, doc_stride=24, max_query_length=24)),
}


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def batches(shared_data, tokenizer):
    """kind -> (head name, labels, one padded batch of real features)."""
    result = {}
    for kind, (head, task_name, lang, count, settings) in CASES.items():
        task = get_task(task_name)
        examples = load_examples(task, lang, "dev", shared_data)[:count]
        adapter = get_adapter(kind)
        features = adapter.featurize(examples, tokenizer, task.labels, settings)[:4]
        result[kind] = (head, task.labels, PadCollator(adapter, tokenizer.pad_token_id)(features))
    return result


@pytest.fixture
def model(tiny_model_dir):
    torch.manual_seed(0)
    return MultiTaskModel.from_pretrained_encoder(tiny_model_dir)


def eval_loss(model, head, batch):
    model.eval()
    with torch.no_grad():
        return model(head, batch)[0].item()


@pytest.mark.parametrize("kind", list(CASES), ids=lambda kind: kind.value)
def test_every_kind_trains_on_a_tiny_batch(model, batches, kind):
    head, labels, batch = batches[kind]
    model.add_head(head, kind, labels)
    before = eval_loss(model, head, batch)
    # The word embeddings are 97% of the tiny model; leaving them out keeps the steps fast.
    trained = [p for name, p in model.named_parameters() if "word_embeddings" not in name]
    optimizer = torch.optim.AdamW(trained, lr=3e-3)
    model.eval()  # no dropout: a deterministic loss curve on 4 rows
    for _ in range(20):
        loss, _ = model(head, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(p.grad is not None for p in model.heads[head].parameters())
    after = eval_loss(model, head, batch)
    assert after < 0.5 * before, (before, after)


def test_logits_have_the_kind_shapes(model, batches):
    for kind, (head, labels, batch) in batches.items():
        model.add_head(head, kind, labels)
    model.eval()
    with torch.no_grad():
        _, classification = model("nli", batches[TaskKind.PAIR_CLASSIFICATION][2])
        _, choices = model("siqa", batches[TaskKind.MULTIPLE_CHOICE][2])
        _, tags = model("panx", batches[TaskKind.TAGGING][2])
    tagging_ids = batches[TaskKind.TAGGING][2]["input_ids"]
    assert classification.shape == (4, 3)
    assert choices.shape == (4, 3)
    assert tags.shape == (*tagging_ids.shape, 7)


def test_unlabelled_batch_gives_no_loss(model, batches):
    head, labels, batch = batches[TaskKind.PAIR_CLASSIFICATION]
    model.add_head(head, TaskKind.PAIR_CLASSIFICATION, labels)
    loss, logits = model(head, {k: v for k, v in batch.items() if k != "labels"})
    assert loss is None and logits.shape == (4, 3)


def test_save_and_load_give_identical_logits(model, batches, tmp_path, tokenizer):
    for kind, (head, labels, _) in batches.items():
        model.add_head(head, kind, labels)
    target = tmp_path / "stage1"
    model.save(target, tokenizer=tokenizer)
    model.save(target)  # overwriting an existing model is atomic too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage1"]  # no staging leftovers
    metadata = json.loads((target / "heads.json").read_text())
    assert metadata["heads"]["nli"] == {"kind": "pair_classification",
                                        "labels": ["entailment", "neutral", "contradiction"]}
    assert metadata["heads"]["siqa"] == {"kind": "multiple_choice", "labels": None}

    loaded = MultiTaskModel.load(target)
    assert loaded.head_specs == model.head_specs
    assert next(loaded.parameters()).dtype == torch.float32
    model.eval()
    loaded.eval()
    with torch.no_grad():
        for head, _, batch in batches.values():
            torch.testing.assert_close(loaded(head, batch)[1], model(head, batch)[1], rtol=0, atol=0)


def test_load_in_another_dtype_casts_heads_too(model, tmp_path):
    model.add_head("panx", "tagging", ["O", "B-PER", "I-PER"])
    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m", dtype=torch.bfloat16)
    assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}


def test_add_head_is_idempotent_and_refuses_conflicts(model):
    model.add_head("nli", "pair_classification", ["entailment", "neutral", "contradiction"])
    weight = model.heads["nli"].out_proj.weight
    model.add_head("nli", TaskKind.PAIR_CLASSIFICATION, ("entailment", "neutral", "contradiction"))
    assert model.heads["nli"].out_proj.weight is weight
    with pytest.raises(ConfigError, match="head 'nli' already exists"):
        model.add_head("nli", "pair_classification", ["yes", "no"])
    with pytest.raises(ConfigError, match="contain no '.'"):
        model.add_head("a.b", "tagging", ["O"])
    with pytest.raises(ConfigError, match="unknown task kind 'ranking'"):
        model.add_head("r", "ranking", None)
    with pytest.raises(ConfigError, match=r"model has no head 'qqp' \(heads: nli\)"):
        model("qqp", {})


def test_retrieval_trains_no_head_and_missing_model_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="retrieval tasks train no head"):
        get_adapter(TaskKind.RETRIEVAL).build_head(8, None)
    with pytest.raises(MissingDataError, match="heads.json missing"):
        MultiTaskModel.load(tmp_path)


def test_unchanged_embeddings_are_linked_not_rewritten(tmp_path, tiny_model_dir):
    import torch

    from xstilts.modeling.encoder_files import EMBEDDINGS_SHARD
    from xstilts.modeling.model import MultiTaskModel

    model = MultiTaskModel.from_pretrained_encoder(tiny_model_dir)
    model.add_head("panx", "tagging", ["O", "B-PER", "I-PER"])
    model.save(tmp_path / "parent")
    parent_shard = tmp_path / "parent" / "encoder" / EMBEDDINGS_SHARD
    with torch.no_grad():
        model.encoder.encoder.layer[0].output.dense.weight.add_(1.0)  # train something else
    model.save(tmp_path / "child", embeddings_from=tmp_path / "parent" / "encoder")
    child_shard = tmp_path / "child" / "encoder" / EMBEDDINGS_SHARD
    assert child_shard.stat().st_ino == parent_shard.stat().st_ino

    with torch.no_grad():
        model.encoder.get_input_embeddings().weight.add_(1.0)  # now the embeddings differ
    model.save(tmp_path / "changed", embeddings_from=tmp_path / "parent" / "encoder")
    assert (tmp_path / "changed" / "encoder" / EMBEDDINGS_SHARD).stat().st_ino != parent_shard.stat().st_ino

    reloaded = MultiTaskModel.load(tmp_path / "changed")
    for (name, a), (_, b) in zip(model.encoder.state_dict().items(), reloaded.encoder.state_dict().items()):
        assert torch.equal(a, b), name
