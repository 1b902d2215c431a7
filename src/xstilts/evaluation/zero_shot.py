"""Zero-shot evaluation of a model on every language of a target task.

For each language the task's evaluation split is read, featurised (cached), predicted, decoded,
written in XTREME's prediction format and scored with the exact metrics. The summary goes to
``EVAL_DIR/metrics.json``::

    {"task": T, "model": ..., "split": ..., "per_language": {LANG: {METRIC: value}},
     "average": {METRIC: value}, "settings": {...}, "eval_precision": "fp32" | "bf16",
     "numerics": {"compile": bool, "torch_threads": N, "threads_from": ...}}

``settings`` (what the result rows record and hash) holds ``eval_precision`` only when it is not
the default fp32, so that fp32 results keep the settings hash they had before the option existed.

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
from xstilts.evaluation.retrieval_task import evaluate_retrieval_task
from xstilts.files import write_json_atomic
from xstilts.metrics.per_example import check_units
from xstilts.metrics.registry import row_keys
from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION, check_eval_precision
from xstilts.modeling.compilation import compile_encoder
from xstilts.modeling.feature_cache import cached_features
from xstilts.modeling.inference import predict_logits
from xstilts.modeling.kinds import adapter_for_task
from xstilts.modeling.kinds.base import FeatureSettings
from xstilts.modeling.loading import load_tokenizer
from xstilts.modeling.model import load_model
from xstilts.modeling.reference import ModelRef
from xstilts.scoring import example_units, score_examples, write_predictions
from xstilts.tasks.load import default_eval_split, load_examples, locate
from xstilts.tasks.registry import check_language, get_task, head_name
from xstilts.tasks.slices import apply_slice
from xstilts.tasks.types import TaskSpec
from xstilts.threads import threads_record

Progress = Callable[[str, dict[str, Any]], None]


def languages_to_evaluate(task: TaskSpec, langs: str | Sequence[str], data_dir: Path, split: str) -> list[str]:
    """``all`` = every language of the task whose evaluation data is present; else the given list."""
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


def _mean_metrics(task: TaskSpec, per_language: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Mean over languages (English included, as XTREME averages) of every metric the task's rule produces."""
    keys = [k for k in row_keys(task.metric, next(iter(per_language.values()), {}), task.name)
            if all(k in scores for scores in per_language.values())]
    return {k: sum(scores[k] for scores in per_language.values()) / len(per_language) for k in keys}


def evaluate(model: str | Path, task_name: str, data_dir: Path, out_dir: Path, *, langs: str | Sequence[str] = "all",
             split: str | None = None, eval_slice: str | None = None, batch_size: int = 64,
             max_length: int | None = None, max_examples: int | None = None,
             retrieval: dict[str, Any] | None = None, contaminated: dict[str, str] | None = None,
             progress: Progress | None = None, eval_precision: str = DEFAULT_EVAL_PRECISION,
             compile: bool = False) -> dict[str, Any]:
    """Evaluate ``model`` on ``langs`` of a task; ``eval_slice`` keeps only those rows of every
    language (e.g. "[1245:]" when the first half of a parallel set was used for training).
    ``contaminated`` (language -> reason, from the caller's guard) is recorded in metrics.json.
    The split defaults to the labelled test split when the data has one, else the task's dev.
    ``eval_precision`` "bf16" runs the forward passes under bf16 autocast (xstilts.modeling.eval_precision);
    ``compile`` runs the encoder compiled (xstilts.modeling.compilation)."""
    check_eval_precision(eval_precision)
    task = get_task(task_name)
    requested = None if isinstance(langs, str) and langs.strip().lower() == "all" else languages_to_evaluate(
        task, langs, data_dir, task.eval_split)
    split = split or default_eval_split(task, data_dir, requested)
    progress = progress or (lambda event, info: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    languages = languages_to_evaluate(task, langs, data_dir, split)
    reference = ModelRef.of(model)
    started = time.time()
    if task.facts.trains:
        per_language, settings, units = _evaluate_with_head(reference, task, languages, data_dir, split, out_dir,
                                                            batch_size, max_length, max_examples, eval_slice, progress,
                                                            eval_precision, compile)
    else:  # retrieval: sentence vectors straight from the encoder
        per_language, settings, units = evaluate_retrieval_task(reference, task, languages, data_dir, split, out_dir,
                                                                retrieval or {}, progress, eval_precision, compile)
    if eval_precision != DEFAULT_EVAL_PRECISION:
        settings = {**settings, "eval_precision": eval_precision}
    summary = {
        "task": task.name, "model": str(reference.saved or reference.text), "split": split,
        "per_language": per_language, "average": _mean_metrics(task, per_language),
        "settings": {**settings, "split": split, "slice": eval_slice, "languages": languages},
        "eval_precision": eval_precision,
        # Unhashed numerics, as a training's result.json records them.
        "numerics": {"compile": compile, **threads_record()},
        "wall_seconds": round(time.time() - started, 2),
        "contaminated": dict(contaminated or {}),
    }
    write_json_atomic(out_dir / "metrics.json", summary)
    check_units(units, per_language)
    return {**summary, "per_example": units}


def feature_settings(model: ModelRef | str | Path, task: TaskSpec, max_length: int | None):
    """Featurise evaluation as the model was trained (its max_length, doc_stride, window mode and
    question length), unless ``max_length`` overrides; without a training record, the task's defaults.
    Returns (FeatureSettings, "override" | "training" | "task defaults")."""
    reference = model if isinstance(model, ModelRef) else ModelRef.of(model)
    trained = reference.training_config()
    values = task.training_defaults(target=True) if not trained else {}
    values.update({k: trained[k] for k in ("max_length", "doc_stride", "doc_stride_mode", "max_query_length")
                   if trained.get(k) is not None})
    source = "training" if trained else "task defaults"
    if max_length:
        values["max_length"], source = max_length, "override"
    query = {"max_query_length": int(values["max_query_length"])} if values.get("max_query_length") else {}
    return FeatureSettings(max_length=int(values.get("max_length", 256)), doc_stride=int(values.get("doc_stride", 128)),
                           doc_stride_mode=str(values.get("doc_stride_mode", "step")), **query), source


def _evaluate_with_head(reference: ModelRef, task: TaskSpec, languages: list[str], data_dir: Path, split: str,
                        out_dir: Path, batch_size: int, max_length: int | None, max_examples: int | None,
                        eval_slice: str | None, progress: Progress, precision: str, compile: bool
                        ) -> tuple[dict[str, dict[str, float]], dict[str, Any], dict[str, Any]]:
    model = load_model(reference, dtype=torch.float32)
    if compile:
        compile_encoder(model.encoder)
    head = head_name(task)
    if head not in model.head_specs:
        raise ConfigError(f"{reference.saved or reference.text}: the model has no {head!r} head; train it on "
                          f"{task.name} first (heads: {', '.join(model.head_specs) or 'none'})")
    labels = model.head_specs[head].labels
    tokenizer = load_tokenizer(reference.encoder_source())
    adapter = adapter_for_task(task)
    settings, settings_from = feature_settings(reference, task, max_length)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    collator = adapter.collator(tokenizer)
    per_language: dict[str, dict[str, float]] = {}
    units: dict[str, Any] = {}
    for lang in languages:
        examples = apply_slice(load_examples(task, lang, split, data_dir), eval_slice)
        if max_examples:
            examples = examples[:max_examples]
        progress("language", {"lang": lang, "examples": len(examples)})
        features = cached_features(adapter, examples, tokenizer, labels, settings).to_list()
        logits = predict_logits(model, head, features, collator, batch_size, device,
                                per_token=adapter.per_token_logits,
                                on_batch=lambda n: progress("batch", {"rows": n, "total": len(features)}),
                                precision=precision)
        predictions = adapter.decode(logits, features, examples, labels)
        path = write_predictions(task, out_dir / "predictions", split, lang, predictions)
        # Scored from the written file by the same code as `xstilts score`: what is reported is
        # exactly what the official-format prediction file scores.
        per_language[lang] = score_examples(task, lang, examples, f"{task.name} {split}-{lang}", path)
        units[lang] = example_units(task, lang, examples, f"{task.name} {split}-{lang}", path)
        progress("scored", {"lang": lang, **per_language[lang]})
    settings_record = {"max_length": settings.max_length, "doc_stride": settings.doc_stride,
                       "doc_stride_mode": settings.doc_stride_mode, "feature_settings_from": settings_from, "head": head,
                       "batch_size": batch_size, "max_examples": max_examples, "device": str(device)}
    return per_language, settings_record, units
