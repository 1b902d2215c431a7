"""The result rows of one evaluation node: the ONE place that turns an evaluation summary and
the plan's facts about the evaluated model's path into store rows (recording and any rebuild from
node folders use it, so both give the same columns).

Per-example outputs are kept beside the store, content-addressed:
``STUDY_DIR/examples/<sha256>.parquet`` (one row per evaluation example; see
``xstilts.metrics.per_example``), referenced from the rows by ``examples_ref``.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.files import write_bytes_atomic
from xstilts.modeling.run_folders import RESULT_FILE
from xstilts.metrics.registry import row_keys
from xstilts.results.store import ResultRow
from xstilts.study.plan import is_zero_shot
from xstilts.tasks.registry import get_task

EXAMPLES_DIR = "examples"


def examples_path(study_dir: str | Path, ref: str) -> Path:
    return Path(study_dir) / EXAMPLES_DIR / f"{ref}.parquet"


def write_examples(study_dir: str | Path, units: pd.DataFrame) -> str:
    """Store per-example outputs under their content hash (written atomically, once); returns it."""
    buffer = io.BytesIO()
    units.reset_index(drop=True).to_parquet(buffer, index=False, engine="pyarrow")
    data = buffer.getvalue()
    ref = hashlib.sha256(data).hexdigest()
    path = examples_path(study_dir, ref)
    if not path.is_file():
        write_bytes_atomic(path, data)
    return ref


def read_examples(study_dir: str | Path, ref: str) -> pd.DataFrame:
    return pd.read_parquet(examples_path(study_dir, ref))


def trainings_with_steps(study_dir: str | Path, path: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The path's trainings with the optimizer steps and examples each really ran (its result.json)."""
    trainings = []
    for training in path:
        result_file = Path(study_dir) / "nodes" / training["node"] / RESULT_FILE  # StudyContext.node_dir
        steps = examples = None
        if result_file.is_file():
            result = json.loads(result_file.read_text())
            steps = int(result.get("steps") or 0)
            examples = steps * int(training["config"].get("batch_size") or 0)
        trainings.append({**training, "steps": steps, "examples_seen": examples})
    return trainings


def _intermediate_total(trainings: Sequence[Mapping[str, Any]], key: str) -> int | None:
    values = [training[key] for training in trainings if not training.get("is_target")]
    return None if any(value is None for value in values) else int(sum(values))


def build_result_rows(node: Any, summary: Mapping[str, Any], *, study_dir: str | Path, base_model: str,
                      plan_hash: str, examples_refs: Mapping[str, str]) -> dict[int, list[ResultRow]]:
    """Rows of evaluation ``node`` (a plan EvalNode) per seed it stands for, from ``evaluate``'s summary."""
    # What defines the number: evaluation settings, the slice, and the scorer's metric rule.
    metric = get_task(node.task).metric
    settings = {**summary["settings"], "eval_slice": node.eval_slice, "metric_rule": metric.value}
    settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
    trainings = trainings_with_steps(study_dir, node.path)
    selection = [{"stage": training["label"], **item} for training in node.path for item in training.get("select", ())]
    zero_shot = is_zero_shot(node.path)
    rows: dict[int, list[ResultRow]] = {}
    for seed in node.seeds:
        rows[seed] = [
            ResultRow(task=node.task, lang=lang, split=summary["split"], metric=key, value=float(scores[key]),
                      node_id=node.model_node or "base", seed=seed, order_name=node.order,
                      stage_path=list(node.stage_path), model=base_model, settings_hash=settings_hash,
                      settings=settings, contaminated=lang in node.contaminated,
                      contamination_reason=node.contaminated.get(lang), eval_node=node.id, plan_hash=plan_hash,
                      target=node.target, selection=selection, zero_shot=zero_shot,
                      oracle=bool(scores.get("oracle_threshold", False)), training=trainings,
                      train_steps=_intermediate_total(trainings, "steps"),
                      train_examples=_intermediate_total(trainings, "examples_seen"),
                      examples_ref=examples_refs.get(lang), role=node.role)
            for lang, scores in summary["per_language"].items()
            for key in row_keys(metric, scores, f"{node.task} {lang}")
        ]
    return rows
