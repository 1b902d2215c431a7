"""Extractive QA: a JSON object {question id: answer text}, scored by F1 / EM with the task's
answer normalisation (SQuAD; MLQA per language; SQuAD v2 when a question may have no answer)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import DataFormatError
from xstilts.metrics import per_example, predictions, qa
from xstilts.scoring.kinds.base import KindScorer, gold_field
from xstilts.tasks.types import Example, Metric, QAExample, TaskKind, TaskSpec


def _metrics(task: TaskSpec, lang: str, answers: dict[str, list[str]], predicted: dict[str, str]) -> dict[str, float]:
    if task.allow_no_answer:
        return qa.squad_v2_metrics(answers, predicted)
    if task.metric is Metric.MLQA:
        return qa.mlqa_metrics(answers, predicted, lang)
    return qa.squad_metrics(answers, predicted)


class QAScorer(KindScorer):
    kinds = (TaskKind.EXTRACTIVE_QA,)
    suffix = "json"

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        predictions.write_qa_predictions(path, predictions_)

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        answers: dict[str, list[str]] = {}
        for example in gold:
            gold_field(example, QAExample, "answers", gold_name)
            if example.guid in answers:
                raise DataFormatError(gold_name, None, f"question id {example.guid!r} occurs twice: predictions "
                                                       "keyed by question id cannot tell the questions apart")
            if not example.answers and not task.allow_no_answer:
                raise DataFormatError(gold_name, None, f"question {example.guid!r} has no gold answer")
            answers[example.guid] = [answer.text for answer in example.answers]
        if not task.allow_no_answer and not any(text for texts in answers.values() for text in texts):
            # XTREME's download blanks the answers of its test sets (TyDiQA-GoldP dev included).
            raise DataFormatError(gold_name, None, "every gold answer text is empty: this copy has its answers "
                                                   "removed; score against the original release")
        return _metrics(task, lang, answers, _read(pred, answers, gold_name))

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame:
        answers = {example.guid: [answer.text for answer in example.answers] for example in gold}
        normalize = qa.normalizer(task.metric is Metric.MLQA, lang)
        return per_example.qa_units(qa.per_question(answers, predictions.read_qa_predictions(pred), normalize))

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        answers = {ex.guid: [a.text for a in ex.answers] for ex in examples}
        return _metrics(task, lang, answers, predictions_)


def _read(pred: Path, answers: dict[str, list[str]], gold_name: str) -> dict[str, str]:
    predicted = predictions.read_qa_predictions(pred)
    if not predicted:
        raise DataFormatError(pred, None, f"no predictions (an empty object); expected an answer for each of the "
                                          f"{len(answers)} questions of {gold_name}")
    if not predicted.keys() & answers.keys():
        raise DataFormatError(pred, None, f"none of its {len(predicted)} question ids is a question of {gold_name}")
    unanswered = [question for question in answers if question not in predicted]
    if unanswered:
        # The official scripts print "Unanswered question ... will receive score 0." per question.
        print(f"warning: {pred}: {len(unanswered)} of {len(answers)} questions have no prediction and score 0 "
              f"(first: {unanswered[0]!r})", file=sys.stderr, flush=True)
    return predicted
