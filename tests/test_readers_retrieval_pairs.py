"""Dual-encoder training pairs built as XTREME-R builds them: SQuAD question -> answer sentence +
paragraph (processors/lareqa.py), Mewsli-X mention -> entity description (utils_mewslix.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.errors import DataFormatError
from xstilts.tasks.readers import mewslix_pairs_jsonl, squad_json, squad_retrieval_json
from xstilts.tasks.readers.retrieval_pairs import wikipedia_sentence_breaks
from xstilts.tasks.types import RetrievalPairExample

PARAGRAPH = "Paris is big.\nThe key is gold here. It was built in 1901.[3] The tower fell in 1950."


def _qa(qid: str, question: str, *answers: tuple[str, int]) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers]}


def _squad(tmp_path: Path) -> Path:
    gold, tower = PARAGRAPH.index("gold"), PARAGRAPH.index("tower")
    qas = [
        _qa("q1", "What is the key?", ("gold", gold)),
        _qa("q2", "Which metal?", ("gold", gold), ("Paris", 0)),  # only the first answer counts
        _qa("q3", "What fell?", ("tower", tower)),
        _qa("q4", "Not found?", ("silver", gold)),  # its text is not at its offset: skipped
        _qa("q1", "Asked twice?", ("Paris", 0)),  # a repeated id becomes q1#2, as squad_json names it
    ]
    path = tmp_path / "train-v1.1.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [
        {"context": PARAGRAPH, "qas": qas}, {"context": "Another one. Here.", "qas": []}]}]}))
    return path


def test_squad_pairs_are_question_to_answer_sentence_then_paragraph(tmp_path):
    pairs = squad_retrieval_json(_squad(tmp_path), "en")
    assert [p.guid for p in pairs] == ["q1", "q2", "q3", "q1#2"]
    flat = PARAGRAPH.replace("\n", "")
    assert pairs[0] == RetrievalPairExample("q1", "What is the key?", "The key is gold here." + flat, "p0_s1")
    assert pairs[1].candidate_id == pairs[0].candidate_id  # one answer sentence, one candidate
    # Wikipedia's citation marks end a sentence: "[3] The tower ..." starts the next one.
    assert pairs[2].candidate == "The tower fell in 1950." + flat and pairs[2].candidate_id == "p0_s3"
    assert pairs[3].candidate == "Paris is big." + flat


def test_the_citation_rule_only_cuts_before_a_new_sentence():
    text = "Built in 1901.[3] The end. Seen in A.[1] and b.[2] more."
    assert [text[s:e] for s, e in wikipedia_sentence_breaks(text)] == [
        "Built in 1901.[3]", "The end.", "Seen in A.[1] and b.[2] more."]


def test_squad_pairs_of_tydiqa_english(shared_data):
    folder = shared_data / "tydiqa"
    train = squad_retrieval_json(folder / "tydiqa.goldp.en.train.json", "en")
    questions = squad_json(folder / "tydiqa.goldp.en.train.json", "en")
    # One answer (" August 18]186") starts on the space between two sentences: skipped.
    assert (len(questions), len(train), len({p.candidate_id for p in train})) == (3696, 3695, 3515)
    by_id = {q.guid: q for q in questions}
    for pair in train[:200]:
        question = by_id[pair.guid]
        assert pair.query == question.question
        assert pair.candidate.endswith(question.context.replace("\n", ""))
        answer = question.answers[0].text
        assert answer in pair.candidate[:len(pair.candidate) - len(question.context.replace("\n", ""))]
    dev = squad_retrieval_json(folder / "tydiqa.goldp.en.dev.json", "en")
    assert len(dev) == 434


def _pair(example_id: str, text: str, mention: str, entity: str, description: str, spans=None) -> dict:
    start = text.index(mention)
    return {"contextual_mention": {
        "context": {"document_title": "d", "document_url": "u", "document_id": "Q0", "language": "en", "text": text,
                    "sentence_spans": spans or [{"start": 0, "end": len(text)}]},
        "mention": {"example_id": example_id, "entity_id": entity,
                    "mention_span": {"start": start, "end": start + len(mention), "text": mention}}},
        "entity": {"entity_id": entity, "title": "t", "description": description, "description_language": "en",
                   "description_url": "u", "sentence_spans": [{"start": 0, "end": 11}, {"start": 12, "end": 25}]}}


def test_mewslix_pairs_mark_the_mention_in_its_sentence(tmp_path):
    text = "Old news. The verdict came back for Smith, who {left} in 2012."
    rows = [_pair("m1", text, "Smith", "Q7", "Smith is A.\nHe was an AG.",
                  spans=[{"start": 0, "end": 9}, {"start": 10, "end": len(text)}])]
    path = tmp_path / "wikipedia_pairs-train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    [pair] = mewslix_pairs_jsonl(path, "en")
    # utils_mewslix.preprocess_mention: one sentence, the mention prepended and set off by braces
    # (f"{left} {{ {mention} }} {right}": a space before the comma too), earlier braces turned into
    # parentheses; preprocess_entity_description: the description's sentences on one line.
    assert pair == RetrievalPairExample(
        "m1", "Smith: The verdict came back for { Smith } , who (left) in 2012.", "Smith is A. He was an AG.", "Q7")


def test_a_malformed_mewslix_pair_is_one_line_naming_file_line_and_field(tmp_path):
    row = _pair("m1", "About Smith.", "Smith", "Q7", "Smith is A. He was an AG.")
    del row["entity"]
    path = tmp_path / "wikipedia_pairs-dev.jsonl"
    path.write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(DataFormatError, match=r"wikipedia_pairs-dev.jsonl:2: expected an object at 'entity'"):
        mewslix_pairs_jsonl(path, "en")
