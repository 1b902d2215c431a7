"""Where every (task, language, split) the study design needs comes from, and where it goes.

Each task's file says where its sets are (``TaskSpec.hub``: dataset id, config, split names, the
converter that writes them and the layout they are written in); this module turns that into one
``Source`` per (task, language, split). Sets that are not on the hub get a one-line note saying
where to get them instead. Dataset ids and schemas as published on the Hugging Face hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xstilts.tasks.load import SPLITS, placeholder_values
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import HubSource, TaskSpec


@dataclass(frozen=True)
class Source:
    """One file (or file pair) to write: from a hub split (``dataset``) or a plain URL (``url``)."""

    task: str
    lang: str
    split: str
    destination: str  # relative to the data directory (or absolute: a study's explicit file)
    converter: str = ""
    dataset: str = ""
    config: str | None = None
    hub_split: str = ""
    url: str = ""  # a file already in the destination's format (copied as is)
    verify: Callable[[Path, str], None] | None = field(default=None, compare=False)  # checks a url download
    options: tuple[tuple[str, Any], ...] = ()
    note: str = ""  # set when the set cannot be fetched: where to get it

    @property
    def fetchable(self) -> bool:
        return not self.note

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.url:
            return self.url
        return f"{self.dataset} ({self.config or 'default'}, {self.hub_split})"


def default_splits(task: str) -> tuple[str, ...]:
    hub = get_task(task).hub
    return tuple(s for s in SPLITS if hub is None or hub.note or s in hub.splits)


def components(task: str) -> tuple[str, ...]:
    """A task made of others (ANLI+) is fetched as its parts."""
    return get_task(task).components or (task,)


def source_for(task: str, lang: str, split: str, destination: str | None = None) -> Source:
    """Where (task, lang, split) comes from (the task file's ``hub``); ``destination`` overrides
    the layout's path (a study's explicit file). A set that cannot be fetched comes back with a
    ``note``."""
    spec = get_task(task)
    if split == "train" and spec.trains_as:  # XQuAD and MLQA train on SQuAD v1.1
        return replace(source_for(spec.trains_as, lang, split, destination), task=spec.name)
    return _hub_source(spec, lang, split, destination)


def _hub_source(spec: TaskSpec, lang: str, split: str, destination: str | None,
                extra_options: dict[str, Any] | None = None, requested: bool = False) -> Source:
    where = f"{spec.name} {split}-{lang}"
    hub = spec.hub
    if hub is None:
        return Source(spec.name, lang, split, destination or "", note=f"{spec.name}: no hub source known; see docs/tasks/index.md (getting the data)")
    if hub.note and not requested:
        return Source(spec.name, lang, split, destination or "", note=hub.note)
    if hub.translated_train_url and lang not in spec.languages:
        return _translated_train(spec, hub, lang, split, destination)
    hub = hub.by_language.get(lang, hub)
    if spec.languages and lang not in spec.languages:  # no languages listed: any (masked LM)
        return Source(spec.name, lang, split, destination or "", note=f"{where}: the hub copy ({hub.dataset}) has no {lang!r}")
    if split not in hub.splits:
        return Source(spec.name, lang, split, destination or "",
                      note=f"{where}: {hub.dataset} has no {split} split (published splits: {', '.join(hub.splits)})")
    absent = [name for name, table in hub.names.items() if lang not in table]
    if absent:
        return Source(spec.name, lang, split, destination or "", note=f"{where}: {hub.dataset} has no config for {lang!r}")
    layout = spec.layouts[hub.layout]
    values = {**placeholder_values(spec, lang, layout.split_name(split)),
              **{name: table[lang] for name, table in hub.names.items()}}
    if hub.file_url:  # released files in the layout's own format (XQuAD-R): copied, then verified
        return Source(spec.name, lang, split, destination or layout.pattern.removeprefix("**/").format(**values),
                      url=hub.file_url.format(**values), verify=hub.verify)
    options = {key: value.format(**values) if isinstance(value, str) else value
               for key, value in {**hub.options, **(extra_options or {})}.items()}
    path = layout.pattern.removeprefix("**/").format(**values)
    return Source(spec.name, lang, split, destination or path, hub.converter, hub.dataset,
                  hub.config.format(**values) if hub.config else None, hub.splits[split],
                  options=tuple(sorted(options.items())))


def _translated_train(spec: TaskSpec, hub: HubSource, lang: str, split: str, destination: str | None) -> Source:
    """Machine-translated training sets that are not on the hub (XTREME's SQuAD translate-train)."""
    if split != "train":
        return Source(spec.name, lang, split, destination or "",
                      note=f"{spec.name} {split}-{lang}: only the train set has machine translations")
    return Source(spec.name, lang, split, destination or hub.translated_train_file.format(lang=lang),
                  url=hub.translated_train_url.format(lang=lang))


def mlm_corpus_source(lang: str, max_chars: int) -> Source:
    """A masked-LM text corpus of ``lang`` (the mlm task's hub source: fetched only on request)."""
    return _hub_source(get_task("mlm"), lang, "train", None, {"max_chars": max_chars}, requested=True)


def sources_for_selections(selections) -> list[Source]:
    """What fetches each data selection (a study's missing ones): task, language, split, and the
    selection's explicit file as destination when it names one. ANLI+ expands to its parts."""
    sources = []
    for selection in selections:
        destination = selection.files[0] if selection.files else None
        for part in components(selection.task):
            sources.append(source_for(part, selection.lang, selection.split, destination))
    return sources


def sources_for_tasks(tasks, langs=None, splits=None, translated: bool = False) -> list[Source]:
    """Every set of the named tasks: dev/test for each language (``langs``: all of the task's by
    default), train for English, and with ``translated`` also the machine-translated train sets
    of the other languages (XNLI-MT, PAWS-X, SQuAD translate-train)."""
    sources = []
    for name in tasks:
        for part in components(name):
            spec = get_task(part)
            for lang in (langs or spec.languages):
                for split in (splits or default_splits(part)):
                    if split == "train" and lang != spec.train_language and not translated and not langs:
                        continue
                    sources.append(source_for(part, lang, split))
    return sources
