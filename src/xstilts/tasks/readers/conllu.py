"""Universal Dependencies CoNLL-U files, read as (syntactic word, UPOS) sentences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import numbered_lines, reader
from xstilts.tasks.types import TaggingExample

_COLUMNS = 10  # ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC


ZERO_WIDTH_NON_JOINER = "\u200c"


def xtreme_word(form: str) -> str:
    """XTREME's utils_preprocess.py (udpos): zero-width non-joiners removed, then the spaces
    inside a word (Vietnamese, Persian treebanks have words with spaces)."""
    return "".join(form.replace(ZERO_WIDTH_NON_JOINER, "").split(" "))


def withheld_text(words: Sequence[str]) -> bool:
    """XTREME drops a sentence whose words are (all, or all but one) "_": treebanks that ship
    without their text. It keeps sentences with no "_" or fewer than len - 1 of them."""
    empty = sum(word == "_" for word in words)
    return not (empty == 0 or empty < len(words) - 1)


@reader(labels=True)
def conllu(path: Path, lang: str, *, labels: Sequence[str] | None = None,
           xtreme_preprocess: bool = True) -> list[TaggingExample]:
    """One example per sentence: the FORM and UPOS of every syntactic word.

    Multi-word token ranges (``1-2``) and empty nodes (``1.1``) carry no UPOS of their own and
    are skipped, as XTREME does; comment lines are skipped. With ``xtreme_preprocess`` (default)
    the raw treebank gets XTREME's preprocessing: ``xtreme_word`` on every form and sentences
    with withheld text dropped.
    """
    known = frozenset(labels) if labels is not None else None
    examples: list[TaggingExample] = []
    words: list[str] = []
    tags: list[str] = []

    def close_sentence() -> None:
        if words and xtreme_preprocess and withheld_text(words):
            words.clear()
            tags.clear()
        if words:
            examples.append(TaggingExample(guid=f"{path.stem}-{len(examples)}", words=tuple(words), tags=tuple(tags)))
            words.clear()
            tags.clear()

    for number, line in numbered_lines(path):
        if not line.strip():
            close_sentence()
            continue
        if line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != _COLUMNS:
            raise DataFormatError(path, number, f"expected {_COLUMNS} tab-separated CoNLL-U columns, "
                                                f"found {len(cells)}")
        token_id = cells[0]
        if "-" in token_id or "." in token_id:
            continue
        if not token_id.isdigit():
            raise DataFormatError(path, number, f"expected a word index in column 1, found {token_id!r}")
        upos = cells[3]
        if known is not None and upos not in known:
            raise DataFormatError(path, number, f"unknown UPOS tag {upos!r}; expected one of {' '.join(labels)}")
        words.append(xtreme_word(cells[1]) if xtreme_preprocess else cells[1])
        tags.append(upos)
    close_sentence()
    return examples
