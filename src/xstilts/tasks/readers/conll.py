"""Column tagging files: ``token<TAB>tag`` per line (XTREME's UD-POS/PAN-X files) and jiant's CCG lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import numbered_lines, reader
from xstilts.tasks.types import TaggingExample


@reader(labels=True)
def conll_tagging(
    path: Path,
    lang: str,
    *,
    strip_lang_prefix: bool = False,
    labels: Sequence[str] | None = None,
) -> list[TaggingExample]:
    """One sentence per blank-line-separated block.

    Lines are ``token<TAB>tag``, or just ``token`` in XTREME's unlabelled test files (tags None).
    ``strip_lang_prefix`` removes the ``LANG:`` prefix of the original PAN-X release (``en:word``).
    """
    known = frozenset(labels) if labels is not None else None
    prefix = f"{lang}:" if strip_lang_prefix else ""
    examples: list[TaggingExample] = []
    words: list[str] = []
    tags: list[str] = []
    tagged: bool | None = None  # decided by the file's first token line

    def close_sentence() -> None:
        if words:
            examples.append(TaggingExample(
                guid=f"{path.stem}-{len(examples)}", words=tuple(words), tags=tuple(tags) if tagged else None,
            ))
            words.clear()
            tags.clear()

    for number, line in numbered_lines(path):
        if not line.strip():
            close_sentence()
            continue
        cells = line.split("\t")
        if tagged is None:
            tagged = len(cells) == 2
        if len(cells) != (2 if tagged else 1) or not cells[0]:
            expected = "token<TAB>tag" if tagged else "a token with no tag, like the lines before it"
            raise DataFormatError(path, number, f"expected {expected}, found {len(cells)} tab-separated fields")
        word = cells[0]
        if prefix and word.startswith(prefix):
            word = word[len(prefix):]
        words.append(word)
        if tagged:
            tag = cells[1]
            if known is not None and tag not in known:
                raise DataFormatError(path, number, f"unknown tag {tag!r}; expected one of {' '.join(labels)}")
            tags.append(tag)
    close_sentence()  # files often lack the final blank line
    return examples


@reader(labels=True)
def token_tag_lines(path: Path, lang: str, *, labels: Sequence[str] | None = None) -> list[TaggingExample]:
    """jiant's CCG layout: one sentence per line, ``tokens<TAB>tags`` with both space-separated."""
    known = frozenset(labels) if labels is not None else None
    examples: list[TaggingExample] = []
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise DataFormatError(path, number, f"expected tokens<TAB>tags, found {len(cells)} tab-separated fields")
        words, tags = cells[0].split(), cells[1].split()
        if len(words) != len(tags) or not words:
            raise DataFormatError(path, number, f"expected one tag per token, found {len(words)} tokens "
                                                f"and {len(tags)} tags")
        unknown = [tag for tag in tags if known is not None and tag not in known]
        if unknown:
            raise DataFormatError(path, number, f"unknown tag {unknown[0]!r}")
        examples.append(TaggingExample(guid=f"{path.stem}-{len(examples)}", words=tuple(words), tags=tuple(tags)))
    return examples
