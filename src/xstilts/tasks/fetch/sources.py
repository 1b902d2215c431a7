"""Where every (task, language, split) the study design needs comes from, and where it goes.

One table: task -> the hub dataset (id, config, split names), the converter that writes it and
the destination path in the XTREME download layout (the first layout the task's readers try).
Sets that are not on the hub get a one-line note saying where to get them instead.
Dataset ids and schemas as published on the Hugging Face hub (checked against their cards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xstilts.languages import TYDIQA_NAMES, XTREME_TO_TATOEBA
from xstilts.tasks.readers.hub import UD_NAMES
from xstilts.tasks.registry import get_task

SPLITS = ("train", "dev", "test")
# XTREME's translate-train sets that are not on the hub, in Google's public bucket.
XTREME_TRANSLATIONS = "https://storage.googleapis.com/xtreme_translations"


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


@dataclass(frozen=True)
class _Entry:
    dataset: str
    config: str | None
    splits: dict[str, str]  # our split -> hub split
    destination: str  # with {lang} {lang3} {split} {name}
    converter: str
    file_split: dict[str, str] = field(default_factory=dict)  # our split -> the name in the file path
    options: tuple[tuple[str, Any], ...] = ()
    langs: tuple[str, ...] | None = None  # None: the task's languages


_GLUE_SPLITS = {"train": "train", "dev": "validation"}
_TABLE: dict[str, _Entry] = {
    # XNLI dev/test in every language; train = MNLI (en) or its machine translation (XNLI-MT).
    "xnli": _Entry("facebook/xnli", "{lang}", {"train": "train", "dev": "validation", "test": "test"},
                   "xnli/{split}-{lang}.tsv", "nli_tsv"),
    # PAWS-X: non-English train sets are the machine-translated ones.
    "pawsx": _Entry("google-research-datasets/paws-x", "{lang}", {"train": "train", "dev": "validation", "test": "test"},
                    "pawsx/{split}-{lang}.tsv", "pawsx_tsv"),
    "udpos": _Entry("google/xtreme", "udpos.{ud_name}", {"train": "train", "dev": "validation", "test": "test"},
                    "udpos/{split}-{lang}.tsv", "conll_tsv"),
    "panx": _Entry("google/xtreme", "PAN-X.{lang}", {"train": "train", "dev": "validation", "test": "test"},
                   "panx/{split}-{lang}.tsv", "conll_tsv", options=(("lang_prefix", True),)),
    "xquad": _Entry("google/xtreme", "XQuAD.{lang}", {"test": "validation"}, "xquad/xquad.{lang}.json", "squad_json"),
    "mlqa": _Entry("google/xtreme", "MLQA.{lang}.{lang}", {"dev": "validation", "test": "test"},
                   "mlqa/{split}-context-{lang}-question-{lang}.json", "squad_json"),
    "tydiqa": _Entry("google-research-datasets/tydiqa", "secondary_task", {"train": "train", "dev": "validation"},
                     "tydiqa/tydiqa.goldp.{lang}.{split}.json", "squad_json"),
    "tatoeba": _Entry("google/xtreme", "tatoeba.{lang3}", {"test": "validation"},
                      "tatoeba/tatoeba.{lang3}-eng.{lang3}", "tatoeba_files"),
    "squad_v1": _Entry("rajpurkar/squad", None, _GLUE_SPLITS, "squad/{split}-v1.1.json", "squad_json", langs=("en",)),
    "squad_v2": _Entry("rajpurkar/squad_v2", None, _GLUE_SPLITS, "squad/{split}-v2.0.json", "squad_json",
                       options=(("version", 2),), langs=("en",)),
    "mnli": _Entry("nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"},
                   "multinli_1.0/multinli_1.0_{split}.jsonl", "nli_jsonl", file_split={"dev": "dev_matched"}),
    "snli": _Entry("stanfordnlp/snli", None, {"train": "train", "dev": "validation", "test": "test"},
                   "snli_1.0/snli_1.0_{split}.jsonl", "nli_jsonl"),
    "qqp": _Entry("nyu-mll/glue", "qqp", _GLUE_SPLITS, "QQP/{split}.tsv", "qqp_tsv"),
    "sst2": _Entry("nyu-mll/glue", "sst2", _GLUE_SPLITS, "SST-2/{split}.tsv", "sst2_tsv"),
    "hellaswag": _Entry("Rowan/hellaswag", None, _GLUE_SPLITS, "hellaswag/hellaswag_{split}.jsonl", "hellaswag_jsonl",
                        file_split={"dev": "val"}),
    "cosmosqa": _Entry("allenai/cosmos_qa", None, _GLUE_SPLITS, "cosmosqa/{split}.jsonl", "cosmosqa_jsonl",
                       file_split={"dev": "valid"}),
    "csqa": _Entry("tau/commonsense_qa", None, _GLUE_SPLITS, "csqa/{split}_rand_split.jsonl", "csqa_jsonl"),
    "siqa": _Entry("allenai/social_i_qa", None, _GLUE_SPLITS, "siqa/socialIQa_v1.4_{split}.jsonl", "siqa_jsonl",
                   file_split={"train": "trn"}),
    "xcopa": _Entry("cambridgeltl/xcopa", "{lang}", {"dev": "validation", "test": "test"},
                    "xcopa/{split}-{lang}.jsonl", "copa_jsonl", file_split={"dev": "val"}),
}
for _round in (1, 2, 3):
    _TABLE[f"anli_r{_round}"] = _Entry(
        "facebook/anli", None, {"train": f"train_r{_round}", "dev": f"dev_r{_round}", "test": f"test_r{_round}"},
        f"anli_v1.0/R{_round}/{{split}}.jsonl", "anli_jsonl")

_NOTES = {
    "bucc2018": "BUCC 2018 corpora are not on the hub (google/xtreme's bucc18 holds only the gold pairs): download "
                "them from https://comparable.limsi.fr/bucc2018/bucc2018-task.html into bucc2018/ "
                "(LANG-en/LANG-en.{sample,training}.{LANG,en,gold})",
    "ccg": "CCGbank is licensed by the LDC (LDC2005T13, https://catalog.ldc.upenn.edu/LDC2005T13): convert its "
           "supertags to ccg/{train,dev,test}.tsv (token<TAB>supertag) yourself",
    "mlm": "masked-LM corpora: xstilts data fetch --mlm-corpus LANGS --to DIR (or any text files, one line each)",
}


def default_splits(task: str) -> tuple[str, ...]:
    entry = _TABLE.get(task)
    return tuple(s for s in SPLITS if entry is None or s in entry.splits)


def components(task: str) -> tuple[str, ...]:
    """A task made of others (ANLI+) is fetched as its parts."""
    return get_task(task).components or (task,)


def source_for(task: str, lang: str, split: str, destination: str | None = None) -> Source:
    """Where (task, lang, split) comes from; ``destination`` overrides the layout's path (a study's
    explicit file). A set that cannot be fetched comes back with a ``note``."""
    task = get_task(task).name
    if task in _NOTES:
        return Source(task, lang, split, destination or "", note=_NOTES[task])
    if task == "squad_v1" and lang != "en" or task in ("xquad", "mlqa") and split == "train" and lang != "en":
        return _squad_translate_train(lang, split, destination, task)
    if task in ("xquad", "mlqa") and split == "train":
        entry = _TABLE["squad_v1"]  # their English training set is SQuAD v1.1
    elif task == "xcopa" and lang == "en":  # English COPA is SuperGLUE's
        entry = _Entry("aps/super_glue", "copa", {"train": "train", "dev": "validation", "test": "test"},
                       "xcopa/{split}-{lang}.jsonl", "copa_jsonl", file_split={"dev": "val"})
    else:
        entry = _TABLE.get(task)
    if entry is None:
        return Source(task, lang, split, destination or "", note=f"{task}: no hub source known; see README")
    return _from_entry(task, lang, split, entry, destination)


def _from_entry(task: str, lang: str, split: str, entry: _Entry, destination: str | None) -> Source:
    where = f"{task} {split}-{lang}"
    langs = entry.langs or get_task(task).languages
    if lang not in langs and not (entry.dataset == "aps/super_glue" or task in ("xquad", "mlqa")):
        return Source(task, lang, split, destination or "", note=f"{where}: the hub copy ({entry.dataset}) has no {lang!r}")
    if split not in entry.splits:
        return Source(task, lang, split, destination or "",
                      note=f"{where}: {entry.dataset} has no {split} split (published splits: {', '.join(entry.splits)})")
    if task == "udpos" and lang not in UD_NAMES:
        return Source(task, lang, split, destination or "", note=f"{where}: google/xtreme has no UD-POS config for {lang!r}")
    values = {"lang": lang, "lang3": XTREME_TO_TATOEBA.get(lang, lang), "ud_name": UD_NAMES.get(lang, lang),
              "split": entry.file_split.get(split, split)}
    options = dict(entry.options)
    if task == "tydiqa":
        options["id_prefix"] = f"{TYDIQA_NAMES[lang]}-"  # the hub's splits mix all nine languages
    if entry.options and dict(entry.options).get("lang_prefix"):
        options["lang"] = lang
    return Source(task, lang, split, destination or entry.destination.format(**values), entry.converter,
                  entry.dataset, entry.config.format(**values) if entry.config else None, entry.splits[split],
                  options=tuple(sorted(options.items())))


def _squad_translate_train(lang: str, split: str, destination: str | None, task: str = "squad_v1") -> Source:
    """XTREME's machine-translated SQuAD v1.1 train sets (not on the hub; Google's bucket, SQuAD JSON)."""
    if split != "train":
        return Source(task, lang, split, destination or "", note=f"{task} {split}-{lang}: XTREME translated only "
                                                                  "the SQuAD train set")
    name = f"squad.translate.train.en-{lang}.json"
    return Source(task, lang, split, destination or f"squad/translate-train/{name}",
                  url=f"{XTREME_TRANSLATIONS}/SQuAD/translate-train/{name}")


# A multilingual text set for masked-LM corpora: Wikipedia, one article per row ("text").
MLM_CORPUS_DATASET = "wikimedia/wikipedia"
MLM_CORPUS_CONFIG = "20231101.{lang}"


def mlm_corpus_source(lang: str, max_chars: int) -> Source:
    return Source("mlm", lang, "train", f"mlm/train-{lang}.txt", "text_lines", MLM_CORPUS_DATASET,
                  MLM_CORPUS_CONFIG.format(lang=lang), "train",
                  options=(("column", "text"), ("max_chars", max_chars), ("streaming", True)))


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
