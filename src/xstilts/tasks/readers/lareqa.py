"""Retrieval pools of XTREME-R: LAReQA (XQuAD-R) and Mewsli-X, read as one ``RetrievalSet`` per
query language (queries of that language against the whole pool; gold: every correct pool item).

LAReQA (Roy et al. 2020) turns XQuAD into answer-sentence retrieval: every sentence of every
paragraph of the 11 XQuAD-R languages is a candidate; a question's correct answers are the
sentence holding its answer in each of the 11 languages (same question id, 11 gold items). As
google-research/xtreme's utils_lareqa.py: a candidate is one (paragraph, sentence position) of a
language (identical sentences of two paragraphs stay two candidates); it is encoded as its
sentence followed directly by its paragraph, newlines removed; a question whose answer starts in
no sentence is skipped. XQuAD-R's files (``lareqa/xquad-r/LANG.json``) carry the sentence breaks
as ``sentence_breaks``; plain XQuAD files (``xquad/xquad.LANG.json``) do not, and then
``sentence_breaks`` below splits the paragraphs (a rule-based splitter: a deviation from the
released breaks, see docs/reference.md).

Mewsli-X (Botha et al. 2020, as XTREME-R ships it): entity-mention queries of one language against
one candidate set of English-Wikipedia entity descriptions; a query is the mention, a colon, then
its sentence with the mention between braces (utils_mewslix.preprocess_mention); a candidate is
its description's sentences joined by spaces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from xstilts.errors import DataFormatError, MissingDataError, decode_error
from xstilts.tasks.readers.common import json_lines, reader
from xstilts.tasks.types import RetrievalSet, SentencePair

# Sentence-final punctuation (Latin, CJK full-width, Devanagari danda, Arabic and Urdu question
# mark and full stop), with closing quotes and brackets after it.
_END = r"[.!?\u3002\uff01\uff1f\u0964\u0965\u061f\u06d4]+[\"'\u201d\u2019\u00bb)\]]*"
# A sentence ends at such punctuation followed by white space and then not a lower-case Latin
# letter ("(third?) ends" goes on), or after CJK punctuation directly.
_BREAK = re.compile(rf"({_END})(?=\s+(?![a-z]))|([\u3002\uff01\uff1f]+)")
POOL_PLACEHOLDER = "LANG"


def sentence_breaks(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of ``text``, white space between them left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BREAK.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if begin < end:
            trimmed.append((begin, end))
    return trimmed


def _load_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"invalid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise decode_error(path, error) from None


def _field(node: object, key: str, kind: type, path: Path, where: str):
    if not isinstance(node, dict) or not isinstance(node.get(key), kind):
        raise DataFormatError(path, None, f"{where}: expected a {key!r} field ({kind.__name__})")
    return node[key]


def xquad_pool_language(path: Path, lang: str) -> tuple[list[SentencePair], list[SentencePair], dict[str, list[str]]]:
    """One language of the pool: its questions, its candidates and, per question id, the ids of
    the candidates that hold its answer."""
    document = _load_json(path)
    questions: list[SentencePair] = []
    candidates: list[SentencePair] = []
    answers: dict[str, list[str]] = {}
    paragraph_number = 0
    for a, article in enumerate(_field(document, "data", list, path, "top level")):
        for p, paragraph in enumerate(_field(article, "paragraphs", list, path, f"data[{a}]")):
            paragraph_number += 1
            where = f"data[{a}].paragraphs[{p}]"
            context = _field(paragraph, "context", str, path, where)
            breaks = paragraph.get("sentence_breaks")
            spans = [tuple(span) for span in breaks] if isinstance(breaks, list) else sentence_breaks(context)
            for span in spans:
                if len(span) != 2 or not 0 <= span[0] <= span[1] <= len(context):
                    raise DataFormatError(path, None, f"{where}.sentence_breaks: {list(span)} is not a span of "
                                                      f"its context ({len(context)} characters)")
            context_id = f"{lang}_{paragraph_number}"
            sentences = [context[start:end] for start, end in spans]
            for position, sentence in enumerate(sentences):
                candidates.append(SentencePair(f"{context_id}_{position}", (sentence + context).replace("\n", "")))
            for q, qa in enumerate(_field(paragraph, "qas", list, path, where)):
                question_id = str(_field(qa, "id", str, path, f"{where}.qas[{q}]"))
                answer_list = _field(qa, "answers", list, path, f"{where}.qas[{q}]")
                if not answer_list:
                    raise DataFormatError(path, None, f"{where}.qas[{q}]: LAReQA needs an answer per question")
                start = _field(answer_list[0], "answer_start", int, path, f"{where}.qas[{q}].answers[0]")
                holder = next((i for i, (begin, end) in enumerate(spans) if begin <= start < end), None)
                if holder is None:
                    continue  # the answer starts in no sentence (a sentence-break error): skipped
                if question_id in answers:
                    raise DataFormatError(path, None, f"{where}.qas[{q}]: question id {question_id!r} twice")
                # Every sentence of the paragraph equal to the answer's sentence is a correct answer.
                answers[question_id] = [f"{context_id}_{i}" for i, sentence in enumerate(sentences)
                                        if sentence == sentences[holder]]
                questions.append(SentencePair(question_id, _field(qa, "question", str, path, where).strip()))
    return questions, candidates, answers


@reader(companions=True)
def lareqa_xquad(path: Path, lang: str, *, pool: str, sibling: str) -> list[RetrievalSet]:
    """The questions of ``lang`` (``path``) against the candidates of every ``pool`` language; the
    other languages' files are ``sibling`` with LANG replaced, next to ``path``. A language outside
    the pool (XQuAD's Romanian) asks its questions of the pool without adding to it."""
    languages = pool.split()
    by_language = {}
    for pool_lang in languages:
        file = path if pool_lang == lang else path.parent / sibling.replace(POOL_PLACEHOLDER, pool_lang)
        if not file.is_file():
            raise MissingDataError(f"{file}: LAReQA's pool needs the file of every pool language "
                                   f"({' '.join(languages)})")
        by_language[pool_lang] = xquad_pool_language(file, pool_lang)
    questions = by_language[lang][0] if lang in by_language else xquad_pool_language(path, lang)[0]
    candidates = tuple(candidate for _, pool_candidates, _ in by_language.values() for candidate in pool_candidates)
    gold = tuple((question.id, candidate) for question in questions
                 for _, _, answers in by_language.values() for candidate in answers.get(question.id, ()))
    return [RetrievalSet(f"lareqa-{lang}", lang, "multi", tuple(questions), candidates, gold)]


# ---------------------------------------------------------------- Mewsli-X


def _span(node: object, path: Path, line: int, what: str) -> tuple[int, int]:
    if not isinstance(node, dict) or not isinstance(node.get("start"), int) or not isinstance(node.get("end"), int):
        raise DataFormatError(path, line, f"{what}: expected {{\"start\": int, \"end\": int}}")
    return node["start"], node["end"]


def mewslix_query(text: str, sentences: list[tuple[int, int]], start: int, end: int) -> str:
    """The mention, a colon, and its sentence with the mention set off by braces (existing braces
    in the sentence become parentheses), on one line."""
    begin, finish = next(((b, e) for b, e in sentences if b <= start < e), (0, len(text)))
    left = re.sub(r"\{(.*?)\}", r"(\1)", text[begin:start])
    right = re.sub(r"\{(.*?)\}", r"(\1)", text[end:finish])
    query = f"{text[start:end]}: {left} {{ {text[start:end]} }} {right}"
    return " ".join(query.splitlines()).replace("  ", " ").strip()


@reader(companions=True)
def mewslix_jsonl(path: Path, lang: str, *, entities: str) -> list[RetrievalSet]:
    """``wikinews_mentions/SPLIT-LANG.jsonl`` (contexts with their mentions) against the candidate
    entities ``entities`` (relative to the mentions file's folder's parent)."""
    entity_path = path.parent.parent / entities
    if not entity_path.is_file():
        raise MissingDataError(f"{entity_path}: Mewsli-X's candidate entities are missing "
                               "(run: xstilts data fetch mewslix)")
    candidates = []
    for number, row in json_lines(entity_path):
        entity_id = row.get("entity_id")
        description = row.get("description")
        if not isinstance(entity_id, str) or not isinstance(description, str):
            raise DataFormatError(entity_path, number, "expected 'entity_id' and 'description' strings")
        spans = [_span(span, entity_path, number, "sentence_spans") for span in row.get("sentence_spans") or []]
        text = " ".join(description[b:e] for b, e in spans) if spans else description
        candidates.append(SentencePair(entity_id, " ".join(text.splitlines()).replace("  ", " ").strip()))
    queries, gold = [], []
    for number, row in json_lines(path):
        context = row.get("context")
        if not isinstance(context, dict) or not isinstance(context.get("text"), str):
            raise DataFormatError(path, number, "expected a 'context' object with a 'text' string")
        text = context["text"]
        sentences = [_span(span, path, number, "context.sentence_spans") for span in context.get("sentence_spans") or []]
        for mention in row.get("mentions") or []:
            example_id = mention.get("example_id") if isinstance(mention, dict) else None
            if not isinstance(example_id, str):
                raise DataFormatError(path, number, "a mention without an 'example_id' string")
            start, end = _span(mention.get("mention_span"), path, number, f"mention {example_id} mention_span")
            if not 0 <= start < end <= len(text):
                raise DataFormatError(path, number, f"mention {example_id}: span {start}-{end} is outside its context")
            queries.append(SentencePair(example_id, mewslix_query(text, sentences, start, end)))
            entity = mention.get("entity_id")
            if isinstance(entity, str) and entity:  # XTREME-R's test files have the labels removed
                gold.append((example_id, entity))
    return [RetrievalSet(f"mewslix-{lang}", lang, "en", tuple(queries), tuple(candidates), tuple(gold))]
