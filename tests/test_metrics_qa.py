"""SQuAD v1.1 and MLQA exact match / F1.

Oracle numbers below come from the official scripts' ``evaluate`` functions (SQuAD v1.1 as copied
into xtreme/third_party/evaluate_squad.py; facebookresearch/MLQA mlqa_evaluation_v1.py), run
outside the repository on the raw SQuAD-format JSON of the shared files with the predictions
``predicted_answers`` below makes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from xstilts.errors import UnknownLanguageError
from xstilts.metrics.qa import mlqa_metrics, normalize_mlqa, normalize_squad, squad_metrics
from xstilts.tasks.load import read_task_file
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import QAExample

_DECORATIONS = ("The {}.", "{}", "“{}”", "{} ,", "«{}»", "a {}!", "{} (", "ال{}", "el {}", "der {}")


def predicted_answers(examples: Sequence[QAExample], seed: int) -> dict[str, str]:
    """Seeded predictions: 8% missing, 5% empty, 35% the first gold answer with punctuation,
    articles or case changes around it, the rest a context span around it with shifted ends."""
    rng = random.Random(seed)
    predictions = {}
    for example in examples:
        draw = rng.random()
        answer = example.answers[0]
        if draw < 0.08:
            continue
        if draw < 0.13:
            predictions[example.guid] = ""
        elif draw < 0.48:
            text = rng.choice(_DECORATIONS).format(answer.text)
            predictions[example.guid] = text.upper() if rng.random() < 0.2 else text
        else:
            start = max(0, answer.start + rng.randint(-12, 4))
            end = max(start, answer.start + len(answer.text) + rng.randint(-6, 12))
            predictions[example.guid] = example.context[start:end]
    return predictions


def gold_answers(examples: Sequence[QAExample]) -> dict[str, list[str]]:
    return {example.guid: [answer.text for answer in example.answers] for example in examples}


# ---------------------------------------------------------------- normalisation


def test_squad_normalisation():
    assert normalize_squad("  The Cat,   a dog!  ") == "cat dog"
    assert normalize_squad("Theater of an era") == "theater of era"  # articles as whole words only
    assert normalize_squad("«Berlin»") == "«berlin»"  # only ASCII punctuation is removed


def test_mlqa_normalisation_per_language():
    assert normalize_mlqa("«Berlin» $5", "en") == "berlin 5"  # Unicode P* and ASCII punctuation
    assert normalize_mlqa("Der Hund, das Haus", "de") == "hund haus"
    assert normalize_mlqa("Los perros y el gato", "es") == "perros y gato"
    assert normalize_mlqa("cái bàn của tôi", "vi") == "bàn tôi"
    # Hindi has no articles, and English ones are not removed either.
    assert normalize_mlqa("the दिल्ली", "hi") == "the दिल्ली"


def test_mlqa_arabic_article_is_removed_everywhere_in_a_word():
    assert normalize_mlqa("الكتاب", "ar") == "كتاب"
    assert normalize_mlqa("مالك", "ar") == "م ك"  # a substring, not a word prefix, as in the official script


def test_mlqa_chinese_mixed_segmentation():
    assert normalize_mlqa("北京大学 ABC def，", "zh") == "北 京 大 学 abc def"
    assert normalize_mlqa("2008年奥运会", "zh") == "2008 年 奥 运 会"


def test_mlqa_unknown_language():
    with pytest.raises(UnknownLanguageError, match="expected one of ar de en es hi vi zh"):
        mlqa_metrics({"q": ["a"]}, {"q": "a"}, "fr")


# ---------------------------------------------------------------- totals


def test_max_over_gold_answers_and_missing_questions():
    gold = {"q1": ["Paris", "the city of Paris"], "q2": ["blue whale"], "q3": ["1990"]}
    pred = {"q1": "city of Paris", "q2": "whale", "unknown": "x"}
    scores = squad_metrics(gold, pred)
    # q1: EM with the second answer; q2: P=1 R=1/2 -> F1 2/3; q3 missing -> 0 over 3 questions.
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)


def test_empty_gold_text_only_matches_an_empty_prediction():
    scores = squad_metrics({"q1": [""], "q2": [""]}, {"q1": "", "q2": "Paris"})
    assert scores == pytest.approx({"exact_match": 50.0, "f1": 0.0})


def test_question_without_gold_answer_is_refused():
    with pytest.raises(ValueError, match="no gold answer"):
        squad_metrics({"q1": []}, {"q1": "x"})


# ---------------------------------------------------------------- real data against the official scripts

# file -> (seed, exact_match, f1) from the official SQuAD v1.1 evaluate()
SQUAD_ORACLE = {
    "xquad/xquad.en.json": (21, 17.899159663865547, 51.81440440207093),
    "xquad/xquad.de.json": (22, 18.823529411764707, 49.8514331888401),
    "xquad/xquad.zh.json": (23, 18.403361344537814, 34.87217824192621),
    "xquad/xquad.ar.json": (24, 19.327731092436974, 53.205336301130345),
    "xquad/xquad.th.json": (25, 20.840336134453782, 43.1390989348752),
    "xquad/xquad.ru.json": (26, 18.991596638655462, 50.85033902947347),
}
# language -> (seed, exact_match, f1) from the official MLQA evaluate(), dev-context-L-question-L.json
MLQA_ORACLE = {
    "ar": (31, 25.145067698259187, 60.61177631010215),
    "de": (32, 22.65625, 55.58531985358077),
    "en": (33, 28.83275261324042, 59.60674680211702),
    "es": (34, 23.6, 60.794904416062444),
    "hi": (35, 16.962524654832347, 54.136660049941455),
    "vi": (36, 19.765166340508806, 57.15288672869064),
    "zh": (37, 19.841269841269842, 55.66338189139848),
}
# TyDiQA-GoldP English train, questions renumbered 0..3695 (the shared copy repeats ids).
TYDIQA_TRAIN_ORACLE = (41, 19.426406926406926, 52.63280041336249)


@pytest.mark.parametrize("name", sorted(SQUAD_ORACLE))
def test_squad_matches_official_script_on_xquad(shared_data, name):
    seed, exact_match, f1 = SQUAD_ORACLE[name]
    examples = read_task_file(get_task("xquad"), shared_data / name)
    scores = squad_metrics(gold_answers(examples), predicted_answers(examples, seed))
    assert scores == pytest.approx({"exact_match": exact_match, "f1": f1}, abs=1e-4)


@pytest.mark.parametrize("lang", sorted(MLQA_ORACLE))
def test_mlqa_matches_official_script(shared_data, lang):
    seed, exact_match, f1 = MLQA_ORACLE[lang]
    examples = read_task_file(get_task("mlqa"), shared_data / f"mlqa/dev-context-{lang}-question-{lang}.json")
    scores = mlqa_metrics(gold_answers(examples), predicted_answers(examples, seed), lang)
    assert scores == pytest.approx({"exact_match": exact_match, "f1": f1}, abs=1e-4)


def test_squad_matches_official_script_on_tydiqa(shared_data):
    seed, exact_match, f1 = TYDIQA_TRAIN_ORACLE
    examples = read_task_file(get_task("tydiqa"), shared_data / "tydiqa/tydiqa.goldp.en.train.json")
    renumbered = [QAExample(str(i), ex.question, ex.context, ex.answers) for i, ex in enumerate(examples)]
    scores = squad_metrics(gold_answers(renumbered), predicted_answers(renumbered, seed))
    assert scores == pytest.approx({"exact_match": exact_match, "f1": f1}, abs=1e-4)


def test_tydiqa_dev_copy_has_blank_gold_answers(shared_data):
    # The shared TyDiQA dev files come from XTREME's download, which blanks test answers: the
    # official script then gives EM only to empty predictions and F1 0.
    examples = read_task_file(get_task("tydiqa"), shared_data / "tydiqa/tydiqa.goldp.sw.dev.json")
    gold = gold_answers(examples)
    assert {text for texts in gold.values() for text in texts} == {""}
    predictions = {qid: ("" if i % 4 == 0 else "jibu") for i, qid in enumerate(gold)}
    scores = squad_metrics(gold, predictions)
    assert scores["f1"] == 0.0
    assert scores["exact_match"] == pytest.approx(100 * sum(1 for p in predictions.values() if not p) / len(gold))


def test_squad_v2_unanswerable_gold_is_empty_string():
    from xstilts.metrics.qa import squad_v2_metrics

    # Official evaluate-v2.0.py: no (non-empty) gold answer -> gold [""]; an empty prediction
    # then scores EM 1 and F1 1, any non-empty prediction 0; answerable questions as in v1.1
    # except that a prediction normalising to nothing scores F1 0.
    gold = {"a": [], "b": [""], "c": ["the Rhine"], "d": ["Rhine river"]}
    pred = {"a": "", "b": "Rhine", "c": "rhine", "d": "river"}
    scores = squad_v2_metrics(gold, pred)
    assert scores["exact_match"] == 50.0  # a, c
    assert scores["f1"] == (1 + 0 + 1 + 2 / 3) / 4 * 100  # d: P 1, R 1/2
