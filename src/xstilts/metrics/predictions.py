"""Prediction files in XTREME's formats: readers that check them line by line, and writers.

Formats (one file per task and language, UTF-8):

* labels (XNLI, PAWS-X): one label per line, in gold order;
* tags (UD-POS, PAN-X): one tag per word per line, ONE blank line between sentences;
* answers (XQuAD, MLQA, TyDiQA): a JSON object ``{question id: answer text}``;
* id pairs (BUCC): ``source id<TAB>target id`` per line;
* indices (Tatoeba): one non-negative integer per line (the retrieved sentence's line index);
* rankings (LAReQA, Mewsli-X): a JSON object ``{query id: [retrieved ids, best first]}``.

Readers strip surrounding whitespace of each line, as xtreme's evaluate.py does, and raise
``DataFormatError`` (file, line, what was expected) on anything else; given the gold ``labels``
and shape (``count`` / ``lengths``) they also check the predictions fit the gold file.
Writers replace the file atomically (``xstilts.files``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from xstilts.errors import DataFormatError, MissingDataError, decode_error
from xstilts.files import write_text_atomic

Pair = tuple[str, str]


# ---------------------------------------------------------------- reading


def _read_lines(path: Path) -> list[str]:
    """The file's lines without line ends (a final newline does not add an empty line)."""
    if not path.is_file():
        raise MissingDataError(f"{path}: prediction file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise decode_error(path, error) from None
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _check_label(path: Path, line: int, value: str, labels: Collection[str] | None) -> None:
    if labels is not None and value not in labels:
        raise DataFormatError(path, line, f"unknown label {value!r}; expected one of {' '.join(labels)}")


def read_labels(path: Path, labels: Collection[str] | None = None, count: int | None = None) -> list[str]:
    """One label per line; ``labels`` is the allowed set, ``count`` the number of gold examples."""
    values: list[str] = []
    for line_number, line in enumerate(_read_lines(path), start=1):
        value = line.strip()
        if not value:
            raise DataFormatError(path, line_number, "expected a label, found a blank line")
        if count is not None and len(values) == count:
            raise DataFormatError(path, line_number, f"expected {count} labels (one per gold example), found more")
        _check_label(path, line_number, value, labels)
        values.append(value)
    if count is not None and len(values) != count:
        raise DataFormatError(path, len(values) + 1,
                              f"expected {count} labels (one per gold example), file ends after {len(values)}")
    return values


def _split_sentences(path: Path, lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, tags) of each sentence; exactly one blank line between sentences
    (blank lines at the end of the file are fine)."""
    sentences: list[tuple[int, list[str]]] = []
    for line_number, line in enumerate(lines, start=1):
        value = line.strip()
        if not value:
            continue
        if len(value.split()) != 1:
            raise DataFormatError(path, line_number, f"expected one tag per line, found {value!r}")
        end = sentences[-1][0] + len(sentences[-1][1]) if sentences else None  # line after the last sentence
        if line_number == end:
            sentences[-1][1].append(value)
            continue
        if end is None and line_number > 1:
            raise DataFormatError(path, 1, "expected a tag, found a blank line before the first sentence")
        if end is not None and line_number > end + 1:
            raise DataFormatError(path, end + 1, "expected one blank line between sentences, found more")
        sentences.append((line_number, [value]))
    return sentences


def read_tag_sentences(path: Path, labels: Collection[str] | None = None,
                       lengths: Sequence[int] | None = None) -> list[list[str]]:
    """One tag per word per line, sentences separated by one blank line.

    ``labels`` is the allowed tag set and ``lengths`` the number of words of each gold sentence.
    """
    lines = _read_lines(path)
    sentences = _split_sentences(path, lines)
    for index, (first_line, tags) in enumerate(sentences):
        for offset, tag in enumerate(tags):
            _check_label(path, first_line + offset, tag, labels)
        if lengths is None:
            continue
        if index == len(lengths):
            raise DataFormatError(path, first_line, f"expected {len(lengths)} sentences (as in the gold file), "
                                                    "found more")
        if len(tags) != lengths[index]:
            raise DataFormatError(path, first_line, f"sentence {index + 1} has {len(tags)} tags, expected "
                                                    f"{lengths[index]} (one per gold word)")
    if lengths is not None and len(sentences) != len(lengths):
        raise DataFormatError(path, len(lines) + 1, f"expected {len(lengths)} sentences (as in the gold file), "
                                                    f"file ends after {len(sentences)}")
    return [tags for _, tags in sentences]


def _read_json_object(path: Path, shape: str) -> dict:
    """The file's one JSON object (``shape`` says what it should map, for the error line)."""
    try:
        data = json.loads("\n".join(_read_lines(path)))
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"invalid JSON ({error.msg}); expected {shape}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, None, f"expected a JSON object {shape}, found a {type(data).__name__}")
    return data


def read_qa_predictions(path: Path) -> dict[str, str]:
    """A JSON object mapping question ids to answer texts."""
    data = _read_json_object(path, "{question id: answer text}")
    for question_id, answer in data.items():
        if not isinstance(answer, str):
            raise DataFormatError(path, None, f"answer of question {question_id!r} is a "
                                              f"{type(answer).__name__}, expected a string")
    return data


def read_rankings(path: Path) -> dict[str, list[str]]:
    """A JSON object mapping each query id to its retrieved ids, best first (Mewsli-X's and
    LAReQA's predictions, XTREME-R's ``test-LANG.json``)."""
    data = _read_json_object(path, "{query id: [retrieved ids, best first]}")
    for query_id, ranked in data.items():
        if not isinstance(ranked, list) or not all(isinstance(item, str) for item in ranked):
            raise DataFormatError(path, None, f"query {query_id!r}: expected a list of id strings, "
                                              f"found {type(ranked).__name__}")
    return data


def read_id_pairs(path: Path) -> list[Pair]:
    """``source id<TAB>target id`` per line (BUCC predictions and gold)."""
    pairs: list[Pair] = []
    for line_number, line in enumerate(_read_lines(path), start=1):
        fields = [field.strip() for field in line.strip().split("\t")]
        if len(fields) != 2 or not all(fields):
            raise DataFormatError(path, line_number, f"expected 'source id<TAB>target id', found {line!r}")
        pairs.append((fields[0], fields[1]))
    return pairs


def read_indices(path: Path, count: int | None = None) -> list[int]:
    """One non-negative integer per line (Tatoeba predictions and gold); ``count`` lines if given."""
    indices: list[int] = []
    for line_number, line in enumerate(_read_lines(path), start=1):
        value = line.strip()
        if not value.isdigit():
            raise DataFormatError(path, line_number, f"expected a non-negative integer, found {value!r}")
        if count is not None and len(indices) == count:
            raise DataFormatError(path, line_number, f"expected {count} indices (one per gold line), found more")
        indices.append(int(value))
    if count is not None and len(indices) != count:
        raise DataFormatError(path, len(indices) + 1,
                              f"expected {count} indices (one per gold line), file ends after {len(indices)}")
    return indices


# ---------------------------------------------------------------- writing


def _checked_field(value: str, what: str) -> str:
    # A field with a line break, tab or no text would not read back as the same value.
    if not value.strip() or value != value.strip() or any(ch in value for ch in "\t\r\n"):
        raise ValueError(f"{what} {value!r} cannot be written: empty, padded, or contains a tab or line break")
    return value


def _lines(values: Iterable[str]) -> str:
    return "".join(f"{value}\n" for value in values)


def write_labels(path: Path, labels: Iterable[str]) -> None:
    write_text_atomic(path, _lines(_checked_field(label, "label") for label in labels))


def write_tag_sentences(path: Path, sentences: Iterable[Sequence[str]]) -> None:
    blocks = [_lines(_checked_field(tag, "tag") for tag in tags) for tags in sentences]
    if any(not block for block in blocks):
        raise ValueError("a sentence without tags cannot be written")
    write_text_atomic(path, "\n".join(blocks))


def write_qa_predictions(path: Path, answers: Mapping[str, str]) -> None:
    if not all(isinstance(answer, str) for answer in answers.values()):
        raise ValueError("QA predictions must map question ids to answer strings")
    write_text_atomic(path, json.dumps(dict(answers), ensure_ascii=False, indent=0) + "\n")


def write_rankings(path: Path, rankings: Mapping[str, Sequence[str]]) -> None:
    write_text_atomic(path, json.dumps({query: list(ranked) for query, ranked in rankings.items()},
                                       ensure_ascii=False, indent=0) + "\n")


def write_id_pairs(path: Path, pairs: Iterable[Pair]) -> None:
    write_text_atomic(path, _lines(f"{_checked_field(source, 'id')}\t{_checked_field(target, 'id')}"
                               for source, target in pairs))


def write_indices(path: Path, indices: Iterable[int]) -> None:
    checked = [int(index) for index in indices]
    if any(index < 0 for index in checked):
        raise ValueError("Tatoeba indices must be non-negative")
    write_text_atomic(path, _lines(str(index) for index in checked))
