"""AdamW step time on multilingual-e5-small's trainable weights: the default loop vs fused.

The trainer uses ``fused=True``; this prints both in the same run, and their ratio.

    .venv/bin/python benchmarks/optimizer_step_e5.py [--repeats 5] [--train-embeddings]
"""

from __future__ import annotations

import argparse
import time

import torch

from xstilts.modeling.loading import load_encoder


def time_steps(parameters: list[torch.nn.Parameter], repeats: int, **options: bool) -> float:
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, **options)
    optimizer.step()  # the first step allocates the moment buffers
    started = time.perf_counter()
    for _ in range(repeats):
        optimizer.step()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-embeddings", action="store_true", help="Include the 96M word-embedding weights.")
    args = parser.parse_args()

    encoder = load_encoder("multilingual-e5-small")
    if not args.train_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    parameters = [p for p in encoder.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(0)
    for p in parameters:
        p.grad = torch.randn(p.shape, generator=generator)
    count = sum(p.numel() for p in parameters)
    print(f"trainable weights: {count / 1e6:.1f}M, torch threads: {torch.get_num_threads()}")
    baseline = time_steps(parameters, args.repeats)
    fused = time_steps(parameters, args.repeats, fused=True)
    print(f"AdamW default (per-tensor loop): {baseline:.3f} s/step")
    print(f"AdamW fused:                     {fused:.3f} s/step")
    print(f"speed-up: {baseline / fused:.1f}x")


if __name__ == "__main__":
    main()
