"""The XTREME-R protocol: retrieval targets scored after the fine-tuning the suite trains.

Tatoeba under ``suite = "xtreme-r"`` is scored from the SQuAD v1.1 QA model the study's XQuAD
target trains (one training per path serves both); under ``suite = "xtreme"`` it stays scored
straight from the encoder, with the node ids it always had. A target scored otherwise than its
suite's protocol says so in its name.
"""

from __future__ import annotations

import pytest

from xstilts.errors import ConfigError
from xstilts.study import build_plan, load_study

STUDY = """
name = "xr"
model = "multilingual-e5-small"
data_dir = "data"
output_dir = "runs"
seeds = [1, 2]
suite = "{suite}"
[hparams]
max_steps = 10
[stages.a]
tasks = [{{task = "xnli", slice = "[:100]"}}]
[orders]
baseline = true
singles = true
{targets}
"""
XQUAD = '[[targets]]\ntask = "xquad"\nlangs = ["de"]\n'
TATOEBA = '[[targets]]\ntask = "tatoeba"\nlangs = ["de"]\n'


def plan_of(tmp_path, suite: str, targets: str, folder: str = "s"):
    path = tmp_path / folder / "study.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STUDY.format(suite=suite, targets=targets))
    return build_plan(load_study(path))


def test_xtreme_r_scores_tatoeba_from_the_xquad_fine_tuning_of_each_path(tmp_path):
    plan = plan_of(tmp_path, "xtreme-r", XQUAD + TATOEBA)
    qa_nodes = [node for node in plan.train_nodes if node.is_target]
    # One QA fine-tuning per (order, seed): 2 orders x 2 seeds, shared by XQuAD and Tatoeba.
    assert len(qa_nodes) == 4 and {node.tasks[0].train.task for node in qa_nodes} == {"squad_v1"}
    for node in qa_nodes:
        assert sorted(e.target for e in plan.evals_on(node.id)) == ["tatoeba", "xquad"]
    tatoeba = [e for e in plan.eval_nodes if e.target == "tatoeba"]
    assert all(e.path[-1]["is_target"] for e in tatoeba)
    # A fine-tuned retrieval target has no stage trajectory by default (each point would train).
    assert {e.role for e in tatoeba} == {"condition"}


def test_without_a_qa_target_tatoeba_trains_the_qa_model_itself(tmp_path):
    plan = plan_of(tmp_path, "xtreme-r", TATOEBA)
    (node, *_) = [node for node in plan.train_nodes if node.is_target]
    assert node.tasks[0].train.task == "squad_v1" and node.label == "xquad"


def test_xtreme_keeps_tatoeba_on_the_encoder_with_its_ids(tmp_path):
    xtreme = plan_of(tmp_path, "xtreme", XQUAD + TATOEBA, "x")
    tatoeba = [e for e in xtreme.eval_nodes if e.target == "tatoeba"]
    assert not any(e.path and e.path[-1]["is_target"] for e in tatoeba)
    # Asking for the encoder under xtreme-r gives exactly XTREME's evaluations, labelled.
    encoder = plan_of(tmp_path, "xtreme-r", XQUAD + TATOEBA + 'scoring = "encoder-only"\n', "r")
    assert {e.target for e in encoder.eval_nodes} == {"xquad", "tatoeba_encoder_only"}
    assert sorted(e.id for e in encoder.eval_nodes if e.task == "tatoeba") == sorted(e.id for e in tatoeba)
    # And the QA-model protocol can be asked for under xtreme, labelled too.
    fine_tuned = plan_of(tmp_path, "xtreme", XQUAD + TATOEBA + 'scoring = "fine-tuned"\n', "f")
    assert {e.target for e in fine_tuned.eval_nodes} == {"xquad", "tatoeba_fine_tuned"}


@pytest.mark.parametrize("target, message", [
    ('[[targets]]\ntask = "xquad"\nscoring = "encoder-only"\n', "targets[0].scoring: xquad is fine-tuned as a target"),
    ('[[targets]]\ntask = "bucc2018"\nscoring = "fine-tuned"\n', "targets[0].scoring: bucc2018 has no fine-tuning"),
    (TATOEBA + 'scoring = "encoder-only"\nhparams = { learning_rate = 1e-5 }\n',
     "targets[0].hparams: tatoeba is a retrieval task"),
])
def test_scoring_errors_name_the_field(tmp_path, target, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan_of(tmp_path, "xtreme-r", target)


def test_lareqa_under_xtreme_r_trains_a_dual_encoder_on_its_train_files(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "pairs.json").write_text("{}")
    (tmp_path / "s" / "dev.json").write_text("{}")
    lareqa = ('[[targets]]\ntask = "lareqa"\nlangs = ["de"]\n'
              'train = { files = ["pairs.json"], dev_files = ["dev.json"] }\nhparams = { max_steps = 5 }\n'
              '[[targets]]\ntask = "lareqa"\nlangs = ["de"]\nscoring = "encoder-only"\n')
    plan = plan_of(tmp_path, "xtreme-r", XQUAD + TATOEBA + lareqa)
    dual = [node for node in plan.train_nodes if node.tasks[0].train.task == "squad_retrieval"]
    assert len(dual) == 4 and all(node.is_target and node.config.max_steps == 5 for node in dual)
    node = dual[0]
    assert node.tasks[0].train.files[0].endswith("pairs.json") and node.tasks[0].dev.files[0].endswith("dev.json")
    # XTREME-R's values from the kind: lr 2e-5, no warm-up or decay, queries 96 and answers 256 sub-words.
    assert (node.config.learning_rate, node.config.warmup_ratio, node.config.weight_decay, node.config.max_length,
            node.config.max_query_length) == (2e-5, 0.0, 0.0, 256, 96)
    assert {e.target for e in plan.evals_on(node.id)} == {"lareqa"}
    encoder_only = [e for e in plan.eval_nodes if e.target == "lareqa_encoder_only"]
    assert encoder_only and not any(e.path and e.path[-1]["is_target"] for e in encoder_only)


def test_mewslix_dual_encoder_takes_its_scripts_values_by_model_size(tmp_path):
    from xstilts.tasks.registry import get_task

    task = get_task("mewslix_retrieval")
    large = task.training_defaults(target=True, model_scale="large")
    base = task.training_defaults(target=True, model_scale="base")
    assert (large["learning_rate"], large["batch_size"], base["learning_rate"], base["batch_size"]) == (
        1e-5, 32, 2e-5, 256)
    plan = plan_of(tmp_path, "xtreme-r", '[[targets]]\ntask = "mewslix"\nlangs = ["de"]\n')
    (node, *_) = [node for node in plan.train_nodes if node.is_target]
    assert node.tasks[0].train.task == "mewslix_retrieval" and node.config.learning_rate == 2e-5  # e5-small: base
