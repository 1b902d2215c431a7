"""Statistics of a study's results: cells over seeds, paired contrasts between conditions,
multiple-testing corrections, intervals that agree with the adjusted tests, and power.
Pure: DataFrames (and per-example frames) in, DataFrames and dataclasses out.

The unit of replication is the TRAINING RUN (seed): two conditions are compared by the
differences of their scores seed by seed, and every test's degrees of freedom come from the
number of seeds, so that its error rate is the one it claims at 2, 3, 5 or 10 seeds (checked by
simulation in ``tests/test_statistics_calibration.py``).

Scores come as the filtered store rows of one target's primary metric: columns ``condition``,
``seed``, ``lang``, ``value``, ``eval_node`` and, for ``t+items``, ``examples_ref``.

* A cell (condition, language) is the mean and sample std (ddof 1) over seeds. A cell whose
  seeds all share one evaluation (an untrained encoder, recorded under every seed) is
  deterministic: one value, no spread.
* A contrast A - B uses ONE seed set for every number it reports: the seeds where both
  conditions have every averaged language. Per language and for the language average (XTREME's
  plain mean over languages, per seed; the primary contrast) it gives the mean difference and a
  test:

  - ``t``: the paired t-test over the per-seed differences (df = seeds - 1). It generalises over
    new training runs of both conditions, evaluated on these evaluation sets.
  - ``t+items``: the same statistic with the item-sampling variance of the evaluation sets added
    (a two-way items x seeds decomposition of the per-example outputs, each corpus metric
    linearised; still seeds - 1 degrees of freedom, so it errs on the conservative side). It
    generalises over new training runs AND new evaluation items from the same population. A
    target without per-example outputs (BUCC) falls back to ``t``, and its ``method`` says so.

  Fewer than 2 seeds: no test and no interval. Differences that are the same in every seed (up to
  float rounding) leave the test undefined: no p-value, and a note says why (also when that
  difference is 0).

  Beside it, a rank-based companion: the Wilcoxon signed-rank test of the same per-seed
  differences (exact; ``rank_p``, unadjusted). A collapsed run makes one huge difference that
  dominates the t-test's mean and SD, but only one rank. At 2-5 seeds its smallest possible p is
  2 / 2^seeds (0.5 ... 0.0625): it is valid there but cannot reach 0.05.
* Unpaired runs (seed numbers that do not correspond): Welch's t-test over the runs' scores, with
  the Wilcoxon-Mann-Whitney rank-sum test as its companion.
* Collapsed and outlying runs (``outlying_runs``): within a condition, a run whose robust z-score
  (score - median) / (1.4826 MAD) is below -3.5. They are named, never silently dropped: the
  contrast without them is shown beside the primary one.
* Multiple testing: Holm or Benjamini-Hochberg over a family (the report's primary contrasts; its
  per-language contrasts form a second family). The interval printed with an adjusted p-value is
  the t-interval at level 1 - alpha * p / p_adjusted: it excludes 0 exactly when the adjusted p is
  below alpha (Bonferroni's interval for Bonferroni, the step's level for Holm).
* Power of the paired t-test (noncentral t): the smallest difference detectable with 80% power at
  a seed count, and the seeds needed to detect a given difference, from the SD of the per-seed
  differences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special, stats

AVERAGE = "avg"
ALPHA = 0.05
POWER = 0.80
CORRECTIONS = ("holm", "bh")
METHODS = ("t", "t+items")
METHOD_NAMES = {
    "t": "paired t-test over seeds",
    "welch": "Welch's t-test over runs (unpaired)",
    "t+items": "paired t-test over seeds with the evaluation items' sampling variance",
}
GENERALISES_OVER = {
    "t": "new training runs (seeds) of both conditions, on these evaluation sets",
    "t+items": "new training runs (seeds) and new evaluation items from the same population",
    "welch": "new training runs of both conditions, on these evaluation sets",
}
RANK_TESTS = {
    "signed-rank": "Wilcoxon signed-rank test over the per-seed differences (exact)",
    "rank-sum": "Wilcoxon-Mann-Whitney rank-sum test over the runs (exact where it can be)",
}

if TYPE_CHECKING:
    from xstilts.results.sequential.outcome import SequentialOutcome

ExampleLoader = Callable[[str], pd.DataFrame]  # examples_ref -> per-example frame


# ---------------------------------------------------------------- multiple testing


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and is not counted)."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    m = len(present)
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg step-up adjusted p-values (q-values); None stays None."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted: list[float | None] = [None] * len(p_values)
    m = len(present)
    running = 1.0
    for rank, (p, i) in reversed(list(enumerate(sorted(present), start=1))):
        running = min(running, m * p / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def adjust(p_values: Sequence[float | None], method: str) -> list[float | None]:
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    raise ValueError(f"correction {method!r}: expected one of {', '.join(CORRECTIONS)}")


# ---------------------------------------------------------------- cells


def language_order(languages: Sequence[str]) -> list[str]:
    """English first, then alphabetical (the order of the tables)."""
    return sorted(set(languages), key=lambda lang: (lang != "en", lang))


def with_language_average(scores: pd.DataFrame, languages: Sequence[str]) -> pd.DataFrame:
    """``scores`` plus one ``avg`` row per (condition, seed) that has every one of ``languages``."""
    present = scores[scores["lang"].isin(languages)]
    aggregations = {"value": ("value", "mean"), "n_lang": ("lang", "nunique"),
                    "eval_node": ("eval_node", lambda s: "|".join(sorted(set(s))))}
    if "contaminated" in present:
        aggregations["contaminated"] = ("contaminated", "any")
    runs = present.groupby(["condition", "seed"], dropna=False).agg(**aggregations)
    runs = runs[runs["n_lang"] == len(languages)].drop(columns="n_lang").reset_index().assign(lang=AVERAGE)
    return pd.concat([scores, runs], ignore_index=True)


def cell_statistics(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (condition, lang): mean, sample std, number of seeds, whether it is deterministic and
    (when the rows say) whether any of its runs is contaminated."""
    grouped = scores.groupby(["condition", "lang"])
    aggregations = {"mean": ("value", "mean"), "std": ("value", "std"), "n": ("value", "size"),
                    "evaluations": ("eval_node", "nunique")}
    if "contaminated" in scores:
        aggregations["contaminated"] = ("contaminated", lambda s: bool(pd.Series(s).astype(bool).any()))
    cells = grouped.agg(**aggregations)
    cells["deterministic"] = (cells["evaluations"] == 1) & (cells["n"] > 1)
    cells.loc[cells["deterministic"], "std"] = float("nan")
    return cells.drop(columns="evaluations")


def format_cell(mean: float, std: float, n: int, deterministic: bool) -> str:
    """``mean ± std (n)``; a deterministic cell is its single value; one seed has no spread."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if deterministic:
        return f"{format_number(mean)} (det.)"
    if n == 1 or std is None or math.isnan(std):
        return f"{format_number(mean)} (n=1)"
    return f"{format_number(mean)} ± {format_number(std)} (n={n})"


def format_number(value: float | None, digits: int = 1, sign: bool = False) -> str:
    """A number for a sentence or a table: "-" when missing, never "-0.0" (a value that rounds to
    zero prints as 0.0 whatever its sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    rounded = round(float(value), digits)
    if rounded == 0:
        rounded = 0.0
    text = f"{rounded:.{digits}f}"
    return f"+{text}" if sign and rounded > 0 else text


def format_p(p: float | None, alpha: float = ALPHA) -> str:
    """"< 0.001" below 0.001; otherwise three decimals, with more where three would put the value
    on the other side of ``alpha`` (0.0499 is never printed "0.050")."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    if p < 0.001:
        return "< 0.001"
    for digits in range(3, 8):
        text = f"{p:.{digits}f}"
        if (float(text) < alpha) == (p < alpha):
            return text
    return f"{p:.8f}"


# ---------------------------------------------------------------- one paired test


@dataclass(frozen=True)
class PairedTest:
    """A test of the mean of per-seed differences (A - B)."""

    n_seeds: int
    mean_difference: float
    sd: float | None  # sample SD of the per-seed differences
    se: float | None  # standard error of the mean difference (items' variance included for t+items)
    df: float | None
    p: float | None
    method: str  # the test that produced p: "t" or "t+items" (None p: the test that was tried)
    note: str | None = None  # why there is no p, or why the method fell back

    def interval(self, level: float = 1 - ALPHA) -> tuple[float, float] | None:
        """The t-interval of the mean difference at ``level``."""
        if self.se is None or self.df is None or self.p is None:
            return None
        if self.se == 0:
            return self.mean_difference, self.mean_difference
        half = stats.t.ppf(0.5 + level / 2, self.df) * self.se
        return self.mean_difference - half, self.mean_difference + half


def _constant(values: np.ndarray) -> bool:
    """Every value the same up to float rounding (averages of identical scores differ by ~1e-13)."""
    scale = max(1.0, float(np.abs(values).max()))
    return float(values.max() - values.min()) <= 1e-9 * scale


def paired_t(differences: Sequence[float], item_variance: float | None = None) -> PairedTest:
    """The paired t-test of per-seed differences (df = seeds - 1); with ``item_variance`` (the
    items' share of the variance of the mean difference) added to the squared standard error, the
    t+items test, still with seeds - 1 degrees of freedom."""
    values = np.asarray(differences, dtype=float)
    n = len(values)
    method = "t" if item_variance is None else "t+items"
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return PairedTest(n, mean, None, None, None, None, method,
                          f"{n} seed{'s' * (n != 1)}: a paired test needs at least 2")
    sd = float(values.std(ddof=1))
    seed_part = sd**2 / n
    items = max(0.0, item_variance or 0.0)
    if _constant(values) and items == 0:
        sd = 0.0
        if abs(mean) <= 1e-9 * max(1.0, abs(mean)):
            return PairedTest(n, 0.0, 0.0, None, None, None, method,
                              "identical in every seed (a difference of 0 in each): no seed variance to test it "
                              "against")
        return PairedTest(n, mean, 0.0, None, None, None, method,
                          "the difference is the same in every seed (deterministic evaluations?): no seed "
                          "variance to test it against")
    se = math.sqrt(seed_part + items)
    # seeds - 1 degrees of freedom with the items' variance added too: Welch-Satterthwaite raises
    # them from a noisy item variance, and then called 8% of null contrasts at 2 seeds (simulated,
    # benchmarks/statistics_calibration.py); seeds - 1 keeps the test at or below its level.
    df = float(n - 1)
    t = mean / se
    p = float(2 * special.stdtr(df, -abs(t)))  # = 2 * stats.t.sf(|t|, df), without scipy's dispatch cost
    return PairedTest(n, mean, sd, se, df, p, method)


def welch_t(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Welch's t-test of mean(A) - mean(B) over independent runs (unequal variances,
    Welch-Satterthwaite df): for runs whose seed numbers do not pair. ``n_seeds`` is the smaller
    number of runs; ``sd`` is None (there are no per-seed differences)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = min(len(x), len(y))
    mean = float(x.mean() - y.mean()) if len(x) and len(y) else float("nan")
    if n < 2:
        return PairedTest(n, mean, None, None, None, None, "welch",
                          f"{n} run{'s' * (n != 1)} of one condition: Welch's test needs at least 2 of each")
    va, vb = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    if va + vb == 0:
        return PairedTest(n, mean, None, None, None, None, "welch",
                          "every run of both conditions has the same score: no run variance to test against")
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va**2 / (len(x) - 1) if va else 0.0) + (vb**2 / (len(y) - 1) if vb else 0.0))
    p = float(2 * special.stdtr(df, -abs(mean / se)))
    return PairedTest(n, mean, None, se, float(df), p, "welch")


def signed_rank_p(differences: Sequence[float]) -> float | None:
    """Two-sided p of the Wilcoxon signed-rank test of the per-seed differences (zeros dropped):
    exact (every sign assignment; with tied magnitudes by enumeration) up to 16 non-zero
    differences, the normal approximation beyond. It is valid at any number of seeds, but its
    smallest possible p is 2 / 2^seeds: 0.5, 0.25, 0.125, 0.0625 at 2-5 seeds, so it cannot reach
    0.05 below 6 seeds; beside the t-test it says whether the ranks agree, not a second verdict.
    None without a non-zero difference."""
    values = np.asarray(differences, dtype=float)
    values = values[np.abs(values) > 1e-9 * max(1.0, float(np.abs(values).max(initial=0.0)))]
    if len(values) == 0:
        return None
    if len(values) <= 16:  # every sign assignment of the (mid)ranks: scipy's exact p, without its dispatch cost
        ranks = stats.rankdata(np.abs(values))
        signs = _sign_assignments(len(values))
        centre = ranks.sum() / 2
        observed = abs(float(ranks[values > 0].sum()) - centre)
        null = np.abs(signs @ ranks - centre)
        return float(min(1.0, np.mean(null >= observed - 1e-9)))
    return float(stats.wilcoxon(values, method="approx").pvalue)


@functools.lru_cache(maxsize=None)
def _sign_assignments(n: int) -> np.ndarray:
    """Every 0/1 vector of length n (2^n x n): which differences are positive under the null."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)


def rank_sum_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of the Wilcoxon-Mann-Whitney rank-sum test (the unpaired companion)."""
    if len(a) == 0 or len(b) == 0:
        return None
    return float(stats.mannwhitneyu(np.asarray(a, float), np.asarray(b, float), alternative="two-sided").pvalue)


# ---------------------------------------------------------------- item variance (t+items)


def _linearised(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per example, its influence on the corpus score 100 * sum(num) / sum(den) (delta method):
    the score moves by the mean of these when examples are resampled."""
    total = den.sum()
    if total <= 0:
        return np.zeros_like(num)
    ratio = num.sum() / total
    return 100.0 * (num - ratio * den) / den.mean()


def item_variance(units_a: Sequence[pd.DataFrame], units_b: Sequence[pd.DataFrame], metric: str) -> float:
    """The items' share of the variance of the seed-averaged difference A - B on one language.

    ``units_x[k]`` is seed k's per-example frame (the same examples in the same order for A, B and
    every seed). Per example and seed, u = influence on A's score - influence on B's. In a two-way
    items x seeds layout, E[MS_items] = s2_interaction + seeds * s2_item: the item main effect's
    variance is (MS_items - MS_residual) / seeds (the interaction is already in the seeds' own
    variance), and the variance of the mean over n items is that over n.
    """
    seeds = len(units_a)
    u = np.stack([_linearised(a[f"{metric}_num"].to_numpy(float), a[f"{metric}_den"].to_numpy(float))
                  - _linearised(b[f"{metric}_num"].to_numpy(float), b[f"{metric}_den"].to_numpy(float))
                  for a, b in zip(units_a, units_b)])  # seeds x items
    items = u.shape[1]
    if seeds < 2 or items < 2:
        return 0.0
    item_means = u.mean(axis=0)
    seed_means = u.mean(axis=1, keepdims=True)  # 0 up to rounding: influences are centred per run
    residual = u - item_means[None, :] - seed_means + u.mean()
    ms_items = seeds * float(((item_means - item_means.mean()) ** 2).sum()) / (items - 1)
    ms_residual = float((residual**2).sum()) / ((seeds - 1) * (items - 1))
    return max(0.0, ms_items - ms_residual) / seeds / items


# ---------------------------------------------------------------- contrasts


@dataclass(frozen=True)
class ContrastResult:
    """Condition A minus condition B on one language (or ``avg``) of one target, paired by seed.

    ``adjusted_p`` is the primary test's p adjusted over its family (``family_size`` tests);
    ``interval`` is the t-interval at ``interval_level``: the level at which it agrees with the
    adjusted p (95% before adjustment).
    """

    target: str
    task: str
    condition_a: str
    condition_b: str
    relation: str  # why it is compared: "orders", "mixed", "listed" (study.comparisons.RELATIONS)
    lang: str
    seeds: tuple[int, ...]
    test: PairedTest
    adjusted_p: float | None = None
    family_size: int = 1
    interval_level: float = 1 - ALPHA
    interval: tuple[float, float] | None = None
    rank_p: float | None = None  # the rank-based companion (RANK_TESTS), unadjusted
    runs: tuple[int, int] | None = None  # unpaired (Welch): the runs of A and of B
    # Under a sequential seed design (results.sequential): where the contrast stopped; then
    # adjusted_p is its Bonferroni-adjusted stage-wise p and interval its repeated interval.
    sequential: SequentialOutcome | None = None

    @property
    def n_runs_text(self) -> str:
        return f"{self.runs[0]} + {self.runs[1]}" if self.runs else str(self.n_seeds)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def mean_difference(self) -> float:
        return self.test.mean_difference

    @property
    def p(self) -> float | None:
        return self.test.p

    @property
    def method(self) -> str:
        return self.test.method

    @property
    def significant(self) -> bool:
        if self.sequential is not None:
            return self.sequential.decision == "effect"
        return self.adjusted_p is not None and self.adjusted_p < ALPHA

    def unadjusted_interval(self) -> tuple[float, float] | None:
        return self.test.interval(1 - ALPHA)


def paired_seed_scores(scores: pd.DataFrame, condition_a: str, condition_b: str, languages: Sequence[str]
                       ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(seeds, A, B): seed x language score matrices on the ONE seed set where both conditions
    have every language (plain arrays: this runs thousands of times in the calibration tests)."""
    languages = list(languages)
    column = {lang: index for index, lang in enumerate(languages)}
    values: dict[tuple[str, int], np.ndarray] = {}
    chosen = scores[scores["condition"].isin([condition_a, condition_b])]
    for condition, seed, lang, value in zip(chosen["condition"].to_numpy(), chosen["seed"].to_numpy(),
                                            chosen["lang"].to_numpy(), chosen["value"].to_numpy(dtype=float)):
        if lang not in column or seed is None or (isinstance(seed, float) and math.isnan(seed)):
            continue
        row = values.setdefault((condition, int(seed)), np.full(len(languages), np.nan))
        if math.isnan(row[column[lang]]):
            row[column[lang]] = value
    seeds = sorted(seed for condition, seed in values if condition == condition_a and (condition_b, seed) in values
                   and not np.isnan(values[(condition_a, seed)]).any() and not np.isnan(values[(condition_b, seed)]).any())
    shape = (len(seeds), len(languages))
    a = np.array([values[(condition_a, seed)] for seed in seeds]).reshape(shape)
    b = np.array([values[(condition_b, seed)] for seed in seeds]).reshape(shape)
    return seeds, a, b


def paired_contrast(scores: pd.DataFrame, *, target: str, task: str, metric: str, condition_a: str,
                    condition_b: str, languages: Sequence[str], relation: str = "listed", method: str = "t",
                    load_examples: ExampleLoader | None = None) -> list[ContrastResult]:
    """A - B per language and for the language average (unadjusted: see ``adjust_family``)."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    languages = list(languages)
    seed_list, a, b = paired_seed_scores(scores, condition_a, condition_b, languages)
    seeds = tuple(seed_list)
    differences = a - b
    # The primary contrast: XTREME's plain mean over the languages, per seed.
    columns = {**{lang: differences[:, index] for index, lang in enumerate(languages)},
               AVERAGE: a.mean(axis=1) - b.mean(axis=1)}
    variances: dict[str, float] | None = None
    note = None
    if method == "t+items" and len(seeds) >= 2:
        variances, note = _item_variances(scores, condition_a, condition_b, languages, seeds, metric, load_examples)
    results = []
    for lang, column in columns.items():
        if variances is not None:
            # The languages' items are independent: their variances add, each scaled by 1/L^2 in the mean.
            items = sum(variances.values()) / len(languages) ** 2 if lang == AVERAGE else variances[lang]
            test = paired_t(column, items)
        else:
            test = paired_t(column)
            if note:
                test = replace(test, note="; ".join(filter(None, [test.note, note])))
        results.append(ContrastResult(target, task, condition_a, condition_b, relation, lang, seeds, test,
                                      rank_p=signed_rank_p(column) if len(seeds) else None))
    return results


def _item_variances(scores: pd.DataFrame, condition_a: str, condition_b: str, languages: Sequence[str],
                    seeds: Sequence[int], metric: str, load_examples: ExampleLoader | None
                    ) -> tuple[dict[str, float] | None, str | None]:
    """Per language: the items' variance of the seed-averaged difference; None (and why) when
    the per-example outputs are missing or do not line up: the test is then ``t``."""
    if load_examples is None:
        return None, "t+items fell back to t: no per-example outputs for this target"
    try:
        result = {}
        for lang in languages:
            units = {}
            for condition in (condition_a, condition_b):
                rows = scores[(scores["condition"] == condition) & (scores["lang"] == lang)].set_index("seed")
                refs = [rows.loc[seed, "examples_ref"] if seed in rows.index else None for seed in seeds]
                if any(ref is None or (isinstance(ref, float) and math.isnan(ref)) for ref in refs):
                    return None, f"t+items fell back to t: {condition} {lang} has no per-example outputs"
                units[condition] = [load_examples(ref) for ref in refs]
            sizes = {len(frame) for frames in units.values() for frame in frames}
            if len(sizes) != 1:
                return None, f"t+items fell back to t: {lang} was evaluated on different numbers of examples"
            if f"{metric}_num" not in units[condition_a][0]:
                return None, f"t+items fell back to t: the per-example outputs have no {metric}"
            result[lang] = item_variance(units[condition_a], units[condition_b], metric)
        return result, None
    except (KeyError, ValueError, OSError) as error:
        return None, f"t+items fell back to t: {error}"


def adjust_family(contrasts: Sequence[ContrastResult], correction: str, alpha: float = ALPHA
                  ) -> list[ContrastResult]:
    """Adjust the p-values of one family of contrasts together, and give each the interval that
    agrees with its adjusted p: the t-interval at level 1 - alpha * p / p_adjusted."""
    adjusted = adjust([c.p for c in contrasts], correction)
    family = sum(p is not None for p in adjusted)
    results = []
    for contrast, p_adjusted in zip(contrasts, adjusted):
        level = 1 - alpha
        if p_adjusted is not None and contrast.p is not None and p_adjusted > 0 and contrast.p > 0:
            level = 1 - alpha * min(1.0, contrast.p / p_adjusted)
        results.append(replace(contrast, adjusted_p=p_adjusted, family_size=max(1, family), interval_level=level,
                               interval=contrast.test.interval(level)))
    return results
