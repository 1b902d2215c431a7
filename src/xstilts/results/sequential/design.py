"""Group-sequential boundaries for paired t statistics at a few seeds.

A design looks at a family of ``contrasts`` (the study's primary contrasts) after ``looks[0]``,
``looks[1]``, ... seeds. The family shares one error budget ``alpha`` by Bonferroni: each contrast
gets alpha / contrasts (valid whatever the contrasts' dependence; they share conditions and
trainings). Per contrast, at look k with n_k seeds, t_k is the paired t statistic of the per-seed
differences (df = n_k - 1):

* effect when |t_k| >= ``efficacy[k]``;
* no effect (futility, interim looks only) when |t_k| < ``futility[k]``; at the last look, no
  effect whenever there is no effect decision;
* otherwise continue to the next look.

Efficacy boundaries hold on the t scale at any seed count. Under no effect and normal seed noise
the joint law of (t_1, ..., t_K) does not depend on the unknown SD, so it is simulated once
(``PATHS`` null paths from a fixed seed) and each look's boundary is the |t| that the not yet
stopped paths cross with exactly the alpha the spending function releases at that look (Lan-DeMets
alpha spending). Information is counted in degrees of freedom, t = (n_k - 1) / (n_max - 1): a
look at 2 seeds (1 df) holds a fifth of a 6-seed design's information, not a third. Spending:

* ``kim-demets`` (default): alpha t^rho, rho = 3 (close to O'Brien-Fleming; measured in
  benchmarks/sequential_calibration.py to meet the power and expected-seed targets best);
* ``obrien-fleming``: Lan-DeMets' O'Brien-Fleming type, 2 - 2 Phi(z_{alpha/2} / sqrt(t));
* ``pocock``: Lan-DeMets' Pocock type, alpha ln(1 + (e - 1) t).

Futility is NON-BINDING: the efficacy boundaries are computed as if no contrast ever stopped for
futility, so continuing past a futility boundary never raises the error rate. Its boundaries come
from the design effect (the difference a fixed design of n_max seeds detects with 80% power at
alpha / contrasts): at interim look k, |t_k| < f_k has probability ``futility_beta`` x n_k / (sum
of the interim looks' n) for a contrast with that effect (noncentral t, exact), capped at the
fixed test's critical value so that futility never stops what a fixed test would call.

Reporting after stopping (``stagewise_p``, ``repeated_interval``): the stage-wise-ordering p
(outcomes ordered by the look they stop at, then by |t|) and the repeated confidence interval
mean +- efficacy[k] x se, which covers the true difference at every look at once with
probability 1 - alpha / contrasts. Both agree with the decision: p <= alpha / contrasts exactly
when the contrast stopped for an effect, and the interval then excludes 0.

Boundaries are cached in memory and in a small JSON file under the user cache
(``cache_dir()/sequential``); the null paths for p-values are regenerated from the same seed.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special, stats

from xstilts.files import canonical_json, write_json_atomic
from xstilts.paths import cache_dir
from xstilts.results.power import _upper_tail, minimum_detectable_effect
from xstilts.study.sequential_spec import (
    DEFAULT_ALPHA, DEFAULT_FUTILITY_BETA, DEFAULT_RHO, DEFAULT_SPENDING, SPENDINGS, SequentialSpec,
)

DECISIONS = ("effect", "no effect", "continue")
PATHS = 2**19  # null paths: the error a boundary spends is within +-2 x sqrt(alpha / PATHS) of its target
SEED = 20250925
CACHE_VERSION = 1
DESIGN_POWER = 0.80  # the design effect: what a fixed design of the maximum seeds detects with this power


@dataclass(frozen=True)
class Design:
    looks: tuple[int, ...]  # cumulative seeds at each look, increasing, the first at least 2
    contrasts: int  # primary contrasts sharing ``alpha`` (Bonferroni)
    alpha: float = DEFAULT_ALPHA
    spending: str = DEFAULT_SPENDING
    rho: float = DEFAULT_RHO  # kim-demets only
    futility: bool = True
    futility_beta: float = DEFAULT_FUTILITY_BETA

    @classmethod
    def of(cls, spec: SequentialSpec, contrasts: int) -> "Design":
        """The design a study file's ``[sequential]`` table describes, for its ``contrasts``."""
        return cls(tuple(spec.looks), contrasts, spec.alpha, spec.spending, spec.rho, spec.futility, spec.futility_beta)

    def __post_init__(self) -> None:
        looks = tuple(int(n) for n in self.looks)
        object.__setattr__(self, "looks", looks)
        if len(looks) < 1 or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:])):
            raise ValueError(f"looks {list(looks)}: increasing seed counts, the first at least 2")
        if self.contrasts < 1:
            raise ValueError(f"contrasts {self.contrasts}: a design needs at least one primary contrast")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha {self.alpha}: expected a level between 0 and 1")
        if self.spending not in SPENDINGS:
            raise ValueError(f"spending {self.spending!r}: expected one of {', '.join(SPENDINGS)}")

    @property
    def alpha_each(self) -> float:
        return self.alpha / self.contrasts

    @property
    def max_seeds(self) -> int:
        return self.looks[-1]

    def information(self, look: int) -> float:
        """The information fraction at ``look``, in degrees of freedom."""
        return (self.looks[look] - 1) / (self.max_seeds - 1) if self.max_seeds > 1 else 1.0

    def spent(self, look: int) -> float:
        """The cumulative error (of alpha_each) the spending function releases by ``look``."""
        if look >= len(self.looks) - 1:
            return self.alpha_each
        t, a = self.information(look), self.alpha_each
        if self.spending == "kim-demets":
            return a * t**self.rho
        if self.spending == "obrien-fleming":
            return float(2 * stats.norm.sf(stats.norm.isf(a / 2) / math.sqrt(t))) if t > 0 else 0.0
        return a * math.log(1 + (math.e - 1) * t)

    def describe(self) -> str:
        spending = {"kim-demets": f"Kim-DeMets alpha x t^{self.rho:g}", "obrien-fleming":
                    "Lan-DeMets O'Brien-Fleming type", "pocock": "Lan-DeMets Pocock type"}[self.spending]
        futility = (f"non-binding futility (probability {self.futility_beta:g} at the design effect)"
                    if self.futility else "no futility stops")
        return (f"looks after {', '.join(map(str, self.looks))} seeds; alpha {self.alpha:g} over {self.contrasts} "
                f"primary contrast{'s' * (self.contrasts != 1)} (Bonferroni: {self.alpha_each:.4g} each); {spending} "
                f"spending, information in degrees of freedom; {futility}")


@dataclass(frozen=True)
class Boundaries:
    design: Design
    efficacy: tuple[float, ...]  # effect when |t| >= this (inf: no effect decision at that look)
    futility: tuple[float, ...]  # no effect when |t| < this (0: no futility stop at that look)
    spent: tuple[float, ...]  # cumulative error spent by each look (of alpha_each)
    nominal: tuple[float | None, ...]  # the two-sided p of each efficacy boundary at its df
    design_effect: float  # in SDs of the per-seed differences
    paths: int = PATHS
    seed: int = SEED

    def futility_at(self, look: int, seeds: int) -> float:
        """The look's futility bound for a t over ``seeds`` seeds (the look's own: ``futility[look]``)."""
        return futility_bound(self.design, self.design_effect, look, seeds)

    def decide(self, look: int, t: float | None) -> tuple[str, str]:
        """(decision, reason) at ``look`` for the statistic ``t`` (None: no test possible)."""
        last = look == len(self.design.looks) - 1
        if t is None or not math.isfinite(t):
            return ("no effect", "no test at the last look") if last else ("continue", "no test possible")
        if abs(t) >= self.efficacy[look]:
            return "effect", "efficacy boundary"
        if last:
            return "no effect", "last look"
        if abs(t) < self.futility[look]:
            return "no effect", "futility boundary"
        return "continue", "between the boundaries"

    def to_json(self) -> dict:
        return {"design": asdict(self.design), "efficacy": [_finite(b) for b in self.efficacy],
                "futility": list(self.futility), "spent": list(self.spent), "nominal": list(self.nominal),
                "design_effect": self.design_effect, "paths": self.paths, "seed": self.seed}


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


# ---------------------------------------------------------------- the null paths


@functools.lru_cache(maxsize=4)
def null_statistics(looks: tuple[int, ...], paths: int = PATHS, seed: int = SEED) -> np.ndarray:
    """|t| at each look (paths x looks) of ``paths`` null studies: per-seed differences N(0, 1),
    drawn seed by seed from one generator (the same paths whatever the later looks)."""
    rng = np.random.default_rng(seed)
    total = np.zeros(paths)
    squares = np.zeros(paths)
    out = np.empty((paths, len(looks)))
    column = 0
    for n in range(1, looks[-1] + 1):
        draw = rng.standard_normal(paths)
        total += draw
        squares += draw * draw
        if n == looks[column]:
            mean = total / n
            variance = np.maximum(squares - n * mean * mean, 1e-300) / (n - 1)
            out[:, column] = np.abs(mean) / np.sqrt(variance / n)
            column += 1
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=32)
def _crossed_before(bounds: Boundaries, look: int) -> np.ndarray:
    statistics = null_statistics(bounds.design.looks, bounds.paths, bounds.seed)
    crossed = np.zeros(len(statistics), dtype=bool)
    for k in range(look):
        crossed |= statistics[:, k] >= bounds.efficacy[k]
    return crossed


# ---------------------------------------------------------------- calibration


def _efficacy(design: Design, paths: int, seed: int) -> tuple[list[float], list[float]]:
    statistics = null_statistics(design.looks, paths, seed)
    alive = np.ones(paths, dtype=bool)
    crossed_total = 0
    bounds, spent = [], []
    for k in range(len(design.looks)):
        target = design.spent(k)
        count = int(round(target * paths)) - crossed_total
        values = statistics[alive, k]
        if count <= 0 or len(values) == 0:
            bound = math.inf
        else:
            count = min(count, len(values))
            bound = float(np.partition(values, len(values) - count)[len(values) - count])
        crossed = alive & (statistics[:, k] >= bound)
        crossed_total += int(crossed.sum())
        alive &= ~crossed
        bounds.append(bound)
        spent.append(crossed_total / paths)
    return bounds, spent


def _futility(design: Design, effect: float) -> list[float]:
    """Interim |t| below which a contrast stops for no effect (0 where none; the last look 0)."""
    interim = range(len(design.looks) - 1)
    if not design.futility or not interim:
        return [0.0] * len(design.looks)
    return [futility_bound(design, effect, k, design.looks[k]) for k in interim] + [0.0]


@functools.lru_cache(maxsize=256)
def futility_bound(design: Design, effect: float, look: int, seeds: int) -> float:
    """The |t| over ``seeds`` seeds under which a contrast with the design ``effect`` falls with
    the look's share of ``futility_beta`` (noncentral t), at most the fixed test's critical value.
    ``seeds`` is the look's, or fewer when futility is judged without outlying runs."""
    if not design.futility or look >= len(design.looks) - 1 or seeds < 2:
        return 0.0
    interim = [design.looks[k] for k in range(len(design.looks) - 1)]
    beta = design.futility_beta * design.looks[look] / sum(interim)
    df, noncentrality = seeds - 1, effect * math.sqrt(seeds)

    def below(f: float) -> float:
        # P(|T'| < f) - beta for the noncentral t (tails that stay finite far out: results.power)
        return _upper_tail(-f, df, noncentrality) - _upper_tail(f, df, noncentrality) - beta

    cap = float(stats.t.isf(design.alpha_each / 2, df))
    return cap if below(cap) < 0 else min(cap, float(optimize.brentq(below, 0.0, cap, xtol=1e-6)))


def _cache_file():
    return cache_dir() / "sequential" / f"boundaries-v{CACHE_VERSION}.json"


def _read_cache() -> dict:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@functools.lru_cache(maxsize=64)
def boundaries(design: Design, paths: int = PATHS, seed: int = SEED) -> Boundaries:
    """The design's boundaries (cached in memory and under the user cache; computed in about a
    second otherwise)."""
    key = canonical_json({"design": asdict(design), "paths": paths, "seed": seed})
    cached = _read_cache().get(key)
    if cached is not None:
        return Boundaries(design, tuple(math.inf if b is None else b for b in cached["efficacy"]),
                          tuple(cached["futility"]), tuple(cached["spent"]), tuple(cached["nominal"]),
                          cached["design_effect"], paths, seed)
    effect = minimum_detectable_effect(1.0, design.max_seeds, design.alpha_each, DESIGN_POWER) or math.inf
    efficacy, spent = _efficacy(design, paths, seed)
    nominal = [None if not math.isfinite(b) else float(2 * special.stdtr(n - 1, -b))
               for b, n in zip(efficacy, design.looks)]
    result = Boundaries(design, tuple(efficacy), tuple(_futility(design, effect)), tuple(spent), tuple(nominal),
                        float(effect), paths, seed)
    try:
        stored = _read_cache()
        stored[key] = result.to_json()
        write_json_atomic(_cache_file(), stored)
    except OSError:  # a read-only cache costs a recomputation, never the answer
        pass
    return result


# ---------------------------------------------------------------- after stopping


def stagewise_p(bounds: Boundaries, look: int, t: float) -> float:
    """The stage-wise-ordering p of stopping at ``look`` with statistic ``t`` (one contrast,
    before the family's Bonferroni factor): P0(crossing at an earlier look) + P0(no crossing
    before, |t_look| >= |t|), futility ignored (non-binding)."""
    statistics = null_statistics(bounds.design.looks, bounds.paths, bounds.seed)
    before = _crossed_before(bounds, look)
    beyond = int(((~before) & (statistics[:, look] >= abs(t))).sum())
    p = before.mean() + beyond / len(statistics)
    if beyond == 0:  # beyond every simulated path: the marginal tail bounds the joint one
        p += float(2 * special.stdtr(bounds.design.looks[look] - 1, -abs(t)))
    return float(min(1.0, p))


def repeated_interval(bounds: Boundaries, look: int, mean: float, se: float | None) -> tuple[float, float] | None:
    """mean +- efficacy[look] x se: with the other looks' intervals, it covers the true difference
    at every look at once with probability 1 - alpha / contrasts (None: no bound at that look)."""
    bound = bounds.efficacy[look]
    if se is None or not math.isfinite(bound):
        return None
    return mean - bound * se, mean + bound * se


def look_of(design: Design, seeds: int) -> int | None:
    """The look made after ``seeds`` seeds, None when no look is."""
    return design.looks.index(seeds) if seeds in design.looks else None


def parse_looks(text: str | Sequence[int]) -> tuple[int, ...]:
    """"3,5,8" -> (3, 5, 8); a one-line ValueError otherwise."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        looks = tuple(int(str(part).strip()) for part in parts if str(part).strip())
    except ValueError:
        raise ValueError(f"looks {text!r}: expected seed counts such as 3,5,8") from None
    if not looks or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:])):
        raise ValueError(f"looks {text!r}: increasing seed counts, the first at least 2 (e.g. 3,5,8)")
    return looks
