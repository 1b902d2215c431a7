"""The statistics' building blocks: the paired test's edge cases, number formats, intervals that
agree with adjusted p-values, power, and the contrasts found from what conditions trained."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.results.statistics import (
    ContrastResult,
    PairedTest,
    adjust_family,
    format_number,
    format_p,
    item_variance,
    paired_contrast,
    paired_t,
)
from xstilts.results.power import minimum_detectable_effect, sd_upper_bound, seeds_needed, t_test_power
from xstilts.study.comparisons import condition_path, planned_contrasts


def test_paired_t_is_scipys_paired_t_test():
    a, b = np.array([71.0, 73.5, 70.2, 72.8]), np.array([70.1, 72.0, 70.9, 71.0])
    test = paired_t(a - b)
    reference = stats.ttest_rel(a, b)
    assert test.p == pytest.approx(reference.pvalue, rel=1e-12) and test.df == 3
    low, high = test.interval()
    half = stats.t.ppf(0.975, 3) * (a - b).std(ddof=1) / 2
    assert (low, high) == pytest.approx(((a - b).mean() - half, (a - b).mean() + half))


def test_one_seed_has_no_test_and_constant_differences_no_p():
    one = paired_t([2.0])
    assert one.p is None and one.interval() is None and "at least 2" in one.note
    # Averages of identical scores differ by float rounding (~1e-13): not a p of 1e-33.
    constant = paired_t([1.5, 1.5 + 1e-13, 1.5 - 1e-13])
    assert constant.p is None and "same in every seed" in constant.note and constant.sd == 0
    # A difference of 0 in every seed: no p either (not p = 1 and [0, 0]), as the README says.
    identical = paired_t([0.0, 1e-14, -1e-14])
    assert identical.p is None and identical.interval() is None and "identical in every seed" in identical.note


def test_numbers_never_print_minus_zero_and_p_never_crosses_alpha():
    assert format_number(-0.04) == "0.0" and format_number(-0.04, sign=True) == "0.0"
    assert format_number(0.04, sign=True) == "0.0" and format_number(1.26, sign=True) == "+1.3"
    assert format_number(float("nan")) == "-" and format_number(None) == "-"
    assert format_p(0.0499) == "0.0499" and format_p(0.0501) == "0.050" and format_p(0.04995) == "0.04995"
    assert format_p(0.0004) == "< 0.001" and format_p(0.001) == "0.001" and format_p(0.5) == "0.500"


def _contrast(p: float, mean: float = 1.0, se: float = 0.5) -> ContrastResult:
    return ContrastResult("t", "xnli", "a", "b", "orders", "avg", (1, 2, 3),
                          PairedTest(3, mean, se * math.sqrt(3), se, 2.0, p, "t"))


def test_the_interval_beside_an_adjusted_p_excludes_zero_exactly_when_it_is_significant():
    rng = np.random.default_rng(3)
    for _ in range(200):
        means = rng.normal(0, 3, size=6)
        tests = [paired_t(rng.normal(mean, 1.0, size=4)) for mean in means]
        family = adjust_family([ContrastResult("t", "x", f"a{i}", "b", "orders", "avg", (1, 2, 3, 4), test)
                                for i, test in enumerate(tests)], "holm")
        for contrast in family:
            excludes = contrast.interval[0] > 0 or contrast.interval[1] < 0
            assert excludes == contrast.significant, (contrast.p, contrast.adjusted_p, contrast.interval)
            assert contrast.interval_level >= 0.95 - 1e-12
    # Bonferroni's level for the smallest p of m = 4 under Holm: 1 - 0.05 / 4.
    family = adjust_family([_contrast(p) for p in (0.001, 0.2, 0.3, 0.4)], "holm")
    assert family[0].interval_level == pytest.approx(1 - 0.05 / 4) and family[0].family_size == 4


def test_power_and_seed_counts_agree_with_simulation():
    rng = np.random.default_rng(5)
    sd, effect, seeds = 2.0, 2.5, 4
    simulated = np.mean([stats.ttest_1samp(rng.normal(effect, sd, seeds), 0).pvalue < 0.05 for _ in range(4000)])
    assert t_test_power(effect, sd, seeds) == pytest.approx(simulated, abs=0.025)
    detectable = minimum_detectable_effect(sd, seeds)
    assert t_test_power(detectable, sd, seeds) == pytest.approx(0.8, abs=1e-4)
    needed = seeds_needed(sd, 1.0)
    assert t_test_power(1.0, sd, needed) >= 0.8 > t_test_power(1.0, sd, needed - 1)
    assert seeds_needed(sd_upper_bound(sd, 3), 1.0) > needed
    assert minimum_detectable_effect(sd, 1) is None


def test_item_variance_is_zero_without_item_effects_and_finds_them():
    rng = np.random.default_rng(9)
    base = rng.uniform(0.3, 0.7, 2000)

    def runs(shift: np.ndarray) -> list[pd.DataFrame]:
        return [pd.DataFrame({"accuracy_num": (rng.random(2000) < base + shift).astype(float),
                              "accuracy_den": np.ones(2000)}) for _ in range(5)]

    none = item_variance(runs(np.zeros(2000)), runs(np.zeros(2000)), "accuracy")
    advantage = rng.uniform(-0.25, 0.25, 2000)
    some = item_variance(runs(advantage), runs(-advantage), "accuracy")
    # True item variance of the mean difference: Var(2 e) / n x 100^2 = 4 x 0.25^2 / 3 / 2000 x 1e4.
    assert none < 0.05 and some == pytest.approx(4 * 0.25**2 / 3 / 2000 * 1e4, rel=0.3)


def test_one_seed_set_for_every_number_of_a_contrast():
    rows = [("a", 1, "en", 80.0), ("a", 1, "de", 70.0), ("b", 1, "en", 79.0), ("b", 1, "de", 69.0),
            ("a", 2, "en", 81.0), ("a", 2, "de", 72.0), ("b", 2, "en", 80.0),  # seed 2: b lacks de
            ("a", 3, "en", 82.0), ("a", 3, "de", 71.0), ("b", 3, "en", 80.5), ("b", 3, "de", 70.5)]
    scores = pd.DataFrame(rows, columns=["condition", "seed", "lang", "value"]).assign(eval_node="e")
    results = paired_contrast(scores, target="x", task="xnli", metric="accuracy", condition_a="a", condition_b="b",
                              languages=["en", "de"])
    assert {r.lang: r.seeds for r in results} == {"en": (1, 3), "de": (1, 3), "avg": (1, 3)}
    assert results[0].mean_difference == pytest.approx(((80 - 79) + (82 - 80.5)) / 2)


def _stage(lang: str, node: str, data: tuple[str, ...] | None = None) -> dict:
    return {"node": node, "label": f"nli_{lang}", "config": {"lr": 1e-5},
            "train": [{"task": "xnli", "lang": code, "split": "dev", "slice": "[:1000]"} for code in (data or (lang,))]}


def test_contrasts_come_from_what_conditions_trained_not_from_their_names():
    target = {"node": "t", "label": "panx", "is_target": True, "train": [{"task": "panx", "lang": "en",
                                                                          "split": "train", "slice": None}]}
    paths = [
        condition_path("baseline", [target]),
        condition_path("german_start", [_stage("de", "1"), _stage("en", "2"), target]),  # named orders
        condition_path("english_start", [_stage("en", "3"), _stage("de", "4"), target]),
        condition_path("both_at_once", [_stage("en", "5", ("en", "de")), target]),
        condition_path("nli_then_qa_en_first", [_stage("en", "6"), _stage("de", "7"), _stage("sw", "8")]),
    ]
    planned = planned_contrasts(paths, [("baseline", "english_start")])
    assert [(c.a, c.b, c.relation) for c in planned] == [
        ("english_start", "german_start", "orders"),  # English-first is A
        ("german_start", "both_at_once", "mixed"),
        ("english_start", "both_at_once", "mixed"),
        ("baseline", "english_start", "listed"),
    ]
    # Another learning rate in one stage is another stage: not a permutation.
    other = dict(_stage("de", "9"), config={"lr": 3e-5})
    assert planned_contrasts([paths[2], condition_path("slow", [other, _stage("en", "10")])]) == []


def test_t_items_on_macro_f1_uses_its_linearisation_and_matches_a_bootstrap_over_items():
    # Two classifiers on the same 2000 items, each deterministic per item (every seed predicts the
    # same labels, so all the items' variance is the item main effect): item_variance of the
    # macro-F1 pseudo-values must be the bootstrap variance over items of the macro-F1 difference.
    from xstilts.metrics.classification import f1_macro
    from xstilts.metrics.per_example import f1_macro_units

    rng = np.random.default_rng(5)
    n, k = 2000, 3
    gold = rng.choice(k, size=n, p=[0.6, 0.3, 0.1])

    def classifier(right: list[float]) -> np.ndarray:
        keep = rng.random(n) < np.array(right)[gold]
        return np.where(keep, gold, rng.choice(k, size=n))

    pred_a, pred_b = classifier([0.9, 0.7, 0.6]), classifier([0.9, 0.5, 0.3])
    units_a = [f1_macro_units(list(gold), list(pred_a))] * 3
    units_b = [f1_macro_units(list(gold), list(pred_b))] * 3
    linearised = item_variance(units_a, units_b, "f1_macro")

    def weighted(pred: np.ndarray, weights: np.ndarray) -> float:
        correct = gold == pred
        tp = np.bincount(gold[correct], weights[correct], minlength=k)
        both = np.bincount(pred, weights, minlength=k) + np.bincount(gold, weights, minlength=k)
        return 100 * float(np.mean(2 * tp / both))

    differences = []
    for _ in range(2000):
        weights = rng.multinomial(n, np.full(n, 1 / n)).astype(float)
        differences.append(weighted(pred_a, weights) - weighted(pred_b, weights))
    assert linearised == pytest.approx(float(np.var(differences, ddof=1)), rel=0.12)

    # Through a contrast: the test is t+items (no fall-back note), with that variance in its SE.
    seed_noise = {1: 0.3, 2: -0.2, 3: 0.1}
    score_a, score_b = f1_macro(list(gold), list(pred_a))["f1_macro"], f1_macro(list(gold), list(pred_b))["f1_macro"]
    rows = [(condition, seed, "en", score + (seed_noise[seed] if condition == "a" else 0.0), f"{condition}{seed}")
            for condition, score in (("a", score_a), ("b", score_b)) for seed in seed_noise]
    scores = pd.DataFrame(rows, columns=["condition", "seed", "lang", "value", "examples_ref"]).assign(eval_node="e")
    frames = {f"a{seed}": units_a[0] for seed in seed_noise} | {f"b{seed}": units_b[0] for seed in seed_noise}
    results = paired_contrast(scores, target="x", task="mine", metric="f1_macro", condition_a="a", condition_b="b",
                              languages=["en"], method="t+items", load_examples=frames.__getitem__)
    for result in results:
        assert result.method == "t+items" and result.test.note is None
        seed_part = np.var(list(seed_noise.values()), ddof=1) / 3
        assert result.test.se == pytest.approx(math.sqrt(seed_part + linearised))
    # Per-example outputs without the metric's columns: t, and the note says so.
    accuracy_only = {ref: frame.rename(columns=lambda c: c.replace("f1_macro", "accuracy"))
                     for ref, frame in frames.items()}
    fallback = paired_contrast(scores, target="x", task="mine", metric="f1_macro", condition_a="a", condition_b="b",
                               languages=["en"], method="t+items", load_examples=accuracy_only.__getitem__)
    assert fallback[0].method == "t" and "fell back to t: the per-example outputs have no f1_macro" in fallback[0].test.note


def _power_by_integration(effect: float, sd: float, seeds: int, alpha: float) -> float:
    """P(|T'| > t_crit) by integrating over the chi-square of the t's denominator (independent of
    scipy's noncentral t): T' = (Z + nc) / sqrt(V / df)."""
    from scipy import integrate, special

    df = seeds - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    nc = abs(effect) * math.sqrt(seeds) / sd

    def integrand(v: float) -> float:
        s = math.sqrt(v / df)
        return (special.ndtr(nc - critical * s) + special.ndtr(-nc - critical * s)) * stats.chi2.pdf(v, df)

    value, _ = integrate.quad(integrand, 0, np.inf, epsabs=1e-11, epsrel=1e-9, limit=400)
    return value


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.05 / 3, 0.10])
def test_power_is_exact_against_numerical_integration(alpha):
    for seeds in range(2, 11):
        for effect in (0.3, 1.0, 2.0, 3.264, 5.0, 9.39, 11.55, 20.0, 40.0):
            power = t_test_power(effect, 1.0, seeds, alpha)
            assert math.isfinite(power) and 0 <= power <= 1
            assert power == pytest.approx(_power_by_integration(effect, 1.0, seeds, alpha), abs=1e-7), (seeds, effect)


def test_detectable_difference_and_seeds_needed_at_few_seeds():
    # 80% power, alpha 0.05, one contrast: scipy's NaN lower tail once made 2 seeds report 9.39 x SD.
    for seeds, expected in ((2, 11.55), (3, 3.264), (5, 1.682)):
        assert minimum_detectable_effect(1.0, seeds) == pytest.approx(expected, rel=1e-3)
        assert minimum_detectable_effect(2.0, seeds) == pytest.approx(2 * expected, rel=1e-3)
    assert t_test_power(9.39, 1.0, 2) == pytest.approx(0.7025, abs=1e-3)  # not 1.0
    for effect in (9.25, 9.5, 10.0, 11.0, 11.5):
        assert seeds_needed(1.0, effect) == 3
    assert seeds_needed(1.0, 11.6) == 2


def test_the_family_level_advisor_is_exact_too():
    # The report's 'family' column: alpha / number of primary contrasts (here 3).
    for seeds in (3, 4):
        detectable = minimum_detectable_effect(1.0, seeds, alpha=0.05 / 3)
        assert _power_by_integration(detectable, 1.0, seeds, 0.05 / 3) == pytest.approx(0.8, abs=1e-6)
