"""The scoring half of a task kind: its predictions' XTREME file format, how they are scored, and
their per-example units. No model and no torch here, so ``xstilts score`` starts at once; the
model half of a kind (features, head, decoding) is ``xstilts.modeling.kinds``, whose adapter
holds its kind's scorer (``KindAdapter.scorer``).

Predictions come in the format ``KindAdapter.decode`` returns: labels (classification), choice
indices (multiple choice), one tag list per sentence (tagging), {question id: answer} (QA), id
pairs (BUCC), indices (Tatoeba), masked-LM sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import DataFormatError
from xstilts.tasks.types import Example, TaskKind, TaskSpec


class KindScorer:
    kinds: tuple[TaskKind, ...] = ()
    suffix = "tsv"  # of the prediction file: PRED_DIR/{task}/{split}-{lang}.{suffix}

    def file_suffix(self, task: TaskSpec) -> str:
        """The prediction file's suffix for ``task`` (a kind's variant may use another format)."""
        return self.suffix

    def write(self, task: TaskSpec, path: Path, predictions: Any) -> None:
        """Write ``predictions`` to ``path`` in XTREME's format (atomically)."""
        raise NotImplementedError(f"{task.name}: {task.kind.value} predictions are not written to files")

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        """Metrics (x100) of the prediction file ``pred`` against gold examples read from ``gold_name``."""
        raise NotImplementedError(f"{task.name}: {task.kind.value} predictions are not scored from files")

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> pd.DataFrame | None:
        """Per-example pieces of the metrics of ``pred`` (``xstilts.metrics.per_example``), read
        exactly as ``score`` reads it; None where the metric has no per-example form."""
        return None

    def score_predictions(self, task: TaskSpec, lang: str, examples: Sequence[Example], predictions: Any
                          ) -> dict[str, float]:
        """Metrics (x100) of in-memory predictions (dev evaluation during training)."""
        raise NotImplementedError(f"{task.name}: {task.kind.value} predictions are not scored in memory")

    def is_label_file(self, task: TaskSpec, lang: str, gold: Path) -> bool:
        """Whether ``gold`` is a label file (XTREME's ``--label_folder``) rather than the task's data file."""
        return False

    def score_label_file(self, task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
        raise NotImplementedError(f"{task.name}: no label files")


def gold_field(example: Example, kind: type, name: str, gold_name: str) -> Any:
    """``example.name``, or a DataFormatError when the gold is of another type or lacks it."""
    if not isinstance(example, kind):
        raise DataFormatError(gold_name, None,
                              f"expected {kind.__name__} gold examples, found {type(example).__name__}")
    value = getattr(example, name)
    if value is None:
        raise DataFormatError(gold_name, None, f"example {example.guid!r} has no gold {name}")
    return value


def is_label_only(path: Path) -> bool:
    """XTREME's ``--label_folder`` files: one label (XNLI, PAWS-X) or one tag (POS, NER) per line,
    never a second field, while every data file of those tasks has tab-separated columns."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    values = [line for line in lines if line]
    return bool(values) and all(len(value.split()) == 1 for value in values)
