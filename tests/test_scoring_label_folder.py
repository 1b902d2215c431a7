"""XTREME's ``evaluate.py --label_folder`` layout: label-only gold files for all nine tasks.

Hand-made gold and prediction files; every expected number is worked out by hand from the
official scorer's rules (evaluate.py's read_label/read_tag, seqeval 0.0.12 chunks for POS,
IOB2 spans for NER, SQuAD/MLQA normalisation, BUCC pair F1, Tatoeba index accuracy), the way
xtreme's own evaluate_test.py checks per-task averages over languages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.scoring import score_file, score_folder


def _squad(questions: list[tuple[str, str, list[str]]]) -> str:
    qas = [{"id": qid, "question": "q?", "answers": [{"text": text, "answer_start": -1} for text in answers]}
           for qid, _, answers in questions]
    return json.dumps({"data": [{"title": "t", "paragraphs": [{"context": questions[0][1], "qas": qas}]}]},
                      ensure_ascii=False)


def _lines(values: list[str]) -> str:
    return "\n".join(values) + "\n"


# task -> lang -> (gold text, prediction text); suffix by task family as in XTREME.
CASES: dict[str, dict[str, tuple[str, str]]] = {
    "xnli": {"en": (_lines(["entailment", "neutral", "contradiction"]), _lines(["entailment", "neutral", "neutral"])),
             "de": (_lines(["entailment", "entailment"]), _lines(["contradiction", "entailment"]))},
    "pawsx": {"en": (_lines(["1", "0", "1", "1"]), _lines(["1", "1", "1", "1"])),
              "de": (_lines(["0", "0"]), _lines(["0", "0"]))},
    # Gold spans: PER, LOC | ORG; predicted: PER, ORG | ORG -> 2 of 3 right each way.
    "panx": {"en": (_lines(["B-PER", "I-PER", "O", "B-LOC", "", "O", "B-ORG"]),
                    _lines(["B-PER", "I-PER", "O", "B-ORG", "", "O", "B-ORG"])),
             "de": (_lines(["B-LOC", "O"]), _lines(["B-LOC", "O"]))},
    # seqeval 0.0.12 on bare UPOS: gold chunks PRON, VERB, NOUN; predicted PRON, VERB VERB (one
    # chunk) -> 1 correct, P 1/2, R 1/3, F1 0.4. Second language all right.
    "udpos": {"en": (_lines(["PRON", "VERB", "NOUN"]), _lines(["PRON", "VERB", "VERB"])),
              "de": (_lines(["DET", "NOUN"]), _lines(["DET", "NOUN"]))},
    "bucc2018": {"de": (_lines(["de-1\ten-1", "de-2\ten-2"]), _lines(["de-1\ten-1", "de-2\ten-9"])),
                 "fr": (_lines(["fr-1\ten-1"]), _lines(["fr-1\ten-1"]))},
    "tatoeba": {"de": (_lines(["0", "1", "2", "3"]), _lines(["0", "1", "3", "3"])),
                "fr": (_lines(["5", "6"]), _lines(["5", "6"]))},
    # EM 1/2; F1 (1 + 1/3-recall "paris" vs "in paris france" = 0.5) / 2 = 0.75.
    "xquad": {"en": (_squad([("q1", "ctx", ["the Eiffel Tower"]), ("q2", "ctx", ["in Paris France"])]),
                     json.dumps({"q1": "Eiffel Tower", "q2": "Paris"})),
              "de": (_squad([("q3", "ctx", ["Berlin"])]), json.dumps({"q3": "Berlin"}))},
    # de: "der große Hund" -> "große hund" vs "großer hund": F1 0.5; "Berlin." = "berlin".
    # zh: mixed segmentation, 北京 vs 北京大学: P 1, R 1/2, F1 2/3, EM 0.
    "mlqa": {"de": (_squad([("m1", "ctx", ["der große Hund"]), ("m2", "ctx", ["Berlin."])]),
                    json.dumps({"m1": "großer Hund", "m2": "berlin"}, ensure_ascii=False)),
             "zh": (_squad([("m3", "ctx", ["北京大学"])]), json.dumps({"m3": "北京"}, ensure_ascii=False))},
    "tydiqa": {"en": (_squad([("t1", "ctx", ["an apple"])]), json.dumps({"t1": "Apple"})),
               "fi": (_squad([("t2", "ctx", ["Helsinki"])]), json.dumps({"t2": "Turku"}))},
}

# Per-task averages over the two languages, derived by hand (see the comments above).
EXPECTED = {
    "xnli": {"accuracy": (200 / 3 + 50) / 2},
    "pawsx": {"accuracy": (75 + 100) / 2},
    "panx": {"f1": (200 / 3 + 100) / 2, "precision": (200 / 3 + 100) / 2, "recall": (200 / 3 + 100) / 2},
    "udpos": {"f1": (40 + 100) / 2, "precision": (50 + 100) / 2, "recall": (100 / 3 + 100) / 2},
    "bucc2018": {"f1": (50 + 100) / 2, "precision": (50 + 100) / 2, "recall": (50 + 100) / 2},
    "tatoeba": {"accuracy": (75 + 100) / 2},
    "xquad": {"exact_match": (50 + 100) / 2, "f1": (75 + 100) / 2},
    "mlqa": {"exact_match": (50 + 0) / 2, "f1": (75 + 200 / 3) / 2},
    "tydiqa": {"exact_match": (100 + 0) / 2, "f1": (100 + 0) / 2},
}


def _write(root: Path) -> tuple[Path, Path]:
    labels, preds = root / "labels", root / "predictions"
    for task, by_lang in CASES.items():
        suffix = "json" if task in ("xquad", "mlqa", "tydiqa") else "tsv"
        for folder in (labels / task, preds / task):
            folder.mkdir(parents=True)
        for lang, (gold, pred) in by_lang.items():
            (labels / task / f"test-{lang}.{suffix}").write_text(gold, encoding="utf-8")
            (preds / task / f"test-{lang}.{suffix}").write_text(pred, encoding="utf-8")
    return labels, preds


def test_label_folder_scores_like_xtreme_evaluate(tmp_path):
    labels, preds = _write(tmp_path)
    summary = score_folder(preds, labels, require_all_languages=False)
    assert set(summary["tasks"]) == set(EXPECTED)
    for task, expected in EXPECTED.items():
        average = summary["tasks"][task]["average"]
        for metric, value in expected.items():
            assert average[metric] == pytest.approx(value), (task, metric)


@pytest.mark.parametrize("task,lang,key,value", [
    ("xnli", "de", "accuracy", 50.0),
    ("pawsx", "en", "accuracy", 75.0),
    ("panx", "en", "f1", 200 / 3),
    ("udpos", "en", "f1", 40.0),
])
def test_score_one_label_only_file(tmp_path, task, lang, key, value):
    labels, preds = _write(tmp_path)
    found = score_file(task, lang, labels / task / f"test-{lang}.tsv", preds / task / f"test-{lang}.tsv")
    assert found[key] == pytest.approx(value)
