"""Power of the paired t-test and the seeds advisor: the difference a number of seeds detects,
the seeds a difference needs. Exact: each tail of the noncentral t from scipy where it is finite,
else by numerical integration over the chi-square (scipy's noncentral t returns NaN far in a tail;
a fallback to power 1.0 made 2 seeds look like they detect 9.39 SD where they need 11.55)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import integrate, optimize, special, stats

from xstilts.results.statistics import ALPHA, POWER

MAX_SEEDS_SEARCHED = 1000


def _upper_tail_by_integration(critical: float, df: int, noncentrality: float) -> float:
    """P(T' > critical) for the noncentral t with ``df`` degrees of freedom, by numerical integration
    over the chi distribution of its denominator: T' = (Z + nc) / S with S = sqrt(V / df),
    V ~ chi2(df), so P(T' > c) = E[Phi(nc - c S)] (finite and in [0, 1] for every argument)."""
    scale = stats.chi(df, scale=1 / math.sqrt(df))
    low, high = scale.ppf(1e-15), scale.isf(1e-15)
    value, _ = integrate.quad(lambda s: special.ndtr(noncentrality - critical * s) * scale.pdf(s), low, high,
                              epsabs=1e-13, epsrel=1e-11, limit=200)
    return min(1.0, max(0.0, float(value)))


def _upper_tail(critical: float, df: int, noncentrality: float) -> float:
    """P(T' > critical): scipy's noncentral t where it is finite, the integral where it is not
    (scipy returns NaN far in a tail)."""
    value = float(stats.nct.sf(critical, df, noncentrality))
    if math.isfinite(value) and 0.0 <= value <= 1.0:
        return value
    return _upper_tail_by_integration(critical, df, noncentrality)


def t_test_power(effect: float, sd: float, seeds: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t-test at ``seeds`` seeds for a true mean difference ``effect``
    when the per-seed differences have SD ``sd``: P(|T'| > t_crit) for the noncentral t with
    df = seeds - 1 and noncentrality |effect| sqrt(seeds) / sd, both tails computed exactly (the lower
    one as the upper tail of -T', whose noncentrality is negated; no tail is ever NaN)."""
    if seeds < 2:
        return 0.0
    if sd <= 0:
        return 1.0 if effect != 0 else alpha
    df = seeds - 1
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    noncentrality = abs(effect) * math.sqrt(seeds) / sd
    return min(1.0, _upper_tail(critical, df, noncentrality) + _upper_tail(critical, df, -noncentrality))


def minimum_detectable_effect(sd: float, seeds: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """The smallest true difference the paired t-test detects with ``power`` at ``seeds`` seeds."""
    if seeds < 2 or not math.isfinite(sd) or sd < 0:
        return None
    if sd == 0:
        return 0.0
    upper = sd
    while t_test_power(upper, sd, seeds, alpha) < power:
        upper *= 2
        if upper > 1e6 * sd:
            return None
    return float(optimize.brentq(lambda effect: t_test_power(effect, sd, seeds, alpha) - power, 0.0, upper,
                                 xtol=1e-6 * sd))


def seeds_needed(sd: float, effect: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The fewest seeds (>= 2) at which the paired t-test detects ``effect`` with ``power``;
    None beyond MAX_SEEDS_SEARCHED."""
    if effect == 0:
        return None
    for seeds in range(2, MAX_SEEDS_SEARCHED + 1):
        if t_test_power(effect, sd, seeds, alpha) >= power:
            return seeds
    return None


def sd_upper_bound(sd: float, seeds: int, confidence: float = 0.8) -> float | None:
    """One-sided upper confidence bound of an SD estimated from ``seeds`` values (chi-square):
    a few seeds estimate the SD poorly, so plans sized on the estimate alone are optimistic."""
    if seeds < 2:
        return None
    df = seeds - 1
    return float(sd * math.sqrt(df / stats.chi2.ppf(1 - confidence, df)))


@dataclass(frozen=True)
class SeedAdvice:
    """For one primary contrast: what its seeds can detect and how many seeds a difference needs."""

    sd: float | None  # SD of the per-seed differences
    seeds: int
    detectable: float | None  # MDE at 80% power with these seeds (alpha = 0.05 two-sided)
    effect: float
    seeds_needed: int | None  # for ``effect`` with the estimated SD
    seeds_needed_cautious: int | None  # with the SD's 80% upper confidence bound


def seed_advice(sd: float | None, seeds: int, effect: float, alpha: float = ALPHA) -> SeedAdvice:
    if sd is None or not math.isfinite(sd) or seeds < 2:
        return SeedAdvice(None, seeds, None, effect, None, None)
    upper = sd_upper_bound(sd, seeds)
    return SeedAdvice(sd, seeds, minimum_detectable_effect(sd, seeds, alpha), effect,
                      seeds_needed(sd, effect, alpha), seeds_needed(upper, effect, alpha) if upper else None)
