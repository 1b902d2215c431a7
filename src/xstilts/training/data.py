"""What one training stage reads: per task, its training examples, its dev set and its head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xstilts.errors import ConfigError
from xstilts.tasks.registry import get_task, head_name
from xstilts.tasks.selection import DataSelection, load_selection
from xstilts.tasks.types import Example, TaskSpec


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


def prepare_task_data(train: DataSelection, dev: DataSelection | None, data_dir: Path | None,
                      max_train_examples: int | None = None, max_eval_examples: int | None = None) -> TaskData:
    task = get_task(train.task)
    if not task.facts.trains:
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
        task=task, head_name=head_name(task), labels=task.training_labels(train_examples),
        train=train_examples, dev=dev_examples, train_selection=train, dev_selection=dev,
    )
