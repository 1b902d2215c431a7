"""Readers turn one data file into raw examples (``xstilts.tasks.types``).

A reader is called as ``reader(path, lang, **layout.options)``; classification and tagging
readers also take ``labels`` (the task's label set) and reject anything outside it. Every
malformed line raises ``DataFormatError`` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Callable

from xstilts.errors import ConfigError
from xstilts.tasks.readers.columns import jsonl_multiple_choice, jsonl_tagging, tsv_multiple_choice, tsv_tagging
from xstilts.tasks.readers.conll import conll_tagging, token_tag_lines
from xstilts.tasks.readers.conllu import conllu
from xstilts.tasks.readers.jsonl import jsonl_classification
from xstilts.tasks.readers.lareqa import lareqa_xquad, mewslix_jsonl
from xstilts.tasks.readers.multiple_choice import (
    cosmosqa_csv,
    cosmosqa_jsonl,
    csqa_jsonl,
    hellaswag_jsonl,
    siqa_jsonl,
    xcopa_jsonl,
)
from xstilts.tasks.readers.retrieval import bucc, tatoeba
from xstilts.tasks.readers.squad import squad_json
from xstilts.tasks.readers.text import text_lines
from xstilts.tasks.readers.tsv import tsv_classification

READERS: dict[str, Callable] = {
    reader.__name__: reader
    for reader in (
        tsv_classification, jsonl_classification, conll_tagging, token_tag_lines, conllu, squad_json,
        hellaswag_jsonl, cosmosqa_csv, cosmosqa_jsonl, csqa_jsonl, siqa_jsonl, xcopa_jsonl, bucc, tatoeba,
        text_lines, lareqa_xquad, mewslix_jsonl, tsv_tagging, jsonl_tagging, tsv_multiple_choice,
        jsonl_multiple_choice,
    )
}
# Readers that check labels against the task's label set.
LABELLED_READERS = frozenset({"tsv_classification", "jsonl_classification", "conll_tagging", "token_tag_lines",
                              "conllu", "tsv_tagging", "jsonl_tagging"})


def get_reader(name: str) -> Callable:
    if name not in READERS:
        raise ConfigError(f"no reader named {name!r}; readers: {', '.join(sorted(READERS))}")
    return READERS[name]


__all__ = ["READERS", "LABELLED_READERS", "get_reader", *READERS]
