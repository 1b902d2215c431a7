"""Tab-separated classification files: XTREME's XNLI/PAWS-X files, XNLI-1.0, GLUE tsv files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.readers.common import LabelNormalizer, column_index, numbered_lines, reader
from xstilts.tasks.types import ClassificationExample


@reader(labels=True)
def tsv_classification(
    path: Path,
    lang: str,
    *,
    text_a: int | str = 0,
    text_b: int | str | None = 1,
    label: int | str | None = 2,
    header: bool = False,
    guid: int | str | None = None,
    label_map: Sequence[tuple[str, str]] = (),
    filter_column: int | str | None = None,
    filter_value: str | None = None,
    skip_labels: Sequence[str] = (),
    labels: Sequence[str] | None = None,
) -> list[ClassificationExample]:
    """One example per row. Columns are indices, or header names when ``header`` is set.

    A headerless file whose first row lacks the label column (XTREME's unlabelled test files)
    is read as unlabelled: every example gets ``label=None``.
    """
    normalize = LabelNormalizer(label_map, labels)
    lines = numbered_lines(path)
    names = _header(path, lines) if header else None
    a = column_index(text_a, names, path)
    b = column_index(text_b, names, path) if text_b is not None else None
    y = column_index(label, names, path) if label is not None else None
    g = column_index(guid, names, path) if guid is not None else None
    f = column_index(filter_column, names, path) if filter_column is not None else None
    needed = 1 + max(i for i in (a, b, g, f) if i is not None)
    labelled: bool | None = None if y is not None else False

    examples: list[ClassificationExample] = []
    for number, line in lines:
        if not line.strip():
            continue
        cells = line.split("\t")
        if labelled is None:  # the first row decides whether this file carries labels
            labelled = len(cells) > y or names is not None
        width = max(needed, y + 1) if labelled else needed
        if len(cells) < width:
            raise DataFormatError(path, number, f"expected at least {width} tab-separated fields, found {len(cells)}")
        if f is not None and cells[f] != filter_value:
            continue
        raw_label = cells[y] if labelled else None
        if raw_label is not None and raw_label in skip_labels:
            continue
        examples.append(ClassificationExample(
            guid=cells[g] if g is not None else f"{path.stem}-{len(examples)}",
            text_a=cells[a],
            text_b=cells[b] if b is not None else None,
            label=normalize(raw_label, path, number) if raw_label is not None else None,
        ))
    return examples


def _header(path: Path, lines) -> list[str]:
    for _, line in lines:
        return line.split("\t")
    raise DataFormatError(path, 1, "expected a header row, found an empty file")
