"""Tasks declared in a study file (``[tasks.NAME]``): the declaration, checked, and the TaskSpec it makes.

A researcher adds a task without Python::

    [tasks.paws_mine]
    kind = "pair_classification"
    format = "tsv"
    path = "mydata/{split}-{lang}.tsv"       # relative to the study file
    columns = { text_a = 0, text_b = 1, label = 2 }
    labels = ["0", "1"]
    metric = "accuracy"
    langs = ["en", "de", "zh"]

``TaskDeclaration`` checks it (each mistake one line naming the field: the study loader prefixes
``tasks.NAME``); ``declared_task`` turns it into a ``TaskSpec`` that reads its files with the
package's readers from the folder of the study file. The spec carries ``declaration_hash`` (what
the declaration means: kind, format, columns, header, labels, metric; not its path, languages or
comments), which node identities include, and compares rows by content for contamination.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from xstilts.errors import FieldValueError
from xstilts.languages import is_language
from xstilts.tasks.kinds import kind_facts
from xstilts.tasks.types import DataRelations, Example, FileLayout, Metric, TaskKind, TaskSpec

DeclaredFormat = Literal["tsv", "jsonl", "conllu", "squad_json"]
PLACEHOLDERS = ("split", "lang")


class _Columns:
    """How one (kind, format) is read: the reader, the column roles it needs and may take."""

    def __init__(self, reader: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                 fixed: tuple[tuple[str, object], ...] = (), lists: tuple[str, ...] = ()):
        self.reader, self.required, self.optional, self.fixed, self.lists = reader, required, optional, fixed, lists

    @property
    def roles(self) -> tuple[str, ...]:
        return self.required + self.optional


# (kind, format) -> its reader and columns. tsv columns are 0-based column numbers, jsonl columns
# field names; a multiple-choice tsv file lists its choice columns ("choices = [1, 2]").
READING: dict[tuple[str, str], _Columns] = {
    ("single_classification", "tsv"): _Columns("tsv_classification", ("text_a", "label"), fixed=(("text_b", None),)),
    ("single_classification", "jsonl"): _Columns("jsonl_classification", ("text_a", "label")),
    ("pair_classification", "tsv"): _Columns("tsv_classification", ("text_a", "text_b", "label")),
    ("pair_classification", "jsonl"): _Columns("jsonl_classification", ("text_a", "text_b", "label")),
    ("tagging", "tsv"): _Columns("tsv_tagging", ("tokens", "tags")),
    ("tagging", "jsonl"): _Columns("jsonl_tagging", ("tokens", "tags")),
    ("tagging", "conllu"): _Columns("conllu"),
    ("extractive_qa", "squad_json"): _Columns("squad_json"),
    ("multiple_choice", "tsv"): _Columns("tsv_multiple_choice", ("question", "choices", "label"), ("context",),
                                         lists=("choices",)),
    ("multiple_choice", "jsonl"): _Columns("jsonl_multiple_choice", ("question", "choices", "label"), ("context",)),
}


def kind_metrics(kind: str) -> list[str]:
    """The metrics a kind's scorer computes (``metrics.registry``), its default first."""
    facts = kind_facts(kind)
    return [facts.default_metric.value] + [m.value for m in facts.metrics if m is not facts.default_metric]


# The kinds a study file may declare: those with a reader above.
DECLARABLE_KINDS: tuple[str, ...] = tuple(dict.fromkeys(kind for kind, _ in READING))
DeclaredKind = Literal[DECLARABLE_KINDS]  # type: ignore[valid-type]


def formats_of(kind: str) -> list[str]:
    return [fmt for (k, fmt) in READING if k == kind]


class TaskDeclaration(BaseModel):
    """One ``[tasks.NAME]`` table. Fields are checked in this order, each against those before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeclaredKind
    format: DeclaredFormat
    langs: tuple[str, ...] = Field(min_length=1, description="The task's languages (XTREME codes).")
    path: str = Field(description="Its files, relative to the study file, with {split} (train, dev, test) "
                                  "and {lang}.")
    columns: dict[str, Any] = Field({}, validate_default=True, description="tsv: column numbers (0 = the first); jsonl: field names.")
    header: bool = Field(False, description="tsv: the first row names the columns (skipped).")
    labels: tuple[str, ...] | None = None
    metric: str | None = None
    description: str = ""

    @field_validator("format")
    @classmethod
    def _format_of_kind(cls, fmt: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is not None and (kind, fmt) not in READING:
            raise ValueError(f"{kind} tasks read {' or '.join(formats_of(kind))} files, not {fmt}")
        return fmt

    @field_validator("langs", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or not all(isinstance(code, str) for code in value):
            raise ValueError(f"expected a list of language codes, got {value!r}")
        codes = tuple(code.strip().lower() for code in value)
        for i, code in enumerate(codes):
            if not is_language(code):
                raise FieldValueError(f"[{i}]", f"unknown language {value[i]!r}: not an ISO 639 / BCP 47 language "
                                                "code (e.g. de, zh, aym)")
        if len(set(codes)) != len(codes):
            raise ValueError(f"a language is listed twice in {list(value)}")
        return codes

    @field_validator("path")
    @classmethod
    def _path(cls, path: str, info: ValidationInfo) -> str:
        try:
            names = [name for _, name, spec, conv in string.Formatter().parse(path) if name is not None]
        except ValueError as error:
            raise ValueError(f"{path!r}: {error} (placeholders are {{split}} and {{lang}})") from None
        unknown = [name for name in names if name not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} in {path!r}; use {{split}} and {{lang}}")
        if "split" not in names:
            raise ValueError(f"{path!r} needs a {{split}} placeholder (train, dev, test)")
        langs = info.data.get("langs") or ()
        if "lang" not in names and len(langs) > 1:
            raise ValueError(f"{path!r} needs a {{lang}} placeholder: the task has {len(langs)} languages")
        if any(char in path for char in "*?["):
            raise ValueError(f"{path!r}: wildcards are not allowed; name the files with {{split}} and {{lang}}")
        base = Path((info.context or {}).get("base_dir", "."))
        return str(PurePosixPath(_normalised(base.expanduser().resolve() / Path(path).expanduser())))

    @field_validator("columns")
    @classmethod
    def _columns(cls, columns: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind, fmt = info.data.get("kind"), info.data.get("format")
        reading = READING.get((kind, fmt))
        if reading is None:  # kind or format already refused
            return columns
        what = f"{kind} {fmt} files"
        for role in columns:
            if role not in reading.roles:
                expected = f"expected {', '.join(reading.roles)}" if reading.roles else "they take no columns"
                raise FieldValueError(role, f"not a column of {what}; {expected}")
        for role in reading.required:
            if role not in columns:
                raise FieldValueError(role, f"required for {what} (columns: {', '.join(reading.roles)})")
        for role, value in columns.items():
            if role in reading.lists and fmt == "tsv":
                if not isinstance(value, list) or len(value) < 2 or not all(_column_number(v) for v in value):
                    raise FieldValueError(role, f"expected a list of at least 2 column numbers, got {value!r}")
            elif fmt == "tsv" and not _column_number(value):
                raise FieldValueError(role, f"expected a column number (0 = the first column), got {value!r}")
            elif fmt == "jsonl" and not (isinstance(value, str) and value):
                raise FieldValueError(role, f"expected a field name, got {value!r}")
        if fmt == "tsv":
            used = [n for value in columns.values() for n in (value if isinstance(value, list) else [value])]
            repeated = sorted({n for n in used if used.count(n) > 1})
            if repeated:
                role = next(r for r, v in columns.items() if repeated[0] in (v if isinstance(v, list) else [v]))
                raise FieldValueError(role, f"column {repeated[0]} is used twice")
        return columns

    @field_validator("header")
    @classmethod
    def _header_only_for_tsv(cls, header: bool, info: ValidationInfo) -> bool:
        fmt = info.data.get("format")
        if header and fmt is not None and fmt != "tsv":
            raise ValueError(f"header is a tsv setting; {fmt} files have none")
        return header

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if value is None:
            return value
        if not isinstance(value, list) or not value:
            raise ValueError(f"expected a non-empty list of labels, got {value!r}")
        if kind is not None and kind_facts(kind).labels == "none":
            raise ValueError(f"{kind} tasks take no labels (the gold is the right "
                             f"{'choice index' if kind == 'multiple_choice' else 'answer span'})")
        if not all(isinstance(label, (str, int)) and not isinstance(label, bool) for label in value):
            raise ValueError(f"labels are strings (or numbers), got {value!r}")
        labels = tuple(str(label) for label in value)
        if len(set(labels)) != len(labels):
            raise ValueError(f"a label is listed twice in {list(value)}")
        return labels

    @field_validator("metric")
    @classmethod
    def _metric_of_kind(cls, metric: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if metric is not None and kind is not None and metric not in kind_metrics(kind):
            others = [other for other in DECLARABLE_KINDS if metric in kind_metrics(other)]
            where = f" ({metric} is for {' and '.join(others)} tasks)" if others else ""
            raise ValueError(f"{metric!r} is not a metric of {kind} tasks; expected one of "
                             f"{', '.join(kind_metrics(kind))}{where}")
        return metric

    @model_validator(mode="after")
    def _labels_of_classification(self) -> "TaskDeclaration":
        if self.labels is None and kind_facts(self.kind).labels == "required":
            raise FieldValueError("labels", f"required for {self.kind} tasks: the list of labels, "
                                            'e.g. labels = ["0", "1"]')
        return self

    # ------------------------------------------------------------ what it means

    @property
    def resolved_metric(self) -> str:
        return self.metric or kind_facts(self.kind).default_metric.value

    def meaning(self) -> dict[str, Any]:
        """What determines the parsed examples and the trained head: not the path (the files are
        hashed by content), the languages or the description."""
        return {"kind": self.kind, "format": self.format, "columns": self.columns, "header": self.header,
                "labels": list(self.labels) if self.labels is not None else None, "metric": self.resolved_metric}

    def fingerprint(self) -> str:
        text = json.dumps(self.meaning(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def reader_options(self) -> tuple[str, tuple[tuple[str, object], ...]]:
        reading = READING[(self.kind, self.format)]
        options: list[tuple[str, object]] = list(reading.fixed)
        for role in reading.roles:
            if role in self.columns:
                value = self.columns[role]
                options.append((role, tuple(value) if isinstance(value, list) else value))
        if self.format == "tsv":
            options.append(("header", self.header))
        if self.format == "conllu":
            options.append(("xtreme_preprocess", False))
        return reading.reader, tuple(options)


def _column_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _normalised(path: Path) -> str:
    """``..`` and ``.`` removed without touching the file system (placeholders are not folders yet)."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return str(Path(*parts))


def split_root(path: str) -> tuple[str, str]:
    """An absolute path with placeholders -> (the folder before the first placeholder, the rest)."""
    parts = PurePosixPath(path).parts
    first = next(i for i, part in enumerate(parts) if "{" in part)
    return str(PurePosixPath(*parts[:first])), "/".join(parts[first:])


def declared_task(name: str, declaration: TaskDeclaration, origin: str = "a study file") -> TaskSpec:
    """The TaskSpec of a declaration: its files under the study's folder, its name as display name."""
    root, pattern = split_root(declaration.path)
    reader, options = declaration.reader_options()
    langs = declaration.langs
    return TaskSpec(
        name=name, display_name=name, kind=TaskKind(declaration.kind), metric=Metric(declaration.resolved_metric),
        languages=langs, labels=declaration.labels,
        layouts=(FileLayout(pattern, reader, options, root=root),),
        train_language="en" if "en" in langs else langs[0],
        description=declaration.description or f"declared in {origin}",
        data=DataRelations(content_rows=True),
        declaration_hash=declaration.fingerprint(),
    )


# ---------------------------------------------------------------- rows by content

# Fields of an example that are gold or bookkeeping, not what a model reads.
_NOT_CONTENT = frozenset({"guid", "label", "tags", "answers", "is_impossible"})


def row_content_hash(example: Example) -> str:
    """A short hash of what a model reads from one example (its texts, tokens, choices): two rows
    with equal inputs have equal hashes whatever their ids, positions or gold."""
    content = {key: value for key, value in asdict(example).items() if key not in _NOT_CONTENT}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
