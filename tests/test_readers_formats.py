"""Readers on small hand-written files: format corners and one-line errors naming file:line."""

import json

import pytest

from xstilts.errors import DataFormatError
from xstilts.tasks.readers import (
    bucc,
    conll_tagging,
    conllu,
    cosmosqa_csv,
    cosmosqa_jsonl,
    csqa_jsonl,
    hellaswag_jsonl,
    jsonl_classification,
    siqa_jsonl,
    squad_json,
    tatoeba,
    token_tag_lines,
    tsv_classification,
    xcopa_jsonl,
)
from xstilts.tasks.catalog.udpos import UPOS_TAGS
from xstilts.tasks.types import Answer

NLI = ("entailment", "neutral", "contradiction")

CONLLU = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\t_\t_\t5\tcase\t_\t_
4\tel\tel\tDET\t_\t_\t5\tdet\t_\t_
5\tmar\tmar\tNOUN\t_\t_\t1\tobl\t_\t_
5.1\tvamos\tir\tVERB\t_\t_\t_\t_\t1:conj\t_
6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# sent_id = 2
1\tSí\tsí\tINTJ\t_\t_\t0\troot\t_\t_
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conllu_skips_multiword_ranges_empty_nodes_and_comments(tmp_path):
    sentences = conllu(write(tmp_path, "es_x-ud-test.conllu", CONLLU), "es", labels=UPOS_TAGS)
    assert [s.words for s in sentences] == [("Vamos", "nos", "a", "el", "mar", "."), ("Sí",)]
    assert sentences[0].tags == ("VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT")
    assert sentences[1].tags == ("INTJ",)


def test_conllu_gets_xtreme_preprocessing(tmp_path):
    """utils_preprocess.py (udpos): ZWNJ stripped, spaces inside a word removed, sentences whose
    words are all (or all but one) "_" dropped; with fewer "_" kept."""
    row = "{i}\t{form}\tx\t{tag}\t_\t_\t0\troot\t_\t_\n"
    text = (row.format(i=1, form="mi\u200cخواهم", tag="VERB") + row.format(i=2, form="Hà Nội", tag="PROPN") + "\n"
            + row.format(i=1, form="_", tag="NOUN") + row.format(i=2, form="_", tag="VERB")
            + row.format(i=3, form="x", tag="PUNCT") + "\n"
            + row.format(i=1, form="_", tag="NOUN") + row.format(i=2, form="a", tag="VERB")
            + row.format(i=3, form="b", tag="PUNCT") + "\n")
    path = write(tmp_path, "fa_x-ud-test.conllu", text)
    sentences = conllu(path, "fa", labels=UPOS_TAGS)
    assert [s.words for s in sentences] == [("miخواهم", "HàNội"), ("_", "a", "b")]
    raw = conllu(path, "fa", labels=UPOS_TAGS, xtreme_preprocess=False)
    assert raw[0].words == ("mi\u200cخواهم", "Hà Nội") and len(raw) == 3


def test_conllu_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, "bad.conllu", CONLLU.replace("4\tel\tel\tDET", "4\tel\tel\tDETERMINER"))
    with pytest.raises(DataFormatError, match=r"bad\.conllu:8: unknown UPOS tag 'DETERMINER'"):
        conllu(path, "es", labels=UPOS_TAGS)
    path = write(tmp_path, "short.conllu", "1\tword\tNOUN\n")
    with pytest.raises(DataFormatError, match=r"short\.conllu:1: expected 10 tab-separated CoNLL-U columns, found 3"):
        conllu(path, "en")


def test_conll_tagging_without_final_blank_and_with_lang_prefix(tmp_path):
    path = write(tmp_path, "dev", "en:Paris\tB-LOC\nen:is\tO\n\n\nen:Bob\tB-PER\nen:en:x\tO")
    sentences = conll_tagging(path, "en", strip_lang_prefix=True)
    assert [s.words for s in sentences] == [("Paris", "is"), ("Bob", "en:x")]
    assert sentences[1].tags == ("B-PER", "O")


def test_conll_tagging_tokens_only_test_file(tmp_path):
    sentences = conll_tagging(write(tmp_path, "test-de.tsv", "Ein\nHaus\n\nJa\n"), "de")
    assert [s.words for s in sentences] == [("Ein", "Haus"), ("Ja",)]
    assert all(s.tags is None for s in sentences)


def test_conll_tagging_malformed_lines(tmp_path):
    path = write(tmp_path, "mixed.tsv", "Ein\tO\nHaus\n")
    with pytest.raises(DataFormatError, match=r"mixed\.tsv:2: expected token<TAB>tag, found 1"):
        conll_tagging(path, "de")
    path = write(tmp_path, "tags.tsv", "Ein\tO\n\nHaus\tB-FOO\n")
    with pytest.raises(DataFormatError, match=r"tags\.tsv:3: unknown tag 'B-FOO'"):
        conll_tagging(path, "de", labels=("O", "B-PER"))


def test_token_tag_lines(tmp_path):
    path = write(tmp_path, "ccg.dev", "The dog barks\tNP/N N S\\NP\n")
    (sentence,) = token_tag_lines(path, "en")
    assert sentence.words == ("The", "dog", "barks") and sentence.tags == ("NP/N", "N", "S\\NP")
    with pytest.raises(DataFormatError, match=r"ccg\.bad:1: expected one tag per token, found 2 tokens and 1 tags"):
        token_tag_lines(write(tmp_path, "ccg.bad", "a b\tN\n"), "en")


def test_tsv_header_columns_filter_and_label_map(tmp_path):
    text = ("language\tgold_label\tsentence1\tsentence2\tpairID\n"
            "de\tentailment\tA\tB\t1\n"
            "fr\tneutral\tC\tD\t1\n"
            "de\tcontradictory\tE\tF\t2\n")
    path = write(tmp_path, "xnli.dev.tsv", text)
    examples = tsv_classification(path, "de", header=True, text_a="sentence1", text_b="sentence2",
                                  label="gold_label", filter_column="language", filter_value="de",
                                  label_map=(("contradictory", "contradiction"),), labels=NLI)
    assert [(ex.text_a, ex.text_b, ex.label) for ex in examples] == [("A", "B", "entailment"),
                                                                      ("E", "F", "contradiction")]
    with pytest.raises(DataFormatError, match=r"xnli\.dev\.tsv:1: header has no column 'premise'"):
        tsv_classification(path, "de", header=True, text_a="premise", text_b="sentence2", label="gold_label")


def test_tsv_errors_and_unlabelled_files(tmp_path):
    path = write(tmp_path, "dev-de.tsv", "a\tb\tneutral\nc\td\tmaybe\n")
    with pytest.raises(DataFormatError, match=r"dev-de\.tsv:2: unknown label 'maybe'; expected one of entailment"):
        tsv_classification(path, "de", labels=NLI)
    path = write(tmp_path, "short.tsv", "a\tb\tneutral\nc\td\n")
    with pytest.raises(DataFormatError, match=r"short\.tsv:2: expected at least 3 tab-separated fields, found 2"):
        tsv_classification(path, "de", labels=NLI)
    unlabelled = tsv_classification(write(tmp_path, "test-de.tsv", "a\tb\nc\td\n"), "de", labels=NLI)
    assert [ex.label for ex in unlabelled] == [None, None]
    single = tsv_classification(write(tmp_path, "sst.tsv", "sentence\tlabel\ngood\t1\n"), "en", header=True,
                                text_a="sentence", text_b=None, label="label", labels=("0", "1"))
    assert (single[0].text_a, single[0].text_b, single[0].label) == ("good", None, "1")


def test_jsonl_classification_skip_and_map(tmp_path):
    rows = [{"uid": "a", "context": "P", "hypothesis": "H", "label": "e"},
            {"uid": "b", "context": "P", "hypothesis": "H", "label": "-"},
            {"uid": "c", "context": "P", "hypothesis": "H", "label": "c"}]
    path = write(tmp_path, "train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    examples = jsonl_classification(path, "en", text_a="context", text_b="hypothesis", label="label", guid="uid",
                                    label_map=(("e", "entailment"), ("c", "contradiction")),
                                    skip_labels=("-",), labels=NLI)
    assert [(ex.guid, ex.label) for ex in examples] == [("a", "entailment"), ("c", "contradiction")]
    broken = write(tmp_path, "broken.jsonl", json.dumps(rows[0]) + "\n{not json\n")
    with pytest.raises(DataFormatError, match=r"broken\.jsonl:2: expected one JSON object per line"):
        jsonl_classification(broken, "en", text_a="context", text_b="hypothesis")
    missing = write(tmp_path, "missing.jsonl", json.dumps({"context": "P"}) + "\n")
    with pytest.raises(DataFormatError, match=r"missing\.jsonl:1: missing field 'hypothesis'"):
        jsonl_classification(missing, "en", text_a="context", text_b="hypothesis")


def squad_document(qas, version="v2.0"):
    paragraph = {"context": "Paris is in France.", "qas": qas}
    return {"version": version, "data": [{"title": "T", "paragraphs": [paragraph]}]}


def test_squad_v2_keeps_all_answers_and_impossible_questions(tmp_path):
    qas = [{"id": "q1", "question": " Where is Paris? ", "is_impossible": False,
            "answers": [{"text": "France", "answer_start": 12}, {"text": "in France", "answer_start": 9}]},
           {"id": "q2", "question": "Where is Rome?", "is_impossible": True, "answers": [],
            "plausible_answers": [{"text": "France", "answer_start": 12}]}]
    path = write(tmp_path, "dev-v2.0.json", json.dumps(squad_document(qas)))
    first, second = squad_json(path, "en")
    assert first.guid == "q1" and first.question == "Where is Paris?" and first.title == "T"
    assert first.answers == (Answer("France", 12), Answer("in France", 9))
    assert second.is_impossible and second.answers == ()


def test_squad_id_prefix_and_errors(tmp_path):
    qas = [{"id": "english-1", "question": "Q", "answers": [{"text": "Paris", "answer_start": 0}]},
           {"id": "finnish-1", "question": "Q", "answers": [{"text": "Paris", "answer_start": 0}]}]
    path = write(tmp_path, "train.json", json.dumps(squad_document(qas)))
    assert [ex.guid for ex in squad_json(path, "en", id_prefix="english")] == ["english-1"]
    bad = write(tmp_path, "bad.json", json.dumps(squad_document([{"id": "x", "answers": []}])))
    with pytest.raises(DataFormatError, match=r"bad\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: expected an object "
                                              r"with a 'question' field"):
        squad_json(bad, "en")
    with pytest.raises(DataFormatError, match=r"trunc\.json:2: invalid JSON"):
        squad_json(write(tmp_path, "trunc.json", '{"data": [\n'), "en")


def test_tatoeba_length_mismatch(tmp_path):
    source = write(tmp_path, "tatoeba.deu-eng.deu", "a\nb\n")
    write(tmp_path, "tatoeba.deu-eng.eng", "a\n")
    with pytest.raises(DataFormatError, match=r"tatoeba\.deu-eng\.eng: expected 2 lines like tatoeba\.deu-eng\.deu"):
        tatoeba(source, "de")


def test_bucc_without_gold_and_with_bad_gold(tmp_path):
    source = write(tmp_path, "de-en.test.de", "de-1\tHallo\nde-2\tWelt\n")
    write(tmp_path, "de-en.test.en", "en-1\tHello\n")
    (corpus,) = bucc(source, "de")
    assert corpus.gold == () and [s.id for s in corpus.source] == ["de-1", "de-2"]
    write(tmp_path, "de-en.test.gold", "de-1\ten-1\nde-2\ten-9\n")
    with pytest.raises(DataFormatError, match=r"de-en\.test\.gold:2: gold id 'en-9' is not in the sentence files"):
        bucc(source, "de")
    broken = write(tmp_path, "fr-en.dev.fr", "fr-1 Bonjour\n")
    write(tmp_path, "fr-en.dev.en", "en-1\tHello\n")
    with pytest.raises(DataFormatError, match=r"fr-en\.dev\.fr:1: expected id<TAB>sentence"):
        bucc(broken, "fr")


def jsonl(tmp_path, name, rows):
    return write(tmp_path, name, "".join(json.dumps(row) + "\n" for row in rows))


def test_siqa_labels_from_inline_letter_or_lst_file(tmp_path):
    row = {"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c"}
    assert siqa_jsonl(jsonl(tmp_path, "v14.jsonl", [{**row, "correct": "B"}]), "en")[0].label == 1
    old = jsonl(tmp_path, "dev.jsonl", [row, row])
    assert [ex.label for ex in siqa_jsonl(old, "en")] == [None, None]  # no labels file: unlabelled
    write(tmp_path, "dev-labels.lst", "3\n1\n")
    assert [ex.label for ex in siqa_jsonl(old, "en")] == [2, 0]
    write(tmp_path, "dev-labels.lst", "3\n")
    with pytest.raises(DataFormatError, match=r"dev-labels\.lst: expected 2 labels"):
        siqa_jsonl(old, "en")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1: answer key 'D' is not one of A B C"):
        siqa_jsonl(jsonl(tmp_path, "bad.jsonl", [{**row, "correct": "D"}]), "en")


def test_csqa_official_nested_layout(tmp_path):
    row = {"id": "x1", "answerKey": "C", "question": {"stem": "Where?", "choices": [
        {"label": "A", "text": "here"}, {"label": "B", "text": "there"}, {"label": "C", "text": "nowhere"}]}}
    (example,) = csqa_jsonl(jsonl(tmp_path, "train_rand_split.jsonl", [row]), "en")
    assert (example.question, example.choices, example.label) == ("Where?", ("here", "there", "nowhere"), 2)
    no_answer = {k: v for k, v in row.items() if k != "answerKey"}
    assert csqa_jsonl(jsonl(tmp_path, "test.jsonl", [no_answer]), "en")[0].label is None


def test_hellaswag_cosmos_and_xcopa(tmp_path):
    hella = {"ind": 7, "ctx_a": "A man sits.", "ctx_b": "he", "ctx": "A man sits. he",
             "endings": ["runs", "sleeps", "eats", "reads"], "label": 3}
    (example,) = hellaswag_jsonl(jsonl(tmp_path, "hellaswag_val.jsonl", [hella]), "en")
    # jiant / HF run_swag: ctx_a is the first segment; ctx_b goes with each ending (second segment).
    assert (example.guid, example.context, example.question, example.label) == ("7", "A man sits.", "", 3)
    assert example.choices == ("he runs", "he sleeps", "he eats", "he reads")
    with pytest.raises(DataFormatError, match=r"h\.jsonl:1: expected a label between 0 and 3, found 4"):
        hellaswag_jsonl(jsonl(tmp_path, "h.jsonl", [{**hella, "label": 4}]), "en")
    cosmos = {"id": "c1", "context": "C", "question": "Q", "answer0": "a", "answer1": "b", "answer2": "c",
              "answer3": "d", "label": "2"}
    assert cosmosqa_jsonl(jsonl(tmp_path, "valid.jsonl", [cosmos]), "en")[0].label == 2
    csv_path = write(tmp_path, "train.csv", 'id,context,question,answer0,answer1,answer2,answer3,label\n'
                                            'c1,"two\nlines",Q,a,b,c,d,1\nc2,C,Q,a,b,c,d,9\n')
    with pytest.raises(DataFormatError, match=r"train\.csv:4: expected a label between 0 and 3, found '9'"):
        cosmosqa_csv(csv_path, "en")
    bad = {"premise": "P", "choice1": "a", "choice2": "b", "question": "why", "label": 0}
    with pytest.raises(DataFormatError, match=r"val-et\.jsonl:1: expected question 'cause' or 'effect'"):
        xcopa_jsonl(jsonl(tmp_path, "val-et.jsonl", [bad]), "et")
