"""What a sequential design does at a given true difference: the probability that a contrast stops
at each look, its power, and the seeds it is expected to take (normal seed noise; the difference
in SDs of the per-seed differences, so nothing else needs to be known)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from xstilts.results.sequential.design import Boundaries

OPERATING_PATHS = 100_000
OPERATING_SEED = 7


@dataclass(frozen=True)
class Operating:
    effect: float  # in SDs of the per-seed differences
    stop: tuple[float, ...]  # probability of stopping at each look (they sum to 1)
    power: float  # probability of an effect decision
    expected_seeds: float

    @property
    def stop_by_look(self) -> dict[int, float]:
        return dict(enumerate(self.stop))


def simulated_statistics(looks: tuple[int, ...], effect: float, paths: int, seed: int,
                         noise: str = "normal") -> np.ndarray:
    """t at each look (paths x looks, signed) of studies whose per-seed differences are
    ``effect`` + noise with SD 1."""
    rng = np.random.default_rng(seed)
    total = np.zeros(paths)
    squares = np.zeros(paths)
    out = np.empty((paths, len(looks)))
    column = 0
    for n in range(1, looks[-1] + 1):
        draw = effect + rng.standard_normal(paths)
        total += draw
        squares += draw * draw
        if n == looks[column]:
            mean = total / n
            variance = np.maximum(squares - n * mean * mean, 1e-300) / (n - 1)
            out[:, column] = mean / np.sqrt(variance / n)
            column += 1
    return out


def run_design(bounds: Boundaries, statistics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(stopping look index, effect decided) per path of ``statistics`` (paths x looks of t)."""
    looks = len(bounds.design.looks)
    stop = np.full(len(statistics), looks - 1)
    effect = np.zeros(len(statistics), dtype=bool)
    done = np.zeros(len(statistics), dtype=bool)
    for k in range(looks):
        size = np.abs(statistics[:, k])
        crossed = ~done & (size >= bounds.efficacy[k])
        effect |= crossed
        stop[crossed] = k
        done |= crossed
        if k < looks - 1:
            futile = ~done & (size < bounds.futility[k])
            stop[futile] = k
            done |= futile
    return stop, effect


@functools.lru_cache(maxsize=256)
def operating(bounds: Boundaries, effect: float, paths: int = OPERATING_PATHS, seed: int = OPERATING_SEED
              ) -> Operating:
    design = bounds.design
    stop, decided = run_design(bounds, simulated_statistics(design.looks, effect, paths, seed))
    shares = np.bincount(stop, minlength=len(design.looks)) / paths
    seeds = float(np.dot(shares, design.looks))
    return Operating(effect, tuple(float(s) for s in shares), float(decided.mean()), seeds)
