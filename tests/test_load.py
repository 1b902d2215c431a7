"""Locating task files under a data directory (alternative layouts) and loading them."""

import json
import os

import pytest

from xstilts.errors import ConfigError, MissingDataError
from xstilts.tasks.load import available, load_examples, locate, read_task_file
from xstilts.tasks.registry import get_task


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_locate_on_shared_data(shared_data):
    layout, files = locate(get_task("xnli"), "de", "dev", shared_data)
    assert layout.pattern == "xnli/{split}-{lang}.tsv" and files == [shared_data / "xnli/dev-de.tsv"]
    _, files = locate(get_task("udpos"), "en", "dev", shared_data)  # every English treebank, sorted
    assert [f.name for f in files] == ["en_ewt-ud-dev.conllu", "en_partut-ud-dev.conllu"]
    _, files = locate(get_task("tatoeba"), "de", "test", shared_data)
    assert [f.name for f in files] == ["tatoeba.deu-eng.deu"]
    _, files = locate(get_task("siqa"), "en", "dev", shared_data)  # a **/ pattern
    assert files == [shared_data / "en-intermediate/siqa/socialIQa_v1.4_dev.jsonl"]
    assert len(load_examples(get_task("udpos"), "en", "dev", shared_data)) == 2001 + 156


def test_original_xnli_release_with_language_column(tmp_path):
    header = "language\tgold_label\tsentence1_binary_parse\tsentence1\tsentence2\tpairID\n"
    write(tmp_path / "XNLI-1.0/xnli.dev.tsv", header + "de\tneutral\t(x)\tEin Hund.\tEin Tier.\t1\n"
                                                      "fr\tneutral\t(x)\tUn chien.\tUn animal.\t1\n"
                                                      "de\tentailment\t(x)\tJa.\tNein.\t2\n")
    layout, _ = locate(get_task("xnli"), "de", "dev", tmp_path)
    assert layout.pattern == "XNLI-1.0/xnli.{split}.tsv"
    german = load_examples(get_task("xnli"), "de", "dev", tmp_path)
    assert [(ex.text_a, ex.label) for ex in german] == [("Ein Hund.", "neutral"), ("Ja.", "entailment")]
    assert [ex.text_a for ex in load_examples(get_task("xnli"), "fr", "dev", tmp_path)] == ["Un chien."]


def test_original_pawsx_release_split_names(tmp_path):
    header = "id\tsentence1\tsentence2\tlabel\n"
    write(tmp_path / "x-final/de/dev_2k.tsv", header + "7\tA\tB\t1\n8\tC\tD\t0\n")
    write(tmp_path / "x-final/de/translated_train.tsv", header + "1\tE\tF\t0\n")
    write(tmp_path / "x-final/en/train.tsv", header + "1\tG\tH\t1\n")
    dev = load_examples(get_task("pawsx"), "de", "dev", tmp_path)
    assert [(ex.guid, ex.label) for ex in dev] == [("7", "1"), ("8", "0")]
    assert load_examples(get_task("pawsx"), "de", "train", tmp_path)[0].text_a == "E"
    assert load_examples(get_task("pawsx"), "en", "train", tmp_path)[0].text_a == "G"


def test_missing_data_lists_the_patterns_tried(tmp_path):
    with pytest.raises(MissingDataError) as error:
        locate(get_task("pawsx"), "de", "test", tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "tried: pawsx/test-de.tsv, pawsx/test-de.labeled.tsv, x-final/de/test_2k.tsv" in message


def test_language_free_layouts_hold_the_training_language_only(tmp_path):
    write(tmp_path / "squad/train-v1.1.json", json.dumps({"data": []}))
    _, files = locate(get_task("xquad"), "en", "train", tmp_path)
    assert files == [tmp_path / "squad/train-v1.1.json"]
    with pytest.raises(MissingDataError):
        locate(get_task("xquad"), "de", "train", tmp_path)


def test_tydiqa_official_train_file_keeps_one_language(tmp_path):
    qas = [{"id": f"{name}-{i}", "question": "Q", "answers": [{"text": "C", "answer_start": 0}]}
           for name in ("english", "finnish") for i in range(2)]
    document = {"data": [{"paragraphs": [{"context": "C", "qas": qas}]}]}
    write(tmp_path / "tydiqa/tydiqa-goldp-v1.1-train.json", json.dumps(document))
    finnish = load_examples(get_task("tydiqa"), "fi", "train", tmp_path)
    assert [ex.guid for ex in finnish] == ["finnish-0", "finnish-1"]
    with pytest.raises(ConfigError, match="cannot tell the language"):
        read_task_file(get_task("tydiqa"), tmp_path / "tydiqa/tydiqa-goldp-v1.1-train.json")
    english = read_task_file(get_task("tydiqa"), tmp_path / "tydiqa/tydiqa-goldp-v1.1-train.json", lang="en")
    assert [ex.guid for ex in english] == ["english-0", "english-1"]


def test_read_task_file_infers_layout_and_language(tmp_path, shared_data):
    panx = write(tmp_path / "panx_dataset/de/dev", "de:Berlin\tB-LOC\nde:ist\tO\n")
    (sentence,) = read_task_file(get_task("panx"), panx)
    assert sentence.words == ("Berlin", "ist")
    assert len(read_task_file(get_task("pawsx"), shared_data / "pawsx/test-zh.labeled.tsv")) == 2000
    assert len(read_task_file(get_task("xquad"), shared_data / "xquad/xquad.ro.json")) == 1190


def test_read_task_file_falls_back_on_the_extension(tmp_path, shared_data):
    conllu = write(tmp_path / "mine.conllu", "1\tHaus\thaus\tNOUN\t_\t_\t0\troot\t_\t_\n")
    assert read_task_file(get_task("udpos"), conllu)[0].tags == ("NOUN",)
    squad = write(tmp_path / "predictions-gold.json", json.dumps({"data": []}))
    assert read_task_file(get_task("mlqa"), squad) == []
    tsv = write(tmp_path / "nli.txt", "a\tb\tcontradictory\n")  # XNLI's first layout, with its label map
    assert read_task_file(get_task("xnli"), tsv)[0].label == "contradiction"


def test_explicit_files_override_layouts(tmp_path, shared_data):
    translated = write(tmp_path / "translated/train-de.tsv", "Ein Hund.\tEin Tier.\tentailment\n")
    examples = load_examples(get_task("xnli"), "de", "train", shared_data, files=[translated])
    assert [(ex.text_a, ex.label) for ex in examples] == [("Ein Hund.", "entailment")]
    tagged = write(tmp_path / "native.tsv", "Haus\tNOUN\n")
    (sentence,) = load_examples(get_task("udpos"), "de", "train", None, files=[tagged], reader="conll_tagging")
    assert sentence.tags == ("NOUN",)


def test_components_concatenate_with_prefixed_guids(tmp_path):
    row = {"uid": "u", "context": "P", "hypothesis": "H", "label": "n"}
    for r in (1, 2, 3):
        write(tmp_path / f"anli_v1.0/R{r}/dev.jsonl", json.dumps(row) + "\n")
    write(tmp_path / "MNLI/dev_matched.tsv", "sentence1\tsentence2\tgold_label\nP\tH\tentailment\n")
    snli = {"sentence1": "P", "sentence2": "H", "gold_label": "-"}
    snli_rows = [snli, {**snli, "gold_label": "neutral"}]
    write(tmp_path / "snli_1.0/snli_1.0_dev.jsonl", "\n".join(json.dumps(r) for r in snli_rows))
    examples = load_examples(get_task("anli+"), "en", "dev", tmp_path)
    assert [ex.guid for ex in examples] == ["anli_r1:u", "anli_r2:u", "anli_r3:u", "mnli:dev_matched-0",
                                            "snli:snli_1.0_dev-0"]
    assert [ex.label for ex in examples] == ["neutral"] * 3 + ["entailment", "neutral"]
    (tmp_path / "MNLI/dev_matched.tsv").unlink()
    with pytest.raises(MissingDataError, match="no mnli dev data"):
        load_examples(get_task("anli_plus"), "en", "dev", tmp_path)


def test_available_lists_languages_and_splits(shared_data):
    found = available(get_task("pawsx"), shared_data)
    assert sorted(found) == sorted([(lang, "dev") for lang in "de en es fr ja ko zh".split()]
                                   + [("de", "test"), ("zh", "test")])
    assert {lang for lang, _ in available(get_task("xquad"), shared_data)} == set(
        "ar de el en es hi ro ru th tr vi zh".split())


def test_edited_files_are_read_again(tmp_path):
    path = write(tmp_path / "xnli/dev-de.tsv", "a\tb\tneutral\n")
    assert len(load_examples(get_task("xnli"), "de", "dev", tmp_path)) == 1
    write(path, "a\tb\tneutral\nc\td\tentailment\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse-grained file systems
    assert len(load_examples(get_task("xnli"), "de", "dev", tmp_path)) == 2
