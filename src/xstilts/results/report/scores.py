"""A suite's score per condition: which target counts for each task, and the suite's group scores."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import averaged_languages, ordered_targets, target_scores_per_run, target_task
from xstilts.results.suite_table import suite_columns
from xstilts.tasks.registry import get_task, suite_tasks


def counted_targets(rows: pd.DataFrame, targets: Sequence[str], suite: str) -> dict[str, str]:
    """Task -> the target that counts for it in ``suite``'s score: each task once, its target named
    after the task, else its first target."""
    members = {task.name for task in suite_tasks(suite)}
    counted: dict[str, str] = {}
    for target in targets:
        task = target_task(rows, target)
        if task in members and (task not in counted or target == task):
            counted[task] = target
    return counted


def suite_table(rows: pd.DataFrame, targets: Sequence[str], conditions: Sequence[str], suite: str,
                include_contaminated: bool = False) -> pd.DataFrame:
    """Per condition, ``suite``'s group scores and score (``results.suite_table.suite_columns``)
    from the mean over seeds of each counted target's per-seed task score over the suite's
    languages of it (XTREME scores PAN-X on 40 of its 48 languages)."""
    means = {}
    for task, target in counted_targets(rows, targets, suite).items():
        spec = get_task(task)
        languages = [lang for lang in averaged_languages(rows, target, include_contaminated)
                     if lang in spec.suite_languages(suite)]
        means[task] = (target_scores_per_run(rows, target, languages).groupby("condition")["value"].mean()
                       if languages else pd.Series(dtype=float))
    return suite_columns(pd.DataFrame(means, index=list(conditions), columns=list(means)), suite)



def condition_suite_table(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    """``suite_table`` of filtered store rows, every condition in name order (``results show``)."""
    rows = condition_rows(frame)
    if "condition" not in rows:
        rows = rows.assign(condition=rows["order_name"])
    conditions = sorted(set(rows["condition"]))
    return suite_table(rows, ordered_targets(rows), conditions, suite)
