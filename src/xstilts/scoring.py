"""Score XTREME prediction files against gold data, like xtreme's evaluate.py.

One file: ``score_file(task, lang, gold, pred)``. The gold file is the task's own data file (read
with the task's reader: XNLI/PAWS-X TSV, PAN-X TSV, UD CoNLL-U, SQuAD-format JSON), except for the
retrieval tasks, whose gold is either XTREME's label file (BUCC: ``source id<TAB>target id``
lines; Tatoeba: one integer per line) or the task's data file (BUCC ``LANG-en.SPLIT.LANG`` with its
``.gold`` twin; Tatoeba ``tatoeba.LLL-eng.LLL``, line-aligned).

A folder: ``score_folder(pred_dir, gold_dir)`` reads the layout xtreme's evaluate.py reads,
generalised to the split::

    PRED_DIR/{task}/{split}-{lang}.json   QA tasks (xquad, mlqa, tydiqa)
    PRED_DIR/{task}/{split}-{lang}.tsv    every other task

(XTREME: ``test-{lang}``). The gold folder may also be XTREME's ``--label_folder``
(``GOLD_DIR/{task}/{split}-{lang}.tsv|json``: one label per line for XNLI/PAWS-X, one tag per line
with blank lines between sentences for POS/NER, SQuAD JSON for QA, id pairs for BUCC, indices
for Tatoeba); such a file is used when present. For each official language of each task folder it scores the file
against the task's ``{split}`` data for that language under ``gold_dir``, found through the task's
file layouts (the XTREME download layout or the original releases), then aggregates
(``xstilts.metrics.aggregate``). Prediction formats: ``xstilts.metrics.predictions``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, DataFormatError, MissingDataError, UnknownLanguageError
from xstilts.languages import TYDIQA_NAMES, XTREME_TO_TATOEBA
from xstilts.metrics import aggregate, classification, predictions, qa, retrieval, tagging
from xstilts.tasks.load import language_of_file, load_examples, locate, read_task_file
from xstilts.tasks.registry import all_tasks, get_task
from xstilts.tasks.types import (
    ClassificationExample,
    Example,
    Metric,
    MultipleChoiceExample,
    QAExample,
    RetrievalSet,
    TaggingExample,
    TaskKind,
    TaskSpec,
)

_PREDICTION_NAME = re.compile(r"(?P<split>[a-z]+)-(?P<lang>[a-z]{2,3})\.(?P<suffix>tsv|json)")


def _prediction_suffix(task: TaskSpec) -> str:
    return "json" if task.kind is TaskKind.EXTRACTIVE_QA else "tsv"


# ---------------------------------------------------------------- one file


def score_file(task: str, lang: str, gold: Path, pred: Path) -> dict[str, float]:
    """Metrics (x100) of one prediction file; keys by task kind: classification ``accuracy``;
    tagging ``f1 precision recall accuracy``; QA ``exact_match f1``; BUCC ``f1 precision recall``;
    Tatoeba ``accuracy``."""
    spec = get_task(task)
    gold, pred = Path(gold), Path(pred)
    if not gold.is_file():
        raise MissingDataError(f"{gold}: gold file not found")
    _check_language(spec, lang, gold)
    if spec.kind is TaskKind.RETRIEVAL and not _is_retrieval_data_file(spec, lang, gold):
        return _score_retrieval_label_file(spec, gold, pred)
    if spec.kind in _LABEL_FILE_KINDS and _is_label_only(gold):
        return _score_label_only_file(spec, gold, pred)
    return score_examples(spec, lang, read_task_file(spec, gold, lang=lang), str(gold), pred)


def _check_language(task: TaskSpec, lang: str, gold: Path) -> None:
    """Refuse a --lang the task does not have or the gold file's name contradicts: the language
    picks the answer normalisation (MLQA) and the reader's options, so a wrong one scores wrong."""
    if lang not in task.languages:
        raise UnknownLanguageError(f"--lang {lang!r}: not a language of {task.name} "
                                   f"(its languages: {' '.join(task.languages)})")
    named = language_of_file(task, gold)
    if named is not None and named != lang and named in task.languages:
        raise ConfigError(f"--lang {lang}: the gold file {gold} is named for language {named!r}; "
                          f"pass --lang {named} or the {lang} gold file")


_LABEL_FILE_KINDS = (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION, TaskKind.TAGGING)


def _is_label_only(path: Path) -> bool:
    """XTREME's ``--label_folder`` files: one label (XNLI, PAWS-X) or one tag (POS, NER) per line,
    never a second field, while every data file of those tasks has tab-separated columns."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    values = [line for line in lines if line]
    return bool(values) and all(len(value.split()) == 1 for value in values)


def _score_label_only_file(task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
    """Gold from a label-only file, read like evaluate.py's ``read_label`` / ``read_tag``."""
    if task.kind is TaskKind.TAGGING:
        sentences = predictions.read_tag_sentences(gold, labels=task.labels)
        return _tagging_scores(task, sentences, pred)
    labels = predictions.read_labels(gold, labels=task.labels)
    return classification.accuracy(labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))


def _is_retrieval_data_file(task: TaskSpec, lang: str, path: Path) -> bool:
    """Whether ``path`` is named like one of the task's data files for ``lang`` (any split)."""
    values = {"lang": lang, "lang3": XTREME_TO_TATOEBA.get(lang, lang),
              "lang_name": TYDIQA_NAMES.get(lang, lang), "split": "*"}
    return any(fnmatch.fnmatchcase(path.name, layout.pattern.split("/")[-1].format(**values))
               for layout in task.layouts)


def _score_retrieval_label_file(task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
    if task.metric is Metric.BUCC_F1:
        return _bucc(predictions.read_id_pairs(gold), predictions.read_id_pairs(pred), pred)
    gold_indices = predictions.read_indices(gold)
    return retrieval.tatoeba_accuracy(predictions.read_indices(pred, count=len(gold_indices)), gold_indices)


def score_examples(task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str,
                   pred: Path) -> dict[str, float]:
    """Score the prediction file ``pred`` against gold examples read from ``gold_name``."""
    if not gold:
        raise DataFormatError(gold_name, None, f"no {task.name} examples to score against")
    if task.kind in (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION):
        return _score_classification(task, gold, gold_name, pred)
    if task.kind is TaskKind.MULTIPLE_CHOICE:
        return _score_multiple_choice(task, gold, gold_name, pred)
    if task.kind is TaskKind.TAGGING:
        return _score_tagging(task, gold, gold_name, pred)
    if task.kind is TaskKind.EXTRACTIVE_QA:
        return _score_qa(task, lang, gold, gold_name, pred)
    return _score_retrieval_set(task, gold, gold_name, pred)


def example_units(task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> Any:
    """Per-example pieces of the metrics of the prediction file ``pred`` (see
    ``xstilts.metrics.per_example``), read exactly as ``score_examples`` reads it; None for BUCC."""
    from xstilts.metrics import per_example

    if task.kind in (TaskKind.SINGLE_CLASSIFICATION, TaskKind.PAIR_CLASSIFICATION):
        labels = [_gold_field(example, ClassificationExample, "label", gold_name) for example in gold]
        return per_example.accuracy_units(labels, predictions.read_labels(pred, labels=task.labels, count=len(labels)))
    if task.kind is TaskKind.MULTIPLE_CHOICE:
        answers = [str(_gold_field(example, MultipleChoiceExample, "label", gold_name)) for example in gold]
        choices = [str(i) for i in range(max(len(example.choices) for example in gold))]
        return per_example.accuracy_units(answers, predictions.read_labels(pred, labels=choices, count=len(answers)))
    if task.kind is TaskKind.TAGGING:
        sentences = [list(_gold_field(example, TaggingExample, "tags", gold_name)) for example in gold]
        predicted = predictions.read_tag_sentences(pred, labels=task.labels, lengths=[len(s) for s in sentences])
        units = per_example.tagging_units(sentences, predicted)
        return units if task.metric in (Metric.POS_F1, Metric.SPAN_F1) else units[["accuracy_num", "accuracy_den"]]
    if task.kind is TaskKind.EXTRACTIVE_QA:
        answers = {example.guid: [answer.text for answer in example.answers] for example in gold}
        normalize = qa.normalizer(task.metric is Metric.MLQA, lang)
        return per_example.qa_units(qa.per_question(answers, predictions.read_qa_predictions(pred), normalize))
    if task.metric is Metric.BUCC_F1:
        return None
    gold_indices = _tatoeba_gold_indices(gold[0])
    return per_example.accuracy_units(gold_indices, predictions.read_indices(pred, count=len(gold_indices)))


def _score_classification(task: TaskSpec, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
    labels = [_gold_field(example, ClassificationExample, "label", gold_name) for example in gold]
    predicted = predictions.read_labels(pred, labels=task.labels, count=len(labels))
    return classification.accuracy(labels, predicted)


def _score_multiple_choice(task: TaskSpec, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
    answers = [str(_gold_field(example, MultipleChoiceExample, "label", gold_name)) for example in gold]
    choices = [str(i) for i in range(max(len(example.choices) for example in gold))]
    predicted = predictions.read_labels(pred, labels=choices, count=len(answers))
    return classification.accuracy(answers, predicted)


def _score_tagging(task: TaskSpec, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
    sentences = [list(_gold_field(example, TaggingExample, "tags", gold_name)) for example in gold]
    return _tagging_scores(task, sentences, pred)


def _tagging_scores(task: TaskSpec, sentences: list[list[str]], pred: Path) -> dict[str, float]:
    """The task's tagging metric of the prediction file against gold tag ``sentences``."""
    predicted = predictions.read_tag_sentences(pred, labels=task.labels, lengths=[len(s) for s in sentences])
    if task.metric is Metric.POS_F1:
        return tagging.pos_metrics(sentences, predicted)
    if task.metric is Metric.SPAN_F1:
        return tagging.ner_metrics(sentences, predicted)
    return {"accuracy": tagging.token_accuracy(sentences, predicted) * 100}


def _score_qa(task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
    answers: dict[str, list[str]] = {}
    for example in gold:
        _gold_field(example, QAExample, "answers", gold_name)
        if example.guid in answers:
            raise DataFormatError(gold_name, None, f"question id {example.guid!r} occurs twice: predictions "
                                                   "keyed by question id cannot tell the questions apart")
        unanswerable_allowed = task.allow_no_answer
        if not example.answers and not unanswerable_allowed:
            raise DataFormatError(gold_name, None, f"question {example.guid!r} has no gold answer")
        answers[example.guid] = [answer.text for answer in example.answers]
    if task.allow_no_answer:
        return qa.squad_v2_metrics(answers, _read_qa(pred, answers, gold_name))
    if not any(text for texts in answers.values() for text in texts):
        # XTREME's download blanks the answers of its test sets (TyDiQA-GoldP dev included).
        raise DataFormatError(gold_name, None, "every gold answer text is empty: this copy has its answers "
                                               "removed; score against the original release")
    predicted = _read_qa(pred, answers, gold_name)
    if task.metric is Metric.MLQA:
        return qa.mlqa_metrics(answers, predicted, lang)
    return qa.squad_metrics(answers, predicted)


def _read_qa(pred: Path, answers: dict[str, list[str]], gold_name: str) -> dict[str, str]:
    predicted = predictions.read_qa_predictions(pred)
    if not predicted:
        raise DataFormatError(pred, None, f"no predictions (an empty object); expected an answer for each of the "
                                          f"{len(answers)} questions of {gold_name}")
    if not predicted.keys() & answers.keys():
        raise DataFormatError(pred, None, f"none of its {len(predicted)} question ids is a question of {gold_name}")
    unanswered = [question for question in answers if question not in predicted]
    if unanswered:
        # The official scripts print "Unanswered question ... will receive score 0." per question.
        _warn(f"{pred}: {len(unanswered)} of {len(answers)} questions have no prediction and score 0 "
              f"(first: {unanswered[0]!r})")
    return predicted


def _score_retrieval_set(task: TaskSpec, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
    if len(gold) != 1 or not isinstance(gold[0], RetrievalSet):
        raise DataFormatError(gold_name, None, f"expected one {task.name} retrieval set")
    retrieval_set = gold[0]
    if not retrieval_set.gold:
        raise MissingDataError(f"{gold_name}: no gold pairs (BUCC test gold is not public)")
    if task.metric is Metric.BUCC_F1:
        return _bucc(retrieval_set.gold, predictions.read_id_pairs(pred), pred)
    gold_indices = _tatoeba_gold_indices(retrieval_set)
    predicted = predictions.read_indices(pred, count=len(gold_indices))
    candidates = len(retrieval_set.source if retrieval_set.target_lang == "en" else retrieval_set.target)
    for line, index in enumerate(predicted, start=1):
        if index >= candidates:
            raise DataFormatError(pred, line, f"index {index} is past the end: {gold_name} has {candidates} "
                                              f"candidate sentences (indices 0 .. {candidates - 1})")
    return retrieval.tatoeba_accuracy(predicted, gold_indices)


def _bucc(gold: Sequence[tuple[str, str]], predicted: list[tuple[str, str]], pred: Path) -> dict[str, float]:
    gold_pairs, found = set(gold), set(predicted)
    if found and not found & gold_pairs and {(t, s) for s, t in found} & gold_pairs:
        raise DataFormatError(pred, 1, "its pairs match the gold only with the columns swapped: "
                                       "write 'source id<TAB>target id' (the non-English id first)")
    return retrieval.bucc_f1(list(gold), predicted)


def _warn(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr, flush=True)


def _tatoeba_gold_indices(retrieval_set: RetrievalSet) -> list[int]:
    """For each English sentence (prediction line), the position of its translation on the other
    side, -1 when it has none (the order xstilts.evaluation writes Tatoeba predictions in)."""
    english_is_target = retrieval_set.target_lang == "en"
    english, other = ((retrieval_set.target, retrieval_set.source) if english_is_target
                      else (retrieval_set.source, retrieval_set.target))
    position = {sentence.id: i for i, sentence in enumerate(other)}
    translation = {(t if english_is_target else s): (s if english_is_target else t) for s, t in retrieval_set.gold}
    return [position.get(translation.get(sentence.id, ""), -1) for sentence in english]


def _gold_field(example: Example, kind: type, name: str, gold_name: str) -> Any:
    if not isinstance(example, kind):
        raise DataFormatError(gold_name, None,
                              f"expected {kind.__name__} gold examples, found {type(example).__name__}")
    value = getattr(example, name)
    if value is None:
        raise DataFormatError(gold_name, None, f"example {example.guid!r} has no gold {name}")
    return value


# ---------------------------------------------------------------- a folder


def score_folder(pred_dir: Path, gold_dir: Path, *, require_all_languages: bool = True) -> dict[str, Any]:
    """Score every prediction file of the layout above and aggregate like xtreme's evaluate.py.

    Returns ``aggregate.aggregate``'s dict plus, per task, ``split`` and ``files``, and a top-level
    ``ignored_files`` (files that are not an official language's prediction of a registered task).
    """
    pred_dir, gold_dir = Path(pred_dir), Path(gold_dir)
    if not pred_dir.is_dir():
        raise MissingDataError(f"{pred_dir}: prediction folder not found")
    tasks = {task.name: task for task in all_tasks()}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    details: dict[str, dict[str, Any]] = {}
    ignored: list[str] = []
    for folder in sorted(path for path in pred_dir.iterdir() if path.is_dir()):
        if folder.name not in tasks:
            ignored.append(str(folder))
            continue
        task = tasks[folder.name]
        files, skipped = _prediction_files(task, folder)
        ignored.extend(skipped)
        if not files:
            continue
        split = _single_split(folder, files)
        scores[task.name] = {lang: _score_language(task, lang, split, gold_dir, path)
                             for (_, lang), path in sorted(files.items())}
        details[task.name] = {"split": split, "files": {lang: str(path) for (_, lang), path in sorted(files.items())}}
    if not scores:
        raise MissingDataError(f"{pred_dir}: no prediction files found (expected TASK/SPLIT-LANG.tsv or .json, "
                               "e.g. xnli/test-de.tsv)")
    summary = aggregate.aggregate(scores, require_all_languages=require_all_languages)
    for name, extra in details.items():
        summary["tasks"][name].update(extra)
    summary["ignored_files"] = ignored
    return summary


def _prediction_files(task: TaskSpec, folder: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """{(split, lang): path} of the official languages' prediction files, and the other files."""
    found: dict[tuple[str, str], Path] = {}
    skipped: list[str] = []
    for path in sorted(folder.iterdir()):
        match = _PREDICTION_NAME.fullmatch(path.name)
        if (match and path.is_file() and match["lang"] in task.languages
                and match["suffix"] == _prediction_suffix(task)):
            found[(match["split"], match["lang"])] = path
        else:
            skipped.append(str(path))
    return found, skipped


def _single_split(folder: Path, files: dict[tuple[str, str], Path]) -> str:
    splits = sorted({split for split, _ in files})
    if len(splits) > 1:
        raise ConfigError(f"{folder}: predictions for several splits ({', '.join(splits)}); "
                          "keep one split per task folder")
    return splits[0]


def label_file(task: TaskSpec, lang: str, split: str, gold_dir: Path) -> Path | None:
    """XTREME's label-folder file ``GOLD_DIR/TASK/SPLIT-LANG.tsv|json`` when there is one."""
    path = Path(gold_dir) / task.name / f"{split}-{lang}.{_prediction_suffix(task)}"
    return path if path.is_file() else None


def _score_language(task: TaskSpec, lang: str, split: str, gold_dir: Path, pred: Path) -> dict[str, float]:
    labels = label_file(task, lang, split, gold_dir)
    if labels is not None:
        return score_file(task.name, lang, labels, pred)
    _, gold_files = locate(task, lang, split, gold_dir)
    gold_name = str(gold_files[0]) if len(gold_files) == 1 else f"{task.name} {split} {lang} gold under {gold_dir}"
    return score_examples(task, lang, load_examples(task, lang, split, gold_dir), gold_name, pred)
