"""Tasks declared in a study file ([tasks.NAME]): checked field by field, read with the package's
readers, planned as a stage and as a target, content-hashed, contamination-checked by row content,
and known to worker processes through the study context."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from xstilts.errors import ConfigError
from xstilts.study import build_plan, load_study
from xstilts.tasks import registry
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import ClassificationExample, MultipleChoiceExample, QAExample, TaggingExample

DECLARATION = """
[tasks.paws_mine]
kind = "pair_classification"      # a comment
format = "tsv"
path = "mydata/{split}-{lang}.tsv"
columns = { text_a = 0, text_b = 1, label = 2 }
labels = ["0", "1"]
metric = "accuracy"
langs = ["en", "de"]
"""

STUDY = """
name = "declared"
model = "multilingual-e5-small"
output_dir = "out"
seeds = [1]
%s
[hparams]
max_steps = 1
batch_size = 2

[stages.mine_en]
tasks = [{ task = "paws_mine", lang = "en", split = "train", slice = "[:3]", dev = false }]

[orders]
baseline = true
singles = true

[[targets]]
task = "paws_mine"
langs = ["en", "de"]
train = { split = "train", dev = false }
"""

TRAIN = [("the cat sat", "a cat was sitting", "1"), ("it rains", "the sun shines", "0"),
         ("he left early", "he went away early", "1"), ("red car", "blue boat", "0")]
DEV = [("birds fly", "birds are flying", "1"), ("cold tea", "hot soup", "0")]


def _tsv(rows) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def write_study(folder: Path, declaration: str = DECLARATION, dev_de=DEV, study: str = STUDY) -> Path:
    (folder / "mydata").mkdir(parents=True, exist_ok=True)
    (folder / "mydata" / "train-en.tsv").write_text(_tsv(TRAIN))
    (folder / "mydata" / "dev-en.tsv").write_text(_tsv(DEV))
    if dev_de is not None:
        (folder / "mydata" / "dev-de.tsv").write_text(_tsv(dev_de))
    path = folder / "study.toml"
    path.write_text(study % declaration)
    return path


# ------------------------------------------------------------------ the declaration


@pytest.mark.parametrize("old, new, expected", [
    ("label = 2 }", 'label = "x" }', "tasks.paws_mine.columns.label: expected a column number"),
    (", label = 2 }", " }", "tasks.paws_mine.columns.label: required for pair_classification tsv files"),
    ("label = 2 }", "label = 2, tags = 3 }", "tasks.paws_mine.columns.tags: not a column of pair_classification"),
    ("label = 2 }", "label = 1 }", "tasks.paws_mine.columns.text_b: column 1 is used twice"),
    ('format = "tsv"', 'format = "jsonl"', "tasks.paws_mine.columns.text_a: expected a field name, got 0"),
    ('format = "tsv"', 'format = "squad_json"', "tasks.paws_mine.format: pair_classification tasks read tsv or "
                                                "jsonl files, not squad_json"),
    ('format = "tsv"', 'format = "csv"', "tasks.paws_mine.format: input should be 'tsv', 'jsonl'"),
    ('kind = "pair_classification"', 'kind = "regression"', "tasks.paws_mine.kind: input should be"),
    ('labels = ["0", "1"]\n', "", "tasks.paws_mine.labels: required for pair_classification tasks"),
    ('metric = "accuracy"', 'metric = "span_f1"', "tasks.paws_mine.metric: 'span_f1' is not a metric of "
                                                  "pair_classification tasks; expected one of accuracy"),
    ('langs = ["en", "de"]', 'langs = ["en", "xx"]', "tasks.paws_mine.langs[1]: unknown language 'xx'"),
    ("{split}-{lang}", "dev-{lang}", "tasks.paws_mine.path: 'mydata/dev-{lang}.tsv' needs a {split} placeholder"),
    ("{split}-{lang}", "{split}", "tasks.paws_mine.path: 'mydata/{split}.tsv' needs a {lang} placeholder"),
    ("{split}-{lang}", "{split}-{language}", "tasks.paws_mine.path: unknown placeholder {language}"),
    ("{split}-{lang}", "*-{split}-{lang}", "tasks.paws_mine.path: 'mydata/*-{split}-{lang}.tsv': wildcards"),
    ('metric = "accuracy"', "header = 1.5", "tasks.paws_mine.header: input should be a valid boolean"),
    ('metric = "accuracy"', "heder = true", "tasks.paws_mine: unknown key 'heder' (did you mean 'header'?)"),
    ("[tasks.paws_mine]", "[tasks.xnli]", "tasks.xnli: the name is taken by the registered task xnli (XNLI)"),
    ("[tasks.paws_mine]", "[tasks.ner]", "tasks.ner: the name is taken by the registered task panx (PAN-X)"),
    ("[tasks.paws_mine]", "[tasks.Paws]", "tasks.Paws: a task name uses lower-case letters"),
])
def test_each_mistake_is_one_line_naming_the_field(tmp_path, old, new, expected):
    assert old in DECLARATION
    path = write_study(tmp_path, DECLARATION.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_study(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {expected}"), message
    assert "(and " not in message  # the stages and targets naming the task add no noise


def test_other_kinds_demand_their_own_columns(tmp_path):
    cases = [
        ('kind = "tagging"\nformat = "tsv"\ncolumns = { tokens = 0 }', "tasks.t.columns.tags: required for tagging tsv"),
        ('kind = "tagging"\nformat = "conllu"\ncolumns = { tokens = 1 }', "tasks.t.columns.tokens: not a column of "
                                                                         "tagging conllu files; they take no columns"),
        ('kind = "tagging"\nformat = "jsonl"\nheader = true\ncolumns = { tokens = "w", tags = "t" }',
         "tasks.t.header: header is a tsv setting; jsonl files have none"),
        ('kind = "extractive_qa"\nformat = "tsv"', "tasks.t.format: extractive_qa tasks read squad_json files"),
        ('kind = "multiple_choice"\nformat = "tsv"\ncolumns = { question = 0, choices = [1], label = 2 }',
         "tasks.t.columns.choices: expected a list of at least 2 column numbers"),
        ('kind = "multiple_choice"\nformat = "jsonl"\nlabels = ["a"]\ncolumns = { question = "q", choices = "c", '
         'label = "l" }', "tasks.t.labels: multiple_choice tasks take no labels"),
        ('kind = "extractive_qa"\nformat = "squad_json"\nmetric = "accuracy"', "tasks.t.metric: 'accuracy' is not a "
                                                                               "metric of extractive_qa tasks"),
        ('kind = "multiple_choice"\nformat = "jsonl"\nmetric = "f1_macro"\ncolumns = { question = "q", choices = "c", '
         'label = "l" }', "tasks.t.metric: 'f1_macro' is not a metric of multiple_choice tasks; expected one of "
                          "accuracy (f1_macro is for single_classification and pair_classification tasks)"),
        ('kind = "tagging"\nformat = "conllu"\nmetric = "f1_macro"', "tasks.t.metric: 'f1_macro' is not a metric of "
                                                                      "tagging tasks; expected one of span_f1, accuracy, pos_f1 "
                                                                      "(f1_macro is for single_classification"),
    ]
    for body, expected in cases:
        declaration = f'\n[tasks.t]\n{body}\npath = "d/{{split}}-{{lang}}.x"\nlangs = ["en"]\n'
        path = write_study(tmp_path, declaration, study=STUDY.replace("paws_mine", "t"))
        with pytest.raises(ConfigError, match=None) as error:
            load_study(path)
        assert str(error.value) == f"{path}: {expected}" or str(error.value).startswith(f"{path}: {expected}"), \
            str(error.value)


def test_the_declaration_is_a_registered_task_spec_reading_files_next_to_the_study(tmp_path):
    study = load_study(write_study(tmp_path))
    task = get_task("paws_mine")
    assert task.title == "paws_mine" and task.kind.value == "pair_classification" and task.labels == ("0", "1")
    assert task.languages == ("en", "de") and task.data.content_rows and task.declaration_hash
    assert study.declared_tasks() == (task,)
    examples = load_examples(task, "de", "dev", data_dir=None)
    assert [(e.text_a, e.text_b, e.label) for e in examples] == DEV
    # A name the catalog holds can never be replaced by a declaration.
    with pytest.raises(ConfigError, match="taken by the registered task xnli"):
        registry.declare(task.__class__(**{**task.__dict__, "name": "xnli"}), "a test")


@pytest.mark.parametrize("kind, fmt, columns, files, check", [
    ("single_classification", "jsonl", '{ text_a = "s", label = "y" }',
     {"train-en.jsonl": '{"s": "good", "y": 1}\n{"s": "bad", "y": 0}\n'},
     lambda ex: ex == [ClassificationExample("train-en-0", "good", None, "1"),
                       ClassificationExample("train-en-1", "bad", None, "0")]),
    ("tagging", "tsv", "{ tokens = 1, tags = 2 }",
     {"train-en.tsv": "1\tJohn\tB-PER\n2\tsleeps\tO\n\n1\tParis\tB-LOC\n"},
     lambda ex: [(e.words, e.tags) for e in ex] == [(("John", "sleeps"), ("B-PER", "O")), (("Paris",), ("B-LOC",))]),
    ("tagging", "jsonl", '{ tokens = "w", tags = "t" }',
     {"train-en.jsonl": '{"w": ["a", "b"], "t": ["X", "Y"]}\n'},
     lambda ex: ex == [TaggingExample("train-en-0", ("a", "b"), ("X", "Y"))]),
    ("tagging", "conllu", "{}",
     {"train-en.conllu": "# c\n1\tDogs\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n2\tbark\tbark\tVERB\t_\t_\t1\tx\t_\t_\n"},
     lambda ex: [(e.words, e.tags) for e in ex] == [(("Dogs", "bark"), ("NOUN", "VERB"))]),
    ("multiple_choice", "jsonl", '{ question = "q", choices = "c", label = "a", context = "p" }',
     {"train-en.jsonl": '{"p": "ctx", "q": "why?", "c": ["x", "y", "z"], "a": 2}\n'},
     lambda ex: ex == [MultipleChoiceExample("train-en-0", "ctx", "why?", ("x", "y", "z"), 2)]),
    ("multiple_choice", "tsv", "{ question = 0, choices = [1, 2], label = 3 }",
     {"train-en.tsv": "why?\tx\ty\t1\n"},
     lambda ex: ex == [MultipleChoiceExample("train-en-0", "", "why?", ("x", "y"), 1)]),
    ("extractive_qa", "squad_json", "{}",
     {"train-en.json": json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "Paris is big.", "qas": [
         {"id": "q1", "question": "Which?", "answers": [{"text": "Paris", "answer_start": 0}]}]}]}]})},
     lambda ex: isinstance(ex[0], QAExample) and ex[0].answers[0].text == "Paris"),
])
def test_every_kind_and_format_reads_with_the_package_readers(tmp_path, kind, fmt, columns, files, check):
    suffix = Path(next(iter(files))).suffix
    for name, text in files.items():
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / name).write_text(text)
    labels = 'labels = ["0", "1"]\n' if "classification" in kind else ""
    declaration = (f'\n[tasks.t]\nkind = "{kind}"\nformat = "{fmt}"\npath = "d/{{split}}-{{lang}}{suffix}"\n'
                   f"columns = {columns}\n{labels}langs = [\"en\"]\n")
    load_study(write_study(tmp_path, declaration, study=STUDY.replace("paws_mine", "t")))
    examples = load_examples(get_task("t"), "en", "train", data_dir=None)
    assert check(examples), examples


def test_a_malformed_row_names_the_file_and_line(tmp_path):
    load_study(write_study(tmp_path, dev_de=DEV + [("only one field",)]))
    with pytest.raises(Exception, match=r"dev-de\.tsv:3: expected at least 3 tab-separated fields"):
        load_examples(get_task("paws_mine"), "de", "dev", data_dir=None)


# ------------------------------------------------------------------ the plan


def _ids(path: Path) -> dict[str, str]:
    plan = build_plan(load_study(path))
    return {node.label: node.id for node in plan.train_nodes} | {f"eval {e.order}": e.id for e in plan.eval_nodes}


def test_a_plan_uses_it_as_a_stage_and_as_a_target(tmp_path):
    plan = build_plan(load_study(write_study(tmp_path)))
    assert plan.missing_data == []
    stage = next(node for node in plan.train_nodes if node.label == "mine_en")
    assert stage.tasks[0].train.task == "paws_mine" and stage.identity["tasks"][0]["train"]["declaration"]
    assert {(e.order, e.target, e.langs) for e in plan.eval_nodes} == {
        ("baseline", "paws_mine", ("en", "de")), ("mine_en", "paws_mine", ("en", "de"))}
    assert all(e.split == "dev" for e in plan.eval_nodes)


def test_node_ids_follow_the_data_and_the_declarations_meaning_not_its_comments(tmp_path):
    first = _ids(write_study(tmp_path / "a"))
    assert _ids(write_study(tmp_path / "b", DECLARATION.replace("# a comment", "# another comment\n# more"))) == first
    # The files elsewhere (same bytes): the same nodes.
    moved = DECLARATION.replace("mydata/", "../a/mydata/")
    assert _ids(write_study(tmp_path / "c", moved)) == first
    changed_label_order = _ids(write_study(tmp_path / "d", DECLARATION.replace('["0", "1"]', '["1", "0"]')))
    assert changed_label_order["mine_en"] != first["mine_en"]
    swapped = _ids(write_study(tmp_path / "e", DECLARATION.replace("text_a = 0, text_b = 1", "text_a = 1, text_b = 0")))
    assert swapped["mine_en"] != first["mine_en"]
    path = write_study(tmp_path / "f")
    (path.parent / "mydata" / "train-en.tsv").write_text(_tsv(TRAIN[:3]))
    assert _ids(path)["mine_en"] != first["mine_en"]


def test_a_missing_file_is_named_at_plan_time(tmp_path):
    plan = build_plan(load_study(write_study(tmp_path, dev_de=None)))
    assert len(plan.missing_data) == 1
    assert "paws_mine dev data for 'de'" in plan.missing_data[0] and "mydata/dev-de.tsv" in plan.missing_data[0]
    assert str(tmp_path) in plan.missing_data[0]


def test_contamination_by_row_content_within_the_task(tmp_path):
    # dev-de copies two training rows (at other positions): the de cell after the stage is flagged.
    copied = [DEV[0], TRAIN[2], DEV[1], TRAIN[0]]
    plan = build_plan(load_study(write_study(tmp_path / "copy", dev_de=copied)))
    flagged = {(e.order, lang): reason for e in plan.eval_nodes for lang, reason in e.contaminated.items()}
    # The target fine-tunes on train-en too, so both orders' de cells saw those rows; en stays clean.
    assert set(flagged) == {("baseline", "de"), ("mine_en", "de")}
    assert "2 rows of equal content in paws_mine (rows by content)" in flagged[("mine_en", "de")]
    assert "stage mine_en" in flagged[("mine_en", "de")]
    # Distinct rows: nothing is flagged.
    clean = build_plan(load_study(write_study(tmp_path / "clean")))
    assert all(not e.contaminated for e in clean.eval_nodes)


def test_the_study_context_carries_the_declared_tasks_to_a_fresh_worker(tmp_path):
    from xstilts.execution.nodes import StudyContext

    study = load_study(write_study(tmp_path))
    context = StudyContext(str(tmp_path / "out"), None, study.model, tasks=study.declared_tasks())
    shipped = pickle.loads(pickle.dumps(context))  # what a spawned worker or a Ray task receives
    registry.forget_declared()  # a worker process: only the catalog's tasks
    with pytest.raises(Exception, match="unknown task 'paws_mine'"):
        get_task("paws_mine")
    shipped.use_study_tasks()
    assert get_task("paws_mine") == study.declared_tasks()[0]
    shipped.use_study_tasks()  # again (the next node): no clash with itself


# ------------------------------------------------------------------ macro F1


def test_a_declared_task_scored_by_macro_f1(tmp_path):
    from xstilts.metrics.per_example import check_units, score_from_units
    from xstilts.scoring import score_examples, score_predictions, write_predictions
    from xstilts.scoring.score import example_units

    declaration = DECLARATION.replace('metric = "accuracy"', 'metric = "f1_macro"')
    study = load_study(write_study(tmp_path, declaration))
    task = get_task("paws_mine")
    assert task.metric.value == "f1_macro" and task.primary_metric == "f1_macro"
    assert build_plan(study).eval_nodes  # plans like any other metric
    # The declaration's meaning changed, so its hash (and every node reading it) did too.
    accuracy_hash = registry.get_task("paws_mine").declaration_hash
    load_study(write_study(tmp_path / "acc", DECLARATION))
    assert get_task("paws_mine").declaration_hash != accuracy_hash
    load_study(write_study(tmp_path, declaration))

    gold = load_examples(task, "en", "dev", data_dir=None)
    assert [example.label for example in gold] == ["1", "0"]
    examples = [*gold, *gold, *gold]  # gold 1 0 1 0 1 0
    predicted = ["1", "1", "1", "0", "0", "0"]
    # 1: TP 2, predicted 3, gold 3 -> 2/3; 0: TP 2 -> 2/3; accuracy 4/6.
    path = write_predictions(task, tmp_path / "pred", "dev", "en", predicted)
    scores = score_examples(task, "en", examples, "gold", path)
    assert scores == pytest.approx({"accuracy": 100 * 4 / 6, "f1_macro": 100 * 2 / 3})
    assert score_predictions(task, "en", examples, predicted) == scores
    units = example_units(task, "en", examples, "gold", path)
    check_units({"en": units}, {"en": scores})
    assert score_from_units(units, "f1_macro") == pytest.approx(scores["f1_macro"])


def test_a_registered_task_file_may_use_macro_f1_on_classification_only():
    from xstilts.scoring import score_predictions
    from xstilts.tasks.types import Metric, TaskKind, TaskSpec

    spec = TaskSpec(name="plugin_sentiment", kind=TaskKind.SINGLE_CLASSIFICATION, metric=Metric.F1_MACRO,
                    languages=("en",), labels=("neg", "pos"), layouts=())
    examples = [ClassificationExample(str(i), "t", None, label) for i, label in enumerate(["pos", "pos", "neg"])]
    assert score_predictions(spec, "en", examples, ["pos", "pos", "pos"]) == pytest.approx(
        {"accuracy": 100 * 2 / 3, "f1_macro": 100 * (4 / 5 + 0) / 2})
    wrong = TaskSpec(name="plugin_tags", kind=TaskKind.TAGGING, metric=Metric.F1_MACRO, languages=("en",), layouts=())
    with pytest.raises(ConfigError, match="plugin_tags' from tests: metric f1_macro is for single_classification "
                                          "and pair_classification tasks, not tagging"):
        registry.register(wrong, "tests")
    with pytest.raises(registry.UnknownTaskError):
        get_task("plugin_tags")


# ------------------------------------------------------------------ xstilts tasks --study


def test_xstilts_tasks_lists_the_studys_declared_tasks_with_their_source(tmp_path):
    from typer.testing import CliRunner

    from xstilts.cli import app

    path = write_study(tmp_path, DECLARATION.replace('metric = "accuracy"', 'metric = "f1_macro"'))
    listed = CliRunner().invoke(app, ["tasks", "--study", str(path)], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "paws_mine" in line)
    cells = [cell.strip() for cell in row.strip().strip("│").split("│")]
    assert cells == ["paws_mine", "paws_mine", "pair_classification", "f1_macro", "", "2: en de", "study file"]
    xnli = next(line for line in listed.output.splitlines() if line.strip().strip("│").split("│")[0].strip() == "xnli")
    assert xnli.rstrip().rstrip("│").rstrip().endswith("xstilts")
    registry.forget_declared()
    bare = CliRunner().invoke(app, ["tasks"], env={"COLUMNS": "300"})
    assert bare.exit_code == 0 and "paws_mine" not in bare.output and "study file" not in bare.output


def test_xstilts_tasks_with_a_broken_study_is_one_line(tmp_path, capsys):
    from xstilts.cli import main

    path = write_study(tmp_path, DECLARATION.replace('metric = "accuracy"', 'metric = "squad"'))
    with pytest.raises(SystemExit) as exit_:
        main(["tasks", "--study", str(path)])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{path}: tasks.paws_mine.metric: 'squad' is not a metric" in lines[0], lines
