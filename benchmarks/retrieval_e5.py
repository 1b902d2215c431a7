"""Zero-shot retrieval with the offline multilingual-e5-small: Tatoeba and the BUCC 2018 sample.

No training: mean pooling of one hidden layer (default: the last, as e5 is used) with the
"query: " prefix. Prints one line per measurement with its wall time and, with --out, writes the
full results (settings included, predictions left out) as JSON.

    .venv/bin/python benchmarks/retrieval_e5.py --tatoeba de zh --bucc zh --out /tmp/retrieval.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from xstilts.modeling.kinds.retrieval import RetrievalSettings
from xstilts.evaluation.retrieval import evaluate_bucc, evaluate_tatoeba
from xstilts.modeling.loading import load_encoder, load_tokenizer
from xstilts.modeling.offline_e5 import MODEL_DESCRIPTION, MODEL_NAME
from xstilts.paths import default_data_dir
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tatoeba", nargs="*", default=["de", "zh"], help="Tatoeba languages (XTREME codes)")
    parser.add_argument("--bucc", nargs="*", default=["zh"], help="BUCC languages (dev sample, oracle threshold)")
    parser.add_argument("--layer", type=int, default=-1, help="hidden_states index (-1: last layer)")
    parser.add_argument("--pooling", choices=["mean", "cls"], default="mean")
    parser.add_argument("--prefix", default="query: ")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    settings = RetrievalSettings(layer=args.layer, pooling=args.pooling, prefix=args.prefix,
                                 batch_size=args.batch_size)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    model, tokenizer = load_encoder(MODEL_NAME).to(device), load_tokenizer(MODEL_NAME)
    print(f"{MODEL_DESCRIPTION} on {device} ({torch.get_num_threads()} threads): "
          f"loaded in {time.perf_counter() - started:.1f}s")

    results: dict[str, dict] = {"model": {"name": MODEL_DESCRIPTION, "device": str(device)}}
    for lang in args.tatoeba:
        (pairs,) = load_examples(get_task("tatoeba"), lang, "test", args.data_dir)
        started = time.perf_counter()
        result = evaluate_tatoeba(model, tokenizer, pairs, settings, device)
        seconds = time.perf_counter() - started
        print(f"tatoeba {lang}: accuracy {result['accuracy']:.1f} over {result['num_queries']} "
              f"English queries, {seconds:.1f}s")
        results[f"tatoeba-{lang}"] = _summary(result, seconds)
    for lang in args.bucc:
        (dev,) = load_examples(get_task("bucc2018"), lang, "dev", args.data_dir)
        started = time.perf_counter()
        result = evaluate_bucc(model, tokenizer, dev, None, settings, device=device)
        seconds = time.perf_counter() - started
        print(f"bucc2018 {lang}-en dev ({len(dev.source)}+{len(dev.target)} sentences): F1 {result['f1']:.1f} "
              f"(P {result['precision']:.1f}, R {result['recall']:.1f}, threshold {result['threshold']:.4f}, "
              f"oracle threshold: {result['oracle_threshold']}), {seconds:.1f}s")
        results[f"bucc2018-{lang}"] = _summary(result, seconds)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _summary(result: dict, seconds: float) -> dict:
    return {**{k: v for k, v in result.items() if k != "predictions"}, "wall_seconds": round(seconds, 1)}


if __name__ == "__main__":
    main()
