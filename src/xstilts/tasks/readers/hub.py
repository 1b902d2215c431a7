"""Read a task from its Hugging Face ``datasets`` copy (``TaskSpec.hub``) when online.

Rows are converted to the same example types as the file readers, reusing their per-row
functions where the hub keeps the original field names. Errors name ``hub/PATH/CONFIG/SPLIT``
and the 1-based row number in place of a file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from xstilts.errors import DataFormatError, MissingDataError
from xstilts.languages import TYDIQA_NAMES, XTREME_TO_TATOEBA
from xstilts.tasks.readers.common import LabelNormalizer, field, text_field
from xstilts.tasks.readers.multiple_choice import (
    cosmosqa_example,
    csqa_example,
    hellaswag_example,
    siqa_example,
    xcopa_example,
)
from xstilts.tasks.types import (
    Answer,
    ClassificationExample,
    Example,
    MultipleChoiceExample,
    QAExample,
    RetrievalSet,
    SentencePair,
    TaggingExample,
    TaskKind,
    TaskSpec,
)

# google/xtreme names its UD-POS configs by language name ("udpos.English").
UD_NAMES: dict[str, str] = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}
# Text columns of the hub's classification sets, in the order they are tried.
_TEXT_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question1", "question2"),
                 ("sentence", None))


def load_from_hub(task: TaskSpec, lang: str, split: str) -> list[Example]:
    """Download (or reuse the ``datasets`` cache of) ``task``'s hub copy and convert it."""
    source = task.hub
    if source is None:
        raise MissingDataError(f"{task.name} has no Hugging Face copy; download its files and pass a data directory")
    if task.name == "bucc2018":
        # google/xtreme's bucc18 configs keep only the gold sentence pairs, not the corpora to mine.
        raise MissingDataError("the hub copy of BUCC 2018 holds only the gold pairs; download the official "
                               "bucc2018 files and pass a data directory")
    config = hub_config(task, lang)
    hub_split = dict(source.split_names).get(split, split)
    try:
        from datasets import load_dataset

        dataset = load_dataset(source.path, config, split=hub_split)
    except Exception as error:  # network, unknown config or split: many exception types, one message
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MissingDataError(f"could not load {source.path} ({config}, {hub_split}) from the hub: {reason}") from None
    where = Path("hub", source.path, config or "default", hub_split)
    return rows_to_examples(task, lang, split, dataset, where, dataset.features)


def hub_config(task: TaskSpec, lang: str) -> str | None:
    """The hub config name with {lang}, {lang3} and {ud_name} filled in."""
    config = task.hub.config if task.hub else None
    if config is None:
        return None
    if "{ud_name}" in config and lang not in UD_NAMES:
        raise MissingDataError(f"google/xtreme has no UD-POS config for {lang!r}")
    return config.format(lang=lang, lang3=XTREME_TO_TATOEBA.get(lang, lang), ud_name=UD_NAMES.get(lang, lang))


def rows_to_examples(task: TaskSpec, lang: str, split: str, rows: Iterable[Mapping], where: Path,
                     features: Mapping | None = None) -> list[Example]:
    """Convert hub rows (dicts) of ``task`` into examples; ``features`` gives ClassLabel names."""
    rows = [dict(row) for row in rows]
    features = features or {}
    if task.kind in (TaskKind.PAIR_CLASSIFICATION, TaskKind.SINGLE_CLASSIFICATION):
        return classification_rows(task, split, rows, where, _class_names(features.get("label")))
    if task.kind is TaskKind.TAGGING:
        tag_column = "pos_tags" if "pos_tags" in features or (rows and "pos_tags" in rows[0]) else "ner_tags"
        return tagging_rows(task, rows, where, tag_column, _class_names(features.get(tag_column)))
    if task.kind is TaskKind.EXTRACTIVE_QA:
        # google-research-datasets/tydiqa's secondary task mixes all languages; ids start with the language name.
        prefix = f"{TYDIQA_NAMES[lang]}-" if task.name == "tydiqa" and lang in TYDIQA_NAMES else None
        return qa_rows(rows, where, prefix)
    if task.kind is TaskKind.MULTIPLE_CHOICE:
        return multiple_choice_rows(task, rows, where)
    return [tatoeba_rows(rows, lang, where)]


def classification_rows(task: TaskSpec, split: str, rows: Sequence[dict], where: Path,
                        label_names: Sequence[str] | None) -> list[ClassificationExample]:
    """Integer labels are read through the ClassLabel names when those are the task's labels, else
    as an index into ``task.labels`` (GLUE's qqp/sst2 name 0/1 "not_duplicate"/"duplicate").
    Label -1 marks no gold label: dropped (SNLI), except in test splits, which are unlabelled."""
    if not rows:
        return []
    columns = next(((a, b) for a, b in _TEXT_COLUMNS if a in rows[0] and (b is None or b in rows[0])), None)
    if columns is None:
        raise DataFormatError(where, 1, f"expected text columns such as premise/hypothesis, found {', '.join(rows[0])}")
    use_names = label_names is not None and task.labels is not None and set(label_names) <= set(task.labels)
    normalize = LabelNormalizer((), task.labels)
    examples = []
    for line, row in enumerate(rows, start=1):
        raw = row.get("label")
        if raw == -1 and split != "test":
            continue
        if raw is None or raw == -1:
            label = None
        elif isinstance(raw, int):
            names = label_names if use_names else task.labels
            if names is None or not 0 <= raw < len(names):
                raise DataFormatError(where, line, f"label id {raw} is outside the task's label set")
            label = names[raw]
        else:
            label = normalize(raw, where, line)
        a, b = columns
        examples.append(ClassificationExample(
            guid=str(row.get("uid", row.get("idx", row.get("id", line - 1)))),
            text_a=text_field(row, a, where, line),
            text_b=text_field(row, b, where, line) if b else None,
            label=label,
        ))
    return examples


def tagging_rows(task: TaskSpec, rows: Sequence[dict], where: Path, tag_column: str,
                 tag_names: Sequence[str] | None) -> list[TaggingExample]:
    names = tag_names or task.labels
    examples = []
    for line, row in enumerate(rows, start=1):
        words = field(row, "tokens", where, line)
        tag_ids = field(row, tag_column, where, line)
        if len(words) != len(tag_ids):
            raise DataFormatError(where, line, f"expected one tag per token, found {len(words)} tokens "
                                               f"and {len(tag_ids)} tags")
        if names is None or any(not 0 <= t < len(names) for t in tag_ids):
            raise DataFormatError(where, line, f"tag ids {tag_ids} do not index the tag set")
        examples.append(TaggingExample(guid=f"{where.name}-{line - 1}", words=tuple(words),
                                       tags=tuple(names[t] for t in tag_ids)))
    return examples


def qa_rows(rows: Sequence[dict], where: Path, id_prefix: str | None = None) -> list[QAExample]:
    """SQuAD-style rows: id, question, context, answers {text: [...], answer_start: [...]}."""
    examples = []
    for line, row in enumerate(rows, start=1):
        question_id = str(field(row, "id", where, line))
        if id_prefix is not None and not question_id.startswith(id_prefix):
            continue
        answers = field(row, "answers", where, line)
        texts, starts = answers.get("text", []), answers.get("answer_start", [])
        if len(texts) != len(starts):
            raise DataFormatError(where, line, f"found {len(texts)} answer texts but {len(starts)} answer starts")
        examples.append(QAExample(
            guid=question_id,
            question=text_field(row, "question", where, line).strip(),
            context=text_field(row, "context", where, line),
            answers=tuple(Answer(text, int(start)) for text, start in zip(texts, starts)),
            title=str(row.get("title", "")),
        ))
    return examples


def multiple_choice_rows(task: TaskSpec, rows: Sequence[dict], where: Path) -> list[MultipleChoiceExample]:
    examples = []
    for index, row in enumerate(rows):
        line = index + 1
        if task.name == "hellaswag":
            examples.append(hellaswag_example(row, where, line, index))
        elif task.name == "cosmosqa":
            examples.append(cosmosqa_example(row, where, line))
        elif task.name == "csqa":
            examples.append(csqa_example(row, where, line))
        elif task.name == "siqa":  # the hub keeps the 1-based label file's values in "label"
            label = row.get("label")
            if label not in (None, "") and str(label) not in ("1", "2", "3"):
                raise DataFormatError(where, line, f"expected label 1, 2 or 3, found {label!r}")
            examples.append(siqa_example(row, where, line, index, int(label) - 1 if label not in (None, "") else None))
        elif task.name == "xcopa":
            examples.append(xcopa_example(row, where, line, index))
        else:
            raise MissingDataError(f"no hub row converter for multiple-choice task {task.name}")
    return examples


def tatoeba_rows(rows: Sequence[dict], lang: str, where: Path) -> RetrievalSet:
    """google/xtreme tatoeba.LLL rows: source_sentence (LLL) and target_sentence (English), aligned."""
    source, target = [], []
    for line, row in enumerate(rows, start=1):
        source.append(SentencePair(str(line - 1), text_field(row, "source_sentence", where, line).strip()))
        target.append(SentencePair(str(line - 1), text_field(row, "target_sentence", where, line).strip()))
    return RetrievalSet(guid=f"tatoeba-{lang}", source_lang=lang, target_lang="en", source=tuple(source),
                        target=tuple(target), gold=tuple((p.id, p.id) for p in source))


def _class_names(feature: object) -> list[str] | None:
    """ClassLabel names of a feature, or of the ClassLabel inside a sequence feature."""
    names = getattr(feature, "names", None)
    if names is None:
        names = getattr(getattr(feature, "feature", None), "names", None)
    return list(names) if names else None
