"""A suite's score per condition: which target counts for each task, and the suite's group scores."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.rows import (
    averaged_languages, ordered_targets, target_scores_per_run, target_task, trainings_of,
)
from xstilts.results.suite_table import suite_columns
from xstilts.tasks.registry import get_suite, get_task, suite_tasks


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


def fine_tuned(rows: pd.DataFrame, target: str) -> bool:
    """Whether ``target``'s rows were scored after a target fine-tuning (their recorded path)."""
    if "training" not in rows:
        return False
    training = rows.loc[rows["target"] == target, "training"]
    return not training.empty and any(step.get("is_target") for step in trainings_of(training.iloc[0]))


def suite_caveats(rows: pd.DataFrame, targets: Sequence[str], suite: str) -> list[str]:
    """Why the suite score of these rows cannot be compared with the suite's leaderboard: a counted
    task whose data is not the paper's (``TaskSpec.leaderboard_caveat``), or a retrieval task
    scored from the bare encoder where the suite fine-tunes it (``TaskSpec.fine_tuning``)."""
    reasons = []
    for task, target in counted_targets(rows, targets, suite).items():
        spec = get_task(task)
        if spec.leaderboard_caveat:
            reasons.append(f"{spec.title}: {spec.leaderboard_caveat}")
        if spec.fine_tuning_in(suite) is not None and not fine_tuned(rows, target):
            reasons.append(f"{spec.title} is scored from the encoder ({target}), not after "
                           f"{get_suite(suite).display_name}'s fine-tuning ({spec.fine_tuning_in(suite).task})")
    return reasons


def suite_notes(rows: pd.DataFrame, targets: Sequence[str], suite: str) -> list[str]:
    """What the suite's score column is: the suite's own note, and why it is not comparable with
    the leaderboard where it is not."""
    rules = get_suite(suite)
    notes = [rules.score_note] if rules.score_note else []
    caveats = suite_caveats(rows, targets, suite)
    if caveats:
        notes.append(f"The {rules.score_name} is not comparable with the {rules.display_name} leaderboard: "
                     + "; ".join(caveats) + ".")
    return notes


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
    return suite_columns(pd.DataFrame(means, index=list(conditions), columns=list(means)), suite,
                         comparable=not suite_caveats(rows, targets, suite))



def condition_suite_table(frame: pd.DataFrame, suite: str) -> tuple[pd.DataFrame, list[str]]:
    """``suite_table`` of filtered store rows, every condition in name order, and its
    ``suite_notes`` (``results show``)."""
    rows = condition_rows(frame)
    if "condition" not in rows:
        rows = rows.assign(condition=rows["order_name"])
    conditions = sorted(set(rows["condition"]))
    targets = ordered_targets(rows)
    return suite_table(rows, targets, conditions, suite), suite_notes(rows, targets, suite)
