"""Readers told where each part of an example is: tab-separated column numbers or JSON field names.

Tasks declared in a study file (``xstilts.tasks.declared``) read tagging and multiple-choice
data with these; classification uses ``tsv_classification`` / ``jsonl_classification``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import field, json_lines, numbered_lines, reader, text_field
from xstilts.tasks.types import MultipleChoiceExample, TaggingExample


@reader(labels=True)
def tsv_tagging(path: Path, lang: str, *, tokens: int = 0, tags: int = 1, header: bool = False,
                labels: Sequence[str] | None = None) -> list[TaggingExample]:
    """One token a line (its word in column ``tokens``, its tag in column ``tags``), a blank line
    between sentences. A file whose first token line lacks the tag column is unlabelled."""
    known = frozenset(labels) if labels is not None else None
    examples: list[TaggingExample] = []
    words: list[str] = []
    tag_list: list[str] = []
    tagged: bool | None = None
    lines = numbered_lines(path)
    if header:
        next(lines, None)

    def close_sentence() -> None:
        if words:
            examples.append(TaggingExample(guid=f"{path.stem}-{len(examples)}", words=tuple(words),
                                           tags=tuple(tag_list) if tagged else None))
            words.clear()
            tag_list.clear()

    for number, line in lines:
        if not line.strip():
            close_sentence()
            continue
        cells = line.split("\t")
        if tagged is None:
            tagged = len(cells) > tags
        width = 1 + max(tokens, tags if tagged else tokens)
        if len(cells) < width or not cells[tokens]:
            raise DataFormatError(path, number, f"expected at least {width} tab-separated fields with a token in "
                                                f"column {tokens}, found {len(cells)}")
        words.append(cells[tokens])
        if tagged:
            tag = cells[tags]
            if known is not None and tag not in known:
                raise DataFormatError(path, number, f"unknown tag {tag!r}; expected one of {' '.join(labels)}")
            tag_list.append(tag)
    close_sentence()
    return examples


@reader(labels=True)
def jsonl_tagging(path: Path, lang: str, *, tokens: str = "tokens", tags: str = "tags",
                  labels: Sequence[str] | None = None) -> list[TaggingExample]:
    """One sentence a JSON object: a list of tokens and (absent in unlabelled files) one tag each."""
    known = frozenset(labels) if labels is not None else None
    examples: list[TaggingExample] = []
    for number, row in json_lines(path):
        words = _strings(row, tokens, path, number)
        if not words:
            raise DataFormatError(path, number, f"field {tokens!r} holds no tokens")
        tag_list = _strings(row, tags, path, number) if tags in row else None
        if tag_list is not None:
            if len(tag_list) != len(words):
                raise DataFormatError(path, number, f"expected one tag per token, found {len(words)} tokens and "
                                                    f"{len(tag_list)} tags")
            unknown = [tag for tag in tag_list if known is not None and tag not in known]
            if unknown:
                raise DataFormatError(path, number, f"unknown tag {unknown[0]!r}; expected one of {' '.join(labels)}")
        examples.append(TaggingExample(guid=f"{path.stem}-{len(examples)}", words=tuple(words),
                                       tags=tuple(tag_list) if tag_list is not None else None))
    return examples


@reader()
def jsonl_multiple_choice(path: Path, lang: str, *, question: str, choices: str, label: str,
                          context: str | None = None) -> list[MultipleChoiceExample]:
    """One question a JSON object: its text, a list of choice texts and the 0-based index of the
    right one (absent or null in unlabelled files); every row has as many choices as the first."""
    examples: list[MultipleChoiceExample] = []
    for number, row in json_lines(path):
        options = _strings(row, choices, path, number)
        examples.append(_choice_example(
            path, number, len(examples), examples, context=text_field(row, context, path, number) if context else "",
            question=text_field(row, question, path, number), choices=options, raw_label=row.get(label)))
    return examples


@reader()
def tsv_multiple_choice(path: Path, lang: str, *, question: int, choices: Sequence[int], label: int,
                        context: int | None = None, header: bool = False) -> list[MultipleChoiceExample]:
    """One question a row: its text, one column per choice and the 0-based index of the right one
    (a file whose first row lacks the label column is unlabelled)."""
    examples: list[MultipleChoiceExample] = []
    lines = numbered_lines(path)
    if header:
        next(lines, None)
    needed = 1 + max(question, *choices, context if context is not None else 0)
    labelled: bool | None = None
    for number, line in lines:
        if not line.strip():
            continue
        cells = line.split("\t")
        if labelled is None:
            labelled = len(cells) > label
        width = max(needed, label + 1) if labelled else needed
        if len(cells) < width:
            raise DataFormatError(path, number, f"expected at least {width} tab-separated fields, found {len(cells)}")
        examples.append(_choice_example(
            path, number, len(examples), examples, context=cells[context] if context is not None else "",
            question=cells[question], choices=[cells[i] for i in choices],
            raw_label=cells[label] if labelled else None))
    return examples


def _choice_example(path: Path, line: int, index: int, before: Sequence[MultipleChoiceExample], *, context: str,
                    question: str, choices: Sequence[str], raw_label: object) -> MultipleChoiceExample:
    if len(choices) < 2:
        raise DataFormatError(path, line, f"expected at least 2 choices, found {len(choices)}")
    if before and len(before[0].choices) != len(choices):
        raise DataFormatError(path, line, f"expected {len(before[0].choices)} choices like the first row, "
                                          f"found {len(choices)}")
    label = None
    if raw_label is not None and raw_label != "":
        text = str(raw_label).strip()
        if isinstance(raw_label, bool) or not text.isdigit() or int(text) >= len(choices):
            raise DataFormatError(path, line, f"expected a label between 0 and {len(choices) - 1} (the right "
                                              f"choice's index), found {raw_label!r}")
        label = int(text)
    return MultipleChoiceExample(guid=f"{path.stem}-{index}", context=context, question=question,
                                 choices=tuple(choices), label=label)


def _strings(row: dict, key: str, path: Path, line: int) -> list[str]:
    value = field(row, key, path, line)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DataFormatError(path, line, f"field {key!r} should be a list of strings")
    return value
