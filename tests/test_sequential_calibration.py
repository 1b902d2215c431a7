"""The sequential design keeps its error rate and meets its power and expected-seed targets, by
simulation through the project's own code (benchmarks/sequential_calibration.py, smaller): whole
synthetic studies of store-shaped rows, decided by the functions ``xstilts run`` uses.

Tolerances are 3 Monte Carlo standard errors. A normal-theory (z) boundary would call about 20% of
null studies at 3 seeds, a design without futility would take every seed under no effect, and one
without early efficacy stops would take nearly every seed at the effect: each fails here.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from xstilts.results.sequential import Design, boundaries

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "sequential_calibration.py"
_spec = importlib.util.spec_from_file_location("sequential_calibration", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# The SD of one seed's difference of two runs' language averages in the simulated studies.
DIFFERENCE_SD = math.sqrt(2 * bench.SEED_SD**2 + 2 * bench.LANG_SD**2 / len(bench.LANGS))


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("looks,contrasts,noise,studies", [
    ((3, 5, 8), 1, "normal", 1200),
    ((2, 4, 6), 2, "collapse", 800),
    ((3, 5, 8), 4, "heavy", 500),
])
def test_null_studies_call_an_effect_at_most_at_the_family_rate(looks, contrasts, noise, studies):
    rng = np.random.default_rng([1, contrasts, looks[0]])
    bounds = boundaries(Design(looks, contrasts))
    decided = bench.run_design(bench.synthetic_rows(rng, studies, contrasts, looks[-1], 0.0, noise), bounds, contrasts)
    assert len(decided) == studies * contrasts  # every contrast of every study is decided by the last look
    error = decided.groupby("target")["decision"].apply(lambda d: (d == "effect").any()).mean()
    assert error <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / studies), f"{looks} x {contrasts} {noise}: {error:.3f}"


def test_power_and_expected_seeds_at_the_design_effect_and_under_no_effect():
    looks, studies = (3, 5, 8), 1000
    bounds = boundaries(Design(looks, 1))
    # What a fixed 8-seed paired t-test detects with 80% power (exact, normal noise).
    effect = bounds.design_effect * DIFFERENCE_SD
    rng = np.random.default_rng(5)
    alternative = bench.run_design(bench.synthetic_rows(rng, studies, 1, 8, effect, "normal"), bounds, 1)
    null = bench.run_design(bench.synthetic_rows(rng, studies, 1, 8, 0.0, "normal"), bounds, 1)
    power = (alternative["decision"] == "effect").mean()
    assert power >= 0.75 - 3 * math.sqrt(0.75 * 0.25 / studies), power
    seeds_effect = alternative["seeds"].mean() / 8
    seeds_null = null["seeds"].mean() / 8
    assert seeds_effect <= 0.9 + 3 * alternative["seeds"].std() / 8 / math.sqrt(studies), seeds_effect
    assert seeds_null <= 0.7 + 3 * null["seeds"].std() / 8 / math.sqrt(studies), seeds_null


def test_the_benchmark_decides_as_the_run_does_look_by_look():
    rng = np.random.default_rng(3)
    bounds = boundaries(Design((2, 4, 6), 2))
    rows = bench.synthetic_rows(rng, 150, 2, 6, 2.5, "collapse")
    at_once = bench.run_design(rows, bounds, 2).sort_values(["target", "contrast"]).reset_index(drop=True)
    by_looks = bench.run_design_by_looks(rows, bounds, 2).sort_values(["target", "contrast"]).reset_index(drop=True)
    assert at_once[["target", "contrast", "look", "decision"]].equals(by_looks[["target", "contrast", "look", "decision"]])
    assert set(at_once["decision"]) == {"effect", "no effect"}
