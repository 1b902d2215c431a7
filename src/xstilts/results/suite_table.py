"""A suite's columns of the paper-style table: its group scores and its score, from task scores.

Pure: a DataFrame of task scores in (index: condition, columns: task names; NaN where a
condition has no score for a task) -> a DataFrame of the suite's columns out (same index). The
rules are the suite's (``xstilts.tasks.suites``): a group's score is the mean of its tasks'; the
suite's score is the mean of all its tasks', labelled partial when the study does not target
every task of the suite (then it is the mean of the suite's tasks that it targets).
"""

from __future__ import annotations

import pandas as pd

from xstilts.tasks.registry import get_suite, suite_tasks


def score_column(suite: str, counted: int, comparable: bool = True) -> str:
    """The score column's name: "XTREME-R score", partial with the count of tasks, and "not
    comparable with the XTREME-R leaderboard" when ``comparable`` is False (``suite_caveats``)."""
    rules = get_suite(suite)
    total = len(suite_tasks(suite))
    labels = [] if counted == total else [f"partial: {counted}/{total} tasks"]
    if not comparable:
        labels.append(f"not comparable with the {rules.display_name} leaderboard")
    return rules.score_name + (f" ({'; '.join(labels)})" if labels else "")


def suite_columns(task_scores: pd.DataFrame, suite: str, comparable: bool = True) -> pd.DataFrame:
    """The suite's group columns (display names; a group's tasks must all be targeted and scored)
    and its score column (every targeted member task scored for the condition, else NaN; named
    by ``score_column``). Columns of ``task_scores`` that are not tasks of the suite are ignored."""
    rules = get_suite(suite)
    members = suite_tasks(suite)
    targeted = [task.name for task in members if task.name in task_scores.columns]
    out = pd.DataFrame(index=task_scores.index)
    for group, display in rules.groups:
        names = [task.name for task in members if task.member_of(suite).group == group]
        if names and all(name in task_scores.columns for name in names):
            out[display] = task_scores[names].mean(axis=1, skipna=False)
    column = score_column(suite, len(targeted), comparable)
    out[column] = task_scores[targeted].mean(axis=1, skipna=False) if targeted else float("nan")
    return out
