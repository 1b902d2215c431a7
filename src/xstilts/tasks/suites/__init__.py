"""Benchmark suites: which target tasks make up a benchmark, in which groups, and how its scores
are formed. One module per suite declares ``SUITE``; the registry finds them by itself. Task
files declare their membership (``TaskSpec.suites``: group and column), so a suite is its rules
plus the tasks that say they belong to it.

The rules here are XTREME's (docs/reference.md section 2): a task's score is the mean over its
languages of its metric's score keys (``metrics.registry``: the primary metric, for extractive QA
(mean F1 + mean EM) / 2); a group's score and
the suite's score are unweighted means of task scores, defined only when every member task is
scored. A suite with other rules overrides these methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from xstilts.metrics.registry import scoring_rule
from xstilts.tasks.types import TaskSpec


@dataclass(frozen=True)
class Suite:
    name: str  # what studies and options say: "xtreme"
    display_name: str  # "XTREME"
    groups: tuple[tuple[str, str], ...]  # (group, display name), in table order
    description: str = ""
    # What the suite's score is and how it relates to the reference scorer (every table says it).
    score_note: str = ""

    @property
    def score_name(self) -> str:
        return f"{self.display_name} score"

    def group_names(self) -> dict[str, str]:
        return dict(self.groups)

    def members(self, tasks: Iterable[TaskSpec]) -> list[TaskSpec]:
        """This suite's tasks among ``tasks``, in table order: by group, then by position."""
        rank = {group: index for index, (group, _) in enumerate(self.groups)}
        placed = [(task, task.member_of(self.name)) for task in tasks]
        members = [(task, member) for task, member in placed if member is not None]
        for task, member in members:
            if member.group not in rank:
                raise ValueError(f"task {task.name}: {self.name} has no group {member.group!r} "
                                 f"(groups: {', '.join(rank)})")
        return [task for task, member in sorted(members, key=lambda pair: (rank[pair[1].group], pair[1].position))]

    def score_metrics(self, task: TaskSpec) -> tuple[str, ...]:
        """The metrics whose language averages make the task's score (their mean)."""
        return scoring_rule(task.metric).task_score_keys

    def task_score(self, task: TaskSpec, averages: Mapping[str, float]) -> float:
        """The single number the suite reports for ``task``, given its per-metric language averages."""
        return mean([averages[metric] for metric in self.score_metrics(task)])

    def group_scores(self, members: Sequence[TaskSpec], task_scores: Mapping[str, float]) -> dict[str, float | None]:
        """Each group's mean task score, None where a member task is not scored."""
        return {group: mean_if_all(task_scores, [t.name for t in members if t.member_of(self.name).group == group])
                for group, _ in self.groups}

    def score(self, members: Sequence[TaskSpec], task_scores: Mapping[str, float]) -> float | None:
        """The suite's score: the unweighted mean of every member's task score, None unless all are there."""
        return mean_if_all(task_scores, [task.name for task in members])


def mean_if_all(task_scores: Mapping[str, float], tasks: Sequence[str]) -> float | None:
    if not tasks or any(task not in task_scores for task in tasks):
        return None
    return mean([task_scores[task] for task in tasks])


def mean(values: Sequence[float]) -> float:
    # sum / len rather than statistics.fmean, to match the reference scorer's floating-point result.
    return sum(values) / len(values)
