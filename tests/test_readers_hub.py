"""The hub reader's row conversion on hand-made rows shaped like the Hugging Face datasets."""

from pathlib import Path

import pytest
from datasets import ClassLabel, Features, Sequence, Value

from xstilts.errors import DataFormatError, MissingDataError
from xstilts.tasks.readers.hub import hub_config, load_from_hub, rows_to_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import Answer

WHERE = Path("hub/test/default/validation")


def test_configs_fill_language_placeholders():
    assert hub_config(get_task("udpos"), "de") == "udpos.German"
    assert hub_config(get_task("udpos"), "zh") == "udpos.Chinese"
    assert hub_config(get_task("tatoeba"), "de") == "tatoeba.deu"
    assert hub_config(get_task("panx"), "sw") == "PAN-X.sw"
    assert hub_config(get_task("mlqa"), "hi") == "MLQA.hi.hi"
    assert hub_config(get_task("squad_v1"), "en") is None
    with pytest.raises(MissingDataError, match="no UD-POS config for 'sw'"):
        hub_config(get_task("udpos"), "sw")


def test_nli_rows_use_classlabel_names_and_drop_unlabelled():
    features = Features({"premise": Value("string"), "hypothesis": Value("string"),
                         "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})
    rows = [{"premise": "P", "hypothesis": "H", "label": 2}, {"premise": "P", "hypothesis": "H", "label": -1}]
    examples = rows_to_examples(get_task("snli"), "en", "dev", rows, WHERE, features)
    assert [(ex.text_a, ex.text_b, ex.label) for ex in examples] == [("P", "H", "contradiction")]
    test = rows_to_examples(get_task("snli"), "en", "test", rows, WHERE, features)
    assert [ex.label for ex in test] == ["contradiction", None]


def test_glue_label_names_outside_the_task_set_index_task_labels():
    features = Features({"question1": Value("string"), "question2": Value("string"),
                         "label": ClassLabel(names=["not_duplicate", "duplicate"]), "idx": Value("int32")})
    rows = [{"question1": "a", "question2": "b", "label": 1, "idx": 5}]
    (example,) = rows_to_examples(get_task("qqp"), "en", "dev", rows, WHERE, features)
    assert (example.guid, example.label) == ("5", "1")


def test_tagging_rows_read_tag_names():
    features = Features({"tokens": Sequence(Value("string")),
                         "ner_tags": Sequence(ClassLabel(names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG",
                                                                "B-LOC", "I-LOC"]))})
    rows = [{"tokens": ["Angela", "Merkel", "spricht"], "ner_tags": [1, 2, 0]}]
    (sentence,) = rows_to_examples(get_task("panx"), "de", "dev", rows, WHERE, features)
    assert sentence.words == ("Angela", "Merkel", "spricht") and sentence.tags == ("B-PER", "I-PER", "O")
    with pytest.raises(DataFormatError, match="validation:1: expected one tag per token"):
        rows_to_examples(get_task("panx"), "de", "dev", [{"tokens": ["a"], "ner_tags": [0, 0]}], WHERE, features)


def test_qa_rows_and_tydiqa_language_filter():
    rows = [{"id": "english-1", "title": "T", "context": "Paris is in France.", "question": "Where? ",
             "answers": {"text": ["France", "in France"], "answer_start": [12, 9]}},
            {"id": "finnish-1", "title": "T", "context": "C", "question": "Q",
             "answers": {"text": ["C"], "answer_start": [0]}}]
    (english,) = rows_to_examples(get_task("tydiqa"), "en", "dev", rows, WHERE)
    assert english.guid == "english-1" and english.question == "Where?"
    assert english.answers == (Answer("France", 12), Answer("in France", 9))
    assert len(rows_to_examples(get_task("xquad"), "de", "test", rows, WHERE)) == 2


def test_multiple_choice_rows():
    siqa = {"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "3"}
    assert rows_to_examples(get_task("siqa"), "en", "dev", [siqa], WHERE)[0].label == 2
    hella = {"ind": 4, "ctx_a": "A", "ctx_b": "b", "ctx": "A b", "endings": ["1", "2", "3", "4"], "label": ""}
    (example,) = rows_to_examples(get_task("hellaswag"), "en", "test", [hella], WHERE)
    assert (example.guid, example.label, example.choices) == ("4", None, ("b 1", "b 2", "b 3", "b 4"))
    csqa = {"id": "q", "question": "Where?", "question_concept": "x",
            "choices": {"label": ["A", "B"], "text": ["here", "there"]}, "answerKey": "B"}
    assert rows_to_examples(get_task("csqa"), "en", "dev", [csqa], WHERE)[0].label == 1
    copa = {"premise": "P", "choice1": "a", "choice2": "b", "question": "cause", "label": 1, "idx": 9}
    (xcopa,) = rows_to_examples(get_task("xcopa"), "et", "dev", [copa], WHERE)
    assert (xcopa.question, xcopa.label, xcopa.guid) == ("What was the cause?", 1, "validation-9")


def test_tatoeba_rows_are_one_aligned_set():
    rows = [{"source_sentence": "Hallo\n", "target_sentence": "Hello\n", "source_lang": "deu", "target_lang": "eng"},
            {"source_sentence": "Ja\n", "target_sentence": "Yes\n", "source_lang": "deu", "target_lang": "eng"}]
    (pairs,) = rows_to_examples(get_task("tatoeba"), "de", "test", rows, WHERE)
    assert [p.text for p in pairs.source] == ["Hallo", "Ja"] and pairs.gold == (("0", "0"), ("1", "1"))


def test_bucc_hub_copy_is_refused():
    with pytest.raises(MissingDataError, match="only the gold pairs"):
        load_from_hub(get_task("bucc2018"), "de", "test")
