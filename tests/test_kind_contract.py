"""The kind contract: each task kind's behaviour lives in its kind modules (the model half in
``modeling/kinds``, the scoring half in ``scoring/kinds``); nothing else branches on a kind or
on a task's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import xstilts
from xstilts.modeling.kinds import FeatureSettings, adapter_for_task, get_adapter
from xstilts.scoring import prediction_path, score_examples, score_predictions, write_predictions
from xstilts.scoring.kinds import scorer_for, scorer_for_kind
from xstilts.tasks.registry import all_tasks, get_task
from xstilts.tasks.types import Answer, ClassificationExample, MultipleChoiceExample, QAExample, TaggingExample, TaskKind

PACKAGE = Path(xstilts.__file__).parent
# Where kind behaviour and task facts may be decided.
KIND_OWNERS = ("tasks/", "modeling/kinds/", "scoring/kinds/")
BRANCH = re.compile(r"TaskKind\.|task\.name ==|\.kind is|\.kind ==|\.name in \(")


def test_no_branch_on_a_kind_or_task_name_outside_the_kind_modules():
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             if not str(path.relative_to(PACKAGE)).startswith(KIND_OWNERS)
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if BRANCH.search(line)]
    assert found == []


def test_every_kind_has_a_scorer_and_every_trained_kind_an_adapter_holding_it():
    for kind in TaskKind:
        scorer = scorer_for_kind(kind)
        assert kind in scorer.kinds
        adapter = get_adapter(kind)
        assert adapter.kind is kind and adapter.scorer is scorer and adapter.facts.kind is kind
        if not adapter.facts.trains:  # retrieval: vectors straight from the encoder, no head
            with pytest.raises(Exception, match="train no head"):
                adapter.build_head(8, None)
    trained = [kind for kind in TaskKind if get_adapter(kind).facts.trains]
    assert {kind for kind in trained if get_adapter(kind).per_token_logits} == {TaskKind.TAGGING, TaskKind.EXTRACTIVE_QA}
    assert get_adapter(TaskKind.MLM).whole_vocabulary and not get_adapter(TaskKind.TAGGING).whole_vocabulary
    # Only a kind that trains sentence vectors records how to read them in the models it saves.
    assert {kind for kind in trained if get_adapter(kind).retrieval_use(FeatureSettings())} == {TaskKind.DUAL_ENCODER}
    assert get_adapter(TaskKind.DUAL_ENCODER).retrieval_use(FeatureSettings(max_length=77)) == {
        "pooling": "cls", "layer": -1, "prefix": "", "max_length": 77,
        "source": "dual_encoder training (first token of the last layer)"}
    assert adapter_for_task(get_task("squad_v2")).decoding.allow_no_answer


def test_the_prediction_suffix_has_one_owner():
    suffixes = {task.name: prediction_path(task, Path("p"), "test", task.languages[0]).suffix for task in all_tasks()
                if task.facts.target}
    # QA answers and XTREME-R's ranked retrieval (LAReQA, Mewsli-X) are JSON.
    assert {name for name, suffix in suffixes.items() if suffix == ".json"} == {
        "xquad", "mlqa", "tydiqa", "squad_v1", "squad_v2", "lareqa", "lareqa_xquad_split", "mewslix"}
    assert all(scorer_for(get_task(name)).file_suffix(get_task(name)) == suffix.lstrip(".")
               for name, suffix in suffixes.items())


@pytest.mark.parametrize("task, examples, predictions, metric, expected", [
    ("xnli", [ClassificationExample("a", "p", "h", "entailment"), ClassificationExample("b", "p", "h", "neutral")],
     ["entailment", "contradiction"], "accuracy", 50.0),
    ("xcopa", [MultipleChoiceExample("a", "c", "q", ("x", "y"), 1), MultipleChoiceExample("b", "c", "q", ("x", "y"), 0)],
     [1, 0], "accuracy", 100.0),
    ("panx", [TaggingExample("a", ("Angela", "Merkel", "spricht"), ("B-PER", "I-PER", "O"))],
     [["B-PER", "I-PER", "O"]], "f1", 100.0),
    ("ccg", [TaggingExample("a", ("a", "b"), ("N", "N"))], [["N", "S"]], "accuracy", 50.0),
    ("mlqa", [QAExample("q1", "Wer?", "Der Hund bellt.", (Answer("der Hund", 0),))], {"q1": "Hund"}, "exact_match",
     100.0),
])
def test_written_and_in_memory_predictions_score_alike(tmp_path, task, examples, predictions, metric, expected):
    spec = get_task(task)
    lang = "de" if "de" in spec.languages else spec.languages[0]
    path = write_predictions(spec, tmp_path, "dev", lang, predictions)
    assert path.name == f"dev-{lang}.{scorer_for(spec).suffix}"
    from_file = score_examples(spec, lang, examples, "gold", path)
    assert from_file == score_predictions(spec, lang, examples, predictions)
    assert from_file[metric] == expected
