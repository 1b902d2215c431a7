"""The paper's protocol by default, every deviation a named setting (issue: scientific fidelity).

Each case is small and hand-made; expected values follow the reference scripts (XTREME's
scripts/train_*.sh, jiant's X-STILTs setup) or the protocol rules in docs, not this code.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from xstilts.modeling.kinds.retrieval import retrieval_options
from xstilts.modeling.retrieval_record import RETRIEVAL_RECORD
from xstilts.evaluation.zero_shot import feature_settings
from xstilts.study import build_plan, load_study, plan_summary, render_plan
from xstilts.study.plan import is_zero_shot
from xstilts.study.run_guard import contamination_of_run, refusal
from xstilts.tasks.load import default_eval_split
from xstilts.tasks.registry import get_task
from xstilts.training.config import TrainConfig, make_config

LABELS = ("entailment", "neutral", "contradiction")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


def write_xnli(root: Path, langs=("en", "de"), rows: int = 20) -> None:
    (root / "xnli").mkdir(parents=True, exist_ok=True)
    for lang in langs:
        lines = [f"p {lang} {i}\th {lang} {i}\t{LABELS[i % 3]}" for i in range(rows)]
        (root / "xnli" / f"dev-{lang}.tsv").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- presets


def test_paper_preset_is_the_default_and_xtreme_preset_follows_its_scripts():
    xnli, tydiqa, mnli = get_task("xnli"), get_task("tydiqa"), get_task("mnli")
    paper = make_config(xnli, target=True)
    assert (paper.preset, paper.learning_rate, paper.epochs, paper.max_length) == ("paper", 1e-5, 2, 256)
    # scripts/train_xnli.sh for xlm-roberta-large: LR 3e-5, 5 epochs, MAXL 128, batch 2 x 16.
    xtreme = make_config(xnli, target=True, preset="xtreme")
    assert (xtreme.learning_rate, xtreme.epochs, xtreme.max_length, xtreme.batch_size) == (3e-5, 5, 128, 32)
    # scripts/train_qa.sh: LR 3e-5, 3 epochs, MAXL 384, doc_stride 128, batch 4 x 8, weight decay 1e-4.
    qa = make_config(tydiqa, target=True, preset="xtreme")
    assert (qa.learning_rate, qa.epochs, qa.max_length, qa.doc_stride, qa.batch_size, qa.weight_decay) == \
        (3e-5, 3, 384, 128, 32, 1e-4)
    # train_xnli.sh and train_xcopa.sh pick lr by model size: 3e-5 large, 2e-5 base.
    assert make_config(xnli, target=True, preset="xtreme", model_scale="base").learning_rate == 2e-5
    xcopa = get_task("xcopa")
    assert [make_config(xcopa, target=True, preset="xtreme", model_scale=scale).learning_rate
            for scale in ("large", "base")] == [3e-5, 2e-5]
    # XTREME has no intermediate stages: an intermediate task keeps the paper's values.
    assert mnli.training_defaults(target=False, preset="xtreme") == {"epochs": 3.0, "preset": "xtreme"}
    assert TrainConfig().group_by_length is False and TrainConfig().carry_head is False


def test_model_scale_follows_the_hidden_size_or_the_hub_name(tmp_path):
    from xstilts.modeling.identity import model_scale

    assert model_scale("multilingual-e5-small") == "base"
    assert (model_scale("xlm-roberta-large"), model_scale("xlm-roberta-base")) == ("large", "base")
    (tmp_path / "config.json").write_text('{"hidden_size": 1280}')  # xlm-mlm-100-1280 counts as large
    assert model_scale(str(tmp_path)) == "large"


def test_study_preset_is_recorded_in_every_node(tmp_path):
    data = tmp_path / "data"
    write_xnli(data)
    study = tmp_path / "study.toml"
    study.write_text(f"""
name = "p"
model = "xlm-roberta-large"
data_dir = "data"
output_dir = "runs"
seeds = [1]
[hparams]
preset = "xtreme"
[orders]
baseline = true
[[targets]]
task = "xnli"
langs = ["de"]
eval_slice = "[10:]"
train = {{ split = "dev", slice = "[:10]", dev = false }}
""")
    (node,) = build_plan(load_study(study)).train_nodes
    assert node.identity["config"]["preset"] == "xtreme" and node.identity["config"]["learning_rate"] == 3e-5


# ---------------------------------------------------------------- evaluation split and contamination


def _pawsx(root: Path) -> None:
    (root / "pawsx").mkdir(parents=True, exist_ok=True)
    for name in ("dev-en.tsv", "dev-de.tsv"):  # XTREME layout: no header
        (root / "pawsx" / name).write_text("A b\tB a\t1\nC d\tD c\t0\n")
    (root / "pawsx" / "test-de.labeled.tsv").write_text("id\tsentence1\tsentence2\tlabel\n1\tA b\tB a\t1\n")


def test_labelled_test_split_is_evaluated_when_present(tmp_path):
    _pawsx(tmp_path / "data")
    write_xnli(tmp_path / "data")
    assert default_eval_split(get_task("pawsx"), tmp_path / "data") == "test"
    assert default_eval_split(get_task("xnli"), tmp_path / "data") == "dev"
    assert default_eval_split(get_task("xquad"), tmp_path / "data") == "test"  # it only has test
    # A test file whose labels are blanked (XTREME's download) is not a labelled test split.
    (tmp_path / "blank" / "panx").mkdir(parents=True)
    (tmp_path / "blank" / "panx" / "test-de.tsv").write_text("Berlin\nist\n")
    (tmp_path / "blank" / "panx" / "dev-de.tsv").write_text("Berlin\tB-LOC\nist\tO\n")
    assert default_eval_split(get_task("panx"), tmp_path / "blank") == "dev"


def _study(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(f"""
name = "s"
model = "xlm-roberta-large"
data_dir = "data"
output_dir = "runs"
seeds = [1]
[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:10]", dev = false }}]
[orders]
named = {{ de = ["nli_de"] }}
{target}
""")
    return path


def test_plan_uses_test_split_and_prints_contaminated_cells_with_reasons(tmp_path):
    write_xnli(tmp_path / "data")
    _pawsx(tmp_path / "data")
    plan = build_plan(load_study(_study(tmp_path, '[[targets]]\ntask = "pawsx"\ntrain = { split = "dev", dev = false }\n'
                                                  '[[targets]]\ntask = "xnli"\nlangs = ["de"]\n'
                                                  'train = { split = "dev", slice = "[15:]", dev = false }\n')))
    pawsx = next(e for e in plan.eval_nodes if e.task == "pawsx")
    assert (pawsx.split, pawsx.langs) == ("test", ("de",))
    xnli = next(e for e in plan.eval_nodes if e.task == "xnli")
    assert xnli.split == "dev" and set(xnli.contaminated) == {"de"}
    summary = plan_summary(plan)
    assert summary["contamination"][0]["reason"].startswith("trained on xnli:dev-de[:10] in stage nli_de")
    console = Console(file=io.StringIO(), width=400)
    render_plan(plan, console)
    text = console.file.getvalue()
    assert "warning: 1 contaminated cells" in text
    assert "xnli de after de (seed 1): trained on xnli:dev-de[:10] in stage nli_de: rows 0-9 of xnli dev" in text


def _run(directory: Path, record: dict) -> Path:
    (directory / "model").mkdir(parents=True)
    (directory / "run.json").write_text(json.dumps(record))
    return directory


def test_evaluate_guard_follows_a_runs_lineage(tmp_path):
    """A cli-trained run on German XNLI rows 0-9, fine-tuned after it on English rows 10-14 selected on
    English rows 15-19: evaluating XNLI dev in French overlaps (parallel set) unless sliced past 19."""
    data = tmp_path / "data"
    write_xnli(data, ("en", "de", "fr"))
    stage = _run(tmp_path / "stage", {"model": "xlm-roberta-large", "config": {"select_best": True},
                                      "train": {"task": "xnli", "lang": "de", "split": "dev", "slice": "[:10]"},
                                      "dev": None})
    target = _run(tmp_path / "target", {"model": str(stage / "model"), "config": {"select_best": True},
                                        "train": {"task": "xnli", "lang": "en", "split": "dev", "slice": "[10:15]"},
                                        "dev": {"task": "xnli", "lang": "en", "split": "dev", "slice": "[15:]"}})
    flagged = contamination_of_run(target, "xnli", ["fr"], "dev", None, data)
    assert flagged["fr"].split("; ") == [
        "trained on xnli:dev-de[:10] in run stage: rows 0-9 of xnli dev (all languages)",
        "trained on xnli:dev-en[10:15] in run target: rows 10-14 of xnli dev (all languages)",
        "checkpoint selected on xnli:dev-en[15:] in run target: rows 15-19 of xnli dev (all languages)",
    ]
    message = refusal(target, "xnli", "dev", flagged)
    assert "\n" not in message and "--split test" in message and "--allow-contaminated" in message
    assert contamination_of_run(target, "xnli", ["fr"], "dev", "[20:]", data) == {}
    # Study nodes: the parent is the sibling folder named by its id.
    nodes = tmp_path / "study" / "nodes"
    _run(nodes / "aaa", {"parent": None, "config": {"select_best": False},
                         "tasks": [{"train": {"task": "xnli", "lang": "de", "split": "dev", "slice": "[:10]",
                                              "files": []}, "dev": None}]})
    child = _run(nodes / "bbb", {"parent": "aaa", "config": {"select_best": False},
                                 "tasks": [{"train": {"task": "pawsx", "lang": "en", "split": "dev", "slice": None,
                                                      "files": []}, "dev": None}]})
    assert set(contamination_of_run(child / "model", "xnli", ["fr", "en"], "dev", "[5:]", data)) == {"fr", "en"}
    assert contamination_of_run(child, "xnli", ["fr"], "dev", "[10:]", data) == {}


# ---------------------------------------------------------------- settings that travel with a model


def test_evaluation_featurises_like_the_trained_node(tmp_path):
    run = _run(tmp_path / "run", {"config": {"max_length": 128, "doc_stride": 64, "doc_stride_mode": "overlap"}})
    settings, source = feature_settings(run / "model", get_task("xquad"), None)
    assert (settings.max_length, settings.doc_stride, settings.doc_stride_mode, source) == (128, 64, "overlap", "training")
    settings, source = feature_settings(run / "model", get_task("xquad"), 200)
    assert (settings.max_length, settings.doc_stride, source) == (200, 64, "override")
    settings, source = feature_settings(tmp_path / "elsewhere" / "model", get_task("xquad"), None)
    assert (settings.max_length, settings.doc_stride, source) == (384, 128, "task defaults")


def test_query_length_is_trained_and_evaluated_alike_and_unset_leaves_node_ids_alone(tmp_path):
    # Unset, it is not in a config's dump: node ids planned before it existed stay the same.
    assert "max_query_length" not in TrainConfig().model_dump()
    assert TrainConfig(max_query_length=96).model_dump()["max_query_length"] == 96
    run = _run(tmp_path / "run", {"config": {"max_length": 128, "max_query_length": 32}})
    assert feature_settings(run / "model", get_task("xquad"), None)[0].max_query_length == 32
    assert feature_settings(tmp_path / "elsewhere" / "model", get_task("xquad"), None)[0].max_query_length == 64


def test_retrieval_use_recorded_in_a_model_folder_applies_unless_told_otherwise(tmp_path):
    folder = tmp_path / "e5"
    folder.mkdir()
    (folder / RETRIEVAL_RECORD).write_text(json.dumps({"prefix": "query: ", "layer": -1, "pooling": "mean"}))
    assert retrieval_options(folder, {"layer": None, "pooling": None, "prefix": None}) == (
        {"prefix": "query: ", "layer": -1, "pooling": "mean"}, "model folder")
    assert retrieval_options(folder, {"layer": 6, "prefix": ""})[0] == {"prefix": "", "layer": 6, "pooling": "mean"}
    # XLM-R (no record): XTREME's layer rule (layer None -> 7/12 of the depth).
    assert retrieval_options(tmp_path, {"layer": None}) == ({}, "defaults")


def test_e5_retrieval_record_is_its_documented_use(tmp_path):
    """multilingual-e5-small's card: "query: " prefix, mean pooling of the last layer."""
    from xstilts.modeling.offline_e5 import write_retrieval_record

    write_retrieval_record(tmp_path)
    assert retrieval_options(tmp_path, {"layer": None, "pooling": None, "prefix": None})[0] == {
        "prefix": "query: ", "layer": -1, "pooling": "mean"}


def test_evaluate_command_refuses_a_contaminated_run_in_one_line(tmp_path, capsys):
    from xstilts.cli import main

    data = tmp_path / "data"
    write_xnli(data, ("en", "de"))
    run = _run(tmp_path / "run", {"model": "xlm-roberta-large", "config": {"select_best": False},
                                  "train": {"task": "xnli", "lang": "en", "split": "dev", "slice": "[:10]"},
                                  "dev": None})
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(run), "--task", "xnli", "--langs", "de", "--data", str(data),
              "--out", str(tmp_path / "eval")])
    assert exit_info.value.code == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "rows 0-9 of xnli dev (all languages)" in error and "--allow-contaminated" in error
    assert not (tmp_path / "eval" / "metrics.json").exists()


def test_plan_says_which_paths_select_on_a_non_english_dev_set(tmp_path):
    write_xnli(tmp_path / "data", ("en", "de", "fr"))
    path = _study(tmp_path, '[[targets]]\ntask = "xnli"\nlangs = ["fr"]\neval_slice = "[15:]"\n'
                            'train = { split = "dev", slice = "[10:12]", dev_lang = "de", dev_slice = "[12:15]" }\n')
    plan = build_plan(load_study(path))
    (evaluation,) = [e for e in plan.eval_nodes if e.task == "xnli"]
    assert plan.selection_languages(evaluation) == {"de"} and not is_zero_shot(evaluation.path)
