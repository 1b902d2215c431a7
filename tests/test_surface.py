"""The surface test: every registered task in every role it can take, through plan -> run -> rows
-> table -> report, on a tiny random encoder and tiny data written in each task's own layout.

Cases are generated from the task registry (``all_tasks()``), never listed:

- ``intermediate``: every task that trains (``task.facts.trains``), alone as a stage;
- ``multitask``: the same tasks in a stage with two tasks (the task and a small classification task);
- ``target``: every task that can be a target (``task.facts.target``), evaluated in English and
  one other language where it has them (two of its languages otherwise);
- ``trajectory``: every retrieval task, evaluated after each stage of a two-stage order;

plus one task declared in a study file (``[tasks.NAME]``) of each declarable kind and one task
of an installed package (entry point ``xstilts.tasks``), in each of their roles.

Cost: three studies (targets, stages, trajectories), each with every task of its roles, built
and run once per module (not once per task) at max_steps 1, four rows, max_length 32.

Each (role, task) asserts a stored result row for every asked language, a cell of the results
table (``results.table.build_tables``, what ``xstilts results show`` prints) and a number in the
report's per-target table (the CSV ``xstilts report`` writes). Known product bugs are xfailed
strictly (see KNOWN_FAILURES) so the case flips to a failure once they are fixed.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from surface_data import WRITERS, write_task_data
from xstilts.tasks.declared import DECLARABLE_KINDS, READING, kind_metrics
from xstilts.tasks.registry import all_tasks, get_task
from xstilts.tasks.types import TaskKind, TaskSpec

pytestmark = [pytest.mark.slow, pytest.mark.ci]

CATALOG: tuple[TaskSpec, ...] = tuple(all_tasks())  # before the plugin fixture adds its task

# The small classification task every multi-task stage mixes in (another one for itself).
PARTNER, PARTNER_OF_PARTNER = "sst2", "qqp"
# The target an intermediate stage is measured by: a fine-tuned, two-language task.
PROBE = "pawsx"

# ---------------------------------------------------------------- declared and entry-point tasks

# One declaration per declarable kind (each kind's first format); data written by the reader writers.
DECLARED_COLUMNS = {
    ("single_classification", "tsv"): {"text_a": 0, "label": 1},
    ("pair_classification", "tsv"): {"text_a": 0, "text_b": 1, "label": 2},
    ("tagging", "tsv"): {"tokens": 0, "tags": 1},
    ("extractive_qa", "squad_json"): {},
    ("multiple_choice", "tsv"): {"question": 0, "choices": [1, 2, 3], "label": 4},
}
DECLARED_LABELS = {"single_classification": ["yes", "no"], "pair_classification": ["0", "1"],
                   "tagging": ["NOUN", "VERB", "ADJ"]}
DECLARED_KINDS = DECLARABLE_KINDS
DECLARED = {f"mine_{kind.split('_')[0]}": kind for kind in DECLARED_KINDS}
# Declared tasks speak languages no central list anticipates (AmericasNLI's codes), beside English.
DECLARED_LANGUAGES = {name: ("en", ("aym", "gn", "quy")[i % 3]) for i, name in enumerate(DECLARED)}

ENTRY_TASK = "plugin_tags"
PLUGIN = '''
from xstilts.tasks.types import FileLayout, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="plugin_tags", display_name="Plugin Tags", kind=TaskKind.TAGGING, metric=Metric.SPAN_F1,
    languages=("en", "de"), labels=("B-PER", "I-PER", "O"),
    layouts=(FileLayout("plugin/{split}-{lang}.tsv", "conll_tagging"),),
)
'''


def _declaration(name: str, kind: str) -> str:
    fmt = next(f for k, f in READING if k == kind)
    ext = {"squad_json": "json"}.get(fmt, fmt)
    lines = [f"[tasks.{name}]", f'kind = "{kind}"', f'format = "{fmt}"', f'path = "declared/{name}/{{split}}-{{lang}}.{ext}"',
             "langs = [" + ", ".join(f'"{lang}"' for lang in DECLARED_LANGUAGES[name]) + "]",
             f'metric = "{kind_metrics(kind)[0]}"']
    columns = DECLARED_COLUMNS[(kind, fmt)]
    if columns:
        lines.append("columns = { " + ", ".join(f"{role} = {value}" for role, value in columns.items()) + " }")
    if kind in DECLARED_LABELS:
        lines.append("labels = [" + ", ".join(f'"{label}"' for label in DECLARED_LABELS[kind]) + "]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the cases


def asked_languages(languages: tuple[str, ...]) -> list[str]:
    """English and one other language where the task has them, else two of its languages."""
    others = [lang for lang in ("de", "fr", "es", *languages) if lang in languages and lang != "en"]
    others = list(dict.fromkeys(others))
    return (["en", *others[:1]] if "en" in languages else others[:2]) or list(languages[:1])


@dataclass(frozen=True)
class Case:
    role: str
    task: str
    trainable: bool
    can_be_target: bool
    languages: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.role}-{self.task}"


def _facts(spec: TaskSpec) -> dict:
    return {"trainable": spec.facts.trains, "can_be_target": spec.facts.target, "languages": spec.languages}


EXTRA = {**{name: {"trainable": True, "can_be_target": True, "languages": DECLARED_LANGUAGES[name]} for name in DECLARED},
         ENTRY_TASK: {"trainable": True, "can_be_target": True, "languages": ("en", "de")}}
FACTS = {**{spec.name: _facts(spec) for spec in CATALOG}, **EXTRA}


def cases() -> list[Case]:
    out = []
    for name, facts in FACTS.items():
        roles = []
        if facts["trainable"]:
            roles += ["intermediate", "multitask"]
        if facts["can_be_target"]:
            roles.append("target")
        if not facts["trainable"]:  # retrieval: scored from the encoder after every stage
            roles.append("trajectory")
        out += [Case(role, name, facts["trainable"], facts["can_be_target"], tuple(facts["languages"]))
                for role in roles]
    return out


# (role, task) -> the product failure it meets today; strict: the case fails once it is fixed.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def params() -> list:
    out = []
    for case in cases():
        reason = KNOWN_FAILURES.get((case.role, case.task))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


# ---------------------------------------------------------------- writing and running the studies

# Every kind-wide default is set: a multi-task stage must set what its tasks' defaults disagree on
# (extractive QA: batch, length, stride; dual encoder: its reference schedule and query length).
HPARAMS = ("[hparams]\nmax_steps = 1\nbatch_size = 2\nmax_length = 96\ndoc_stride = 16\nlearning_rate = 1e-3\n"
           "epochs = 1\ngrad_accumulation = 1\nwarmup_ratio = 0.1\nweight_decay = 0.01\nmax_query_length = 32\n")
TRAIN = '{ split = "train", slice = "[:4]", dev = false }'


def _toml_list(values) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def _stage_task(task: str, rows: str = "[:4]") -> str:
    return f'{{ task = "{task}", lang = "en", split = "train", slice = "{rows}", dev = false }}'


def _target(task: str, langs) -> str:
    lines = ["[[targets]]", f'task = "{task}"', f"langs = {_toml_list(langs)}"]
    if FACTS[task]["trainable"]:
        lines += ['eval_slice = "[:4]"', "eval_max_length = 96", f"train = {TRAIN}"]
    return "\n".join(lines) + "\n"


def _header(name: str, model: Path, data: Path, out: Path, suite: str = "xtreme") -> str:
    declared = "\n".join(_declaration(task, kind) for task, kind in DECLARED.items())
    return (f'name = "{name}"\nmodel = "{model}"\ndata_dir = "{data}"\noutput_dir = "{out}"\nseeds = [1]\n'
            f'suite = "{suite}"\n\n{declared}\n{HPARAMS}\n[retrieval]\nmax_length = 32\nbatch_size = 8\n\n'
            "[execution]\nworkers = 2\n\n")


def targets_study(model: Path, data: Path, out: Path) -> str:
    text = _header("surface-targets", model, data, out) + "[orders]\nbaseline = true\n\n"
    for name, facts in FACTS.items():
        if facts["can_be_target"]:
            text += _target(name, asked_languages(facts["languages"])) + "\n"
    return text


def stage_names(task: str) -> tuple[str, str]:
    return f"solo_{task}", f"mix_{task}"


def stages_study(model: Path, data: Path, out: Path) -> str:
    text = _header("surface-stages", model, data, out)
    for name, facts in FACTS.items():
        if not facts["trainable"]:
            continue
        solo, mix = stage_names(name)
        partner = PARTNER if name != PARTNER else PARTNER_OF_PARTNER
        text += f"[stages.{solo}]\ntasks = [{_stage_task(name)}]\n\n"
        # Three uniform draws: the stage's steps are not all the partner's (the seed fixes which).
        text += (f"[stages.{mix}]\ntasks = [{_stage_task(name)}, {_stage_task(partner, '[:2]')}]\n"
                 'sampling = "uniform"\nhparams = { max_steps = 3 }\n\n')
    text += "[orders]\nsingles = true\n\n" + _target(PROBE, asked_languages(FACTS[PROBE]["languages"]))
    return text


def trajectory_study(model: Path, data: Path, out: Path) -> str:
    text = _header("surface-trajectories", model, data, out)
    text += f"[stages.first]\ntasks = [{_stage_task(PARTNER)}]\n\n[stages.second]\ntasks = [{_stage_task(PARTNER_OF_PARTNER)}]\n\n"
    text += '[orders]\nnamed = { two = ["first", "second"] }\n\n'
    for name, facts in FACTS.items():
        if not facts["trainable"]:
            text += _target(name, asked_languages(facts["languages"])) + "\n"
    return text


@dataclass
class StudyRun:
    path: Path
    out: Path
    failed: dict[str, str] = field(default_factory=dict)  # node label -> error line
    rows: pd.DataFrame | None = None
    tables: dict = field(default_factory=dict)
    report_dir: Path | None = None
    report_error: str = ""
    show_output: str = ""
    metrics: dict[str, str] = field(default_factory=dict)  # target -> its primary metric
    plan: object = None

    def failures_about(self, *names: str) -> str:
        lines = [f"{label}: {error}" for label, error in self.failed.items() if any(name in label for name in names)]
        return "; ".join(lines) or (f"report: {self.report_error}" if self.report_error else "no node failed")


def _install_plugin(site: Path) -> None:
    (site / "surface_plugin").mkdir(parents=True)
    (site / "surface_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "surface_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: surface-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[xstilts.tasks]\n{ENTRY_TASK} = surface_plugin:TASK\n")


def _run(path: Path) -> StudyRun:
    from typer.testing import CliRunner

    from xstilts.cli import app
    from xstilts.execution.runner import run_study
    from xstilts.results.store import ResultStore
    from xstilts.results.table import build_tables
    from xstilts.study import build_plan, load_study

    study = load_study(path)
    plan = build_plan(study)
    assert not plan.missing_data, plan.missing_data[:5]
    summary = run_study(plan, executor="local")
    run = StudyRun(path, study.output_dir, plan=plan)
    run.metrics = {target.label: get_task(target.task).primary_metric for target in study.targets}
    run.failed = {summary.failed_labels.get(node, node): error for node, error in summary.failed.items()}
    run.failed.update({f"blocked {node}": "blocked by a failed node" for node in summary.blocked})
    run.rows = ResultStore.for_study(study.output_dir).to_dataframe()
    run.tables = build_tables(run.rows) if not run.rows.empty else {}
    runner = CliRunner()
    shown = runner.invoke(app, ["results", "show", str(path)])
    run.show_output = shown.output if shown.exit_code == 0 else f"exit {shown.exit_code}: {shown.output[-2000:]}"
    report = runner.invoke(app, ["report", str(path)])
    if report.exit_code == 0:
        run.report_dir = study.output_dir / "report"
    else:
        run.report_error = f"exit {report.exit_code}: {report.output[-2000:]} {report.exception!r}"
    return run


@pytest.fixture(scope="module")
def surface(tmp_path_factory, tiny_model_dir):
    """Writes every task's data, the three studies, runs them and reports them (once per module)."""
    from xstilts.tasks import registry
    from xstilts.tasks.declared import TaskDeclaration, declared_task

    root = tmp_path_factory.mktemp("surface")
    data = root / "data"
    site = root / "site"
    _install_plugin(site)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        for name in ("_TASKS", "_ORIGIN", "_ALIASES", "_SUITES"):  # a fresh registry that finds the plugin
            patch.setattr(registry, name, {})
        patch.setattr(registry, "_DECLARED", set())
        for spec in registry.all_tasks():
            write_task_data(spec, asked_languages(spec.languages), data)
        import tomllib

        for name, kind in DECLARED.items():
            table = tomllib.loads(_declaration(name, kind))["tasks"][name]
            spec = declared_task(name, TaskDeclaration.model_validate(table, context={"base_dir": str(root)}))
            write_task_data(spec, list(DECLARED_LANGUAGES[name]), data)
        runs = {}
        for study, make in (("targets", targets_study), ("stages", stages_study), ("trajectory", trajectory_study)):
            path = root / f"{study}.toml"
            path.write_text(make(tiny_model_dir, data, root / "out" / study))
            runs[study] = _run(path)
        yield runs


# ---------------------------------------------------------------- checks


NUMBER = re.compile(r"^-?\d+(\.\d+)?")


def _report_rows(run: StudyRun, name: str) -> list[dict]:
    assert run.report_dir is not None, f"the report failed: {run.report_error}"
    path = run.report_dir / f"{name}.csv"
    assert path.is_file(), f"the report has no {path.name}: {sorted(p.name for p in run.report_dir.glob('*.csv'))}"
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _check(run: StudyRun, target: str, condition: str, langs: list[str], role: str, about: tuple[str, ...],
           stage: str = "") -> None:
    """Rows in the store for every language, then (a condition) a cell of the results table and a
    number in the report's per-target table, or (a trajectory point after ``stage``) the report's
    trajectory point and the condition's own cells."""
    why = run.failures_about(*about)
    rows = run.rows
    metric = run.metrics[target]
    mine = rows[(rows["target"] == target) & (rows["order_name"] == condition) & (rows["role"] == role)]
    for lang in langs:
        found = mine[(mine["lang"] == lang) & (mine["metric"] == metric)]
        assert len(found) >= 1, (f"no stored {metric} row of {target} after {condition} ({role}) in {lang}; stored "
                                 f"metrics: {sorted(set(mine['metric']))}; failures: {why}")
    if role == "condition":
        assert target in run.tables, f"no results table for {target}; failures: {why}"
        table = run.tables[target]
        assert condition in table.index, f"{target} table has no row {condition}: {list(table.index)}"
        for lang in langs:
            assert pd.notna(table.loc[condition, (lang, "mean")]), f"{target} table cell {condition}/{lang} is empty"
        cells = {row["condition"]: row for row in _report_rows(run, f"{target}_cells")}
        assert condition in cells, f"the report's {target} table has no row {condition}: {list(cells)}"
        for lang in langs:
            assert NUMBER.match(cells[condition].get(lang) or ""), (
                f"the report's {target} cell {condition}/{lang} is {cells[condition].get(lang)!r}")
    else:
        # The report's trajectory: the model after the first stage, scored over every asked
        # language (a point exists only when all of them were evaluated), and the final condition.
        points = _report_rows(run, f"{target}_trajectory_values")
        after_first = [row for row in points if row["order"] == condition and row["stage"] == stage]
        assert after_first and NUMBER.match(after_first[0]["value"]), (
            f"the report has no trajectory point of {target} after {stage}: {points}; failures: {why}")
        _check(run, target, condition, langs, "condition", about)


@pytest.mark.parametrize("case", params())
def test_task_in_role(case: Case, surface):
    if case.role == "target":
        run = surface["targets"]
        _check(run, case.task, "baseline", asked_languages(case.languages), "condition", (case.task,))
    elif case.role in ("intermediate", "multitask"):
        run = surface["stages"]
        solo, mix = stage_names(case.task)
        order = solo if case.role == "intermediate" else mix
        _check(run, PROBE, order, asked_languages(FACTS[PROBE]["languages"]), "condition", (order,))
        # The probe's model was trained on the stage first, and the stage read the task's rows.
        mine = run.rows[(run.rows["target"] == PROBE) & (run.rows["order_name"] == order)]
        training = mine["training"].iloc[0]
        training = json.loads(training) if isinstance(training, str) else training
        stage = next(t for t in training if not t.get("is_target"))
        read = dict(zip((item["task"] for item in stage["train"]), stage["examples"]))
        expected = {case.task} | ({PARTNER if case.task != PARTNER else PARTNER_OF_PARTNER}
                                  if case.role == "multitask" else set())
        assert set(read) == expected and all(read.values()), f"stage {order} read {read}"
    else:
        run = surface["trajectory"]
        _check(run, case.task, "two", asked_languages(case.languages), "trajectory", (case.task, "first"), "first")


def test_every_reader_of_a_registered_layout_has_a_writer():
    missing = sorted({f"{layout.reader} (task {spec.name})" for spec in all_tasks() for layout in spec.layouts
                      if layout.reader not in WRITERS})
    declared = sorted({reading.reader for reading in READING.values()} - set(WRITERS))
    assert not missing, f"readers with no data writer in tests/surface_data.py: {', '.join(missing)}"
    assert not declared, f"declarable readers with no data writer: {', '.join(declared)}"


def test_every_declarable_kind_and_every_role_is_covered():
    assert set(DECLARED.values()) == set(DECLARED_KINDS)
    roles = {case.role for case in cases()}
    assert roles == {"intermediate", "multitask", "target", "trajectory"}
    assert {case.task for case in cases()} >= {spec.name for spec in CATALOG} | set(DECLARED) | {ENTRY_TASK}
    assert any(spec.kind is TaskKind.RETRIEVAL for spec in CATALOG)


def _suite_scores(run: StudyRun, suite: str) -> pd.Series:
    """The suite's score per condition, as `xstilts results show` and the report compute it."""
    from xstilts.results.filtering import condition_rows, select_rows
    from xstilts.results.report import ordered_targets, suite_table

    rows = condition_rows(select_rows(run.rows, [node.id for node in run.plan.eval_nodes]))
    table = suite_table(rows, ordered_targets(rows), sorted(set(rows["condition"])), suite)
    return table.iloc[:, -1]


def test_the_xtreme_suite_is_complete_and_scored(surface):
    """Every XTREME task is a target of the targets study: the report's paper table has the full
    XTREME score (not a partial one) for the baseline."""
    run = surface["targets"]
    score = _suite_scores(run, "xtreme")
    assert score.name == "XTREME score" and pd.notna(score.get("baseline")), score
    table = {row["condition"]: row for row in _report_rows(run, "paper_table_values")}
    assert NUMBER.match(table["baseline"].get("XTREME score") or ""), table["baseline"]


def test_the_xtreme_r_suite_is_complete_and_scored(surface):
    """Complete (not partial), and named not comparable with the leaderboard: it counts Mewsli-X's
    released data, which is not the paper's."""
    score = _suite_scores(surface["targets"], "xtreme-r")
    assert score.name == "XTREME-R score (not comparable with the XTREME-R leaderboard)", score.name
    assert pd.notna(score.get("baseline")), score


@pytest.mark.parametrize("study", ["targets", "stages", "trajectory"])
def test_results_show_prints_the_tables(surface, study):
    run = surface[study]
    assert run.show_output and not run.show_output.startswith("exit "), run.show_output
    assert "baseline" in run.show_output or "two" in run.show_output or "solo_" in run.show_output, run.show_output[:2000]
