"""JSON-lines classification files: MultiNLI and SNLI releases, ANLI."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.tasks.readers.common import LabelNormalizer, field, json_lines, reader, text_field
from xstilts.tasks.types import ClassificationExample


@reader(labels=True)
def jsonl_classification(
    path: Path,
    lang: str,
    *,
    text_a: str,
    text_b: str | None = None,
    label: str | None = "label",
    guid: str | None = None,
    label_map: Sequence[tuple[str, str]] = (),
    filter_column: str | None = None,
    filter_value: str | None = None,
    skip_labels: Sequence[str] = (),
    labels: Sequence[str] | None = None,
) -> list[ClassificationExample]:
    """One example per JSON object; a row without the label field is unlabelled (test sets)."""
    normalize = LabelNormalizer(label_map, labels)
    examples: list[ClassificationExample] = []
    for number, row in json_lines(path):
        if filter_column is not None and str(field(row, filter_column, path, number)) != filter_value:
            continue
        raw_label = row.get(label) if label is not None else None
        if raw_label is not None and str(raw_label) in skip_labels:
            continue
        examples.append(ClassificationExample(
            guid=str(field(row, guid, path, number)) if guid is not None else f"{path.stem}-{len(examples)}",
            text_a=text_field(row, text_a, path, number),
            text_b=text_field(row, text_b, path, number) if text_b is not None else None,
            label=normalize(raw_label, path, number) if raw_label is not None else None,
        ))
    return examples
