"""File-level scoring: prediction files against the real gold data files, and whole folders."""

from __future__ import annotations

import random

import pytest

from xstilts.errors import ConfigError, DataFormatError, MissingDataError
from xstilts.metrics import predictions
from xstilts.metrics.qa import mlqa_metrics
from xstilts.metrics.tagging import ner_metrics, pos_metrics
from xstilts.scoring import score_file, score_folder
from xstilts.tasks.load import read_task_file
from xstilts.tasks.registry import get_task
from xstilts.tasks.catalog.panx import PANX_TAGS
from xstilts.tasks.catalog.udpos import UPOS_TAGS

NLI = ("entailment", "neutral", "contradiction")


def _gold(task: str, path):
    return read_task_file(get_task(task), path)


def _noisy(values, choices, seed: int, rate: float = 0.3):
    rng = random.Random(seed)
    return [rng.choice(choices) if rng.random() < rate else value for value in values]


def _xnli_predictions(shared_data, lang: str, seed: int) -> list[str]:
    return _noisy([ex.label for ex in _gold("xnli", shared_data / f"xnli/dev-{lang}.tsv")], NLI, seed)


# ---------------------------------------------------------------- classification


def test_xnli_accuracy(shared_data, tmp_path):
    gold = [ex.label for ex in _gold("xnli", shared_data / "xnli/dev-de.tsv")]
    predicted = _xnli_predictions(shared_data, "de", 1)
    predictions.write_labels(tmp_path / "dev-de.tsv", predicted)
    scores = score_file("xnli", "de", shared_data / "xnli/dev-de.tsv", tmp_path / "dev-de.tsv")
    expected = 100 * sum(p == g for p, g in zip(predicted, gold)) / len(gold)
    assert scores == pytest.approx({"accuracy": expected})
    assert 70 < expected < 100


def test_classification_prediction_errors_name_file_and_line(shared_data, tmp_path):
    predicted = _xnli_predictions(shared_data, "de", 1)
    predicted[41] = "contradictory"
    predictions.write_labels(tmp_path / "bad.tsv", predicted)
    with pytest.raises(DataFormatError, match=r"bad.tsv:42: unknown label 'contradictory'"):
        score_file("xnli", "de", shared_data / "xnli/dev-de.tsv", tmp_path / "bad.tsv")
    predictions.write_labels(tmp_path / "short.tsv", predicted[:41])
    with pytest.raises(DataFormatError, match=r"short.tsv:42: expected 2490 labels"):
        score_file("xnli", "de", shared_data / "xnli/dev-de.tsv", tmp_path / "short.tsv")


def test_pawsx_labelled_test_file(shared_data, tmp_path):
    gold_path = shared_data / "pawsx/test-de.labeled.tsv"
    gold = [ex.label for ex in _gold("pawsx", gold_path)]
    predictions.write_labels(tmp_path / "p.tsv", ["1"] * len(gold))
    scores = score_file("pawsx", "de", gold_path, tmp_path / "p.tsv")
    assert scores == pytest.approx({"accuracy": 100 * gold.count("1") / len(gold)})


# ---------------------------------------------------------------- tagging


def test_udpos_conllu_gold(shared_data, tmp_path):
    gold_path = shared_data / "udpos/tr_imst-ud-test.conllu"
    gold = [list(ex.tags) for ex in _gold("udpos", gold_path)]
    predicted = [_noisy(tags, UPOS_TAGS, seed) for seed, tags in enumerate(gold)]
    predictions.write_tag_sentences(tmp_path / "test-tr.tsv", predicted)
    scores = score_file("udpos", "tr", gold_path, tmp_path / "test-tr.tsv")
    assert scores == pytest.approx(pos_metrics(gold, predicted))
    assert set(scores) == {"f1", "precision", "recall", "accuracy"}


def test_panx_sentence_shape_errors(shared_data, tmp_path):
    gold_path = shared_data / "panx/dev-fr.tsv"
    gold = [list(ex.tags) for ex in _gold("panx", gold_path)]
    predicted = [_noisy(tags, PANX_TAGS, seed) for seed, tags in enumerate(gold)]
    predictions.write_tag_sentences(tmp_path / "ok.tsv", predicted)
    assert score_file("panx", "fr", gold_path, tmp_path / "ok.tsv") == pytest.approx(ner_metrics(gold, predicted))
    first_line_of_third = len(predicted[0]) + len(predicted[1]) + 3
    predicted[2] = predicted[2] + ["O"]
    predictions.write_tag_sentences(tmp_path / "long.tsv", predicted)
    with pytest.raises(DataFormatError, match=rf"long.tsv:{first_line_of_third}: sentence 3 has "
                                              rf"{len(gold[2]) + 1} tags, expected {len(gold[2])}"):
        score_file("panx", "fr", gold_path, tmp_path / "long.tsv")


# ---------------------------------------------------------------- QA


def test_mlqa_zh(shared_data, tmp_path):
    gold_path = shared_data / "mlqa/dev-context-zh-question-zh.json"
    examples = _gold("mlqa", gold_path)
    answers = {ex.guid: [a.text for a in ex.answers] for ex in examples}
    predicted = {ex.guid: ex.context[max(0, ex.answers[0].start - 2): ex.answers[0].start + 4]
                 for ex in examples[::2]}
    predictions.write_qa_predictions(tmp_path / "dev-zh.json", predicted)
    scores = score_file("mlqa", "zh", gold_path, tmp_path / "dev-zh.json")
    assert scores == pytest.approx(mlqa_metrics(answers, predicted, "zh"))
    assert 0 < scores["exact_match"] < scores["f1"] < 50  # half the questions are unanswered


def test_xquad_wrong_language_predictions_are_refused(shared_data, tmp_path):
    predictions.write_qa_predictions(tmp_path / "p.json", {"not-a-question": "x"})
    with pytest.raises(DataFormatError, match=r"p.json: none of its 1 question ids"):
        score_file("xquad", "de", shared_data / "xquad/xquad.de.json", tmp_path / "p.json")


def test_tydiqa_dev_with_blanked_answers_is_refused(shared_data, tmp_path):
    predictions.write_qa_predictions(tmp_path / "p.json", {"x": ""})
    with pytest.raises(DataFormatError, match=r"tydiqa.goldp.sw.dev.json: every gold answer text is empty"):
        score_file("tydiqa", "sw", shared_data / "tydiqa/tydiqa.goldp.sw.dev.json", tmp_path / "p.json")


# ---------------------------------------------------------------- retrieval


def test_bucc_gold_as_label_file_or_data_file(shared_data, tmp_path):
    gold = [tuple(line.split("\t")) for line in
            (shared_data / "bucc2018/zh-en.dev.gold").read_text(encoding="utf-8").split("\n") if line]
    predicted = gold[:200] + [("zh-000000001", "en-000000001")] * 3 + [("zh-000000002", "en-000000007")]
    predictions.write_id_pairs(tmp_path / "dev-zh.tsv", predicted)
    from_label_file = score_file("bucc2018", "zh", shared_data / "bucc2018/zh-en.dev.gold", tmp_path / "dev-zh.tsv")
    from_data_file = score_file("bucc2018", "zh", shared_data / "bucc2018/zh-en.dev.zh", tmp_path / "dev-zh.tsv")
    precision, recall = 200 / 202, 200 / len(gold)  # duplicates count once
    expected = {"precision": 100 * precision, "recall": 100 * recall,
                "f1": 100 * 2 * precision * recall / (precision + recall)}
    assert from_label_file == pytest.approx(expected)
    assert from_data_file == pytest.approx(expected)


def test_tatoeba_gold_as_label_file_or_data_file(shared_data, tmp_path):
    predicted = list(range(1000))
    predicted[10:60] = [0] * 50
    predictions.write_indices(tmp_path / "test-de.tsv", predicted)
    predictions.write_indices(tmp_path / "gold-de.tsv", range(1000))
    for gold in (tmp_path / "gold-de.tsv", shared_data / "tatoeba/tatoeba.deu-eng.deu"):
        assert score_file("tatoeba", "de", gold, tmp_path / "test-de.tsv") == pytest.approx({"accuracy": 95.0})
    predictions.write_indices(tmp_path / "short.tsv", range(999))
    with pytest.raises(DataFormatError, match=r"short.tsv:1000: expected 1000 indices"):
        score_file("tatoeba", "de", shared_data / "tatoeba/tatoeba.deu-eng.deu", tmp_path / "short.tsv")


def test_missing_gold_file(tmp_path):
    with pytest.raises(MissingDataError, match="gold file not found"):
        score_file("xnli", "de", tmp_path / "absent.tsv", tmp_path / "p.tsv")


# ---------------------------------------------------------------- folders


def test_score_folder(shared_data, tmp_path):
    pred_dir = tmp_path / "predictions"
    for lang in ("de", "en"):
        predictions.write_labels(pred_dir / "xnli" / f"dev-{lang}.tsv", _xnli_predictions(shared_data, lang, 3))
    predictions.write_indices(pred_dir / "tatoeba" / "test-de.tsv", range(1000))
    predictions.write_id_pairs(pred_dir / "bucc2018" / "dev-zh.tsv", [("zh-000000057", "en-000008530")])
    predictions.write_labels(pred_dir / "xnli" / "dev-ro.tsv", ["neutral"])  # not an XNLI language
    predictions.write_labels(pred_dir / "notatask" / "dev-de.tsv", ["x"])

    summary = score_folder(pred_dir, shared_data)

    xnli = summary["tasks"]["xnli"]
    assert xnli["split"] == "dev"
    for lang in ("de", "en"):
        assert xnli["languages"][lang] == pytest.approx(
            score_file("xnli", lang, shared_data / f"xnli/dev-{lang}.tsv", pred_dir / "xnli" / f"dev-{lang}.tsv"))
    assert xnli["score"] == pytest.approx((xnli["languages"]["de"]["accuracy"]
                                           + xnli["languages"]["en"]["accuracy"]) / 2)
    assert len(xnli["missing_languages"]) == 13
    assert summary["tasks"]["tatoeba"]["languages"] == {"de": {"accuracy": 100.0}}
    bucc = summary["tasks"]["bucc2018"]  # one correct pair of the 257 gold pairs
    assert bucc["languages"]["zh"] == pytest.approx({"precision": 100.0, "recall": 100 / 257,
                                                     "f1": 100 * 2 / 258})
    assert bucc["missing_languages"] == ["de", "fr", "ru"]
    assert summary["groups"] == {"classification": None, "structured_prediction": None,
                                 "question_answering": None, "retrieval": None}
    assert summary["xtreme_score"] is None
    assert sorted(path.rsplit("/", 1)[-1] for path in summary["ignored_files"]) == ["dev-ro.tsv", "notatask"]


def test_score_folder_needs_one_split_per_task(shared_data, tmp_path):
    predictions.write_labels(tmp_path / "xnli" / "dev-de.tsv", ["neutral"])
    predictions.write_labels(tmp_path / "xnli" / "test-en.tsv", ["neutral"])
    with pytest.raises(ConfigError, match="several splits"):
        score_folder(tmp_path, shared_data)
