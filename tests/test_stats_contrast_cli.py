"""`xstilts stats contrast` for people: the table, the JSON lines and their new keys, other column
names and separators, Welch for unpaired runs, outlying runs beside the contrast, and one line for
each silent case of before. Numbers are checked against scipy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.cli import main
from xstilts.results.outliers import outlying_runs
from xstilts.results.power import minimum_detectable_effect, seeds_needed


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["stats", "contrast", *args])
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _sst2_like(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Two models x 75 seeds on one task; 5 bert-large runs collapsed to the majority class."""
    rng = np.random.default_rng(0)
    records = []
    for seed in range(100, 175):
        records.append(("bert-base", seed, 92.4 + rng.normal(0, 0.5)))
        large = 92.8 + rng.normal(0, 0.5)
        records.append(("bert-large", seed, 50.86 if seed in (103, 117, 131, 150, 166) else large))
    frame = pd.DataFrame(records, columns=["model", "seed", "accuracy"])
    path = tmp_path / "sst2.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_collapsed_runs_are_named_and_the_contrast_without_them_is_shown_beside(tmp_path, capsys):
    path, frame = _sst2_like(tmp_path)
    args = [str(path), "--columns", "condition=model,score=accuracy", "--contrast", "bert-large - bert-base"]
    code, out, err = _run([*args, "--json"], capsys)
    assert code == 0
    (record,) = [json.loads(line) for line in out.splitlines()]
    wide = frame.pivot(index="seed", columns="model", values="accuracy")
    reference = stats.ttest_rel(wide["bert-large"], wide["bert-base"])
    assert record["p"] == pytest.approx(reference.pvalue, rel=1e-12) and record["p"] > 0.05  # the primary keeps them
    assert record["rank_p"] == pytest.approx(stats.wilcoxon(wide["bert-large"] - wide["bert-base"]).pvalue, rel=1e-9)
    assert [o["seed"] for o in record["outlying"]["bert-large"]] == [103, 117, 131, 150, 166]
    assert record["outlying"]["bert-base"] == []
    without = record["without_outlying"]
    kept = wide.drop(index=[103, 117, 131, 150, 166])
    assert without["seeds"] == 70 and without["excluded"] == {"bert-large": [103, 117, 131, 150, 166], "bert-base": []}
    assert without["mean_difference"] == pytest.approx((kept["bert-large"] - kept["bert-base"]).mean())
    assert without["p"] == pytest.approx(stats.ttest_rel(kept["bert-large"], kept["bert-base"]).pvalue, rel=1e-9)
    assert without["ci95_low"] > 0
    assert "outlying runs" in err and "bert-large: 5 of 75 runs" in err and len(err.strip().splitlines()) == 1
    runs = record["runs"]["bert-large"]
    assert runs["runs"] == 75 and runs["min"] == pytest.approx(50.86)
    assert runs["sd"] == pytest.approx(wide["bert-large"].std(ddof=1))
    # The table says the same, beside the primary contrast.
    code, out, err = _run(args, capsys)
    assert code == 0 and "Without outlying runs" in out and "5 (seeds 103, 117, 131, 150, 166)" in out
    assert "No significant difference between bert-large and bert-base" in out


def test_outlying_runs_rule():
    runs = pd.DataFrame({"condition": ["a"] * 6 + ["b"] * 3, "seed": [1, 2, 3, 4, 5, 6, 1, 2, 3],
                         "value": [80.0, 80.5, 79.8, 80.2, 12.0, 95.0, 70.0, 70.0, 70.0]})
    found = outlying_runs(runs)
    assert list(zip(found["condition"], found["seed"])) == [("a", 5)]  # far above is not a failure; b has no spread
    assert found["median"].iloc[0] == pytest.approx(80.1) and found["runs"].iloc[0] == 6
    assert outlying_runs(runs[runs["condition"] == "a"].head(2)).empty  # fewer than 3 runs: no rule


def test_table_by_default_and_json_matches_scipy(tmp_path, capsys):
    rng = np.random.default_rng(7)
    records = [(lang, condition, seed, 70 + shift + rng.normal(0, 0.5))
               for seed in range(1, 6) for lang in ("en", "de", "sw")
               for condition, shift in (("a", 1.0), ("b", 0.0), ("c", 0.2))]
    frame = pd.DataFrame(records, columns=["lang", "condition", "seed", "score"])
    path = tmp_path / "scores.tsv"
    frame.to_csv(path, index=False, sep="\t")  # TSV by its extension; no task column
    code, out, err = _run([str(path), "--effect", "1.5"], capsys)
    assert code == 0 and err == ""
    for text in ("Runs per condition", "mean ± SD", "min (seed)", "adjusted p", "family", "signed-rank p",
                 "detectable (80%)", "In words:", "a - b", "(9", "Holm-adjusted over 3 contrasts"):
        assert text in out, (text, out)
    code, out, _ = _run([str(path), "--json", "--effect", "1.5"], capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["contrast"] for line in lines] == ["a - b", "a - c", "b - c"]
    first = lines[0]
    per_seed = frame.groupby(["condition", "seed"])["score"].mean().unstack("condition")
    difference = per_seed["a"] - per_seed["b"]
    assert first["p"] == pytest.approx(stats.ttest_rel(per_seed["a"], per_seed["b"]).pvalue, rel=1e-12)
    assert first["family_size"] == 3 and first["task"] == "-"
    assert first["detectable_difference"] == pytest.approx(minimum_detectable_effect(difference.std(ddof=1), 5))
    assert first["seeds_needed"] == seeds_needed(difference.std(ddof=1), 1.5)
    assert first["rank_p"] == pytest.approx(stats.wilcoxon(difference).pvalue)
    assert first["runs"]["a"]["runs"] == 5 and first["without_outlying"] is None


def test_columns_sep_and_welch(tmp_path, capsys):
    path = _write(tmp_path / "runs.csv", "system;run;acc\na;1;70,0\na;2;71,0\na;3;72,5\nb;11;69,0\nb;12;70,0\n"
                                         "b;13;68,0\nb;14;69,5\n")
    args = [str(path), "--sep", ";", "--columns", "condition=system,seed=run,score=acc"]
    code, _, err = _run(args, capsys)
    assert code == 2 and "no seed is shared by a (seeds 1-3) and b (seeds 11-14)" in err and "--unpaired" in err
    code, out, _ = _run([*args, "--unpaired", "--json"], capsys)
    (record,) = [json.loads(line) for line in out.splitlines()]
    a, b = [70.0, 71.0, 72.5], [69.0, 70.0, 68.0, 69.5]
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert record["p"] == pytest.approx(reference.pvalue, rel=1e-12) and not record["paired"]
    low, high = reference.confidence_interval(0.95)
    assert (record["ci_low"], record["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert record["rank_p"] == pytest.approx(stats.mannwhitneyu(a, b).pvalue) and record["seeds"] == 7
    code, out, _ = _run([*args, "--unpaired"], capsys)
    assert "Welch's t-test over 3 + 4 runs" in out and "rank-sum p" in out


@pytest.mark.parametrize("text, expect", [
    ("task,lang,condition,seed,score\n", "no scores: the file has a header and no rows"),
    ("lang,condition,seed,score\nDE,a,1,70\nDE,a,2,71\nde,b,1,69\nde,b,2,70\n", "differ only in case"),
    ("condition,seed,score\na,1,70\na,2,71\n", "only one condition: a"),
    ("condition,seed,score\na,1,70\na,2,71\nb,3,70\nb,4,71\n", "no seed is shared by a (seeds 1, 2) and b (seeds 3, 4)"),
    ("lang,condition,seed,score\nen,a,1,70\nen,a,2,71\nde,b,1,69\nde,b,2,70\n", "no language is shared by a (en) and b (de)"),
    ("condition,seed,score\na,1,0.70\na,2,0.71\na,3,0.72\nb,1,69\nb,2,70\nb,3,70.5\n", "scores on two scales"),
    ("model,seed,score\na,1,70\n", "missing column condition"),
])
def test_no_answer_is_one_line_and_a_non_zero_exit(tmp_path, capsys, text, expect):
    code, out, err = _run([str(_write(tmp_path / "s.csv", text))], capsys)
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and expect in err, err


def test_partial_languages_and_unused_seeds_are_said(tmp_path, capsys):
    text = ("lang,condition,seed,score\n" + "".join(f"en,a,{s},{70 + s}\nsw,a,{s},{50 + s}\nen,b,{s},{69 + s * 1.1}\n"
                                                     for s in (1, 2, 3)) + "en,a,4,75\nsw,a,4,53\n")
    code, out, err = _run([str(_write(tmp_path / "s.csv", text))], capsys)
    assert code == 0 and "a - b" in out
    lines = err.strip().splitlines()
    assert any("averaged over the 1 shared language (en); sw only in a" in line for line in lines), err
    assert any("paired over the 3 seeds" in line and "seed 4" in line for line in lines), err


def test_a_dropped_contrast_beside_an_answer_is_a_warning(tmp_path, capsys):
    text = ("lang,condition,seed,score\n" + "".join(f"en,a,{s},{70 + s}\nen,b,{s},{69 + s * 1.2}\nde,c,{s},{60 + s}\n"
                                                     for s in (1, 2, 3)))
    code, out, err = _run([str(_write(tmp_path / "s.csv", text)), "--contrast", "a - b", "--contrast", "a - c"], capsys)
    assert code == 0 and "a - b" in out
    assert "a - c: dropped, no language is shared by a (en) and c (de)" in err


def test_identical_differences_get_no_p(tmp_path, capsys):
    text = "condition,seed,score\na,1,70\na,2,71\na,3,72\nb,1,70\nb,2,71\nb,3,72\n"
    code, out, _ = _run([str(_write(tmp_path / "s.csv", text)), "--json"], capsys)
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and record["p"] is None and record["ci_low"] is None and record["ci_high"] is None
    assert "identical in every seed" in record["note"]


def test_a_condition_collapsed_to_zero_is_not_a_scale_mismatch(tmp_path, capsys):
    text = "condition,seed,score\na,1,0\na,2,0\na,3,0\nb,1,69\nb,2,70\nb,3,70.5\n"
    code, out, err = _run([str(_write(tmp_path / "s.csv", text)), "--json"], capsys)
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and "scales" not in err and record["mean_difference"] == pytest.approx(-69.833333333)
