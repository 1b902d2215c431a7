"""Run the retrieval target tasks (Tatoeba, BUCC) for `xstilts evaluate`: no head, no training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from xstilts.errors import MissingDataError
from xstilts.evaluation.embeddings import RetrievalSettings
from xstilts.evaluation.prediction_files import write_predictions
from xstilts.tasks.types import TaskSpec

Progress = Callable[[str, dict[str, Any]], None]
_DROP = ("predictions", "settings")


def encoder_folder(model_ref: str) -> str:
    """A stage model's encoder folder (RUN_DIR/model/encoder), or the plain encoder itself."""
    from xstilts.modeling.loading import resolve_model

    path = Path(model_ref)
    return str(path / "encoder") if (path / "heads.json").is_file() else resolve_model(model_ref)


def load_encoder_for_retrieval(model_ref: str):
    """A stage model's encoder (RUN_DIR/model/encoder) or any plain encoder, with its tokenizer."""
    from xstilts.modeling.loading import load_encoder, load_tokenizer
    from xstilts.training.trainer import tokenizer_source

    return load_encoder(encoder_folder(model_ref)), load_tokenizer(tokenizer_source(model_ref))


def evaluate_retrieval_task(model_ref: str, task: TaskSpec, languages: list[str], data_dir: Path, split: str,
                            out_dir: Path, options: dict[str, Any], progress: Progress
                            ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    from xstilts.evaluation.retrieval import evaluate_bucc, evaluate_tatoeba
    from xstilts.tasks.load import load_examples

    from xstilts.evaluation.embeddings import retrieval_options

    merged, source = retrieval_options(encoder_folder(model_ref), options)
    settings = RetrievalSettings(**merged)
    encoder, tokenizer = load_encoder_for_retrieval(model_ref)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    per_language: dict[str, dict[str, Any]] = {}
    resolved: dict[str, Any] = {}
    for lang in languages:
        progress("language", {"lang": lang})
        if task.name == "tatoeba":
            (pairs,) = load_examples(task, lang, split, data_dir)
            result = evaluate_tatoeba(encoder, tokenizer, pairs, settings, device)
        else:
            (dev,) = load_examples(task, lang, "dev", data_dir)
            test = None
            if split != "dev":
                try:
                    (test,) = load_examples(task, lang, split, data_dir)
                except MissingDataError:
                    # Without test gold the dev F1 with a dev-tuned threshold is reported: an oracle.
                    progress("note", {"lang": lang, "message": f"no {split} data: scoring dev with an oracle threshold"})
            result = evaluate_bucc(encoder, tokenizer, dev, test, settings, device=device)
        scored_split = "dev" if result.get("oracle_threshold") else split
        write_predictions(task, out_dir / "predictions", scored_split, lang, result["predictions"])
        resolved = result["settings"]
        per_language[lang] = {k: v for k, v in result.items() if k not in _DROP}
        progress("scored", {"lang": lang, **per_language[lang]})
    return per_language, {"retrieval": resolved, "retrieval_defaults_from": source, "model_kind": "encoder"}
