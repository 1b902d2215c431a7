"""Which store rows a table, an export or the report reads.

By default only the rows of the CURRENT plan: rows whose evaluation node is one of the plan's
(node ids hash everything that defines a model and its evaluation, so rows of an edited study,
another learning rate or other seeds, are not the current plan's). ``all_rows`` keeps every row and
labels each condition with its plan and settings when an order was run under several of them.
A cell (target, condition) whose rows differ in evaluation settings or training settings is
refused with a one-line error naming the difference. Two targets of one task (``name = "panx2"``)
are two tables, never one cell. Trajectory rows (``role = "trajectory"``: a model after some of
an order's stages) are kept for the report's trajectories but are no condition's result.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError
from xstilts.results.store import STORE_FILENAME, ResultStore


def select_rows(results: pd.DataFrame, current_eval_nodes: Collection[str] | None, *,
                all_rows: bool = False) -> pd.DataFrame:
    """The rows to read, with a ``condition`` column (the order name, labelled under ``all_rows``)."""
    frame = results.copy()
    if not all_rows:
        if current_eval_nodes is not None:
            frame = frame[frame["eval_node"].isin(set(current_eval_nodes))]
        frame["condition"] = frame["order_name"]
    else:
        frame["condition"] = _labelled_conditions(frame)
    refuse_mixed_cells(frame)
    return frame.reset_index(drop=True)


def dropped_rows(results: pd.DataFrame, current_eval_nodes: Collection[str]) -> int:
    """How many stored rows are not the current plan's."""
    return int((~results["eval_node"].isin(set(current_eval_nodes))).sum())


def configuration(row: pd.Series) -> str:
    """A short label of a row's training + evaluation settings (seed left out)."""
    return f"plan {str(row['plan_hash'])[:6]}, settings {_config_key(row)[:6]}"


def _config_key(row: pd.Series) -> str:
    from xstilts.study.hashing import stable_hash

    return stable_hash({"settings": row["settings_hash"], "training": _training_settings(row["training"])})


def _labelled_conditions(frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype=object)
    keys = frame.apply(_config_key, axis=1)
    labels = frame.apply(configuration, axis=1)
    several = keys.groupby(frame["order_name"]).transform("nunique") > 1
    return frame["order_name"].where(~several, frame["order_name"] + " (" + labels + ")")


def _training_settings(training: Any) -> list[dict[str, Any]]:
    """The path's trainings without node ids, steps or seeds: what an edit of the study changes."""
    trainings = json.loads(training) if isinstance(training, str) else list(training or [])
    return [{"label": t.get("label"), "config": t.get("config"), "train": t.get("train"), "select": t.get("select")}
            for t in trainings]


def condition_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that are conditions' results (trajectory points left out)."""
    if "role" not in frame:
        return frame
    return frame[frame["role"] == "condition"]


def refuse_mixed_cells(frame: pd.DataFrame) -> None:
    """One-line error when a (target, condition) mixes evaluation or training settings across rows."""
    frame = condition_rows(frame)
    if frame.empty:
        return
    for (target, condition), cell in frame.groupby(["target", "condition"]):
        settings = cell.drop_duplicates("settings_hash")
        if len(settings) > 1:
            difference = _first_difference(_decode(settings.iloc[0]["settings"]), _decode(settings.iloc[1]["settings"]))
            raise ConfigError(f"{target} / {condition}: rows mix evaluation settings ({difference}); "
                              "use the current plan's rows or --all-rows to label them apart")
        trainings = {json.dumps(_training_settings(t), sort_keys=True, default=str): t for t in cell["training"]}
        if len(trainings) > 1:
            first, second = [_training_settings(t) for t in list(trainings.values())[:2]]
            raise ConfigError(f"{target} / {condition}: rows mix training settings ({_first_difference(first, second)}); "
                              "use the current plan's rows or --all-rows to label them apart")


def _decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b)):
            if x != y:
                label = x.get("label") if isinstance(x, dict) and x.get("label") == (y or {}).get("label") else index
                return _first_difference(x, y, f"{path}[{label}]")
    return f"{path or 'value'}: {a!r} vs {b!r}"


def existing_store(study_dir: str | Path) -> ResultStore | None:
    """The study's store, or None when it never ran (reading must not create one)."""
    return ResultStore.for_study(study_dir) if (Path(study_dir) / STORE_FILENAME).is_file() else None


def stored_plan_rows(study_dir: str | Path, current_eval_nodes: Collection[str], all_rows: bool
                     ) -> tuple[pd.DataFrame | None, int]:
    """The store rows a table, export or report reads (the current plan's unless ``all_rows``) and
    how many stored rows were left out; None when the study has no store yet."""
    store = existing_store(study_dir)
    if store is None:
        return None, 0
    frame = store.to_dataframe()
    current = list(current_eval_nodes)
    return select_rows(frame, current, all_rows=all_rows), (0 if all_rows else dropped_rows(frame, current))
