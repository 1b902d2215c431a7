"""Sentence retrieval sets: Tatoeba (line-aligned LASER files) and BUCC 2018 (id-keyed corpora + gold)."""

from __future__ import annotations

from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import numbered_lines, reader
from xstilts.tasks.types import RetrievalSet, SentencePair


@reader(companions=True)
def tatoeba(path: Path, lang: str) -> list[RetrievalSet]:
    """``tatoeba.LLL-eng.LLL`` and its ``.eng`` twin: line i of one is the translation of line i of the other."""
    english_path = path.with_suffix(".eng")
    if not english_path.is_file():
        raise DataFormatError(path, None, f"expected the English side next to it at {english_path.name}")
    source = [line.strip() for _, line in numbered_lines(path)]
    target = [line.strip() for _, line in numbered_lines(english_path)]
    if len(source) != len(target):
        raise DataFormatError(english_path, None, f"expected {len(source)} lines like {path.name}, "
                                                  f"found {len(target)}")
    source_lang = lang
    ids = [str(i) for i in range(len(source))]
    return [RetrievalSet(
        guid=f"tatoeba-{source_lang}",
        source_lang=source_lang,
        target_lang="en",
        source=tuple(SentencePair(i, text) for i, text in zip(ids, source)),
        target=tuple(SentencePair(i, text) for i, text in zip(ids, target)),
        gold=tuple((i, i) for i in ids),
    )]


@reader(companions=True)
def bucc(path: Path, lang: str) -> list[RetrievalSet]:
    """``LANG-en.SPLIT.LANG`` with ``.en`` and (except for test) ``.gold`` next to it."""
    english_path = path.with_suffix(".en")
    gold_path = path.with_suffix(".gold")
    if not english_path.is_file():
        raise DataFormatError(path, None, f"expected the English corpus next to it at {english_path.name}")
    source = _id_sentences(path)
    target = _id_sentences(english_path)
    gold = _gold_pairs(gold_path, {s.id for s in source}, {t.id for t in target}) if gold_path.is_file() else ()
    source_lang = lang
    return [RetrievalSet(
        guid=f"bucc2018-{source_lang}-{path.name.split('.')[-2]}",
        source_lang=source_lang,
        target_lang="en",
        source=tuple(source),
        target=tuple(target),
        gold=gold,
    )]


def _id_sentences(path: Path) -> list[SentencePair]:
    pairs: list[SentencePair] = []
    seen: set[str] = set()
    for number, line in numbered_lines(path):
        cells = line.split("\t")
        if len(cells) != 2 or not cells[0]:
            raise DataFormatError(path, number, f"expected id<TAB>sentence, found {len(cells)} tab-separated fields")
        if cells[0] in seen:
            raise DataFormatError(path, number, f"duplicate sentence id {cells[0]!r}")
        seen.add(cells[0])
        pairs.append(SentencePair(cells[0], cells[1].strip()))
    return pairs


def _gold_pairs(path: Path, source_ids: set[str], target_ids: set[str]) -> tuple[tuple[str, str], ...]:
    gold: list[tuple[str, str]] = []
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise DataFormatError(path, number, f"expected source-id<TAB>english-id, found {len(cells)} fields")
        if cells[0] not in source_ids or cells[1] not in target_ids:
            missing = cells[0] if cells[0] not in source_ids else cells[1]
            raise DataFormatError(path, number, f"gold id {missing!r} is not in the sentence files")
        gold.append((cells[0], cells[1]))
    return tuple(gold)
