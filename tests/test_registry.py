import pytest

from xstilts.errors import UnknownLanguageError, UnknownTaskError
from xstilts.tasks.registry import all_tasks, check_language, get_task, suite_tasks
from xstilts.tasks.types import TaskKind


def test_nine_targets_with_paper_languages():
    assert len(suite_tasks("xtreme")) == 9
    assert len(get_task("xnli").languages) == 15
    xtreme = {name: get_task(name).suite_languages("xtreme") for name in ("panx", "udpos", "tatoeba", "xquad")}
    assert [len(xtreme[name]) for name in ("panx", "udpos", "tatoeba", "xquad")] == [40, 33, 36, 11]
    assert set(xtreme["tatoeba"]) == set(xtreme["panx"]) - {"en", "ms", "my", "yo"}
    # A task's languages are the union of its suites' (XTREME-R adds languages to these four).
    for name, langs in xtreme.items():
        assert set(langs) < set(get_task(name).languages)


def test_intermediate_tasks_registered_with_kinds():
    kinds = {t.name: t.kind for t in all_tasks()}
    assert kinds["hellaswag"] is TaskKind.MULTIPLE_CHOICE
    assert kinds["ccg"] is TaskKind.TAGGING
    assert kinds["squad_v2"] is TaskKind.EXTRACTIVE_QA
    assert kinds["sst2"] is TaskKind.SINGLE_CLASSIFICATION
    assert get_task("anli+").components == ("anli_r1", "anli_r2", "anli_r3", "mnli", "snli")


def test_unknown_task_and_language_are_one_line_errors():
    with pytest.raises(UnknownTaskError, match="unknown task 'xnil'"):
        get_task("xnil")
    with pytest.raises(UnknownLanguageError):
        check_language(get_task("pawsx"), "sw", strict=True)
    with pytest.raises(UnknownLanguageError):
        check_language(get_task("xnli"), "xx")
    assert check_language(get_task("xnli"), "de", strict=True) == "de"
