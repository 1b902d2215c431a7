"""Do torch threads per worker oversubscribe the CPU? Runs W worker processes at once, each doing
the same fixed work (forward+backward of a small transformer layer stack) with T torch threads,
and reports wall time and user CPU for T = cores // W (what `xstilts run` sets) and T = cores
(what torch would pick alone). Prints the machine's load average too: on a shared machine the
figures include the other jobs' interference.

    python benchmarks/thread_oversubscription.py --workers 2 --steps 30
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time


def work(threads: int, steps: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True), 4)
    optimizer = torch.optim.AdamW(layer.parameters(), lr=1e-4)
    batch = torch.randn(16, 64, 256)
    for _ in range(steps):
        loss = layer(batch).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def measure(workers: int, threads: int, steps: int) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    processes = [context.Process(target=work, args=(threads, steps)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.time() - started, after.ru_utime - before.ru_utime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"cores {cores}, workers {args.workers}, load average {os.getloadavg()[0]:.1f}")
    for threads in sorted({max(1, cores // args.workers), cores}):
        for repeat in range(args.repeats):
            wall, user = measure(args.workers, threads, args.steps)
            print(f"threads/worker {threads}: wall {wall:.1f}s, user CPU {user:.1f}s (run {repeat + 1})", flush=True)


if __name__ == "__main__":
    main()
