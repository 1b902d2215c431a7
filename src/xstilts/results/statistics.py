"""Statistics of a study's results: cells over seeds, paired contrasts between conditions with a
t-test over seeds and a hierarchical paired bootstrap over seeds and examples, multiple-testing
corrections. Pure: DataFrames (and per-example frames) in, DataFrames and dataclasses out.

Scores come as the filtered store rows of one task's primary metric (``results.filtering``):
columns ``condition``, ``seed``, ``lang``, ``value``, ``eval_node``, ``examples_ref``.

* A cell (condition, language) is the mean and sample std (ddof 1) over seeds. A cell whose seeds
  all share one evaluation (an untrained encoder, recorded under every seed) is deterministic: one
  value, no spread.
* A paired contrast A - B pairs the seeds both conditions ran. Per language and for the language
  average (XTREME's plain mean over the languages, per seed): the mean difference; (a) a paired
  t-test over seeds (``scipy.stats.ttest_rel``) with its t-interval; (b) a hierarchical paired
  bootstrap: seeds are resampled with replacement, then, within each drawn seed, the evaluation
  examples of every language (the same draw for A and B: the examples are the same items); the
  statistic is the mean over the drawn seeds of score_A - score_B, each score the corpus metric
  recomputed from per-example pieces (``xstilts.metrics.per_example``); percentile 95% interval and
  a two-sided p-value 2 * min(P(d <= 0), P(d >= 0)) with the (k + 1) / (B + 1) correction.
* Holm or Benjamini-Hochberg adjusted p-values across the languages of a contrast, and across the
  primary (language-average) contrasts of a report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats


AVERAGE = "avg"
CORRECTIONS = ("holm", "bh")
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20200513  # the bootstrap's own random seed, recorded in the report

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
    runs = present.groupby(["condition", "seed"]).agg(value=("value", "mean"), n_lang=("lang", "nunique"),
                                                      eval_node=("eval_node", lambda s: "|".join(sorted(set(s)))))
    runs = runs[runs["n_lang"] == len(languages)].drop(columns="n_lang").reset_index().assign(lang=AVERAGE)
    return pd.concat([scores, runs], ignore_index=True)


def cell_statistics(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (condition, lang): mean, sample std, number of seeds, and whether it is deterministic."""
    grouped = scores.groupby(["condition", "lang"])
    cells = grouped.agg(mean=("value", "mean"), std=("value", "std"), n=("value", "size"),
                        evaluations=("eval_node", "nunique"))
    cells["deterministic"] = (cells["evaluations"] == 1) & (cells["n"] > 1)
    cells.loc[cells["deterministic"], "std"] = float("nan")
    return cells.drop(columns="evaluations")


def format_cell(mean: float, std: float, n: int, deterministic: bool) -> str:
    """``mean ± std (n)``; a deterministic cell is its single value; one seed has no spread."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if deterministic:
        return f"{mean:.1f} (det.)"
    if n == 1 or std is None or math.isnan(std):
        return f"{mean:.1f} (n=1)"
    return f"{mean:.1f} ± {std:.1f} (n={n})"


# ---------------------------------------------------------------- contrasts


@dataclass(frozen=True)
class ContrastResult:
    """Condition A minus condition B on one language (or ``avg``) of one task, paired by seed."""

    task: str
    condition_a: str
    condition_b: str
    lang: str
    n_seeds: int
    mean_difference: float
    t_ci: tuple[float, float] | None
    t_p: float | None
    bootstrap_ci: tuple[float, float] | None
    bootstrap_p: float | None
    bootstrap_note: str | None = None
    adjusted_p: float | None = None  # of the primary test, across the family it belongs to

    def primary_p(self, test: str) -> float | None:
        return self.bootstrap_p if test == "bootstrap" and self.bootstrap_p is not None else self.t_p

    def primary_ci(self, test: str) -> tuple[float, float] | None:
        return self.bootstrap_ci if test == "bootstrap" and self.bootstrap_ci is not None else self.t_ci


def t_contrast(differences: Sequence[float]) -> tuple[tuple[float, float] | None, float | None]:
    """Paired t-test over seed differences: (95% t-interval of the mean difference, two-sided p)."""
    values = np.asarray(differences, dtype=float)
    if len(values) < 2:
        return None, None
    mean, sd = values.mean(), values.std(ddof=1)
    if sd == 0:
        return (float(mean), float(mean)), (1.0 if mean == 0 else 0.0)
    half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    p = stats.ttest_1samp(values, 0.0).pvalue
    return (float(mean - half), float(mean + half)), float(p)


def bootstrap_contrast(units_a: Mapping[int, Mapping[str, pd.DataFrame]], units_b: Mapping[int, Mapping[str, pd.DataFrame]],
                       languages: Sequence[str], metric: str, *, resamples: int, seed: int
                       ) -> dict[str, tuple[tuple[float, float], float, np.ndarray]]:
    """Hierarchical paired bootstrap (seeds, then examples within seed and language).

    ``units_x[seed][lang]`` are per-example frames; A and B must hold the same examples in the
    same order per language. Returns per language and for ``avg``: (95% percentile interval,
    two-sided p, the bootstrap distribution of the mean difference).
    """
    seeds = sorted(set(units_a) & set(units_b))
    rng = np.random.default_rng(seed)
    n_seeds = len(seeds)
    draws = rng.integers(0, n_seeds, size=(resamples, n_seeds))  # seed slots
    per_lang = {}
    for lang in languages:
        sizes = {len(units_a[s][lang]) for s in seeds} | {len(units_b[s][lang]) for s in seeds}
        if len(sizes) != 1:
            raise ValueError(f"{lang}: the conditions were evaluated on different numbers of examples {sorted(sizes)}")
        n = sizes.pop()
        arrays = {}
        for name, units in (("a", units_a), ("b", units_b)):
            arrays[name] = (np.stack([units[s][lang][f"{metric}_num"].to_numpy(float) for s in seeds]),
                            np.stack([units[s][lang][f"{metric}_den"].to_numpy(float) for s in seeds]))
        slot_differences = np.empty((resamples, n_seeds))
        for slot in range(n_seeds):
            weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)  # B x n
            scores = {}
            for name, (num, den) in arrays.items():
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = 100.0 * (weights @ num.T) / (weights @ den.T)  # B x seeds
                scores[name] = np.nan_to_num(ratio)
            chosen = draws[:, slot]
            rows = np.arange(resamples)
            slot_differences[:, slot] = scores["a"][rows, chosen] - scores["b"][rows, chosen]
        per_lang[lang] = slot_differences
    results = {}
    for lang, slots in per_lang.items():
        results[lang] = _summarise(slots.mean(axis=1))
    results[AVERAGE] = _summarise(np.mean([slots.mean(axis=1) for slots in per_lang.values()], axis=0))
    return results


def _summarise(distribution: np.ndarray) -> tuple[tuple[float, float], float, np.ndarray]:
    low, high = np.percentile(distribution, [2.5, 97.5])
    resamples = len(distribution)
    tail = min((distribution <= 0).sum(), (distribution >= 0).sum())
    p = min(1.0, 2 * (tail + 1) / (resamples + 1))
    return (float(low), float(high)), float(p), distribution


def paired_contrast(scores: pd.DataFrame, task: str, metric: str, condition_a: str, condition_b: str,
                    languages: Sequence[str], load_examples: ExampleLoader | None, *,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                    correction: str = "holm", test: str = "bootstrap") -> list[ContrastResult]:
    """A - B per language and for the average; the per-language p-values (primary test) are
    adjusted across the languages with ``correction`` (the average is the primary contrast and is
    adjusted with the other primary contrasts of the report, see ``adjust_primary``)."""
    both = with_language_average(scores[scores["condition"].isin([condition_a, condition_b])], languages)
    values = both.pivot_table(index="seed", columns=["condition", "lang"], values="value", aggfunc="first")
    bootstrap: dict[str, tuple] = {}
    note = None
    if load_examples is not None:
        try:
            units = {condition: _units_by_seed(scores, condition, languages, load_examples)
                     for condition in (condition_a, condition_b)}
            bootstrap = bootstrap_contrast(units[condition_a], units[condition_b], languages, metric,
                                           resamples=resamples, seed=seed)
        except (KeyError, ValueError, FileNotFoundError) as error:
            note = f"no bootstrap: {error}"
    else:
        note = "no bootstrap: no per-example outputs"
    results = []
    for lang in [*languages, AVERAGE]:
        if (condition_a, lang) not in values or (condition_b, lang) not in values:
            continue
        paired = values[[(condition_a, lang), (condition_b, lang)]].dropna()
        differences = paired[(condition_a, lang)] - paired[(condition_b, lang)]
        if differences.empty:
            continue
        t_ci, t_p = t_contrast(differences.to_numpy())
        boot = bootstrap.get(lang)
        results.append(ContrastResult(task, condition_a, condition_b, lang, len(differences),
                                      float(differences.mean()), t_ci, t_p, boot[0] if boot else None,
                                      boot[1] if boot else None, note))
    per_language = [r for r in results if r.lang != AVERAGE]
    adjusted = adjust([r.primary_p(test) for r in per_language], correction)
    adjusted_by_lang = {r.lang: p for r, p in zip(per_language, adjusted)}
    return [_with_adjusted(r, adjusted_by_lang.get(r.lang)) if r.lang != AVERAGE else r for r in results]


def adjust_primary(contrasts: Sequence[ContrastResult], correction: str, test: str) -> list[ContrastResult]:
    """Adjust the language-average contrasts across the report (one family)."""
    adjusted = adjust([c.primary_p(test) for c in contrasts], correction)
    return [_with_adjusted(c, p) for c, p in zip(contrasts, adjusted)]


def _with_adjusted(result: ContrastResult, p: float | None) -> ContrastResult:
    return replace(result, adjusted_p=p)


def _units_by_seed(scores: pd.DataFrame, condition: str, languages: Sequence[str],
                   load_examples: ExampleLoader) -> dict[int, dict[str, pd.DataFrame]]:
    rows = scores[(scores["condition"] == condition) & scores["lang"].isin(languages)]
    by_seed: dict[int, dict[str, pd.DataFrame]] = {}
    for row in rows.itertuples():
        if row.examples_ref is None or (isinstance(row.examples_ref, float) and math.isnan(row.examples_ref)):
            raise KeyError(f"{condition} {row.lang} seed {row.seed} has no per-example outputs")
        by_seed.setdefault(int(row.seed), {})[row.lang] = load_examples(row.examples_ref)
    return {seed: langs for seed, langs in by_seed.items() if set(languages) <= set(langs)}
