"""Prediction-file readers and writers (XTREME's prediction formats)."""

from __future__ import annotations

import pytest

from xstilts.errors import DataFormatError, MissingDataError
from xstilts.metrics import predictions as p


def _write(tmp_path, text: str, name: str = "pred.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trips(tmp_path):
    p.write_labels(tmp_path / "labels.tsv", ["entailment", "neutral"])
    assert p.read_labels(tmp_path / "labels.tsv") == ["entailment", "neutral"]
    p.write_tag_sentences(tmp_path / "tags.tsv", [["B-PER", "I-PER"], ["O"]])
    assert (tmp_path / "tags.tsv").read_text() == "B-PER\nI-PER\n\nO\n"
    assert p.read_tag_sentences(tmp_path / "tags.tsv") == [["B-PER", "I-PER"], ["O"]]
    p.write_qa_predictions(tmp_path / "qa.json", {"q1": "北京", "q2": ""})
    assert p.read_qa_predictions(tmp_path / "qa.json") == {"q1": "北京", "q2": ""}
    p.write_id_pairs(tmp_path / "pairs.tsv", [("zh-1", "en-2")])
    assert p.read_id_pairs(tmp_path / "pairs.tsv") == [("zh-1", "en-2")]
    p.write_indices(tmp_path / "idx.tsv", [3, 0])
    assert p.read_indices(tmp_path / "idx.tsv") == [3, 0]
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []


def test_writer_replaces_existing_file_and_refuses_unwritable_values(tmp_path):
    path = tmp_path / "sub" / "labels.tsv"
    p.write_labels(path, ["a", "b", "c"])
    p.write_labels(path, ["x"])
    assert path.read_text() == "x\n"
    with pytest.raises(ValueError, match="line break"):
        p.write_labels(path, ["a\nb"])
    assert path.read_text() == "x\n"  # the failed write left the old file alone


def test_labels_checked_against_label_set_and_count(tmp_path):
    path = _write(tmp_path, "entailment\nmaybe\n")
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: unknown label 'maybe'"):
        p.read_labels(path, labels=("entailment", "neutral", "contradiction"))
    path = _write(tmp_path, "0\n1\n")
    with pytest.raises(DataFormatError, match=r"pred.tsv:3: expected 3 labels .* file ends after 2"):
        p.read_labels(path, count=3)
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: expected 1 labels .* found more"):
        p.read_labels(path, count=1)
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: expected a label, found a blank line"):
        p.read_labels(_write(tmp_path, "0\n\n1\n"))


def test_tag_sentences_checked_against_gold_shape(tmp_path):
    path = _write(tmp_path, "NOUN\nVERB\n\nNOUN\nPUNCT\nX\n")
    assert p.read_tag_sentences(path, lengths=[2, 3]) == [["NOUN", "VERB"], ["NOUN", "PUNCT", "X"]]
    with pytest.raises(DataFormatError, match=r"pred.tsv:4: sentence 2 has 3 tags, expected 2"):
        p.read_tag_sentences(path, lengths=[2, 2])
    with pytest.raises(DataFormatError, match=r"pred.tsv:4: expected 1 sentences .* found more"):
        p.read_tag_sentences(path, lengths=[2])
    with pytest.raises(DataFormatError, match=r"pred.tsv:7: expected 3 sentences .* file ends after 2"):
        p.read_tag_sentences(path, lengths=[2, 3, 1])
    with pytest.raises(DataFormatError, match=r"pred.tsv:5: unknown label 'PUNKT'"):
        p.read_tag_sentences(_write(tmp_path, "NOUN\nVERB\n\nNOUN\nPUNKT\n"), labels=("NOUN", "VERB", "PUNCT"))


def test_tag_file_layout_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"pred.tsv:3: expected one blank line between sentences"):
        p.read_tag_sentences(_write(tmp_path, "NOUN\n\n\nVERB\n"))
    with pytest.raises(DataFormatError, match=r"pred.tsv:1: expected a tag, found a blank line"):
        p.read_tag_sentences(_write(tmp_path, "\nVERB\n"))
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: expected one tag per line, found 'Haus\\tNOUN'"):
        p.read_tag_sentences(_write(tmp_path, "VERB\nHaus\tNOUN\n"))
    assert p.read_tag_sentences(_write(tmp_path, "VERB\r\n\r\nNOUN\n\n\n")) == [["VERB"], ["NOUN"]]


def test_qa_predictions_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"pred.json:2: invalid JSON"):
        p.read_qa_predictions(_write(tmp_path, '{"q1": "a",\n  "q2" "b"}', "pred.json"))
    with pytest.raises(DataFormatError, match=r"pred.json: expected a JSON object"):
        p.read_qa_predictions(_write(tmp_path, '["a"]', "pred.json"))
    with pytest.raises(DataFormatError, match=r"answer of question 'q1' is a list"):
        p.read_qa_predictions(_write(tmp_path, '{"q1": ["a"]}', "pred.json"))


def test_id_pairs_and_indices_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: expected 'source id<TAB>target id'"):
        p.read_id_pairs(_write(tmp_path, "zh-1\ten-1\nzh-2 en-2\n"))
    with pytest.raises(DataFormatError, match=r"pred.tsv:2: expected a non-negative integer, found '-1'"):
        p.read_indices(_write(tmp_path, "0\n-1\n"))
    with pytest.raises(DataFormatError, match=r"pred.tsv:3: expected 3 indices"):
        p.read_indices(_write(tmp_path, "0\n1\n"), count=3)


def test_missing_or_binary_file(tmp_path):
    with pytest.raises(MissingDataError, match="not found"):
        p.read_labels(tmp_path / "absent.tsv")
    path = tmp_path / "binary.tsv"
    path.write_bytes(b"\xff\xfe\x00label\n")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        p.read_labels(path)
