"""Run the retrieval target tasks (Tatoeba, BUCC, LAReQA, Mewsli-X) for `xstilts evaluate`: no head, no training.

Each retrieval metric has its protocol (docs/reference.md section 3): Tatoeba retrieves each
English sentence's translation in the scored split; BUCC mines pairs with a threshold tuned on the
dev split and applied to the scored split (or, without its gold, reports dev with an oracle
threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from xstilts.errors import MissingDataError
from xstilts.modeling.kinds.retrieval import RetrievalSettings, retrieval_options
from xstilts.evaluation.retrieval import evaluate_bucc, evaluate_ranked, evaluate_tatoeba
from xstilts.modeling.compilation import compile_encoder
from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION
from xstilts.modeling.loading import load_encoder, load_tokenizer
from xstilts.modeling.reference import ModelRef
from xstilts.scoring import example_units, write_predictions
from xstilts.tasks.load import load_examples
from xstilts.tasks.types import Example, TaskSpec

Progress = Callable[[str, dict[str, Any]], None]
_DROP = ("predictions", "settings")
# (encoder, tokenizer, task, lang, split, data dir, settings, device, progress, per-task cache,
#  eval precision) ->
# (result of xstilts.evaluation.retrieval, the gold the predictions are scored against)
Protocol = Callable[..., tuple[dict[str, Any], list[Example]]]


def _tatoeba(encoder, tokenizer, task: TaskSpec, lang: str, split: str, data_dir: Path, settings: RetrievalSettings,
             device: torch.device, progress: Progress, cache: dict,
             precision: str) -> tuple[dict[str, Any], list[Example]]:
    (pairs,) = load_examples(task, lang, split, data_dir)
    return evaluate_tatoeba(encoder, tokenizer, pairs, settings, device, precision=precision), [pairs]


def _bucc(encoder, tokenizer, task: TaskSpec, lang: str, split: str, data_dir: Path, settings: RetrievalSettings,
          device: torch.device, progress: Progress, cache: dict,
          precision: str) -> tuple[dict[str, Any], list[Example]]:
    (dev,) = load_examples(task, lang, "dev", data_dir)
    test = None
    if split != "dev":
        try:
            (test,) = load_examples(task, lang, split, data_dir)
        except MissingDataError:
            # Without test gold the dev F1 with a dev-tuned threshold is reported: an oracle.
            progress("note", {"lang": lang, "message": f"no {split} data: scoring dev with an oracle threshold"})
    result = evaluate_bucc(encoder, tokenizer, dev, test, settings, device=device, precision=precision)
    return result, [dev if test is None else test]


def _ranked(encoder, tokenizer, task: TaskSpec, lang: str, split: str, data_dir: Path, settings: RetrievalSettings,
            device: torch.device, progress: Progress, cache: dict,
            precision: str) -> tuple[dict[str, Any], list[Example]]:
    (pool,) = load_examples(task, lang, split, data_dir)
    result = evaluate_ranked(encoder, tokenizer, pool, settings, device, pool_vectors=cache, precision=precision)
    return result, [pool]


# The retrieval kind's protocols (``xstilts.tasks.kinds``: which one a task's metric is evaluated with).
PROTOCOLS: dict[str, Protocol] = {"bitext_search": _tatoeba, "bitext_mining": _bucc, "ranked_pool": _ranked}


def evaluate_retrieval_task(reference: ModelRef, task: TaskSpec, languages: list[str], data_dir: Path, split: str,
                            out_dir: Path, options: dict[str, Any], progress: Progress,
                            precision: str = DEFAULT_EVAL_PRECISION, compile: bool = False
                            ) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Per language: the metrics, the settings used and the per-example pieces (where the metric has them)."""
    protocol = PROTOCOLS[task.facts.protocol(task.metric)]
    merged, source = retrieval_options(reference.encoder_source(), options)
    settings = RetrievalSettings(**merged)
    encoder, tokenizer = load_encoder(reference.encoder_source()), load_tokenizer(reference.encoder_source())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    if compile:
        compile_encoder(encoder)
    per_language: dict[str, dict[str, Any]] = {}
    resolved: dict[str, Any] = {}
    units: dict[str, Any] = {}
    cache: dict = {}  # what the languages of one task share (the LAReQA pool's vectors)
    for lang in languages:
        progress("language", {"lang": lang})
        result, gold = protocol(encoder, tokenizer, task, lang, split, data_dir, settings, device, progress, cache,
                                precision)
        scored_split = "dev" if result.get("oracle_threshold") else split
        path = write_predictions(task, out_dir / "predictions", scored_split, lang, result["predictions"])
        pieces = example_units(task, lang, gold, f"{task.name} {split}-{lang}", path)
        if pieces is not None:
            units[lang] = pieces
        resolved = result["settings"]
        per_language[lang] = {k: v for k, v in result.items() if k not in _DROP}
        progress("scored", {"lang": lang, **per_language[lang]})
    return per_language, {"retrieval": resolved, "retrieval_defaults_from": source, "model_kind": "encoder"}, units
