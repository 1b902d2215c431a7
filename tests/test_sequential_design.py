"""Sequential boundaries on the t scale: what they spend, that decisions, stage-wise p-values and
repeated intervals agree, a contrast's course through the looks, the cache, one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from xstilts.results.power import minimum_detectable_effect
from xstilts.results.sequential import Design, analyse_sequence, boundaries, parse_looks, stagewise_p
from xstilts.results.sequential.design import PATHS, null_statistics


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("looks,contrasts", [((3, 5, 8), 1), ((2, 4, 6), 4), ((2, 3), 2)])
def test_each_look_spends_what_the_spending_function_releases(looks, contrasts):
    design = Design(looks, contrasts)
    bounds = boundaries(design)
    assert bounds.spent[-1] == pytest.approx(design.alpha_each, abs=2 / PATHS)
    for k in range(len(looks)):
        assert bounds.spent[k] == pytest.approx(design.spent(k), abs=2 / PATHS)
    # The boundaries fall as the degrees of freedom grow, and stay above the fixed test's at the end.
    assert list(bounds.efficacy) == sorted(bounds.efficacy, reverse=True)
    assert bounds.efficacy[-1] > stats.t.isf(design.alpha_each / 2, looks[-1] - 1)
    # Futility only at interim looks, below the fixed test's critical value (never stops what it calls).
    assert bounds.futility[-1] == 0
    for k in range(len(looks) - 1):
        assert 0 < bounds.futility[k] <= stats.t.isf(design.alpha_each / 2, looks[k] - 1)
    assert bounds.design_effect == pytest.approx(minimum_detectable_effect(1.0, looks[-1], design.alpha_each))


def test_null_paths_cross_with_the_family_error_on_fresh_paths():
    """Out of sample: paths from another seed cross the boundaries at alpha / contrasts."""
    bounds = boundaries(Design((3, 5, 8), 2))
    fresh = null_statistics((3, 5, 8), 200_000, seed=99)
    crossed = (fresh >= np.array(bounds.efficacy)).any(axis=1).mean()
    assert abs(crossed - 0.025) < 4 * math.sqrt(0.025 * 0.975 / 200_000)


def test_stagewise_p_and_repeated_interval_agree_with_the_decision():
    bounds = boundaries(Design((3, 5, 8), 4))
    for look in range(3):
        edge = bounds.efficacy[look]
        above, below = edge * 1.001, edge * 0.999
        assert bounds.decide(look, above)[0] == "effect"
        assert stagewise_p(bounds, look, above) <= bounds.design.alpha_each
        if look == 2:
            assert bounds.decide(look, below)[0] == "no effect"
            assert stagewise_p(bounds, look, below) > bounds.design.alpha_each
    # Stopping later or with a smaller |t| is the less extreme outcome.
    assert stagewise_p(bounds, 0, 1e4) < stagewise_p(bounds, 1, 1e4) < stagewise_p(bounds, 2, 1e4)
    assert stagewise_p(bounds, 2, 5.0) < stagewise_p(bounds, 2, 4.0)


def _differences(values):
    return {seed: value for seed, value in enumerate(values, start=1)}


def test_a_contrast_stops_at_the_first_look_that_decides():
    bounds = boundaries(Design((3, 5, 8), 1))
    # An overwhelming, nearly constant difference: an effect after 3 seeds.
    big = analyse_sequence(_differences([10.0, 10.001, 9.999, 10, 10, 10, 10, 10]), range(1, 9), bounds)
    assert (big.decision, big.seeds, big.reason) == ("effect", 3, "efficacy boundary")
    assert big.adjusted_p <= 0.05 and big.interval[0] > 0
    assert big.where() == "decided after 3 of at most 8 seeds"
    # A difference that sits at 0: futility at the first look.
    flat = analyse_sequence(_differences([0.1, -0.1, 0.05, 5, 5, 5, 5, 5]), range(1, 9), bounds)
    assert (flat.decision, flat.seeds, flat.reason) == ("no effect", 3, "futility boundary")
    assert flat.adjusted_p > 0.05 and flat.interval[0] < 0 < flat.interval[1]
    # Between the boundaries: continue; with only 4 seeds the second look is not made yet.
    middle = analyse_sequence(_differences([1.0, 2.5, 0.2, 1.8]), range(1, 9), bounds)
    assert (middle.decision, middle.seeds, middle.next_seeds) == ("continue", 3, 5)
    assert middle.adjusted_p is None and middle.where() == "undecided after 3 seeds (next look: 5 seeds)"
    # A recorded decision stands, whatever the rows say now.
    kept = analyse_sequence(_differences([1.0, 2.5, 0.2, 1.8, 1, 1, 1, 1]), range(1, 9), bounds, {0: "no effect"})
    assert (kept.decision, kept.seeds, kept.reason) == ("no effect", 3, "recorded (the rows now say continue)")


def test_the_looks_read_the_seeds_in_the_design_order_and_need_all_of_them():
    bounds = boundaries(Design((2, 3), 1))
    order = [7, 3, 5]
    outcome = analyse_sequence({7: 1.0, 5: 1.2}, order, bounds)  # seed 3 missing: no look can be made
    assert (outcome.decision, outcome.look) == ("continue", -1)
    assert outcome.where() == "undecided before its first look (next look: 2 seeds)"
    outcome = analyse_sequence({7: 1.0, 3: 1.1, 5: 50.0}, order, bounds)
    assert outcome.looks[0].seeds == (7, 3)


def test_boundaries_are_cached_on_disk(tmp_path):
    design = Design((3, 4, 6), 3, spending="pocock")
    first = boundaries(design)
    boundaries.cache_clear()
    files = list((tmp_path / "cache" / "sequential").glob("*.json"))
    assert len(files) == 1
    again = boundaries(design)
    assert again == first


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="first at least 2"):
        Design((1, 3), 1)
    with pytest.raises(ValueError, match="spending 'haybittle'"):
        Design((2, 3), 1, spending="haybittle")
    assert parse_looks("3, 5,8") == (3, 5, 8)
    with pytest.raises(ValueError, match="increasing seed counts"):
        parse_looks("5,3")
    with pytest.raises(ValueError, match="seed counts such as 3,5,8"):
        parse_looks("3,five")


def test_futility_waits_while_a_run_is_collapsed():
    bounds = boundaries(Design((3, 5, 8), 1))
    a = {1: 72.0, 2: 72.1, 3: 50.0}  # seed 3 of A collapsed
    b = {1: 62.0, 2: 62.3, 3: 70.2}  # 10 points below A but where A collapsed
    differences = {seed: a[seed] - b[seed] for seed in a}
    runs = {seed: (a[seed], b[seed]) for seed in a}
    alone = analyse_sequence(differences, range(1, 9), bounds)
    assert (alone.decision, alone.reason) == ("no effect", "futility boundary")
    waiting = analyse_sequence(differences, range(1, 9), bounds, runs=runs)
    assert (waiting.decision, waiting.reason, waiting.next_seeds) == (
        "continue", "futility judged without the outlying runs", 5)


def test_futility_without_the_collapsed_run_still_stops_a_null_contrast():
    bounds = boundaries(Design((3, 5, 8), 1))
    a = {1: 70.0, 2: 70.1, 3: 50.0}  # seed 3 of A collapsed; otherwise A and B agree
    b = {1: 69.95, 2: 70.14, 3: 70.2}
    outcome = analyse_sequence({s: a[s] - b[s] for s in a}, range(1, 9), bounds, runs={s: (a[s], b[s]) for s in a})
    assert (outcome.decision, outcome.reason) == ("no effect", "futility boundary, without the outlying runs")
