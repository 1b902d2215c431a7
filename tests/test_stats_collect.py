"""`xstilts stats collect`: the long score table from files people already have (lm-evaluation-harness,
Hugging Face Trainer, jiant, xstilts rows), each recognised from its content, and one line for each
file it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.cli import main
from xstilts.results.collect import CollectError, collect_scores
from xstilts.results.score_files import split_task_name

LANGS = ("de", "fr", "sw")
SEEDS = (1, 2, 3, 4, 5)


def harness_results(scores: dict[str, float], *, old: bool = False, group: str | None = None) -> dict:
    """A results JSON as lm-evaluation-harness 0.4 writes it (``old``: 0.3's keys without filters)."""
    if old:
        return {"results": {name: {"acc": value, "acc_stderr": 0.01} for name, value in scores.items()},
                "versions": {name: 0 for name in scores},
                "config": {"model": "hf-causal", "model_args": "pretrained=xlm-roberta-base", "num_fewshot": 0}}
    results = {name: {"alias": name, "acc,none": value, "acc_stderr,none": 0.0098} for name, value in scores.items()}
    subtasks = {}
    if group:
        results = {group: {"alias": group, "acc,none": float(np.mean(list(scores.values()))), "acc_stderr,none": "N/A"},
                   **{name: {**values, "alias": f" - {name}"} for name, values in results.items()}}
        subtasks = {group: list(scores)}
    return {
        "results": results,
        **({"groups": {group: results[group]}} if group else {}),
        "group_subtasks": subtasks,
        "configs": {name: {"task": name, "tag": "xnli", "dataset_path": "xnli", "dataset_name": name.split("_")[-1],
                           "output_type": "multiple_choice", "metric_list": [{"metric": "acc", "aggregation": "mean",
                                                                              "higher_is_better": True}]}
                    for name in scores},
        "versions": {name: 1.0 for name in scores},
        "n-shot": {name: 0 for name in scores},
        "higher_is_better": {name: {"acc": True} for name in scores},
        "n-samples": {name: {"original": 5010, "effective": 5010} for name in scores},
        "config": {"model": "hf", "model_args": "pretrained=xlm-roberta-base", "batch_size": "8", "device": "cpu"},
        "git_hash": "4e7e0d4", "date": 1764000000.0, "lm_eval_version": "0.4.9",
    }


def write_json(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_harness_folder_gives_the_table_whose_contrast_equals_scipy(tmp_path, capsys):
    """Two conditions x 5 seeds x 3 XNLI languages of harness results -> collect -> contrast ==
    scipy.stats.ttest_rel on the per-seed language means (x100)."""
    rng = np.random.default_rng(24)
    accuracy = {}
    for condition, shift in (("baseline", 0.0), ("intermediate", 0.012)):
        for seed in SEEDS:
            values = {lang: float(np.round(0.40 + shift + rng.normal(0, 0.01), 6)) for lang in LANGS}
            accuracy[condition, seed] = values
            write_json(tmp_path / "runs" / condition / f"seed{seed}" / "results_2025-01-01T00-00-00.json",
                       harness_results({f"xnli_{lang}": value for lang, value in values.items()}))
            # The samples files the harness writes beside the results are not matched by "results*.json".
            (tmp_path / "runs" / condition / f"seed{seed}" / "samples_xnli_de.jsonl").write_text("{}\n")
    out = tmp_path / "scores.csv"
    code, printed, err = run(["stats", "collect", str(tmp_path / "runs/{condition}/seed{seed}/results*.json"),
                              "--out", str(out)], capsys)
    assert code == 0, err
    assert printed.strip() == str(out)
    assert ("30 scores from 10 files (lm-evaluation-harness 10): 2 conditions, 5 seeds, 1 task, 3 languages; on 0-100: "
            "30 fractions x100, 0 as written (column scale)") in err
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["task", "lang", "condition", "seed", "score", "metric", "scale", "format", "source"]
    assert set(table["scale"]) == {"x100"}
    assert len(table) == 30 and set(table["task"]) == {"xnli"} and set(table["lang"]) == set(LANGS)
    assert set(table["metric"]) == {"acc,none"}
    row = table[(table["condition"] == "baseline") & (table["seed"] == 3) & (table["lang"] == "fr")].iloc[0]
    assert row["score"] == pytest.approx(100 * accuracy["baseline", 3]["fr"], abs=1e-9)

    code, printed, err = run(["stats", "contrast", str(out), "--json"], capsys)
    assert code == 0, err
    (record,) = [json.loads(line) for line in printed.splitlines() if line.strip()]
    a = [100 * np.mean([accuracy["baseline", seed][lang] for lang in LANGS]) for seed in SEEDS]
    b = [100 * np.mean([accuracy["intermediate", seed][lang] for lang in LANGS]) for seed in SEEDS]
    expected = stats.ttest_rel(a, b)
    assert record["contrast"] == "baseline - intermediate" and record["seeds"] == 5
    assert set(record["languages"]) == set(LANGS) and record["family_size"] == 1
    assert record["mean_difference"] == pytest.approx(float(np.mean(np.subtract(a, b))), rel=1e-12, abs=1e-12)
    assert record["p"] == pytest.approx(float(expected.pvalue), rel=1e-9)


def test_harness_old_keys_groups_and_metric_choice(tmp_path):
    write_json(tmp_path / "a/1/r.json", harness_results({"xnli_de": 0.5, "xnli_en": 0.6}, group="xnli"))
    write_json(tmp_path / "b/1/r.json", harness_results({"xnli_de": 0.45, "xnli_en": 0.55}, old=True))
    collected = collect_scores(str(tmp_path / "{condition}/{seed}/r.json"))
    table = collected.table
    assert set(zip(table["condition"], table["lang"], table["score"].round(9))) == {
        ("a", "de", 50.0), ("a", "en", 60.0), ("b", "de", 45.0), ("b", "en", 55.0)}
    assert set(table["metric"]) == {"acc,none", "acc"}
    assert any("group entry (xnli) left out" in note for note in collected.notes)

    # --metric by base name or with its filter; the harness's squadv2 exact/f1 are percentages already.
    qa = {"squadv2": {"alias": "squadv2", "exact,none": 61.5, "f1,none": 65.25, "HasAns_exact,none": 70.0},
          "mlqa_de_de": {"alias": "mlqa_de_de", "exact_match,none": 0.4, "f1,none": 0.55}}
    write_json(tmp_path / "qa/c/7/results.json", {**harness_results({}), "results": qa})
    collected = collect_scores(str(tmp_path / "qa/{condition}/{seed}/results.json"))
    assert collected.notes == [f"1 of 2 rows have no lang (first: {tmp_path}/qa/c/7/results.json); {{lang}} in "
                               "TEMPLATE or --lang names it"]
    table = collected.table.set_index("task")
    assert table.loc["squadv2", "score"] == 65.25 and table.loc["squadv2", "lang"] == ""
    assert table.loc["mlqa", "score"] == pytest.approx(55.0) and table.loc["mlqa", "lang"] == "de"
    write_json(tmp_path / "qa/c/7/results.json", {**harness_results({}), "results": {"mlqa_de_de": qa["mlqa_de_de"]}})
    table = collect_scores(str(tmp_path / "qa/{condition}/{seed}/results.json"), "exact_match").table
    assert table["score"].tolist() == pytest.approx([40.0]) and table["metric"].tolist() == ["exact_match,none"]
    write_json(tmp_path / "qa/c/7/results.json", {**harness_results({}), "results": qa})
    with pytest.raises(Exception, match=r"task squadv2: no metric 'exact_match,none' \(has: exact,none, f1,none, "
                                        r"HasAns_exact,none\)"):
        collect_scores(str(tmp_path / "qa/{condition}/{seed}/results.json"), "exact_match,none")


def test_task_names_split_on_a_language_code():
    assert split_task_name("xnli_de") == ("xnli", "de")
    assert split_task_name("xstorycloze_zh") == ("xstorycloze", "zh")
    assert split_task_name("paws_de") == ("paws", "de")
    assert split_task_name("mlqa_de_de") == ("mlqa", "de")
    assert split_task_name("mgsm_direct_sw") == ("mgsm_direct", "sw")
    assert split_task_name("belebele_deu_Latn") == ("belebele", "deu_Latn")
    assert split_task_name("arc_easy") == ("arc_easy", "")
    assert split_task_name("hellaswag") == ("hellaswag", "")


def test_hf_trainer_results(tmp_path):
    # run_xnli / run_glue: fractions; run_qa: SQuAD's exact_match and f1 are percentages already.
    for seed, accuracy in ((1, 0.83), (2, 0.81)):
        write_json(tmp_path / f"xnli/base/seed{seed}/all_results.json",
                   {"epoch": 2.0, "eval_accuracy": accuracy, "eval_loss": 0.52, "eval_runtime": 12.3,
                    "eval_samples": 2490, "eval_samples_per_second": 202.4, "train_loss": 0.61,
                    "train_runtime": 1234.5, "train_samples": 392702})
        write_json(tmp_path / f"qa/base/seed{seed}/eval_results.json",
                   {"epoch": 2.0, "eval_exact_match": 80.1 + seed, "eval_f1": 88.2 + seed, "eval_samples": 10784})
    table = collect_scores(str(tmp_path / "{task}/{condition}/seed{seed}/*_results.json"), lang="en").table
    by_key = {(row.task, row.seed): row for row in table.itertuples()}
    assert by_key["xnli", 1].score == pytest.approx(83.0) and by_key["xnli", 1].metric == "eval_accuracy"
    assert by_key["qa", 2].score == pytest.approx(90.2) and by_key["qa", 2].metric == "eval_f1"
    assert set(table["lang"]) == {"en"} and set(table["format"]) == {"hf-trainer"}
    # ** reaches any depth; no task or language named anywhere: those columns are left out (one task,
    # one language), each with a note.
    (tmp_path / "qa/base/seed2/eval_results.json").rename(tmp_path / "qa/base/seed2/old.json")
    write_json(tmp_path / "qa/base/seed2/checkpoint-500/eval_results.json",
               {"epoch": 2.0, "eval_exact_match": 82.1, "eval_f1": 90.2})
    collected = collect_scores(str(tmp_path / "qa/{condition}/seed{seed}/**/eval_results.json"), "exact_match")
    table = collected.table
    assert list(table.columns) == ["condition", "seed", "score", "metric", "scale", "format", "source"]
    assert set(table["scale"]) == {"as written"}  # SQuAD's exact match and F1 are percentages already
    assert list(table["score"]) == pytest.approx([81.1, 82.1])
    assert collected.notes == ["no file names a task (nor does TEMPLATE or --task): the task column is left out",
                               "no file names a lang (nor does TEMPLATE or --lang): the lang column is left out"]


def jiant_val_metrics(accuracy: dict[str, float]) -> dict:
    """val_metrics.json as jiant.proj.main.components.evaluate.write_val_results writes it."""
    tasks = {f"xnli_{lang}": {"loss": 0.9, "metrics": {"major": value, "minor": {"acc": value}}}
             for lang, value in accuracy.items()}
    tasks["xquad_de"] = {"loss": 1.2, "metrics": {"major": 61.0, "minor": {"exact": 52.0, "f1": 70.0, "total": 1190,
                                                                             "HasAns_exact": 52.0}}}
    return {"aggregated": float(np.mean(list(accuracy.values()))), **tasks}


def test_jiant_val_metrics(tmp_path):
    for condition, seed in (("base", 1), ("base", 2), ("inter", 1), ("inter", 2)):
        write_json(tmp_path / f"jiant/{condition}_s{seed}/val_metrics.json",
                   jiant_val_metrics({"de": 0.7 + seed / 100, "ru": 0.6}))
    table = collect_scores(str(tmp_path / "jiant/{condition}_s{seed}/val_metrics.json")).table
    assert len(table) == 12 and set(table["format"]) == {"jiant"} and set(table["metric"]) == {"major"}
    row = table[(table["task"] == "xnli") & (table["lang"] == "de") & (table["seed"] == 2)].iloc[0]
    assert row["score"] == pytest.approx(72.0)
    assert table[table["task"] == "xquad"]["score"].tolist() == [61.0] * 4  # percentages kept
    assert set(table[table["task"] == "xquad"]["scale"]) == {"as written"} and set(table[table["task"] == "xnli"]["scale"]) == {"x100"}
    # --metric reads jiant's minor metrics; xnli has no f1: one line naming the file and task.
    with pytest.raises(Exception, match=r"val_metrics.json: task xnli_de: no metric 'f1' \(has: major, acc\)"):
        collect_scores(str(tmp_path / "jiant/{condition}_s{seed}/val_metrics.json"), "f1")


def xstilts_row(order: str, seed: int | None, lang: str, value: float, **extra) -> dict:
    return {"task": "xnli", "lang": lang, "split": "test", "metric": "accuracy", "value": value, "node_id": "n",
            "seed": seed, "order_name": order, "stage_path": [order], "model": "xlm-roberta-base",
            "settings_hash": "h", "settings": {}, "contaminated": False, "contamination_reason": None,
            "eval_node": "e", "plan_hash": "p", "target": "xnli", "selection": [], "zero_shot": True,
            "oracle": False, "training": [], "train_steps": None, "train_examples": None, "examples_ref": None,
            "role": "condition", **extra}


def test_xstilts_rows_json_and_export_csv(tmp_path, capsys):
    rows = [xstilts_row(order, seed, lang, 50.0 + seed + (order == "nli_en>xnli"))
            for order in ("xnli", "nli_en>xnli") for seed in (1, 2) for lang in ("de", "fr")]
    rows += [{**xstilts_row("xnli", 1, "de", 1.0), "metric": "loss"},
             {**xstilts_row("nli_en>xnli", 1, "de", 40.0), "role": "trajectory"},
             xstilts_row("untrained", None, "de", 33.3)]
    write_json(tmp_path / "study/evals/e1/rows.json",
               {"format": 1, "code_version": "x", "created_at": "now", "records": {"e1": rows}})
    collected = collect_scores(str(tmp_path / "study/evals/*/rows.json"))
    table = collected.table
    assert len(table) == 8 and set(table["condition"]) == {"xnli", "nli_en>xnli"} and set(table["format"]) == {"xstilts"}
    assert set(table["metric"]) == {"accuracy"}
    assert any("1 trajectory rows left out" in note for note in collected.notes)
    assert any("1 rows without a seed left out" in note for note in collected.notes)

    frame = pd.DataFrame(rows)
    for column in ("stage_path", "settings", "selection", "training"):
        frame[column] = frame[column].map(json.dumps)
    frame.assign(eval_id="e1").to_csv(tmp_path / "export.csv", index=False)
    out = tmp_path / "scores.csv"
    code, _, err = run(["stats", "collect", str(tmp_path / "export.csv"), "--out", str(out)], capsys)
    assert code == 0, err
    written = pd.read_csv(out, keep_default_na=False)
    assert written[["task", "lang", "condition", "seed", "score"]].sort_values(["condition", "seed", "lang"]).values.tolist() \
        == table[["task", "lang", "condition", "seed", "score"]].sort_values(["condition", "seed", "lang"]).values.tolist()


# ---------------------------------------------------------------- never silent


def error_lines(args: list[str], capsys) -> list[str]:
    code, printed, err = run(args, capsys)
    assert code != 0 and printed == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), err
    return lines


def test_a_file_of_no_known_format_is_named(tmp_path, capsys):
    write_json(tmp_path / "a/1/results.json", harness_results({"xnli_de": 0.5}))
    write_json(tmp_path / "a/2/results.json", {"model": "x", "accuracy": [0.5]})
    (tmp_path / "b/1").mkdir(parents=True)
    (tmp_path / "b/1/results.json").write_text("not json at all\n")
    (tmp_path / "b/2").mkdir(parents=True)
    (tmp_path / "b/2/results.json").write_text("")
    out = tmp_path / "scores.csv"
    lines = error_lines(["stats", "collect", str(tmp_path / "{condition}/{seed}/results.json"), "--out", str(out)],
                        capsys)
    assert lines == [
        f"error: {tmp_path}/a/2/results.json: JSON of no known layout: not a results file of any known format "
        "(lm-evaluation-harness results, Hugging Face Trainer results, jiant val_metrics, xstilts result rows)",
        f"error: {tmp_path}/b/1/results.json: neither JSON nor an xstilts results CSV: not a results file of any "
        "known format (lm-evaluation-harness results, Hugging Face Trainer results, jiant val_metrics, xstilts "
        "result rows)",
        f"error: {tmp_path}/b/2/results.json: empty: not a results file of any known format (lm-evaluation-harness "
        "results, Hugging Face Trainer results, jiant val_metrics, xstilts result rows)",
    ]
    assert not out.exists()


def test_a_file_without_scores_is_named(tmp_path, capsys):
    only_groups = harness_results({"xnli_de": 0.5}, group="xnli")
    only_groups["results"] = {"xnli": only_groups["results"]["xnli"]}
    write_json(tmp_path / "a/1/results.json", only_groups)
    lines = error_lines(["stats", "collect", str(tmp_path / "{condition}/{seed}/results.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    assert lines == [f"error: {tmp_path}/a/1/results.json: no score in this lm-evaluation-harness results file (1 group "
                     "entry (xnli) left out: their member tasks are read)"]


def test_a_template_without_condition_or_seed(tmp_path, capsys):
    for condition in ("a", "b"):
        write_json(tmp_path / f"{condition}/results.json", harness_results({"xnli_de": 0.5}))
    lines = error_lines(["stats", "collect", str(tmp_path / "{condition}/results.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    assert lines == [f"error: TEMPLATE '{tmp_path}/{{condition}}/results.json': no {{seed}} placeholder, and "
                     f"{tmp_path}/a/results.json (lm-evaluation-harness results) names no seed (1 more such files); "
                     "put {seed} where the path holds it"]
    lines = error_lines(["stats", "collect", str(tmp_path / "*/results.json"), "--out", str(tmp_path / "s.csv")], capsys)
    assert [line.split(": no {")[1].split(" placeholder")[0] for line in lines] == ["condition}", "seed}"]
    lines = error_lines(["stats", "collect", str(tmp_path / "{model}/results.json"), "--out", str(tmp_path / "s.csv")],
                        capsys)
    assert lines == [f"error: TEMPLATE '{tmp_path}/{{model}}/results.json': unknown placeholder {{model}}; expected "
                     "{condition}, {seed}, {task}, {lang}"]


def test_template_globs(tmp_path):
    for folder, seed in (("a-run", 1), ("a-run", 2), ("b-run", 1), ("b-run", 22), ("c-old", 1)):
        write_json(tmp_path / f"runs/{folder}/seed{seed}/all_results.json", {"eval_accuracy": 0.5, "epoch": 1.0})

    def keys(template: str) -> list[list]:
        return collect_scores(str(tmp_path) + "/" + template).table[["condition", "seed"]].values.tolist()

    assert keys("runs/{condition}-run/seed{seed}/all_results.json") == [["a", 1], ["a", 2], ["b", 1], ["b", 22]]
    assert keys("r?ns/{condition}-*/seed{seed}/all_*.json") == [["a", 1], ["a", 2], ["b", 1], ["b", 22], ["c", 1]]
    assert keys("runs/{condition}-[!r]*/seed{seed}/all_results.json") == [["c", 1]]
    assert keys("runs/{condition}-[ro]??/seed{seed}/all_results.json") == [["a", 1], ["a", 2], ["b", 1], ["b", 22],
                                                                          ["c", 1]]
    assert keys("**/{condition}-run/seed{seed}/all_results.json") == [["a", 1], ["a", 2], ["b", 1], ["b", 22]]
    # A placeholder twice must match the same text; a file the wildcards match but the placeholders do not is named.
    write_json(tmp_path / "pair/c/seed3/c_results.json", {"eval_accuracy": 0.5, "epoch": 1.0})
    assert keys("pair/{condition}/seed{seed}/{condition}_results.json") == [["c", 3]]
    write_json(tmp_path / "pair/c/seed4/d_results.json", {"eval_accuracy": 0.5, "epoch": 1.0})
    with pytest.raises(CollectError, match=r"pair/c/seed4/d_results.json: matches the template's wildcards but not"):
        keys("pair/{condition}/seed{seed}/{condition}_results.json")


def test_no_file_matched(tmp_path, capsys):
    lines = error_lines(["stats", "collect", str(tmp_path / "runs/{condition}/seed{seed}/results*.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    assert lines == [f"error: TEMPLATE '{tmp_path}/runs/{{condition}}/seed{{seed}}/results*.json': no file matches "
                     f"(looked for {tmp_path}/runs/*/seed*/results*.json)"]


def test_a_seed_that_is_no_integer(tmp_path, capsys):
    write_json(tmp_path / "runs/a/seedX/results.json", harness_results({"xnli_de": 0.5}))
    lines = error_lines(["stats", "collect", str(tmp_path / "runs/{condition}/seed{seed}/results.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    assert lines == [f"error: {tmp_path}/runs/a/seedX/results.json: matches the template's wildcards but not "
                     f"'{tmp_path}/runs/{{condition}}/seed{{seed}}/results.json' ({{seed}} must be an integer; a "
                     "placeholder used twice must match the same text)"]


def test_a_metric_missing_in_a_file(tmp_path, capsys):
    write_json(tmp_path / "a/1/results.json", harness_results({"xnli_de": 0.5}))
    write_json(tmp_path / "a/2/all_results.json", {"epoch": 1.0, "eval_loss": 0.4, "eval_runtime": 3.0})
    harness = harness_results({"xnli_de": 0.5})
    harness["results"]["xnli_de"] = {"alias": "xnli_de", "bleu,none": 12.0, "ppl,none": 3.5}
    write_json(tmp_path / "a/3/results.json", harness)
    template = str(tmp_path / "{condition}/{seed}/*results.json")
    lines = error_lines(["stats", "collect", template, "--out", str(tmp_path / "s.csv")], capsys)
    assert lines[0] == (f"error: {tmp_path}/a/2/all_results.json: none of the metrics eval_accuracy, eval_f1, "
                        "eval_exact_match, eval_exact, eval_matthews_correlation, eval_pearson, eval_spearmanr (has: "
                        "epoch, eval_loss, eval_runtime); choose one with --metric")
    assert len(lines) == 1  # a/3 has bleu, a metric of the preference order
    lines = error_lines(["stats", "collect", template, "--out", str(tmp_path / "s.csv"), "--metric", "acc"], capsys)
    assert lines == [
        f"error: {tmp_path}/a/2/all_results.json: no metric 'acc' (has: epoch, eval_loss, eval_runtime)",
        f"error: {tmp_path}/a/3/results.json: task xnli_de: no metric 'acc' (has: bleu,none, ppl,none)",
    ]


def test_two_files_giving_the_same_score(tmp_path, capsys):
    for name in ("results_2025-01-01.json", "results_2025-02-01.json"):
        write_json(tmp_path / f"runs/a/seed1/{name}", harness_results({"xnli_de": 0.5, "xnli_fr": 0.4}))
    lines = error_lines(["stats", "collect", str(tmp_path / "runs/{condition}/seed{seed}/results*.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    first, second = (f"{tmp_path}/runs/a/seed1/results_2025-0{m}-01.json" for m in (1, 2))
    assert lines == [f"error: {second} and {first} both give task='xnli' lang='{lang}' condition='a' seed=1 "
                     f"(scores {score} and {score}); use {{task}}/{{lang}} placeholders or a narrower template"
                     for lang, score in (("de", 50), ("fr", 40))]


def test_a_percentage_where_a_fraction_belongs(tmp_path, capsys):
    write_json(tmp_path / "a/1/all_results.json", {"eval_accuracy": 83.0, "epoch": 1.0})
    lines = error_lines(["stats", "collect", str(tmp_path / "{condition}/{seed}/all_results.json"), "--out",
                         str(tmp_path / "s.csv")], capsys)
    assert lines == [f"error: {tmp_path}/a/1/all_results.json: eval_accuracy = 83 is not a fraction in [0, 1] "
                     "(scores are written x100; is this file already on 0-100?)"]
