"""Per-target tables (exact means, sample stds, averages, contamination); two targets of one task."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from rich.console import Console

from xstilts.errors import ConfigError
from xstilts.results.store import RESULT_COLUMNS
from xstilts.results.table import build_tables, primary_metric, render_tables

REASON = "stage nli_de trains on xnli de"
# order -> seed -> {lang: xnli accuracy}
XNLI = {
    "baseline": {1: {"en": 80.0, "de": 70.0}, 2: {"en": 82.0, "de": 71.0}, 3: {"en": 81.0, "de": 75.0}},
    "nli_en>nli_de": {1: {"en": 83.0, "de": 74.0}, 2: {"en": 84.0, "de": 77.0}, 3: {"en": 82.5, "de": 76.0}},
    "nli_de>nli_en": {1: {"en": 81.0, "de": 73.0}, 2: {"en": 83.0}},
}


def _record(task: str, order: str, seed: int | None, lang: str, metric: str, value: float, split: str = "dev",
            contaminated: bool = False, target: str | None = None) -> dict:
    record = dict(eval_id=f"{task}-{order}-{seed}-{split}", task=task, lang=lang, split=split, metric=metric,
                  value=value, node_id=f"train-{order}-{seed}", seed=seed, order_name=order, stage_path="[]",
                  model="multilingual-e5-small", settings_hash="abc", settings="{}", contaminated=contaminated,
                  contamination_reason=REASON if contaminated else None, code_version="0.1.0+training.1",
                  created_at="2025-01-01T00:00:00+00:00", eval_node=f"{task}-{order}-{seed}-{split}", plan_hash="p1",
                  target=target or task, selection="[]", zero_shot=True, oracle=False, training="[]", train_steps=None,
                  train_examples=None, examples_ref=None, role="condition")
    return {column: record[column] for column in RESULT_COLUMNS}


def _frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(RESULT_COLUMNS))
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


@pytest.fixture()
def results() -> pd.DataFrame:
    records = [_record("xnli", order, seed, lang, "accuracy", value,
                       contaminated=(order == "nli_en>nli_de" and lang == "de"))
               for order, seeds in XNLI.items() for seed, scores in seeds.items() for lang, value in scores.items()]
    records += [_record("xquad", "baseline", 1, "en", "f1", 70.0), _record("xquad", "baseline", 1, "en",
                                                                            "exact_match", 60.0),
                _record("tatoeba", "baseline", None, "de", "accuracy", 90.0)]
    return _frame(records)


def test_primary_metrics_follow_xtreme():
    assert [primary_metric(task) for task in ("xnli", "pawsx", "xcopa", "tatoeba")] == ["accuracy"] * 4
    assert [primary_metric(task) for task in ("udpos", "panx", "bucc2018", "xquad", "mlqa", "tydiqa")] == ["f1"] * 6


def test_cells_are_means_and_sample_stds_over_seeds(results: pd.DataFrame):
    tables = build_tables(results)
    assert list(tables) == ["xnli", "xquad", "tatoeba"]
    xnli = tables["xnli"]
    assert list(xnli.index) == ["baseline", "nli_de>nli_en", "nli_en>nli_de"]
    assert list(dict.fromkeys(xnli.columns.get_level_values("lang"))) == ["de", "en", "avg"]  # XTREME's order
    baseline = xnli.loc["baseline"]
    assert baseline[("de", "mean")] == 72.0 and baseline[("de", "std")] == pytest.approx(math.sqrt(7))
    assert baseline[("en", "mean")] == 81.0 and baseline[("en", "std")] == pytest.approx(1.0)
    # avg per seed: 75, 76.5, 78
    assert baseline[("avg", "mean")] == 76.5 and baseline[("avg", "std")] == pytest.approx(1.5)
    assert baseline[("de", "n")] == 3 and not baseline[("de", "contaminated")]
    # seed 2 has no German score: one German value, no std, and no average for that seed
    partial = xnli.loc["nli_de>nli_en"]
    assert (partial[("de", "n")], partial[("de", "mean")]) == (1, 73.0) and math.isnan(partial[("de", "std")])
    assert (partial[("en", "n")], partial[("en", "mean")]) == (2, 82.0)
    assert (partial[("avg", "n")], partial[("avg", "mean")]) == (1, 77.0)
    english_first = xnli.loc["nli_en>nli_de"]
    assert english_first[("de", "contaminated")] and english_first[("avg", "contaminated")]
    assert not english_first[("en", "contaminated")]
    assert xnli.attrs == {"target": "xnli", "task": "xnli", "metric": "accuracy", "split": "dev",
                          "contamination_reasons": [REASON]}
    assert tables["xquad"].loc["baseline", ("en", "mean")] == 70.0  # F1, not EM
    assert tables["tatoeba"].loc["baseline", ("de", "n")] == 1  # an unseeded run still counts


def test_orders_choose_and_sort_the_rows(results: pd.DataFrame):
    xnli = build_tables(results, orders=["nli_en>nli_de", "unknown", "baseline"])["xnli"]
    assert list(xnli.index) == ["nli_en>nli_de", "baseline"]


def test_ambiguous_results_are_refused(results: pd.DataFrame):
    other_split = _frame([_record("xnli", "baseline", 1, "en", "accuracy", 10.0, split="test")])
    both = pd.concat([results, other_split], ignore_index=True)
    with pytest.raises(ConfigError, match=r"xnli was scored on several splits \(dev, test\)"):
        build_tables(both)
    assert build_tables(both, split="test")["xnli"].loc["baseline", ("en", "mean")] == 10.0
    twice = _frame([_record("xnli", "baseline", 1, "en", "accuracy", 80.0)] * 2)
    with pytest.raises(ConfigError, match="several accuracy results for order 'baseline', seed 1, language 'en'"):
        build_tables(twice)


def test_rendered_table_marks_contamination_and_seed_counts(results: pd.DataFrame):
    console = Console(record=True, width=200)
    render_tables(build_tables(results), console)
    text = console.export_text()
    assert "xnli dev accuracy: mean ± sample std over seeds (n where counts differ)" in text
    assert "72.0 ± 2.6 (n=3)" in text and "75.7 ± 1.5 (n=3)*" in text and "73.0 (n=1)" in text
    assert f"* contaminated (evaluation data seen in training): {REASON}" in text
    assert "xquad dev f1: mean ± sample std over 1 seed\n" in text


def test_two_targets_of_one_task_are_two_tables(results: pd.DataFrame):
    second = _frame([_record("xnli", "baseline", seed, "en", "accuracy", 60.0 + seed, target="xnli_small")
                     for seed in (1, 2, 3)])
    tables = build_tables(pd.concat([results, second], ignore_index=True))
    assert list(tables) == ["xnli", "xnli_small", "xquad", "tatoeba"]
    assert tables["xnli"].loc["baseline", ("en", "mean")] == 81.0  # not mixed with the second target
    assert tables["xnli_small"].loc["baseline", ("en", "mean")] == 62.0
    console = Console(record=True, width=200)
    render_tables(tables, console)
    assert "xnli_small (xnli) dev accuracy" in console.export_text()


def test_trajectory_points_are_not_conditions(results: pd.DataFrame):
    point = _frame([_record("xnli", "nli_en>nli_de", 1, "en", "accuracy", 10.0)]).assign(
        eval_id="prefix", role="trajectory")
    table = build_tables(pd.concat([results, point], ignore_index=True))["xnli"]
    assert table.loc["nli_en>nli_de", ("en", "mean")] == pytest.approx((83.0 + 84.0 + 82.5) / 3)
