"""Multiple choice: the chosen answer's index per line, scored by accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.metrics import classification, per_example, predictions
from xstilts.scoring.kinds.base import KindScorer, gold_field
from xstilts.tasks.types import Example, MultipleChoiceExample, TaskKind, TaskSpec


class MultipleChoiceScorer(KindScorer):
    kinds = (TaskKind.MULTIPLE_CHOICE,)

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        predictions.write_indices(path, predictions_)

    def _read(self, gold: Sequence[Example], gold_name: str, pred: Path) -> tuple[list[str], list[str]]:
        answers = [str(gold_field(example, MultipleChoiceExample, "label", gold_name)) for example in gold]
        choices = [str(i) for i in range(max(len(example.choices) for example in gold))]
        return answers, predictions.read_labels(pred, labels=choices, count=len(answers))

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        return classification.accuracy(*self._read(gold, gold_name, pred))

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame:
        return per_example.accuracy_units(*self._read(gold, gold_name, pred))

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions_: Any
                          ) -> dict[str, float]:
        return classification.accuracy([str(ex.label) for ex in examples], [str(p) for p in predictions_])
