"""What one training stage reads: its training examples and its ENGLISH dev set for selection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xstilts.errors import ConfigError
from xstilts.tasks.registry import check_language, get_task
from xstilts.tasks.slices import apply_slice
from xstilts.tasks.types import Example, TaskKind, TaskSpec


@dataclass(frozen=True)
class DataSelection:
    """Which rows of which files a stage uses; recorded with every result."""

    task: str
    lang: str = "en"
    split: str = "train"
    slice: str | None = None
    files: tuple[str, ...] = ()

    def describe(self) -> str:
        where = ",".join(self.files) if self.files else f"{self.split}-{self.lang}"
        return f"{self.task}:{where}{self.slice or ''}"


@dataclass
class TaskData:
    """One task of a stage: its training examples, its dev set and the head it trains."""

    task: TaskSpec
    head_name: str
    labels: tuple[str, ...] | None
    train: list[Example]
    dev: list[Example] = field(default_factory=list)
    train_selection: DataSelection | None = None
    dev_selection: DataSelection | None = None


Sampling = Literal["proportional", "temperature", "uniform"]


@dataclass
class StageData:
    """A training stage: one task, or several trained together (multi-task) with a sampling rule."""

    tasks: list[TaskData]
    sampling: Sampling = "proportional"
    temperature: float = 2.0
    target: bool = False  # target fine-tuning: a fresh head unless the config carries it

    def probabilities(self, sizes: Sequence[int]) -> list[float]:
        """Chance that a step trains each task: proportional to size, size^(1/T), or uniform."""
        if self.sampling == "uniform":
            weights = [1.0 for _ in sizes]
        elif self.sampling == "temperature":
            weights = [n ** (1.0 / self.temperature) for n in sizes]
        else:
            weights = [float(n) for n in sizes]
        total = sum(weights)
        return [w / total for w in weights]


def load_selection(selection: DataSelection, data_dir: Path | None) -> list[Example]:
    from xstilts.tasks.load import load_examples

    task = get_task(selection.task)
    lang = check_language(task, selection.lang)
    files = [Path(f) for f in selection.files] or None
    if files is None and data_dir is None:
        raise ConfigError(f"{selection.task}: no data directory given (--data DIR) and no explicit files")
    examples = load_examples(task, lang, selection.split, data_dir, files=files)
    return apply_slice(examples, selection.slice)


# Targets whose English training set is another task's: XQuAD and MLQA fine-tune on SQuAD v1.1
# (XTREME trains one model for both), so they share that training and its head.
TRAINS_AS: dict[str, str] = {"xquad": "squad_v1", "mlqa": "squad_v1"}


def head_name_for(task: TaskSpec) -> str:
    """Tasks on one label set share a head: every NLI task trains the same "nli" head (ANLI+);
    XQuAD and MLQA use the SQuAD v1.1 head they were trained as."""
    from xstilts.tasks.classification import NLI_LABELS

    if task.name in TRAINS_AS:
        return head_name_for(get_task(TRAINS_AS[task.name]))
    if task.labels == NLI_LABELS:
        return "nli"
    return task.name


def label_set(task: TaskSpec, train: Sequence[Example]) -> tuple[str, ...] | None:
    """The task's labels, or (open label sets such as CCG supertags) those seen in training plus
    ``UNKNOWN_TAG`` for tags that only occur in dev or test."""
    from xstilts.tasks.tagging import UNKNOWN_TAG

    if task.labels is not None:
        return task.labels
    if task.kind is TaskKind.TAGGING:
        return (*sorted({tag for ex in train for tag in (ex.tags or ())} - {UNKNOWN_TAG}), UNKNOWN_TAG)
    return None


def prepare_task_data(train: DataSelection, dev: DataSelection | None, data_dir: Path | None,
                      max_train_examples: int | None = None, max_eval_examples: int | None = None) -> TaskData:
    task = get_task(train.task)
    if task.kind is TaskKind.RETRIEVAL:
        raise ConfigError(f"{task.name}: retrieval tasks are not trained; evaluate them directly")
    train_examples = load_selection(train, data_dir)
    if max_train_examples:
        train_examples = train_examples[:max_train_examples]
    if not train_examples:
        raise ConfigError(f"{train.describe()}: the training selection is empty")
    dev_examples: list[Example] = []
    if dev is not None:
        dev_examples = load_selection(dev, data_dir)
        if max_eval_examples:
            dev_examples = dev_examples[:max_eval_examples]
    return TaskData(
        task=task, head_name=head_name_for(task), labels=label_set(task, train_examples),
        train=train_examples, dev=dev_examples, train_selection=train, dev_selection=dev,
    )
