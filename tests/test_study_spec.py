"""Study files: what loads, and the one-line errors for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.errors import ConfigError
from xstilts.study import load_study
from xstilts.study.orders import study_orders, resolve_stage

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

STUDY = """\
name = "tiny"
model = "multilingual-e5-small"
data_dir = "data"
output_dir = "runs"
seeds = [1, 2]

[hparams]
max_steps = 5

[stages.nli_en]
tasks = [{ task = "xnli", lang = "en", split = "dev", slice = "[:10]", dev_slice = "[10:15]" }]

[stages.nli_de]
tasks = [{ task = "xnli", lang = "de", split = "dev", slice = "[:10]", dev_slice = "[10:15]" }]

[orders]
permutations = [["nli_en", "nli_de"]]
singles = true
baseline = true
mixed = [["nli_en", "nli_de"]]

[[targets]]
task = "panx"
langs = ["en", "de"]
eval_slice = "[:6]"

[[targets]]
task = "tatoeba"
langs = ["de"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_study(write(tmp_path, text))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "study.toml"))
    return message


def test_a_valid_study_loads_with_paths_relative_to_its_folder(tmp_path):
    study = load_study(write(tmp_path, STUDY))
    assert study.data_dir == tmp_path / "data"
    assert study.output_dir == tmp_path / "runs"
    assert study.seeds == [1, 2]
    assert study.stages["nli_de"].tasks[0].lang == "de"
    assert study.targets[0].langs == ("en", "de")
    assert study.targets[1].langs == ("de",)


def test_helpers_expand_into_named_orders(tmp_path):
    study = load_study(write(tmp_path, STUDY))
    orders = {order.name: order.stages for order in study_orders(study)}
    assert orders == {
        "baseline": (),
        "nli_en": ("nli_en",),
        "nli_de": ("nli_de",),
        "nli_en+nli_de": ("nli_en+nli_de",),
        "nli_en>nli_de": ("nli_en", "nli_de"),
        "nli_de>nli_en": ("nli_de", "nli_en"),
    }


def test_a_mixed_stage_merges_the_tasks_of_its_stages(tmp_path):
    study = load_study(write(tmp_path, STUDY))
    mixed = resolve_stage("nli_en+nli_de", study)
    assert [(t.task, t.lang) for t in mixed.tasks] == [("xnli", "en"), ("xnli", "de")]
    assert mixed.sampling == "proportional"


def test_the_example_studies_load():
    small = load_study(EXAMPLES / "order_study_small.toml")
    assert small.model == "multilingual-e5-small" and small.seeds == [1, 2, 3]
    paper = load_study(EXAMPLES / "order_study_paper.toml")
    assert len(paper.targets) == 9
    assert paper.data_dir == (EXAMPLES / "../data/xtreme").resolve()


def test_toml_syntax_error_names_file_and_line(tmp_path):
    message = load_error(tmp_path, STUDY.replace('model = "multilingual-e5-small"', 'model = multilingual-e5-small'))
    assert message.startswith(f"{tmp_path / 'study.toml'}:2: invalid TOML: Invalid value (column 9)")


@pytest.mark.parametrize("old, new, expected", [
    ('tasks = [{ task = "xnli", lang = "de"', 'taks = [{ task = "xnli", lang = "de"',
     "study.toml: stages.nli_de: unknown key 'taks' (did you mean 'tasks'?)"),
    ('lang = "de"', 'lang = "xx"', "study.toml: stages.nli_de.tasks[0].lang: unknown language 'xx'"),
    ('seeds = [1, 2]', 'seeds = "1"', "study.toml: seeds: input should be a valid list (got '1')"),
    ('seeds = [1, 2]', 'seeds = []', "study.toml: seeds: list should have at least 1 item"),
    ('seeds = [1, 2]', 'seeds = [1, 1]', "study.toml: seeds: a seed is listed twice in [1, 1]"),
    ('slice = "[:10]", dev_slice', 'slice = "[:ten]", dev_slice',
     "study.toml: stages.nli_en.tasks[0].slice: slice '[:ten]': expected a form like"),
    ('max_steps = 5', 'max_steps = 0', "study.toml: hparams.max_steps: input should be greater than 0 (got 0)"),
    ('max_steps = 5', 'learning_rat = 1e-5', "study.toml: hparams: unknown key 'learning_rat' (did you mean 'learning_rate'?)"),
    ('max_steps = 5', 'seed = 3', "study.toml: hparams: unknown key 'seed'; seeds are set once"),
    ('task = "panx"', 'task = "nerr"', "study.toml: targets[0].task: unknown task 'nerr'"),
    ('langs = ["de"]', 'langs = "de"', "study.toml: targets[1].langs: expected \"all\" or a non-empty list"),
    ('task = "xnli", lang = "en"', 'task = "tatoeba", lang = "en"',
     "study.toml: stages.nli_en.tasks[0].task: tatoeba is a retrieval task"),
    ('name = "tiny"\n', '', "study.toml: name: required but missing"),
])
def test_malformed_fields_give_one_line_naming_the_field(tmp_path, old, new, expected):
    assert old in STUDY
    message = load_error(tmp_path, STUDY.replace(old, new, 1))
    assert expected in message


@pytest.mark.parametrize("extra, expected", [
    ('[orders.named]\nen_first = ["nli_en", "nli_xx"]\n',
     "study.toml: orders.named.en_first[1]: unknown stage 'nli_xx' (stages: nli_en, nli_de)"),
    ('[orders.named]\nen_first = ["nli_en", "nli_de"]\n',
     "study.toml: orders.named.en_first: order 'en_first' has the same stages as order 'nli_en>nli_de'"),
    ('[orders.named]\nbaseline = ["nli_en"]\n', "study.toml: orders.named.baseline: 'baseline' cannot name"),
    ('[orders.named]\nself_mix = ["nli_en+nli_en"]\n', "study.toml: orders.named.self_mix[0]: a stage is mixed with itself"),
    ('[[targets]]\ntask = "panx"\n', "study.toml: targets[2]: target 'panx' is listed twice"),
    ('[[targets]]\ntask = "bucc2018"\ntrain = { slice = "[:5]" }\n',
     "study.toml: targets[2].train: bucc2018 is a retrieval task"),
    ('[[targets]]\ntask = "xnli"\nretrieval = { layer = 3 }\n',
     "study.toml: targets[2].retrieval: retrieval settings apply to bucc2018, tatoeba, lareqa, lareqa_xquad_split and mewslix"),
])
def test_references_between_sections_are_checked(tmp_path, extra, expected):
    message = load_error(tmp_path, STUDY + extra)
    assert expected in message


def test_unknown_stage_in_a_helper_is_named(tmp_path):
    text = STUDY.replace('permutations = [["nli_en", "nli_de"]]', 'permutations = [["nli_en", "nli_fr"]]')
    assert "orders.permutations[0]: unknown stage 'nli_fr'" in load_error(tmp_path, text)


def test_mixing_stages_with_different_hyper_parameters_is_an_error(tmp_path):
    text = STUDY.replace('[stages.nli_de]\n', '[stages.nli_de]\nhparams = { learning_rate = 2e-5 }\n')
    text = text.replace('[stages.nli_en]\n', '[stages.nli_en]\nhparams = { learning_rate = 1e-5 }\n')
    message = load_error(tmp_path, text)
    assert "stage nli_en+nli_de: stages ['nli_en', 'nli_de'] set hparams.learning_rate differently" in message


def test_a_study_without_orders_is_an_error(tmp_path):
    text = STUDY.replace('permutations = [["nli_en", "nli_de"]]\nsingles = true\nbaseline = true\n'
                         'mixed = [["nli_en", "nli_de"]]\n', '')
    assert "study.toml: orders: no orders" in load_error(tmp_path, text)


def test_several_errors_are_reported_as_the_first_and_a_count(tmp_path):
    text = STUDY.replace('lang = "de"', 'lang = "xx"').replace('seeds = [1, 2]', 'seeds = []')
    message = load_error(tmp_path, text)
    assert message.endswith("(and 1 more)")


def test_a_missing_study_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the study file"):
        load_study(tmp_path / "absent.toml")
