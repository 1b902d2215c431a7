"""Reproduce the reference Tatoeba accuracies of the offline multilingual-e5-small folder.

Setting (docs/reference.md section 6): last layer, mean-pooled, "query: " prefix, L2-normalised,
top-1 by cosine. Reference: deu 0.980, cmn 0.916, swh 0.733, jav 0.600 -- these are the direction
XTREME scores (each non-English sentence retrieves among the English ones, "xx->en"); "en->xx" is
printed beside it.

    .venv/bin/python benchmarks/tatoeba_e5_check.py deu cmn [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from xstilts.modeling.loading import load_encoder, load_tokenizer
from xstilts.modeling.offline_e5 import MODEL_NAME, e5_embeddings
from xstilts.paths import default_data_dir


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def tatoeba_accuracies(model, tokenizer, data_dir: Path, lang3: str, batch_size: int) -> tuple[float, float]:
    """(xx->en, en->xx) top-1 accuracy on the line-aligned LASER files."""
    stem = f"tatoeba.{lang3}-eng"
    english = e5_embeddings(model, tokenizer, read_lines(data_dir / "tatoeba" / f"{stem}.eng"), batch_size=batch_size)
    other = e5_embeddings(model, tokenizer, read_lines(data_dir / "tatoeba" / f"{stem}.{lang3}"), batch_size=batch_size)
    similarity = other @ english.T
    gold = np.arange(len(other))
    return float((similarity.argmax(axis=1) == gold).mean()), float((similarity.argmax(axis=0) == gold).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("languages", nargs="*", default=["deu", "cmn"], help="Tatoeba 3-letter codes")
    parser.add_argument("--model", default=MODEL_NAME)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    model = load_encoder(args.model, dtype=getattr(torch, args.dtype)).eval()
    tokenizer = load_tokenizer(args.model)
    for lang3 in args.languages:
        start = time.perf_counter()
        to_english, from_english = tatoeba_accuracies(model, tokenizer, args.data, lang3, args.batch_size)
        print(f"{lang3}: xx->en {to_english:.3f}  en->xx {from_english:.3f}  "
              f"({args.dtype}, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
