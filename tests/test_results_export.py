"""Exports of the results store: CSV and Parquet round trips, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xstilts.errors import ConfigError
from xstilts.results.export import export_results
from xstilts.results.store import RESULT_COLUMNS, ResultRow, ResultStore


@pytest.fixture()
def store(tmp_path: Path) -> ResultStore:
    store = ResultStore(tmp_path / "results.sqlite")
    common = dict(node_id="train-1", order_name="nli_en>nli_de", stage_path=("nli_en", "nli_de"),
                  model="multilingual-e5-small", settings_hash="abc", settings={"lr": 1e-5})
    store.record_eval("eval-1", [
        ResultRow("xnli", "de", "dev", "accuracy", 71.25, seed=1, contaminated=True,
                  contamination_reason="nli_de trains on xnli de", **common),
        ResultRow("xnli", "en", "dev", "accuracy", 80.5, seed=1, **common),
    ])
    store.record_eval("eval-2", [ResultRow("tatoeba", "de", "dev", "accuracy", 97.9, seed=None, **common)])
    return store


def test_parquet_round_trip_is_exact(store: ResultStore, tmp_path: Path):
    out = export_results(store, tmp_path / "exports" / "results.parquet", fmt="parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out), store.to_dataframe(), check_dtype=False)
    assert list(pd.read_parquet(out).columns) == list(RESULT_COLUMNS)


def test_csv_round_trip_keeps_every_value(store: ResultStore, tmp_path: Path):
    out = export_results(store, tmp_path / "results.csv")
    read = pd.read_csv(out, dtype={"seed": "Int64"}, keep_default_na=False, na_values={"seed": [""]})
    assert list(read.columns) == list(RESULT_COLUMNS) and len(read) == 3
    assert read["value"].tolist() == [71.25, 80.5, 97.9]
    assert read["seed"].tolist()[:2] == [1, 1] and pd.isna(read["seed"].iloc[2])
    assert read["contaminated"].tolist() == [True, False, False]
    assert read["contamination_reason"].tolist() == ["nli_de trains on xnli de", "", ""]
    assert read["stage_path"].iloc[0] == '["nli_en", "nli_de"]'


def test_export_replaces_the_old_file_and_leaves_no_temporary(store: ResultStore, tmp_path: Path):
    out = tmp_path / "results.csv"
    out.write_text("stale\n")
    export_results(store, out)
    assert out.read_text().startswith("eval_id,task,lang")
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []
    with pytest.raises(ConfigError, match="export format 'xlsx': expected one of csv, parquet"):
        export_results(store, tmp_path / "results.xlsx", fmt="xlsx")
