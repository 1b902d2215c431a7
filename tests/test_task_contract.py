"""The task contract: tasks are found by themselves (catalog modules, the ``xstilts.tasks`` entry
point group), suites hold the benchmark rules, and every layer that needs a task fact reads it
from the task's own declaration (contamination, cost, training defaults, heads, fetch)."""

from __future__ import annotations

import importlib
import pkgutil
import types
from importlib import metadata

import pytest

from xstilts.errors import ConfigError
from xstilts.tasks import catalog, registry
from xstilts.tasks.registry import get_suite, get_task, head_name, suite_groups, suite_tasks
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SharedSet, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

# A task an installed package declares: parallel rows, a shared training set, paper epochs, a hub
# source written in its own layout, a place in the XTREME suite's question-answering group.
PLUGIN_TRAIN = SharedSet("Plugin train", rows=1_234)
PLUGIN = TaskSpec(
    name="plugin_qa", display_name="Plugin QA", aliases=("pqa",), kind=TaskKind.EXTRACTIVE_QA, metric=Metric.SQUAD,
    languages=("en", "de"), layouts=(FileLayout("plugin/{split}-{lang}.json", "squad_json"),),
    training=TrainingDefaults(target_epochs=4, xtreme={"learning_rate": 5e-5}),
    data=DataRelations(parallel=True, shared={"train": PLUGIN_TRAIN}),
    hub=HubSource("someone/plugin", "{lang}", {"dev": "validation"}, "squad_json"),
    suites=(SuiteMember("xtreme", "question_answering", 4),),
)


class _EntryPoint:
    def __init__(self, name: str, loaded: object):
        self.name, self.value, self._loaded = name, f"plugin_package:{name}", loaded

    def load(self) -> object:
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


@pytest.fixture
def with_plugin(monkeypatch):
    """The registry reloaded from scratch with ``entry points`` (restored afterwards)."""
    def install(*entry_points: _EntryPoint) -> None:
        for name in ("_TASKS", "_ORIGIN", "_ALIASES", "_SUITES"):
            monkeypatch.setattr(registry, name, {})
        monkeypatch.setattr(metadata, "entry_points",
                            lambda group: list(entry_points) if group == registry.ENTRY_POINT_GROUP else [])

    return install


def test_every_catalog_module_is_found_without_being_listed():
    modules = [info.name for info in pkgutil.iter_modules(catalog.__path__) if not info.name.startswith("_")]
    origins = {registry._ORIGIN[task.name] for task in registry.all_tasks()}
    assert origins == {f"{catalog.__name__}.{name}" for name in modules}
    # Every task a module declares is registered, and nothing else (no count written here).
    declared = [spec.name for name in modules
                for spec in registry._declared(importlib.import_module(f"{catalog.__name__}.{name}"))]
    assert sorted(declared) == sorted(task.name for task in registry.all_tasks())


def test_xtreme_suite_is_its_members_declarations_in_table_order():
    assert [task.name for task in suite_tasks("xtreme")] == [
        "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
    assert suite_groups("xtreme")["question_answering"] == ("xquad", "mlqa", "tydiqa")
    assert [task.title for task in suite_tasks()][:4] == ["XNLI", "PAWS-X", "UD-POS", "PAN-X"]


def test_suite_rules_qa_score_and_score_only_when_complete():
    xtreme, members = get_suite("xtreme"), suite_tasks("xtreme")
    assert xtreme.score_metrics(get_task("mlqa")) == ("f1", "exact_match")
    assert xtreme.task_score(get_task("mlqa"), {"f1": 70.0, "exact_match": 50.0}) == 60.0
    assert xtreme.task_score(get_task("panx"), {"f1": 64.0, "accuracy": 90.0}) == 64.0
    scores = {task.name: 50.0 for task in members}
    assert xtreme.score(members, scores) == 50.0
    assert xtreme.score(members, {k: v for k, v in scores.items() if k != "tatoeba"}) is None
    assert xtreme.group_scores(members, {"xnli": 80.0, "pawsx": 70.0})["classification"] == 75.0
    assert xtreme.group_scores(members, {"xnli": 80.0})["classification"] is None


def test_an_entry_point_task_is_used_everywhere_from_its_declaration(with_plugin, tmp_path):
    from xstilts.study.contamination import footprints
    from xstilts.study.data_facts import DataFacts, estimated_examples
    from xstilts.tasks.fetch.sources import source_for
    from xstilts.tasks.selection import DataSelection

    with_plugin(_EntryPoint("plugin", PLUGIN))
    assert get_task("pqa") is PLUGIN
    assert [task.name for task in suite_tasks("xtreme")][4:8] == ["xquad", "mlqa", "tydiqa", "plugin_qa"]
    # Training defaults: the paper's target epochs, the kind's QA windows, the XTREME preset's values.
    assert PLUGIN.training_defaults(target=True) == {"epochs": 4, "batch_size": 16, "max_length": 384, "doc_stride": 128}
    assert PLUGIN.training_defaults(target=True, preset="xtreme")["learning_rate"] == 5e-5
    assert head_name(PLUGIN) == "plugin_qa"
    # Contamination: parallel dev rows are one source for every language; train is the shared set.
    facts = DataFacts((), "0" * 64, 100, 100)
    assert footprints(DataSelection("plugin_qa", "de", "dev", "[:10]"), facts)[0].source == "plugin_qa dev (all languages)"
    assert footprints(DataSelection("plugin_qa", "de", "train"), facts)[0].source == "Plugin train"
    # Cost: the shared set's size stands in for missing data.
    assert estimated_examples(DataSelection("plugin_qa", "en", "train"), None, None) == 1_234
    # Fetch: the hub source, written in the task's own layout.
    source = source_for("plugin_qa", "de", "dev")
    assert (source.dataset, source.config, source.hub_split, source.destination) == (
        "someone/plugin", "de", "validation", "plugin/dev-de.json")


def test_an_entry_point_may_name_a_module_or_several_tasks(with_plugin):
    other = TaskSpec(name="plugin_two", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY,
                     languages=("en",), layouts=(), labels=("0", "1"))
    module = types.ModuleType("plugin_module")
    module.TASK = PLUGIN
    with_plugin(_EntryPoint("module", module), _EntryPoint("list", [other]))
    assert get_task("plugin_qa") is PLUGIN and get_task("plugin_two") is other


@pytest.mark.parametrize("loaded, message", [
    (TaskSpec(name="xnli", kind=TaskKind.PAIR_CLASSIFICATION, metric=Metric.ACCURACY, languages=("en",), layouts=()),
     "task 'xnli' from entry point clash (plugin_package:clash) is already declared by xstilts.tasks.catalog.xnli"),
    (ImportError("no module named plugin_package"), "entry point clash (plugin_package:clash): cannot be loaded"),
    (42, "expected a TaskSpec, a sequence of them or a module declaring TASK/TASKS, got int"),
])
def test_a_broken_entry_point_is_one_line_naming_it(with_plugin, loaded, message):
    with_plugin(_EntryPoint("clash", loaded))
    with pytest.raises(ConfigError) as error:
        get_task("xnli")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_trains_as_shares_the_head_and_the_shared_nli_head():
    assert head_name(get_task("xquad")) == head_name(get_task("mlqa")) == "squad_v1"
    assert {head_name(get_task(name)) for name in ("xnli", "mnli", "snli", "anli_r1", "anli+")} == {"nli"}
    assert head_name(get_task("pawsx")) == "pawsx"


def test_language_codes_come_from_the_library_and_typos_are_caught():
    from xstilts.errors import UnknownLanguageError
    from xstilts.languages import check_code, language_name

    assert all(language_name(code) != code for task in registry.all_tasks() for code in task.languages)
    assert (language_name("de"), language_name("aym"), language_name("xx")) == ("German", "Aymara", "xx")
    assert [check_code(code) for code in ("aym", "gn", "quy", "DE", "zh-hans")] == ["aym", "gn", "quy", "de", "zh-hans"]
    for typo in ("xx", "qqq", "zz", "english", ""):
        with pytest.raises(UnknownLanguageError, match="not an ISO 639"):
            check_code(typo)
