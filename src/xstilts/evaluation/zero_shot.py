"""Zero-shot evaluation of a model on every language of a target task.

For each language the task's evaluation split is read, featurised (cached), predicted, decoded,
written in XTREME's prediction format and scored with the exact metrics. The summary goes to
``EVAL_DIR/metrics.json``::

    {"task": T, "model": ..., "split": ..., "per_language": {LANG: {METRIC: value}},
     "average": {METRIC: value}, "settings": {...}}

The returned summary also holds ``per_example``: per language, the per-example pieces of its
metrics (``xstilts.metrics.per_example``; BUCC has none), read back from the written prediction
file like the scores; they are not part of metrics.json (the study runner stores them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from xstilts.errors import ConfigError, MissingDataError
from xstilts.metrics.per_example import check_units
from xstilts.tasks.registry import check_language, get_task
from xstilts.tasks.types import TaskKind, TaskSpec
from xstilts.training.trainer import MODEL_DIR, write_json_atomic

Progress = Callable[[str, dict[str, Any]], None]


def languages_to_evaluate(task: TaskSpec, langs: str | Sequence[str], data_dir: Path, split: str) -> list[str]:
    """``all`` = every language of the task whose evaluation data is present; else the given list."""
    from xstilts.tasks.load import locate

    if isinstance(langs, str) and langs.strip().lower() == "all":
        present = []
        for lang in task.languages:
            try:
                locate(task, lang, split, data_dir)
            except MissingDataError:
                continue
            present.append(lang)
        if not present:
            raise MissingDataError(f"{data_dir}: no {task.name} {split} data for any of its languages")
        return present
    codes = [langs] if isinstance(langs, str) else list(langs)
    codes = [c for part in codes for c in part.split(",") if c.strip()]
    return [check_language(task, code) for code in codes]


def resolve_model_dir(model: str | Path) -> str:
    """A training run directory means its selected model (RUN_DIR/model)."""
    path = Path(str(model))
    if (path / MODEL_DIR / "heads.json").is_file():
        return str(path / MODEL_DIR)
    return str(model)


METRIC_KEYS = ("accuracy", "f1", "precision", "recall", "exact_match")


def _mean_metrics(per_language: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Mean over languages (English included, as XTREME averages) of every metric all languages have."""
    keys = [k for k in METRIC_KEYS if all(k in scores for scores in per_language.values())]
    return {k: sum(scores[k] for scores in per_language.values()) / len(per_language) for k in keys}


def evaluate(model: str | Path, task_name: str, data_dir: Path, out_dir: Path, *, langs: str | Sequence[str] = "all",
             split: str | None = None, eval_slice: str | None = None, batch_size: int = 64,
             max_length: int | None = None, max_examples: int | None = None,
             retrieval: dict[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on ``langs`` of a task; ``eval_slice`` keeps only those rows of every
    language (e.g. "[1245:]" when the first half of a parallel set was used for training)."""
    task = get_task(task_name)
    split = split or task.eval_split
    progress = progress or (lambda event, info: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    languages = languages_to_evaluate(task, langs, data_dir, split)
    model_ref = resolve_model_dir(model)
    started = time.time()
    if task.kind is TaskKind.RETRIEVAL:
        from xstilts.evaluation.retrieval_task import evaluate_retrieval_task

        per_language, settings, units = evaluate_retrieval_task(model_ref, task, languages, data_dir, split, out_dir,
                                                                retrieval or {}, progress)
    else:
        per_language, settings, units = _evaluate_with_head(model_ref, task, languages, data_dir, split, out_dir,
                                                     batch_size, max_length, max_examples, eval_slice, progress)
    summary = {
        "task": task.name, "model": model_ref, "split": split,
        "per_language": per_language, "average": _mean_metrics(per_language),
        "settings": {**settings, "split": split, "slice": eval_slice, "languages": languages},
        "wall_seconds": round(time.time() - started, 2),
    }
    write_json_atomic(out_dir / "metrics.json", summary)
    check_units(units, per_language)
    return {**summary, "per_example": units}


def _evaluate_with_head(model_ref: str, task: TaskSpec, languages: list[str], data_dir: Path, split: str,
                        out_dir: Path, batch_size: int, max_length: int | None, max_examples: int | None,
                        eval_slice: str | None, progress: Progress
                        ) -> tuple[dict[str, dict[str, float]], dict[str, Any], dict[str, Any]]:
    from xstilts.evaluation.predict import predict_logits
    from xstilts.evaluation.prediction_files import write_predictions
    from xstilts.scoring import example_units, score_examples
    from xstilts.modeling.collate import PadCollator
    from xstilts.modeling.feature_cache import cached_features
    from xstilts.modeling.kinds import adapter_for_task
    from xstilts.modeling.kinds.base import FeatureSettings
    from xstilts.modeling.loading import load_tokenizer
    from xstilts.tasks.load import load_examples
    from xstilts.tasks.slices import apply_slice
    from xstilts.training.config import defaults_for
    from xstilts.training.data import head_name_for
    from xstilts.training.trainer import load_model, tokenizer_source

    model = load_model(model_ref)
    head = head_name_for(task)
    if head not in model.head_specs:
        raise ConfigError(f"{model_ref}: the model has no {head!r} head; train it on {task.name} first "
                          f"(heads: {', '.join(model.head_specs) or 'none'})")
    labels = model.head_specs[head].labels
    tokenizer = load_tokenizer(tokenizer_source(model_ref))
    adapter = adapter_for_task(task)
    defaults = defaults_for(task)
    settings = FeatureSettings(max_length=max_length or int(defaults.get("max_length", 256)),
                               doc_stride=int(defaults.get("doc_stride", 128)))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    collator = PadCollator(adapter, tokenizer.pad_token_id)
    per_language: dict[str, dict[str, float]] = {}
    units: dict[str, Any] = {}
    for lang in languages:
        examples = apply_slice(load_examples(task, lang, split, data_dir), eval_slice)
        if max_examples:
            examples = examples[:max_examples]
        progress("language", {"lang": lang, "examples": len(examples)})
        features = cached_features(adapter, examples, tokenizer, labels, settings).to_list()
        logits = predict_logits(model, head, features, collator, batch_size, device,
                                per_token=task.kind in (TaskKind.TAGGING, TaskKind.EXTRACTIVE_QA),
                                on_batch=lambda n: progress("batch", {"rows": n, "total": len(features)}))
        predictions = adapter.decode(logits, features, examples, labels)
        path = write_predictions(task, out_dir / "predictions", split, lang, predictions)
        # Scored from the written file by the same code as `xstilts score`: what is reported is
        # exactly what the official-format prediction file scores.
        per_language[lang] = score_examples(task, lang, examples, f"{task.name} {split}-{lang}", path)
        units[lang] = example_units(task, lang, examples, f"{task.name} {split}-{lang}", path)
        progress("scored", {"lang": lang, **per_language[lang]})
    settings_record = {"max_length": settings.max_length, "doc_stride": settings.doc_stride, "head": head,
                       "batch_size": batch_size, "max_examples": max_examples, "device": str(device)}
    return per_language, settings_record, units
