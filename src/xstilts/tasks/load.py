"""Find a task's files on disk and read them into raw examples.

A task lists its possible on-disk layouts (``TaskSpec.layouts``); ``locate`` tries them in order
under a data directory. ``load_examples`` reads what it finds, or explicit files when a stage
points a task at data of its own (translated or native data in another language).
"""

from __future__ import annotations

import re
import string
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from xstilts.errors import ConfigError, MissingDataError, decode_error
from xstilts.languages import is_language
from xstilts.tasks.readers import get_reader
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import (
    ClassificationExample,
    Example,
    FileLayout,
    MultipleChoiceExample,
    QAExample,
    RetrievalPairExample,
    RetrievalSet,
    TaggingExample,
    TaskSpec,
)

SPLITS = ("train", "dev", "test")
_READER_BY_SUFFIX = {".conllu": "conllu", ".json": "squad_json"}


# ---------------------------------------------------------------- locating files


def locate(task: TaskSpec, lang: str, split: str, data_dir: Path | None) -> tuple[FileLayout, list[Path]]:
    """The first of the task's layouts with files for (lang, split) under ``data_dir`` (or the
    layout's own root), and those files in sorted order (several matches, e.g. UD treebanks, are
    read one after the other)."""
    tried = []
    roots = set()
    for layout in task.layouts:
        values = _placeholder_values(task, layout, lang, split)
        if values is None or (data_dir is None and not layout.root):
            continue
        root = Path(layout.root) if layout.root else Path(data_dir)
        roots.add(str(root))
        pattern = layout.pattern.format(**values)
        tried.append(str(root / pattern) if layout.root else pattern)  # a declared task's file in full
        files = sorted(path for path in root.glob(pattern) if path.is_file())
        if files:
            return layout, files
    what = f"{task.name} {split} data for {lang!r} under {', '.join(sorted(roots)) or data_dir}"
    if task.components:
        raise MissingDataError(f"no {what}: {task.name} combines {', '.join(task.components)}; locate those")
    raise MissingDataError(f"no {what}; tried: {', '.join(tried) if tried else 'no layout serves this'}")


def available(task: TaskSpec, data_dir: Path) -> dict[tuple[str, str], list[Path]]:
    """Every (language, split) of ``task`` that ``locate`` finds under ``data_dir``, with its files:
    the task's languages, and any other language whose files a layout's name pattern finds."""
    found: dict[tuple[str, str], list[Path]] = {}
    if task.components:
        return found
    for lang in sorted(set(task.languages) | _languages_on_disk(task, data_dir)):
        for split in SPLITS:
            try:
                found[(lang, split)] = locate(task, lang, split, data_dir)[1]
            except MissingDataError:
                continue
    return found


def _languages_on_disk(task: TaskSpec, data_dir: Path) -> set[str]:
    """Languages named by the files a layout's pattern matches (placeholders as wildcards)."""
    found = set()
    for layout in task.layouts:
        root = Path(layout.root) if layout.root else Path(data_dir)
        if not _language_fields(task) & _fields(layout.pattern):
            continue
        wildcard = layout.pattern.format(**{name: "*" for name in _fields(layout.pattern)})
        for path in root.glob(wildcard):
            values = _match(layout.pattern, path.relative_to(root), whole_tail=True)
            lang = _language_from(task, values) if values else None
            if lang and is_language(lang):
                found.add(lang)
    return found


def _language_fields(task: TaskSpec) -> set[str]:
    return {"lang", *task.file_codes}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _option_fields(layout: FileLayout) -> set[str]:
    return {name for _, value in layout.options if isinstance(value, str) for name in _fields(value)}


def placeholder_values(task: TaskSpec, lang: str, split_name: str) -> dict[str, str]:
    """Values of a task's layout placeholders for one language and split name (a file code the
    task does not list for ``lang`` is the code itself)."""
    return {"lang": lang, "split": split_name, **{name: codes.get(lang, lang) for name, codes in task.file_codes.items()}}


def _placeholder_values(task: TaskSpec, layout: FileLayout, lang: str, split: str) -> dict[str, str] | None:
    """Placeholder values for one layout, or None when the layout cannot hold this (lang, split):
    it does not serve the split, the task's file codes have none for the language, or the layout
    names no language at all (then it holds the task's training language only)."""
    if not layout.serves(split):
        return None
    fields = _fields(layout.pattern) | _option_fields(layout)
    if not fields & _language_fields(task) and lang != task.train_language:
        return None
    if any(name in fields and lang not in codes for name, codes in task.file_codes.items()):
        return None
    return placeholder_values(task, lang, layout.split_name(split))


def _layout_options(layout: FileLayout, values: dict[str, str]) -> dict[str, object]:
    return {key: value.format(**values) if isinstance(value, str) else value for key, value in layout.options}


# ---------------------------------------------------------------- reading


def load_examples(
    task: TaskSpec,
    lang: str,
    split: str,
    data_dir: Path | None,
    files: Sequence[Path] | None = None,
    reader: str | None = None,
) -> list[Example]:
    """All examples of (lang, split): from ``files`` when given (the layouts then only choose the
    reader and its options), else from what ``locate`` finds under ``data_dir``.

    A task made of components (ANLI+) concatenates their examples, guids prefixed ``component:``.
    """
    if files:
        return [ex for path in files for ex in read_task_file(task, Path(path), lang=lang, reader=reader)]
    if task.components:
        return [replace(ex, guid=f"{name}:{ex.guid}")
                for name in task.components
                for ex in load_examples(get_task(name), lang, split, data_dir, reader=reader)]
    if data_dir is None and task.needs_data_dir:
        raise MissingDataError(f"no data directory given for {task.name} {split} {lang} (nor files to read)")
    layout, paths = locate(task, lang, split, data_dir)
    values = _placeholder_values(task, layout, lang, split)
    name = reader or layout.reader
    options = _layout_options(layout, values) if name == layout.reader else {}
    return [ex for path in paths for ex in _read(task, name, path, lang, options)]


def read_task_file(task: TaskSpec, path: Path, *, lang: str | None = None, reader: str | None = None) -> list[Example]:
    """Read one file of ``task`` (e.g. a gold file for scoring), choosing reader and options by
    matching the path against the task's layouts, else by its extension.

    ``lang`` defaults to the language the matched layout reads from the path (``dev-de.tsv``).
    """
    path = Path(path)
    layout, values = _layout_for_path(task, path)
    lang = lang or _language_from(task, values)
    name = reader or layout.reader
    if name != layout.reader:
        return _read(task, name, path, lang or task.train_language, {})
    if lang is None and _option_fields(layout) & _language_fields(task):
        raise ConfigError(f"cannot tell the language of {path} from its name; give the language explicitly")
    lang = lang or task.train_language
    return _read(task, name, path, lang, _layout_options(layout, placeholder_values(task, lang, values.get("split", ""))))


def language_of_file(task: TaskSpec, path: Path) -> str | None:
    """The language a file's name says it holds (``dev-context-zh-question-zh.json``: zh), if any."""
    try:
        _, values = _layout_for_path(task, Path(path))
    except ConfigError:
        return None
    return _language_from(task, values)


def _all_layouts(task: TaskSpec) -> tuple[FileLayout, ...]:
    if task.components:
        return tuple(layout for name in task.components for layout in get_task(name).layouts)
    return task.layouts


def _layout_for_path(task: TaskSpec, path: Path) -> tuple[FileLayout, dict[str, str]]:
    """The layout a path belongs to and the placeholder values read from it: first a layout whose
    whole pattern matches the end of the path, then one whose file-name part matches, then one
    whose files have the path's extension (a SQuAD .json read as retrieval pairs by
    squad_retrieval), then one whose reader suits the file extension, then the task's first layout."""
    layouts = _all_layouts(task)
    if not layouts:
        raise ConfigError(f"task {task.name} has no file layouts to read {path} with")
    for depth in ("tail", "name"):
        for layout in layouts:
            values = _match(layout.pattern, path, whole_tail=depth == "tail")
            if values is not None:
                return layout, values
    same_extension = [layout for layout in layouts if path.suffix and layout.pattern.endswith(path.suffix)]
    if same_extension:
        return same_extension[0], {}
    wanted = _READER_BY_SUFFIX.get(path.suffix)
    fitting = [layout for layout in layouts if layout.reader == wanted]
    if wanted and not fitting:
        return FileLayout(path.name, wanted), {}
    return (fitting or list(layouts))[0], {}


def _match(pattern: str, path: Path, *, whole_tail: bool) -> dict[str, str] | None:
    parts = [part for part in pattern.split("/") if part != "**"]
    if not whole_tail:
        parts = parts[-1:]
    if len(parts) > len(path.parts):
        return None
    match = _pattern_regex("/".join(parts)).fullmatch("/".join(path.parts[-len(parts):]))
    return match.groupdict() if match else None


def _pattern_regex(pattern: str) -> re.Pattern:
    """A layout pattern as a regex: placeholders become named groups (a repeated placeholder must
    repeat its value), glob wildcards match within one path component."""
    regex, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(pattern):
        regex.append(re.escape(literal).replace(r"\*", "[^/]*").replace(r"\?", "[^/]"))
        if name:
            regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/.]+?)")
            seen.add(name)
    return re.compile("".join(regex))


def _language_from(task: TaskSpec, values: dict[str, str]) -> str | None:
    """The language code a file name's placeholder values stand for (file codes read back)."""
    if "lang" in values:
        return values["lang"]
    for name, codes in task.file_codes.items():
        if name in values:
            return {code: lang for lang, code in codes.items()}.get(values[name])
    return None


# ---------------------------------------------------------------- cached reader calls

# Parsed files kept in this process (the scorer re-reads gold files per run and seed). Keyed on
# path, size and mtime so an edited file is re-read; bounded by the bytes of the files held.
# Readers that also open companion files (.eng, .gold, -labels.lst: ``reads_companions``) are
# not cached: the key would not see those change.
_CACHE: OrderedDict[tuple, list[Example]] = OrderedDict()
_CACHE_BUDGET_BYTES = 16 * 2**20


def _read(task: TaskSpec, name: str, path: Path, lang: str, options: dict[str, object]) -> list[Example]:
    try:
        return _read_file(task, name, path, lang, options)
    except UnicodeDecodeError as error:  # csv and companion-file readers decode as they go
        raise decode_error(path, error) from None


def _read_file(task: TaskSpec, name: str, path: Path, lang: str, options: dict[str, object]) -> list[Example]:
    reader = get_reader(name)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such file")
    if reader.takes_labels and task.labels is not None:
        options = {**options, "labels": task.labels}
    if reader.reads_companions:
        return reader(path, lang, **options)
    stat = path.stat()
    key = (name, str(path.resolve()), stat.st_size, stat.st_mtime_ns, lang, tuple(sorted(options.items())))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return list(_CACHE[key])
    examples = reader(path, lang, **options)
    if stat.st_size <= _CACHE_BUDGET_BYTES:
        _CACHE[key] = examples
        while sum(k[2] for k in _CACHE) > _CACHE_BUDGET_BYTES:
            _CACHE.popitem(last=False)
    return list(examples)


# ---------------------------------------------------------------- labelled evaluation splits


def has_gold(examples: Sequence[Example]) -> bool:
    """Whether any example carries gold (XTREME's download blanks the labels of some test sets)."""
    for example in examples:
        if isinstance(example, (ClassificationExample, MultipleChoiceExample)) and example.label is not None:
            return True
        if isinstance(example, TaggingExample) and example.tags is not None:
            return True
        if isinstance(example, QAExample) and any(answer.text for answer in example.answers):
            return True
        if isinstance(example, RetrievalSet) and example.gold:
            return True
        if isinstance(example, RetrievalPairExample):  # the pair is its own gold
            return True
    return False


def default_eval_split(task: TaskSpec, data_dir: Path | None, langs: Sequence[str] | None = None) -> str:
    """The protocol's evaluation split: the labelled TEST split when the data directory has one for
    any of ``langs`` (default: the task's languages), else the task's evaluation split (dev)."""
    if task.eval_split == "test" or data_dir is None:
        return task.eval_split
    for lang in langs or task.languages:
        try:
            if has_gold(load_examples(task, lang, "test", data_dir)):
                return "test"
        except (MissingDataError, ConfigError):
            continue
    return task.eval_split
