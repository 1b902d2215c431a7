"""eval_precision = "bf16": the forward passes of evaluation under bf16 autocast, recorded with the
result; fp32 (the default) leaves everything as it was. Speed is measured in benchmarks/, never here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.retrieval import RetrievalSettings, embed_sentences
from xstilts.modeling.eval_precision import check_eval_precision
from xstilts.modeling.inference import eval_autocast


@pytest.fixture(scope="module")
def tiny_nli_model(tmp_path_factory, tiny_model_dir):
    """The tiny encoder with a random XNLI head, saved as an evaluable model folder."""
    from xstilts.modeling.loading import load_tokenizer
    from xstilts.modeling.model import MultiTaskModel
    from xstilts.tasks.registry import get_task, head_name

    torch.manual_seed(0)
    model = MultiTaskModel.from_pretrained_encoder(tiny_model_dir)
    task = get_task("xnli")
    model.add_head(head_name(task), task.kind, task.labels)
    folder = tmp_path_factory.mktemp("tiny-nli")
    model.save(folder, load_tokenizer(tiny_model_dir))
    return folder


def test_bad_values_are_refused_naming_the_field():
    assert check_eval_precision("bf16") == "bf16"
    with pytest.raises(ConfigError, match=r"^--eval-precision: expected 'fp32' or 'bf16', got 'fp16'$"):
        check_eval_precision("fp16", "--eval-precision")
    with pytest.raises(ConfigError, match="eval_precision"):
        with eval_autocast("half", "cpu"):
            pass


def test_bf16_autocast_only_when_asked():
    weights = torch.randn(8, 8)
    with eval_autocast("fp32", "cpu"):
        assert (weights @ weights).dtype == torch.float32
    with eval_autocast("bf16", "cpu"):
        assert (weights @ weights).dtype == torch.bfloat16


def test_bf16_sentence_vectors_are_float32_and_close_to_fp32(tiny_model_dir):
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = AutoModel.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    sentences = ["Der Hund schläft.", "A longer English sentence with a few words.", "狗在睡觉。"]
    fp32 = embed_sentences(model, tokenizer, sentences, RetrievalSettings(batch_size=2))
    bf16 = embed_sentences(model, tokenizer, sentences, RetrievalSettings(batch_size=2), precision="bf16")
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    assert np.all(np.sum(fp32 * bf16, axis=1) > 0.99)  # cosine of unit vectors


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_head_evaluation_runs_and_records_its_precision(tiny_nli_model, shared_data, tmp_path, precision):
    from xstilts.evaluation.zero_shot import evaluate

    summary = evaluate(tiny_nli_model, "xnli", shared_data, tmp_path, langs="de", split="dev", max_examples=8,
                       max_length=48, eval_precision=precision)
    assert set(summary["per_language"]) == {"de"} and "accuracy" in summary["per_language"]["de"]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["eval_precision"] == precision
    # What the result rows hash: eval_precision only when not the default (old fp32 rows stay comparable).
    assert written["settings"].get("eval_precision") == (None if precision == "fp32" else "bf16")
    predictions = (tmp_path / "predictions").rglob("*")
    assert [len(p.read_text().splitlines()) for p in predictions if p.is_file()] == [8]
