"""The study report and the filtered tables, on a store filled through the real row builder.

The store is made from a real plan (the small example's shape, data absent) whose evaluations get
synthetic per-example outputs: every stored score is the corpus metric of its per-example pieces,
as an evaluation records it. The numbers the report prints are then recomputed here
independently from the store (plain SQL, scipy, a naive numpy bootstrap).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.cli import app
from xstilts.execution.result_rows import build_result_rows, read_examples, write_examples
from xstilts.metrics.per_example import score_from_units
from xstilts.results.filtering import select_rows
from xstilts.results.report import ReportOptions, build_report, contrast_table, write_report
from xstilts.results.statistics import benjamini_hochberg, holm
from xstilts.results.store import ResultStore
from xstilts.study import build_plan, load_study

STUDY = """
name = "report-study"
model = "multilingual-e5-small"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1, 2, 3]

[hparams]
max_steps = 30
batch_size = 16
learning_rate = {lr}

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:1000]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:1000]", dev = false }}]

[orders]
baseline = true
singles = true
permutations = [["nli_en", "nli_de"]]
mixed = [["nli_en", "nli_de"]]

[[targets]]
task = "panx"
langs = ["en", "de", "sw"]
eval_slice = "[:40]"
train = {{ split = "train", slice = "[:2000]", dev_slice = "[200:400]" }}
hparams = {{ max_steps = 60 }}

[[targets]]
task = "tatoeba"
langs = ["de"]
"""

# True effects (F1 / accuracy points, roughly) per order: English-first helps PAN-X clearly.
EFFECT = {"baseline": 0.0, "nli_en": 0.05, "nli_de": 0.03, "nli_en>nli_de": 0.3, "nli_de>nli_en": 0.02,
          "nli_en+nli_de": 0.06}


def _panx_units(rng: np.random.Generator, effect: float, gold: np.ndarray) -> pd.DataFrame:
    predicted = np.maximum(0, gold + rng.integers(-1, 2, size=len(gold)))
    correct = np.minimum(rng.binomial(gold, min(0.95, 0.5 + effect)), predicted)
    tokens = gold * 3 + 2
    return pd.DataFrame({"f1_num": 2.0 * correct, "f1_den": (gold + predicted).astype(float),
                         "accuracy_num": np.minimum(tokens, correct * 3 + 1).astype(float),
                         "accuracy_den": tokens.astype(float)})


def _tatoeba_units(rng: np.random.Generator, effect: float) -> pd.DataFrame:
    correct = rng.random(80) < 0.6 + effect
    return pd.DataFrame({"accuracy_num": correct.astype(float), "accuracy_den": np.ones(80)})


def fill_store(plan, value_shift: float = 0.0, seed: int = 0) -> None:
    """Record every evaluation of ``plan`` with synthetic per-example outputs, through the real
    row builder; stage result.json files give the optimizer steps each training ran."""
    study_dir = plan.study.output_dir
    for node in plan.train_nodes:
        folder = study_dir / "nodes" / node.id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps({"steps": node.config.max_steps}))
    store = ResultStore.for_study(study_dir)
    gold = np.random.default_rng(99).integers(0, 4, size=40)  # the same sentences for every model
    for node in plan.eval_nodes:
        rng = np.random.default_rng([seed, int(node.id[:8], 16)])
        effect = EFFECT[node.order] + value_shift
        units = {lang: (_panx_units(rng, effect, gold) if node.task == "panx" else _tatoeba_units(rng, effect))
                 for lang in node.langs}
        per_language = {lang: {metric: score_from_units(frame, metric) for metric in ("f1", "accuracy")
                               if f"{metric}_num" in frame} for lang, frame in units.items()}
        summary = {"split": node.split, "per_language": per_language,
                   "settings": {"split": node.split, "max_length": 128, "task": node.task}}
        refs = {lang: write_examples(study_dir, frame) for lang, frame in units.items()}
        rows = build_result_rows(node, summary, study_dir=study_dir, base_model=plan.study.model,
                                 plan_hash=plan.plan_hash(), examples_refs=refs)
        for seed_value in node.seeds:
            store.record_eval(f"{node.id}:{seed_value}", rows[seed_value])


def write_study(tmp_path: Path, lr: float = 1e-4) -> Path:
    data = tmp_path / "no-data"
    data.mkdir(exist_ok=True)
    path = tmp_path / f"study-{lr}.toml"
    path.write_text(STUDY.format(data=data, out=tmp_path / "study", lr=lr))
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A store holding the current plan's rows (lr 1e-4) and an older plan's rows (lr 3e-4)."""
    tmp_path = tmp_path_factory.mktemp("report")
    old_file, current_file = write_study(tmp_path, lr=3e-4), write_study(tmp_path, lr=1e-4)
    old_plan = build_plan(load_study(old_file))
    fill_store(old_plan, value_shift=0.3, seed=1)
    plan = build_plan(load_study(current_file))
    fill_store(plan)
    return current_file, plan, old_plan


def _current_rows(plan) -> pd.DataFrame:
    frame = ResultStore.for_study(plan.study.output_dir).to_dataframe()
    return select_rows(frame, [node.id for node in plan.eval_nodes])


def test_rows_carry_plan_selection_zero_shot_and_steps(study):
    _, plan, _ = study
    rows = _current_rows(plan)
    panx = rows[(rows["task"] == "panx") & (rows["condition"] == "nli_en>nli_de")]
    selection = json.loads(panx["selection"].iloc[0])
    assert selection == [{"stage": "panx", "task": "panx", "lang": "en", "split": "dev", "slice": "[200:400]"}]
    assert panx["zero_shot"].all() and not panx["oracle"].any()
    # Two 30-step stages before the target; the mixed stage is one 30-step stage.
    assert set(panx["train_steps"]) == {60}
    assert set(rows.loc[rows["condition"] == "nli_en+nli_de", "train_steps"]) == {30}
    assert set(rows["plan_hash"]) == {plan.plan_hash()}
    # Every stored score equals its per-example pieces.
    for row in rows.itertuples():
        assert math.isclose(score_from_units(read_examples(plan.study.output_dir, row.examples_ref), row.metric),
                            row.value)


def test_zero_shot_flag_follows_every_selection_on_the_path():
    from xstilts.study.plan import is_zero_shot

    target = {"is_target": True, "train": [{"lang": "en"}], "select": [{"lang": "en"}]}
    assert is_zero_shot([{"is_target": False, "train": [{"lang": "de"}], "select": []}, target])
    assert not is_zero_shot([{"is_target": False, "train": [{"lang": "de"}], "select": [{"lang": "de"}]}, target])
    assert not is_zero_shot([{**target, "select": [{"lang": "de"}]}])
    assert not is_zero_shot([{**target, "train": [{"lang": "de"}]}])


def test_holm_and_benjamini_hochberg_match_a_hand_computation():
    p = [0.01, 0.04, 0.03, 0.20]
    # Holm: sorted 0.01 0.03 0.04 0.20 times 4 3 2 1 = 0.04 0.09 0.08 0.20, running max 0.04 0.09 0.09 0.20.
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.20])
    # BH: p * 4 / rank = 0.04, 0.08 (rank 3), 0.06 (rank 2), 0.20; step-up minimum from the top.
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20])
    assert holm([0.5, None]) == [0.5, None]


def _store_values(plan, task: str, metric: str) -> pd.DataFrame:
    """Plain SQL over the store: (order, seed, lang, value, examples_ref) of the current plan."""
    ids = [node.id for node in plan.eval_nodes]
    with sqlite3.connect(plan.study.output_dir / "results.sqlite") as connection:
        frame = pd.read_sql_query("SELECT order_name, seed, lang, value, examples_ref, eval_node FROM results "
                                  "WHERE task = ? AND metric = ?", connection, params=(task, metric))
    return frame[frame["eval_node"].isin(ids)]


def _naive_bootstrap(plan, values: pd.DataFrame, a: str, b: str, resamples: int) -> np.ndarray:
    """Seeds with replacement, then sentences with replacement within each drawn seed and
    language (the same draw for A and B); the mean over drawn seeds of the language-averaged F1
    difference. An independent loop, not the report's vectorised code."""
    rng = np.random.default_rng(7)
    langs = sorted(set(values["lang"]))
    seeds = sorted(set(values["seed"]))
    pieces = {}
    for row in values.itertuples():
        frame = pd.read_parquet(plan.study.output_dir / "examples" / f"{row.examples_ref}.parquet")
        pieces[(row.order_name, row.seed, row.lang)] = (frame["f1_num"].to_numpy(), frame["f1_den"].to_numpy())
    out = np.empty(resamples)
    for i in range(resamples):
        drawn = rng.choice(seeds, size=len(seeds))
        total = 0.0
        for seed in drawn:
            per_lang = []
            for lang in langs:
                n = len(pieces[(a, seed, lang)][0])
                pick = rng.integers(0, n, n)
                score = {o: 100 * pieces[(o, seed, lang)][0][pick].sum() / pieces[(o, seed, lang)][1][pick].sum()
                         for o in (a, b)}
                per_lang.append(score[a] - score[b])
            total += np.mean(per_lang)
        out[i] = total / len(drawn)
    return out


def test_headline_contrast_ci_and_p_recomputed_independently(study):
    _, plan, _ = study
    rows = _current_rows(plan)
    a, b = "nli_en>nli_de", "nli_de>nli_en"
    values = _store_values(plan, "panx", "f1")
    values = values[values["order_name"].isin([a, b])]
    per_seed = values.groupby(["order_name", "seed"])["value"].mean().unstack("order_name")
    differences = per_seed[a] - per_seed[b]

    # (a) the t-test over seeds, exactly.
    t_report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref),
                            ReportOptions(test="t", resamples=200))
    (primary,) = [c for c in t_report.contrasts if c.task == "panx" and c.lang == "avg"
                  and (c.condition_a, c.condition_b) == (a, b)]
    test = stats.ttest_rel(per_seed[a], per_seed[b])
    half = stats.t.ppf(0.975, len(differences) - 1) * differences.std(ddof=1) / math.sqrt(len(differences))
    assert primary.mean_difference == pytest.approx(differences.mean(), abs=1e-9)
    assert primary.t_p == pytest.approx(test.pvalue, rel=1e-9)
    assert primary.t_ci == pytest.approx((differences.mean() - half, differences.mean() + half), rel=1e-9)
    # Holm across the report's primary contrasts (panx: 2 order pairs against the mixed stage + the order
    # pair; tatoeba likewise), by hand.
    family = [c for c in t_report.contrasts if c.lang == "avg"]
    ps = sorted(c.t_p for c in family)
    m = len(ps)
    expected = max(min(1.0, (m - k) * ps[k]) for k in range(ps.index(primary.t_p) + 1))
    assert primary.adjusted_p == pytest.approx(expected, rel=1e-9)
    assert f"p = {primary.adjusted_p:.3f}" in t_report.headline or "beats" in t_report.headline

    # (b) the default report: hierarchical bootstrap; its headline numbers against a naive bootstrap.
    report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref),
                          ReportOptions(resamples=2000))
    (boot,) = [c for c in report.contrasts if c.task == "panx" and c.lang == "avg"
               and (c.condition_a, c.condition_b) == (a, b)]
    naive = _naive_bootstrap(plan, values, a, b, 1000)
    low, high = np.percentile(naive, [2.5, 97.5])
    spread = high - low
    assert boot.bootstrap_ci[0] == pytest.approx(low, abs=0.08 * spread)
    assert boot.bootstrap_ci[1] == pytest.approx(high, abs=0.08 * spread)
    naive_p = min(1.0, 2 * (min((naive <= 0).sum(), (naive >= 0).sum()) + 1) / (len(naive) + 1))
    assert boot.bootstrap_p == pytest.approx(naive_p, abs=0.02)
    # The headline states these numbers.
    match = re.search(r"PAN-X by ([0-9.]+) F1 averaged over 3 languages \(95% CI (-?[0-9.]+) to (-?[0-9.]+), "
                      r"Holm-adjusted p = ([0-9.e-]+)", report.headline)
    assert match, report.headline
    assert report.headline.startswith("English-first (nli_en>nli_de) beats German-first (nli_de>nli_en)")
    assert float(match.group(1)) == pytest.approx(abs(differences.mean()), abs=0.051)
    assert float(match.group(2)) == pytest.approx(boot.bootstrap_ci[0], abs=0.051)
    assert float(match.group(3)) == pytest.approx(boot.bootstrap_ci[1], abs=0.051)
    assert float(match.group(4)) == pytest.approx(boot.adjusted_p, rel=0.01)


def test_report_flags_compute_confound_and_deterministic_baseline(study):
    _, plan, _ = study
    rows = _current_rows(plan)
    report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref),
                          ReportOptions(resamples=200))
    warnings = next(s for s in report.sections if s.title == "Warnings").paragraphs
    assert any("Compute confound: nli_en>nli_de vs nli_en+nli_de: 60 vs 30 intermediate optimizer steps (-50%), "
               "960 vs 480 intermediate training examples (-50%)" in line for line in warnings), warnings
    assert any(line.startswith("Deterministic (Tatoeba): baseline") for line in warnings), warnings
    tatoeba = report.tables()["tatoeba_cells"]
    assert tatoeba.loc["baseline", "de"].endswith("(det.)") and "±" not in tatoeba.loc["baseline", "de"]
    assert "±" in tatoeba.loc["nli_en", "de"]
    trajectory = report.tables()["tatoeba_trajectory"]
    english_first = trajectory[trajectory["order"] == "nli_en>nli_de"]
    assert list(english_first["stage"]) == ["none", "nli_en", "nli_en>nli_de"][:1] + ["nli_en", "nli_de"]
    single = rows[(rows["task"] == "tatoeba") & (rows["condition"] == "nli_en")]["value"].mean()
    assert english_first.iloc[1]["mean"] == pytest.approx(single)


def _cli(args: list[str]) -> str:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_report_and_show_use_only_the_current_plans_rows(study):
    study_file, plan, old_plan = study
    store = ResultStore.for_study(plan.study.output_dir).to_dataframe()
    assert set(store["plan_hash"]) == {plan.plan_hash(), old_plan.plan_hash()}
    current = _current_rows(plan)
    assert set(current["plan_hash"]) == {plan.plan_hash()} and len(current) < len(store)
    # Reading all rows without labels mixes two learning rates: refused, naming the difference.
    from xstilts.errors import ConfigError
    from xstilts.results.filtering import refuse_mixed_cells

    with pytest.raises(ConfigError, match=r"panx / baseline: rows mix training settings \(\[panx\]\.config\.learning_rate: 0\.000[13] vs 0\.000[13]\)"):
        refuse_mixed_cells(store.assign(condition=store["order_name"]))

    shown = _cli(["results", "show", str(study_file)])
    assert "(plan" not in shown and "rows belong to other plans" in shown
    expected = current[(current["task"] == "panx") & (current["metric"] == "f1") & (current["lang"] == "de")
                       & (current["condition"] == "nli_en>nli_de")]["value"].mean()
    assert f"{expected:.1f}" in shown

    everything = _cli(["results", "show", str(study_file), "--all-rows"])
    assert "nli_en>nli_de (plan" in everything

    printed = _cli(["report", str(study_file), "--resamples", "1000"]).splitlines()
    html_path = Path(printed[0])
    assert html_path == plan.study.output_dir / "report" / "report.html" and html_path.is_file()
    assert printed[1].startswith("English-first (nli_en>nli_de)")
    values = pd.read_csv(html_path.parent / "paper_table_values.csv", index_col=0)
    per_seed = current[(current["task"] == "panx") & (current["metric"] == "f1")].groupby(
        ["condition", "seed"])["value"].mean().groupby("condition").mean()
    assert values.loc["nli_de>nli_en", "PAN-X"] == pytest.approx(per_seed["nli_de>nli_en"])


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"headless Chromium is not installed and could not be installed: {error}")
    return shutil.which("chromium")


def test_report_html_renders_offline_with_every_table_and_image(study, tmp_path):
    _, plan, _ = study
    rows = _current_rows(plan)
    report = build_report(rows, {"study": "report-study"}, lambda ref: read_examples(plan.study.output_dir, ref),
                          ReportOptions(resamples=200))
    html_path = write_report(report, tmp_path / "report")
    for name, png in report.figures().items():
        assert (tmp_path / "report" / f"{name}.png").stat().st_size > 1000
    for name in report.tables():
        assert (tmp_path / "report" / f"{name}.csv").is_file()
    text = html_path.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium")
    screenshot = tmp_path / "screenshot.png"
    # The DOM after rendering: every image decoded (naturalWidth > 0) and every table has rows.
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", """<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const ok = images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length;
  const tables = [...document.querySelectorAll('table')];
  const filled = tables.filter(t => t.querySelectorAll('tbody tr').length > 0).length;
  document.title = `images ${ok}/${images.length} tables ${filled}/${tables.length}`;
});</script></body>"""))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=180)
    title = re.search(r"<title>(.*?)</title>", dom.stdout)
    assert title, dom.stderr[-2000:]
    found = re.match(r"images (\d+)/(\d+) tables (\d+)/(\d+)", title.group(1))
    assert found, title.group(1)
    images_ok, images, tables_ok, tables = map(int, found.groups())
    assert images == len(report.figures()) and images_ok == images > 0
    assert tables == len([n for n in report.tables() if not n.endswith("_values")]) and tables_ok == tables > 0
    subprocess.run([browser, *flags, "--window-size=1200,3000", f"--screenshot={screenshot}", html_path.as_uri()],
                   capture_output=True, timeout=180)
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    keep = Path("/tmp/xstilts-report-screenshot.png")
    shutil.copy(screenshot, keep)  # for a human to look at
    table = contrast_table(report.contrasts, ReportOptions())
    assert table["primary"].any()
