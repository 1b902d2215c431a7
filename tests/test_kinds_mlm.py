"""The masked-LM task kind: BERT masking, the tied LM head, perplexity, and its place in a stage."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.metrics.language_model import masked_lm_metrics
from xstilts.modeling.kinds import FeatureSettings, get_adapter
from xstilts.modeling.kinds.mlm import IGNORE, MaskingCollator, MaskingSettings
from xstilts.tasks.types import TaskKind, TextExample


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from xstilts.modeling.loading import load_tokenizer

    return load_tokenizer(str(tiny_model_dir))


def _rows(tokenizer, texts, max_length=64):
    examples = [TextExample(str(i), t) for i, t in enumerate(texts)]
    return get_adapter(TaskKind.MLM).featurize(examples, tokenizer, None, FeatureSettings(max_length=max_length))


def test_long_lines_become_several_windows_nothing_cut(tokenizer):
    long = " ".join(["Haus"] * 100)
    rows = _rows(tokenizer, [long, "kurz"], max_length=32)
    assert len(rows) > 2 and all(len(r["input_ids"]) <= 32 for r in rows)
    content = sum(len(r["input_ids"]) - 2 for r in rows)
    assert content == len(tokenizer(long)["input_ids"]) - 2 + len(tokenizer("kurz")["input_ids"]) - 2


def test_masking_is_15_percent_80_10_10_and_seeded(tokenizer):
    texts = ["Maria sagte, sie wisse nicht, wo Tom sei. " * 3, "Nilikuwa nyumbani jana usiku pamoja na rafiki."] * 40
    rows = _rows(tokenizer, texts)
    collator = MaskingCollator(tokenizer, MaskingSettings())
    a, b, c = collator(rows, seed=(1, 5, 0, 0)), collator(rows, seed=(1, 5, 0, 0)), collator(rows, seed=(1, 6, 0, 0))
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["mlm_labels"], b["mlm_labels"])
    assert not torch.equal(a["mlm_labels"], c["mlm_labels"])
    original = collator(rows, seed=None)  # only for the shapes; the originals come from the rows
    ids = torch.full_like(original["input_ids"], tokenizer.pad_token_id)
    for i, row in enumerate(rows):
        ids[i, :len(row["input_ids"])] = torch.tensor(row["input_ids"])
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    masked = a["mlm_labels"] != IGNORE
    assert not (masked & special).any()
    assert torch.equal(a["mlm_labels"][masked], ids[masked])  # labels are the original tokens
    share = masked.sum().item() / (~special).sum().item()
    assert 0.12 < share < 0.18
    became_mask = (a["input_ids"] == tokenizer.mask_token_id) & masked
    unchanged = (a["input_ids"] == ids) & masked
    assert 0.74 < became_mask.sum().item() / masked.sum().item() < 0.86
    assert 0.05 < unchanged.sum().item() / masked.sum().item() < 0.16
    assert not ((a["input_ids"] != ids) & ~masked).any()  # nothing else changes


def test_whole_word_masking_masks_every_piece_of_a_word(tokenizer):
    text = "Unabhängigkeitserklärung Donaudampfschifffahrtsgesellschaft Betriebsverfassungsgesetz " * 2
    rows = _rows(tokenizer, [text] * 20)
    assert len(rows) == 20  # one window each: positions line up with word_of below
    batch = MaskingCollator(tokenizer, MaskingSettings(whole_word=True))(rows, seed=3)
    encoded = tokenizer(text, truncation=True, max_length=64)
    word_of = np.array([-1 if w is None else w for w in encoded.word_ids()])
    masked = (batch["mlm_labels"] != IGNORE).numpy()
    assert masked.any()
    for row in masked:
        for word in set(word_of[row]) - {-1}:
            pieces = row[: len(word_of)][word_of == word]
            assert pieces.all() or not pieces.any()  # all pieces of a word, or none
    assert (word_of >= 0).sum() > len(set(word_of) - {-1})  # words really have several pieces


def test_perplexity_and_accuracy_by_hand():
    adapter = get_adapter(TaskKind.MLM)
    features = [{"mlm_labels": [IGNORE, 7, IGNORE, 9]}, {"mlm_labels": [IGNORE, 5]}]
    stats = [np.array([[0, 0], [math.log(2), 1], [9, 9], [math.log(4), 0], [0, 0]]),  # padded past the row
             np.array([[0, 0], [math.log(8), 1]])]
    sums = adapter.decode(stats, features, [], None)
    assert sums == pytest.approx({"nll_sum": math.log(64), "correct": 2.0, "tokens": 3})
    metrics = masked_lm_metrics(sums["nll_sum"], sums["correct"], sums["tokens"])
    assert metrics["perplexity"] == pytest.approx(4.0)  # exp(mean(ln2, ln4, ln8)) = exp(ln 4)
    assert metrics["masked_accuracy"] == pytest.approx(200 / 3)


def test_head_is_tied_to_the_input_embeddings_and_saves_small(tiny_model_dir, tokenizer, tmp_path):
    from xstilts.modeling.model import MultiTaskModel

    model = MultiTaskModel.from_pretrained_encoder(tiny_model_dir)
    model.add_head("mlm", TaskKind.MLM)
    embeddings = model.encoder.get_input_embeddings().weight
    head = model.heads["mlm"]
    assert head.bias.shape == (embeddings.shape[0],)
    assert all(p.data_ptr() != embeddings.data_ptr() for p in head.parameters())  # not a copy: computed from it
    batch = MaskingCollator(tokenizer, MaskingSettings())(_rows(tokenizer, ["Hallo Welt, wie geht es dir heute?"] * 8),
                                                          seed=0)
    loss, stats = model("mlm", batch)
    loss.backward()
    assert torch.isfinite(loss) and stats.shape == (*batch["input_ids"].shape, 2)
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0  # the output layer is the embedding
    model.save(tmp_path / "m", tokenizer)
    again = MultiTaskModel.load(tmp_path / "m")
    assert torch.equal(again.heads["mlm"].bias, head.bias)
    assert (tmp_path / "m" / "heads.safetensors").stat().st_size < 4 * (embeddings.shape[0] + 32 * 40) + 10_000


def test_selection_prefers_low_perplexity_only_without_another_task():
    from xstilts.training.trainer import Trainer

    assert Trainer._stage_score({"mlm:multi": 50.0}) == (50.0, False)
    assert Trainer._stage_score({"xnli:en": 40.0, "mlm:multi": 5000.0}) == (40.0, True)


def test_study_stage_holds_out_a_slice_for_perplexity(tmp_path, shared_data):
    from xstilts.study import build_plan, load_study

    corpus = shared_data / "tatoeba" / "tatoeba.deu-eng.deu"
    study = tmp_path / "s.toml"
    study.write_text(f"""
name = "s"
model = "multilingual-e5-small"
output_dir = "runs"
data_dir = "{shared_data}"
seeds = [1]
[stages.mlm]
tasks = [{{ task = "mlm", files = ["{corpus}"], lang = "multi" }}]
[orders]
singles = true
[[targets]]
task = "tatoeba"
langs = ["de"]
""")
    plan = build_plan(load_study(study))
    (stage,) = [n for n in plan.train_nodes if n.label == "mlm"]
    (task,) = stage.tasks
    assert (task.train.slice, task.dev.slice) == ("[:95%]", "[95%:]")
    assert task.dev.files == task.train.files and task.train.lang == "multi"
    assert not plan.missing_data


class _Crash(Exception):
    pass


def test_mlm_stage_resumes_exactly(tmp_path, shared_data, tiny_model_dir):
    """Masks are drawn per (seed, step): a crashed and resumed NLI+MLM stage ends identical."""
    from safetensors.numpy import load_file

    from xstilts.training.config import TrainConfig
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer

    corpus = (str(shared_data / "tatoeba/tatoeba.deu-eng.deu"), str(shared_data / "tatoeba/tatoeba.swh-eng.swh"))

    def stage():
        return StageData([
            prepare_task_data(DataSelection("xnli", "en", "dev", "[:48]"), None, shared_data),
            prepare_task_data(DataSelection("mlm", "multi", "train", "[:200]", corpus),
                              DataSelection("mlm", "multi", "train", "[-40:]", corpus), shared_data)],
            sampling="uniform")

    config = TrainConfig(max_steps=6, batch_size=8, learning_rate=5e-4, max_length=32, eval_every=3,
                         checkpoint_every=2, seed=3)
    reference = Trainer(stage(), config, tmp_path / "a").run(str(tiny_model_dir))
    assert [h["step"] for h in reference.history] == [3, 6] and reference.dev_metric == "perplexity"

    def crash(event, info):
        if event == "step" and info["step"] == 5:
            raise _Crash()

    with pytest.raises(_Crash):
        Trainer(stage(), config, tmp_path / "b", progress=crash).run(str(tiny_model_dir))
    resumed = Trainer(stage(), config, tmp_path / "b").run(str(tiny_model_dir))
    assert resumed.history == reference.history
    a, b = (load_file(tmp_path / d / "model" / "heads.safetensors") for d in ("a", "b"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


@pytest.mark.slow
def test_nli_plus_mlm_order_is_tabulated_like_any_other(tmp_path, shared_data, tiny_model_dir):
    """A study whose order trains English NLI + German/Swahili MLM in one stage fills the store and
    the per-order tables exactly like an order without MLM."""
    from xstilts.execution.runner import run_study
    from xstilts.results.store import ResultStore
    from xstilts.results.table import build_tables
    from xstilts.study import build_plan, load_study

    deu, swh = shared_data / "tatoeba/tatoeba.deu-eng.deu", shared_data / "tatoeba/tatoeba.swh-eng.swh"
    study_file = tmp_path / "s.toml"
    study_file.write_text(f"""
name = "mlm-tiny"
model = "{tiny_model_dir}"
data_dir = "{shared_data}"
output_dir = "{tmp_path / 'out'}"
seeds = [1]
[hparams]
max_steps = 2
batch_size = 4
max_length = 32
learning_rate = 1e-3
[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:16]", dev = false }}]
[stages.nli_en_mlm]
sampling = "uniform"
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:16]", dev = false }},
         {{ task = "mlm", lang = "multi", files = ["{deu}", "{swh}"], slice = "[:64]", dev_slice = "[-16:]" }}]
[orders]
singles = true
[[targets]]
task = "panx"
langs = ["en", "sw"]
eval_slice = "[:8]"
eval_max_length = 32
train = {{ split = "train", slice = "[:16]", dev = false }}
""")
    study = load_study(study_file)
    summary = run_study(build_plan(study), executor="local")
    assert summary.ok
    frame = ResultStore.for_study(study.output_dir).to_dataframe()
    assert set(frame["order_name"]) == {"nli_en", "nli_en_mlm"}
    per_order = frame.groupby("order_name").size()
    assert per_order["nli_en"] == per_order["nli_en_mlm"] > 0
    table = build_tables(frame)["panx"]
    assert list(table.index) == ["nli_en", "nli_en_mlm"]
    assert table.loc["nli_en_mlm", ("avg", "n")] == table.loc["nli_en", ("avg", "n")]
