"""Query -> candidate pairs for dual-encoder training, built as XTREME-R builds the training data
of its LAReQA and Mewsli-X models (google-research/xtreme).

SQuAD (``third_party/processors/lareqa.py``, RetrievalSquadProcessor): one pair per question, its
FIRST answer only; the candidate is the paragraph's sentence in which that answer starts,
followed directly by the whole paragraph, newlines removed (``(sentence + paragraph)
.replace("\\n", "")``, the same text LAReQA's pool encodes); a question whose answer starts in no
sentence, or whose answer text cannot be found at its offset (compared with white space
collapsed), is skipped. Questions that share an answer sentence share its ``candidate_id``
(paragraph number and sentence position, as LAReQA numbers its candidates).
DEVIATION: the reference splits paragraphs with its SQuAD-tuned sed-style breaker
(``processors/sb_sed.py``: ~30 rules for abbreviations, initials and Wikipedia citations); here
with the rule-based splitter that builds LAReQA pools from plain XQuAD
(``readers.lareqa.sentence_breaks``) plus one rule for Wikipedia's citation marks (".[3] The"
ends a sentence), so some candidates are cut at other places: of the answer sentences, 5% of
TyDiQA-GoldP English train (201 of 3,696; 30% without the citation rule) and 5% of XQuAD English
(64 of 1,190) differ from sb_sed's, mostly at abbreviations and initials ("Vol. 2", "Albert A.
Michelson") that sb_sed rejoins.

Mewsli-X (``third_party/processors/mewslix.py`` and ``utils_mewslix.py``): the English
Wikipedia ``wikipedia_pairs-{train,dev}.jsonl`` that ``get-mewsli-x.sh`` writes, one
MentionEntityPair per line (``{"contextual_mention": {"context": {"text", "sentence_spans", ...},
"mention": {"example_id", "mention_span": {"start", "end", "text"}, "entity_id"}}, "entity":
{"entity_id", "description", "sentence_spans", ...}}``). The query is ``preprocess_mention``'s:
the mention, a colon, then its sentence with the mention between braces (``readers.lareqa
.mewslix_query``, which the Mewsli-X evaluation uses too); the candidate is
``preprocess_entity_description``'s: the description's sentences joined by spaces, on one line.
"""

from __future__ import annotations

import re
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import json_lines, reader
from xstilts.tasks.readers.lareqa import mewslix_query, sentence_breaks
from xstilts.tasks.readers.squad import squad_json
from xstilts.tasks.types import QAExample, RetrievalPairExample


# A sentence end followed by citation marks (".[3] ", ".[1][2] ", ".[citation needed] ") and a
# next sentence: ``sentence_breaks`` reads the "[" as no sentence start and runs on.
_CITED_END = re.compile(r"[.!?][\"'\u201d)]*(?:\[[^\[\]\n]{1,30}\])+(?=\s+[^\sa-z])")


def wikipedia_sentence_breaks(text: str) -> list[tuple[int, int]]:
    """``sentence_breaks`` with Wikipedia's cited sentence ends cut too ([start, end) spans)."""
    spans = []
    for start, end in sentence_breaks(text):
        for match in _CITED_END.finditer(text, start, end):
            if match.end() < end:
                spans.append((start, match.end()))
                start = match.end()
                while start < end and text[start].isspace():
                    start += 1
        spans.append((start, end))
    return spans


@reader()
def squad_retrieval_json(path: Path, lang: str, *, id_prefix: str | None = None) -> list[RetrievalPairExample]:
    """SQuAD-format JSON -> (question, answer sentence + paragraph) pairs; ``id_prefix`` as
    ``squad_json`` (its question ids, repeats renamed ``id#2``, are the pairs' ids)."""
    pairs: list[RetrievalPairExample] = []
    paragraphs: dict[str, tuple[int, list[tuple[int, int]]]] = {}  # context -> (number, sentence spans)
    for question in squad_json(path, lang, id_prefix=id_prefix):
        if question.context not in paragraphs:
            paragraphs[question.context] = (len(paragraphs), wikipedia_sentence_breaks(question.context))
        number, spans = paragraphs[question.context]
        position = answer_sentence(question, spans)
        if position is None:
            continue
        start, end = spans[position]
        candidate = (question.context[start:end] + question.context).replace("\n", "")
        pairs.append(RetrievalPairExample(question.guid, question.question, candidate, f"p{number}_s{position}"))
    return pairs


def answer_sentence(question: QAExample, spans: list[tuple[int, int]]) -> int | None:
    """The position of the sentence in which the first answer starts, None when the question is
    skipped (no answer, an offset inside no sentence, or text not found at its offset)."""
    if not question.answers or question.answers[0].start < 0:
        return None
    answer = question.answers[0]
    position = next((i for i, (start, end) in enumerate(spans) if start <= answer.start < end), None)
    if position is None or not _found_at_offset(question.context, answer.start, answer.text):
        return None
    return position


def _found_at_offset(context: str, start: int, text: str) -> bool:
    """The reference's check: the whole words covering the answer's characters, joined by single
    spaces, contain the answer with its white space collapsed."""
    end = start + len(text)
    while start > 0 and not context[start - 1].isspace():
        start -= 1
    while end < len(context) and not context[end].isspace():
        end += 1
    return " ".join(text.split()) in " ".join(context[start:end].split())


@reader()
def mewslix_pairs_jsonl(path: Path, lang: str) -> list[RetrievalPairExample]:
    """Mewsli-X ``wikipedia_pairs-SPLIT.jsonl`` -> (mention in its sentence, entity description) pairs."""
    pairs = []
    for number, row in json_lines(path):
        mention = _object(row, "contextual_mention.mention", path, number)
        context = _object(row, "contextual_mention.context", path, number)
        entity = _object(row, "entity", path, number)
        text = _string(context, "text", path, number, "contextual_mention.context")
        start, end = _span(mention.get("mention_span"), path, number, "contextual_mention.mention.mention_span")
        if not 0 <= start < end <= len(text):
            raise DataFormatError(path, number, f"mention span {start}-{end} is outside its context "
                                                f"({len(text)} characters)")
        sentences = [_span(span, path, number, "contextual_mention.context.sentence_spans")
                     for span in context.get("sentence_spans") or []]
        pairs.append(RetrievalPairExample(
            _string(mention, "example_id", path, number, "contextual_mention.mention"),
            mewslix_query(text, sentences, start, end), entity_description(entity, path, number),
            _string(entity, "entity_id", path, number, "entity")))
    return pairs


def entity_description(entity: dict, path: Path, line: int) -> str:
    """The description's sentences joined by spaces, on one line (the whole description when it
    has no sentence spans, as ``readers.lareqa.mewslix_jsonl`` reads the candidate set)."""
    description = _string(entity, "description", path, line, "entity")
    spans = [_span(span, path, line, "entity.sentence_spans") for span in entity.get("sentence_spans") or []]
    text = " ".join(description[b:e] for b, e in spans) if spans else description
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def _object(row: dict, dotted: str, path: Path, line: int) -> dict:
    node: object = row
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise DataFormatError(path, line, f"expected an object at {dotted!r} (a Mewsli-X MentionEntityPair)")
    return node


def _string(node: dict, key: str, path: Path, line: int, where: str) -> str:
    value = node.get(key)
    if not isinstance(value, str):
        raise DataFormatError(path, line, f"{where}.{key}: expected a string, found {type(value).__name__}")
    return value


def _span(node: object, path: Path, line: int, where: str) -> tuple[int, int]:
    if not isinstance(node, dict) or not isinstance(node.get("start"), int) or not isinstance(node.get("end"), int):
        raise DataFormatError(path, line, f"{where}: expected {{\"start\": int, \"end\": int}}")
    return node["start"], node["end"]
