"""Multiple-choice files: HellaSwag, Cosmos QA, CommonsenseQA, Social IQa and XCOPA."""

from __future__ import annotations

import csv
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import choice_index, field, json_lines, numbered_lines, reader, text_field
from xstilts.tasks.types import MultipleChoiceExample

# COPA's question types as the question a model reads beside the premise.
XCOPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


@reader()
def hellaswag_jsonl(path: Path, lang: str) -> list[MultipleChoiceExample]:
    return [hellaswag_example(row, path, number, index)
            for index, (number, row) in enumerate(json_lines(path))]


def hellaswag_example(row: dict, path: Path, line: int, index: int) -> MultipleChoiceExample:
    """Context ``ctx_a``; each choice is ``ctx_b`` (the start of the sentence every ending
    completes) followed by the ending, so it sits in the second segment with the ending, as in
    jiant's HellaSwag task and Hugging Face's ``run_swag``."""
    endings = field(row, "endings", path, line)
    if not isinstance(endings, list) or not all(isinstance(e, str) for e in endings):
        raise DataFormatError(path, line, "expected 'endings' to be a list of strings")
    if "ctx_a" in row:
        context, start = text_field(row, "ctx_a", path, line), str(row.get("ctx_b", "")).strip()
    else:
        context, start = text_field(row, "ctx", path, line), ""
    return MultipleChoiceExample(
        guid=str(row.get("ind", f"{path.stem}-{index}")),
        context=context,
        question="",
        choices=tuple(f"{start} {ending}".strip() for ending in endings),
        label=_index_label(row.get("label"), len(endings), path, line),
    )


@reader()
def cosmosqa_csv(path: Path, lang: str) -> list[MultipleChoiceExample]:
    """The official csv: id, context, question, answer0..answer3, label (absent in test)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "context", "question", "answer0"} - set(reader.fieldnames or ())
        if missing:
            raise DataFormatError(path, 1, f"header lacks column(s) {', '.join(sorted(missing))}")
        return [cosmosqa_example(row, path, reader.line_num) for row in reader]


@reader()
def cosmosqa_jsonl(path: Path, lang: str) -> list[MultipleChoiceExample]:
    return [cosmosqa_example(row, path, number) for number, row in json_lines(path)]


def cosmosqa_example(row: dict, path: Path, line: int) -> MultipleChoiceExample:
    choices = tuple(text_field(row, f"answer{i}", path, line) for i in range(4))
    return MultipleChoiceExample(
        guid=str(field(row, "id", path, line)),
        context=text_field(row, "context", path, line),
        question=text_field(row, "question", path, line),
        choices=choices,
        label=_index_label(row.get("label"), len(choices), path, line),
    )


@reader()
def csqa_jsonl(path: Path, lang: str) -> list[MultipleChoiceExample]:
    return [csqa_example(row, path, number) for number, row in json_lines(path)]


def csqa_example(row: dict, path: Path, line: int) -> MultipleChoiceExample:
    """CommonsenseQA: the official nested layout (question.stem, question.choices) or the flat
    one (question string, choices.label/text); ``answerKey`` is a letter, absent in test."""
    question = field(row, "question", path, line)
    if isinstance(question, dict):  # official release
        stem = text_field(question, "stem", path, line)
        options = field(question, "choices", path, line)
        if not isinstance(options, list):
            raise DataFormatError(path, line, "expected question.choices to be a list")
        letters = [str(field(c, "label", path, line)) for c in options]
        texts = [text_field(c, "text", path, line) for c in options]
    else:
        stem = text_field(row, "question", path, line)
        options = field(row, "choices", path, line)
        if not isinstance(options, dict):
            raise DataFormatError(path, line, "expected choices to be an object with label and text lists")
        letters = [str(x) for x in field(options, "label", path, line)]
        texts = [str(x) for x in field(options, "text", path, line)]
    if len(letters) != len(texts):
        raise DataFormatError(path, line, f"found {len(letters)} choice labels but {len(texts)} choice texts")
    key = row.get("answerKey")
    return MultipleChoiceExample(
        guid=str(field(row, "id", path, line)),
        context="",
        question=stem,
        choices=tuple(texts),
        label=choice_index(str(key), letters, path, line) if key not in (None, "") else None,
    )


@reader(companions=True)
def siqa_jsonl(path: Path, lang: str) -> list[MultipleChoiceExample]:
    """Social IQa: v1.4 has the answer letter inline ("correct": A/B/C); older releases keep
    1-based labels in ``<name>-labels.lst`` next to the jsonl file. Neither: unlabelled (test)."""
    labels_path = path.with_name(f"{path.stem}-labels.lst")
    file_labels = _label_lines(labels_path) if labels_path.is_file() else None
    rows = list(json_lines(path))
    if file_labels is not None and len(file_labels) != len(rows):
        raise DataFormatError(labels_path, None, f"expected {len(rows)} labels (one per line of {path.name}), "
                                                 f"found {len(file_labels)}")
    examples = []
    for index, (number, row) in enumerate(rows):
        label = file_labels[index] if file_labels is not None and "correct" not in row else None
        examples.append(siqa_example(row, path, number, index, label))
    return examples


def siqa_example(row: dict, path: Path, line: int, index: int, label: int | None = None) -> MultipleChoiceExample:
    """One Social IQa question; the answer is ``label`` (0-based) or the row's "correct" letter."""
    if "correct" in row:
        label = choice_index(str(row["correct"]), ("A", "B", "C"), path, line)
    return MultipleChoiceExample(
        guid=f"{path.stem}-{index}",
        context=text_field(row, "context", path, line),
        question=text_field(row, "question", path, line),
        choices=tuple(text_field(row, f"answer{letter}", path, line) for letter in "ABC"),
        label=label,
    )


def _label_lines(path: Path) -> list[int]:
    labels = []
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        if line.strip() not in ("1", "2", "3"):
            raise DataFormatError(path, number, f"expected a label 1, 2 or 3, found {line.strip()!r}")
        labels.append(int(line) - 1)
    return labels


@reader()
def xcopa_jsonl(path: Path, lang: str) -> list[MultipleChoiceExample]:
    return [xcopa_example(row, path, number, index) for index, (number, row) in enumerate(json_lines(path))]


def xcopa_example(row: dict, path: Path, line: int, index: int) -> MultipleChoiceExample:
    """XCOPA/COPA: premise, choice1, choice2 and question "cause" or "effect"; label 0 or 1."""
    kind = field(row, "question", path, line)
    if kind not in XCOPA_QUESTIONS:
        raise DataFormatError(path, line, f"expected question 'cause' or 'effect', found {kind!r}")
    return MultipleChoiceExample(
        guid=f"{path.stem}-{row.get('idx', index)}",
        context=text_field(row, "premise", path, line),
        question=XCOPA_QUESTIONS[kind],
        choices=(text_field(row, "choice1", path, line), text_field(row, "choice2", path, line)),
        label=_index_label(row.get("label"), 2, path, line),
    )


def _index_label(raw: object, num_choices: int, path: Path, line: int) -> int | None:
    """A 0-based choice index given as int or digit string; None/"" means unlabelled."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not text.isdigit() or int(text) >= num_choices:
        raise DataFormatError(path, line, f"expected a label between 0 and {num_choices - 1}, found {raw!r}")
    return int(text)
