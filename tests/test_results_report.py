"""The study report and the filtered tables, on a store filled through the real row builder.

The store is made from a real plan (the small example's shape, data absent) whose evaluations get
synthetic per-example outputs: every stored score is the corpus metric of its per-example pieces,
as an evaluation records it. The numbers the report prints are then recomputed here
independently from the store (plain SQL, scipy, a naive two-way decomposition of the examples).
"""

from __future__ import annotations

import html
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
from xstilts.results.report import ReportOptions, build_report, contrast_values, write_report
from xstilts.results.statistics import benjamini_hochberg, holm
from xstilts.results.store import ResultStore
from xstilts.study import plan_summary
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


def fill_store(plan, value_shift: float = 0.0, seed: int = 0, effects: dict[str, float] = EFFECT) -> None:
    """Record every evaluation of ``plan`` with synthetic per-example outputs, through the real
    row builder; stage result.json files give the optimizer steps each training ran. A
    trajectory point (a model after some of an order's stages) gets the effect of those stages."""
    study_dir = plan.study.output_dir
    for node in plan.train_nodes:
        folder = study_dir / "nodes" / node.id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps({"steps": node.config.max_steps}))
    store = ResultStore.for_study(study_dir)
    gold = np.random.default_rng(99).integers(0, 4, size=40)  # the same sentences for every model
    for node in plan.eval_nodes:
        rng = np.random.default_rng([seed, int(node.id[:8], 16)])
        key = node.order if node.role == "condition" else (">".join(node.stage_path) or "baseline")
        effect = effects.get(key, 0.0) + value_shift
        units = {lang: (_panx_units(rng, effect, gold) if node.task == "panx" else _tatoeba_units(rng, effect))
                 for lang in node.langs}
        per_language = {lang: {metric: score_from_units(frame, metric) for metric in ("f1", "accuracy")
                               if f"{metric}_num" in frame} for lang, frame in units.items()}
        # As zero_shot.evaluate records it: eval_precision in the settings only when not fp32.
        precision = {} if node.eval_precision == "fp32" else {"eval_precision": node.eval_precision}
        summary = {"split": node.split, "per_language": per_language,
                   "settings": {"split": node.split, "max_length": 128, "task": node.task, **precision}}
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


def _naive_item_variance(plan, values: pd.DataFrame, a: str, b: str, lang: str) -> float:
    """The items' share of the variance of the seed-averaged F1 difference on one language, by
    hand: per sentence and seed, its linearised influence on A's F1 minus on B's; then the two-way
    (sentences x seeds) mean squares. A loop, not the report's vectorised code."""
    seeds = sorted(set(values["seed"]))
    u = []
    for seed in seeds:
        row = []
        frames = {}
        for order in (a, b):
            ref = values[(values["order_name"] == order) & (values["seed"] == seed) & (values["lang"] == lang)]
            frames[order] = pd.read_parquet(plan.study.output_dir / "examples" / f"{ref['examples_ref'].iloc[0]}.parquet")
        for i in range(len(frames[a])):
            influence = []
            for order in (a, b):
                num, den = frames[order]["f1_num"], frames[order]["f1_den"]
                ratio = num.sum() / den.sum()
                influence.append(100 * (num.iloc[i] - ratio * den.iloc[i]) / den.mean())
            row.append(influence[0] - influence[1])
        u.append(row)
    u = np.array(u)
    s, n = u.shape
    item_means = u.mean(axis=0)
    ms_items = s * ((item_means - item_means.mean()) ** 2).sum() / (n - 1)
    residual = u - item_means - u.mean(axis=1, keepdims=True) + u.mean()
    ms_residual = (residual ** 2).sum() / ((s - 1) * (n - 1))
    return max(0.0, (ms_items - ms_residual) / s) / n


def test_headline_contrast_ci_and_p_recomputed_independently(study):
    _, plan, _ = study
    rows = _current_rows(plan)
    a, b = "nli_en>nli_de", "nli_de>nli_en"
    values = _store_values(plan, "panx", "f1")
    values = values[values["order_name"].isin([a, b])]
    per_seed = values.groupby(["order_name", "seed"])["value"].mean().unstack("order_name")
    differences = per_seed[a] - per_seed[b]

    # (a) the default report: the paired t-test over seeds, exactly.
    report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref))
    (primary,) = [c for c in report.contrasts if c.target == "panx" and c.lang == "avg"
                  and (c.condition_a, c.condition_b) == (a, b)]
    test = stats.ttest_rel(per_seed[a], per_seed[b])
    assert primary.seeds == (1, 2, 3) and primary.method == "t"
    assert primary.mean_difference == pytest.approx(differences.mean(), abs=1e-9)
    assert primary.p == pytest.approx(test.pvalue, rel=1e-9)
    # Holm across the report's primary contrasts, by hand.
    family = [c for c in report.contrasts if c.lang == "avg"]
    ps = sorted(c.p for c in family)
    m = len(ps)
    expected = max(min(1.0, (m - k) * ps[k]) for k in range(ps.index(primary.p) + 1))
    assert primary.adjusted_p == pytest.approx(expected, rel=1e-9) and primary.family_size == m
    # The interval agrees with the adjusted p: the t-interval at level 1 - 0.05 * p / adjusted p.
    level = 1 - 0.05 * primary.p / primary.adjusted_p
    half = stats.t.ppf(0.5 + level / 2, 2) * differences.std(ddof=1) / math.sqrt(3)
    assert primary.interval_level == pytest.approx(level)
    assert primary.interval == pytest.approx((differences.mean() - half, differences.mean() + half), rel=1e-9)
    assert (primary.interval[0] > 0) == (primary.adjusted_p < 0.05)
    # The headline states these numbers, in the sentence's direction.
    match = re.search(r"PAN-X by ([0-9.]+) F1 averaged over 3 languages \(Holm-adjusted over (\d+) contrasts: "
                      r"p = ([0-9.]+), ([0-9.]+)% CI (-?[0-9.]+) to (-?[0-9.]+); paired t-test over 3 seeds\)",
                      report.headline)
    assert match, report.headline
    assert report.headline.startswith("English-first (nli_en>nli_de) beats German-first (nli_de>nli_en)")
    assert float(match.group(1)) == pytest.approx(abs(differences.mean()), abs=0.051)
    assert int(match.group(2)) == m
    assert float(match.group(3)) == pytest.approx(primary.adjusted_p, abs=0.0006)
    assert float(match.group(4)) == pytest.approx(100 * level, abs=0.051)
    assert float(match.group(5)) == pytest.approx(primary.interval[0], abs=0.051)
    assert float(match.group(6)) == pytest.approx(primary.interval[1], abs=0.051)

    # (b) t+items: the same difference, the items' variance added to the squared standard error.
    items = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref),
                         ReportOptions(test="t+items"))
    # The language whose items' variance estimate is largest (a method-of-moments estimate is
    # clamped at 0; on one random language it may be 0, which would not test the items' term).
    lang = max(("en", "de", "sw"), key=lambda code: _naive_item_variance(plan, values, a, b, code))
    (with_items,) = [c for c in items.contrasts if c.target == "panx" and c.lang == lang
                     and (c.condition_a, c.condition_b) == (a, b)]
    scores = values[values["lang"] == lang].pivot(index="seed", columns="order_name", values="value")
    seed_variance = (scores[a] - scores[b]).var(ddof=1) / 3
    item = _naive_item_variance(plan, values, a, b, lang)
    assert item > 0
    assert with_items.method == "t+items" and with_items.test.df == 2
    assert with_items.test.se == pytest.approx(math.sqrt(seed_variance + item), rel=1e-6)
    assert "paired t-test with item variance over 3 seeds" in items.headline


def test_report_flags_compute_confound_and_deterministic_baseline(study):
    _, plan, _ = study
    rows = _current_rows(plan)
    report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref))
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

    printed = _cli(["report", str(study_file)]).splitlines()
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
    report = build_report(rows, {"study": "report-study"}, lambda ref: read_examples(plan.study.output_dir, ref))
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
    table = contrast_values(report.contrasts)
    assert (table["family"] == "primary").any()
    # No pandas index column and no header row for the columns' name; wide tables scroll.
    assert "<div class='scroll'><table" in text and "<th></th>" not in text
    differences = text[text.index('id="panx_differences"'):]
    differences = differences[:differences.index("</thead>")]
    assert re.findall(r"<th>(.*?)</th>", differences)[:2] == ["condition", "en"]  # one header row


# ---------------------------------------------------------------- what the headline may say

SMALL = """
name = "{name}"
model = "multilingual-e5-small"
data_dir = "{data}"
output_dir = "{out}"
seeds = {seeds}

[hparams]
max_steps = 30
batch_size = 16

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:1000]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:1000]", dev = false }}]

[orders]
baseline = true
{orders}

[[targets]]
task = "panx"
langs = ["en", "de", "sw"]
eval_slice = "[:40]"
train = {{ split = "train", slice = "[:2000]", dev_slice = "[200:400]" }}
{targets}
{report}
"""


def small_study(tmp_path: Path, name: str, *, seeds: str = "[1, 2, 3]",
                orders: str = 'permutations = [["nli_en", "nli_de"]]', targets: str = "", report: str = "",
                effects: dict[str, float] = EFFECT):
    data = tmp_path / "no-data"
    data.mkdir(exist_ok=True)
    path = tmp_path / f"{name}.toml"
    path.write_text(SMALL.format(name=name, data=data, out=tmp_path / name, seeds=seeds, orders=orders,
                                 targets=targets, report=report))
    plan = build_plan(load_study(path))
    fill_store(plan, effects=effects)
    return path, plan, _current_rows(plan)


def _report(plan, rows, **options) -> "Report":
    return build_report(rows, {"study": plan.study.name}, lambda ref: read_examples(plan.study.output_dir, ref),
                        ReportOptions(**options))


def test_when_b_wins_the_sentence_names_it_and_its_interval_is_positive(tmp_path):
    effects = {**EFFECT, "nli_en>nli_de": 0.02, "nli_de>nli_en": 0.3}
    _, plan, rows = small_study(tmp_path, "b-wins", effects=effects)
    report = _report(plan, rows)
    (primary,) = [c for c in report.contrasts if c.lang == "avg"]
    assert (primary.condition_a, primary.condition_b) == ("nli_en>nli_de", "nli_de>nli_en")  # A: English-first
    assert primary.mean_difference < 0 and primary.significant
    match = re.match(r"German-first \(nli_de>nli_en\) beats English-first \(nli_en>nli_de\) on PAN-X by ([0-9.]+) F1 "
                     r".*?, [0-9.]+% CI ([0-9.]+) to ([0-9.]+);", report.headline)
    assert match, report.headline
    low, high = float(match.group(2)), float(match.group(3))
    assert 0 < low <= float(match.group(1)) <= high
    assert (low, high) == pytest.approx((-primary.interval[1], -primary.interval[0]), abs=0.051)


def test_one_seed_is_never_tested(tmp_path):
    _, plan, rows = small_study(tmp_path, "one-seed", seeds="[1]")
    report = _report(plan, rows)
    (primary,) = [c for c in report.contrasts if c.lang == "avg"]
    assert primary.p is None and primary.adjusted_p is None and primary.interval is None
    assert report.headline.startswith("PAN-X: English-first (nli_en>nli_de) vs German-first (nli_de>nli_en) cannot be "
                                      "tested with 1 seed (difference +")
    assert "1 seeds" not in report.headline and "needs at least 2 seeds" in report.headline
    assert "p =" not in report.headline and "CI" not in report.headline and "beats" not in report.headline
    advice = report.tables()["seeds_values"]
    assert advice["sd_of_differences"].isna().all() and advice["seeds_needed"].isna().all()


def test_named_orders_and_listed_pairs_are_contrasted(tmp_path):
    orders = '[orders.named]\nen_start = ["nli_en", "nli_de"]\nde_start = ["nli_de", "nli_en"]'
    report_toml = '[report]\ncontrasts = [["en_start", "baseline"]]'
    effects = {"en_start": 0.3, "de_start": 0.02, "baseline": 0.0}
    path, plan, rows = small_study(tmp_path, "named", orders=orders, report=report_toml, effects=effects)
    assert [(c.a, c.b, c.relation) for c in plan.comparisons()] == [("en_start", "de_start", "orders"),
                                                               ("en_start", "baseline", "listed")]
    spec = load_study(path)
    report = _report(plan, rows, listed_contrasts=tuple(tuple(pair) for pair in spec.report.contrasts))
    assert {(c.condition_a, c.condition_b) for c in report.contrasts if c.lang == "avg"} == {
        ("en_start", "de_start"), ("en_start", "baseline")}
    assert report.headline.startswith("English-first (en_start) beats German-first (de_start) on PAN-X")
    assert "en_start beats baseline on PAN-X" in report.headline or "between en_start and baseline" in report.headline
    printed = _cli(["plan", str(path)])
    assert "en_start - de_start (orders)" in printed and "en_start - baseline (listed)" in printed


def test_unknown_listed_order_is_a_one_line_error(tmp_path):
    data = tmp_path / "no-data"
    data.mkdir()
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.format(name="bad", data=data, out=tmp_path / "bad", seeds="[1]",
                                 orders='permutations = [["nli_en", "nli_de"]]', targets="",
                                 report='[report]\ncontrasts = [["nli_en>nli_de", "nli_en>nli_fr"]]'))
    from xstilts.errors import ConfigError

    with pytest.raises(ConfigError, match=r"bad.toml: report.contrasts\[0\]\[1\]: unknown order 'nli_en>nli_fr' "
                                          r"\(did you mean 'nli_en>nli_de'\?\)"):
        load_study(path)


def test_retrieval_targets_are_evaluated_after_every_stage(tmp_path):
    targets = '[[targets]]\ntask = "tatoeba"\nlangs = ["de"]'
    effects = {"nli_en": 0.1, "nli_de": 0.05, "nli_en>nli_de": 0.3, "nli_de>nli_en": 0.12}
    _, plan, rows = small_study(tmp_path, "trajectory", targets=targets, effects=effects)
    points = [e for e in plan.eval_nodes if e.role == "trajectory"]
    # After the first stage of each of the two orders, for each seed (no singles in this study).
    assert len(points) == 6 and {e.stage_path for e in points} == {("nli_en",), ("nli_de",)}
    assert plan_summary(plan)["trajectory_evaluations"] == 6
    assert set(rows.loc[rows["role"] == "trajectory", "target"]) == {"tatoeba"}
    report = _report(plan, rows)
    trajectory = report.tables()["tatoeba_trajectory"]
    english_first = trajectory[trajectory["order"] == "nli_en>nli_de"]
    assert list(english_first["after_stages"]) == [0, 1, 2] and list(english_first["stage"]) == ["none", "nli_en",
                                                                                                 "nli_de"]
    assert math.isnan(english_first["std"].iloc[0]) and english_first["std"].iloc[1:].notna().all()
    assert list(english_first["seeds"]) == [3, 3, 3]
    after_one = rows[(rows["role"] == "trajectory") & rows["stage_path"].map(lambda path: json.loads(path) == ["nli_en"])]
    assert english_first["mean"].iloc[1] == pytest.approx(after_one["value"].mean())
    # Trajectory points are no condition: the tables and contrasts have the two orders and the baseline only.
    assert set(report.tables()["tatoeba_cells"].index) == {"baseline", "nli_en>nli_de", "nli_de>nli_en"}
    assert "tatoeba_trajectory" in report.figures()


def test_two_targets_of_one_task_are_reported_apart(tmp_path):
    targets = ('[[targets]]\ntask = "panx"\nname = "panx2"\nlangs = ["en", "de"]\neval_slice = "[:40]"\n'
               'train = { split = "train", slice = "[2000:4000]", dev_slice = "[200:400]" }')
    path, plan, rows = small_study(tmp_path, "two-targets", targets=targets)
    assert set(rows["target"]) == {"panx", "panx2"}
    report = _report(plan, rows)
    paper = report.tables()["paper_table_values"]
    assert {"PAN-X", "PAN-X (panx2)"} <= set(paper.columns)
    assert {c.target for c in report.contrasts} == {"panx", "panx2"}
    assert "PAN-X (panx2): languages x conditions" in [s.title for s in report.sections]
    shown = _cli(["results", "show", str(path)])
    assert "panx2 (panx) dev f1" in shown and "panx dev f1" in shown
    printed = _cli(["report", str(path)])
    assert "PAN-X (panx2)" in printed
    exported = tmp_path / "rows.csv"
    _cli(["results", "export", str(path), "--out", str(exported)])
    assert set(pd.read_csv(exported)["target"]) == {"panx", "panx2"}


def _provenance_text(plan, rows) -> str:
    (provenance,) = [s for s in _report(plan, rows).sections if s.title == "Provenance"]
    return "\n".join(provenance.paragraphs)


def test_provenance_shows_the_evaluation_precision(tmp_path):
    from xstilts.results.report import _eval_precisions

    fp32_rows = pd.DataFrame({"target": ["panx", "tatoeba"], "settings": ['{"max_length": 128}', "{}"]})
    assert _eval_precisions(fp32_rows) == "fp32"  # rows record no eval_precision when it is fp32
    # bf16 for the study, fp32 kept by one target.
    targets = '[[targets]]\ntask = "tatoeba"\nlangs = ["de"]\neval_precision = "fp32"'
    _, plan, rows = small_study(tmp_path, "bf16", seeds='[1]\neval_precision = "bf16"', targets=targets)
    assert "Evaluation precision: bf16 (panx); fp32 (tatoeba)\n" in _provenance_text(plan, rows)


def test_stats_contrast_reads_scores_made_anywhere(tmp_path):
    rng = np.random.default_rng(4)
    records = []
    for model in ("xlmr", "mbert"):
        for seed in range(1, 6):
            run = rng.normal(0, 1.0)
            for lang in ("en", "de", "sw"):
                for condition, shift in (("en-first", 1.5), ("de-first", 0.0), ("mixed", 0.5)):
                    records.append((model, "xnli", lang, condition, seed, 70 + shift + run + rng.normal(0, 0.3)))
    frame = pd.DataFrame(records, columns=["model", "task", "lang", "condition", "seed", "score"])
    csv = tmp_path / "scores.csv"
    frame.to_csv(csv, index=False)
    printed = _cli(["stats", "contrast", str(csv), "--by", "model", "--contrast", "en-first - de-first",
                    "--contrast", "mixed - de-first", "--json"]).strip().splitlines()
    lines = [json.loads(line) for line in printed]
    assert len(lines) == 4 and {line["by"]["model"] for line in lines} == {"xlmr", "mbert"}
    first = next(line for line in lines if line["by"] == {"model": "xlmr"} and line["contrast"] == "en-first - de-first")
    part = frame[frame["model"] == "xlmr"].groupby(["condition", "seed"])["score"].mean().unstack("condition")
    reference = stats.ttest_rel(part["en-first"], part["de-first"])
    assert first["seeds"] == 5 and first["mean_difference"] == pytest.approx((part["en-first"] - part["de-first"]).mean())
    assert first["p"] == pytest.approx(reference.pvalue) and first["family_size"] == 2
    assert first["adjusted_p"] == pytest.approx(min(1.0, 2 * min(line["p"] for line in lines if line["by"] ==
                                                                  {"model": "xlmr"})) if first["p"] == min(
        line["p"] for line in lines if line["by"] == {"model": "xlmr"}) else first["adjusted_p"])
    assert first["ci_low"] < first["mean_difference"] < first["ci_high"] and first["method"].startswith("paired t-test")
    for key in ("task", "contrast", "by", "seeds", "mean_difference", "ci_low", "ci_high", "p", "adjusted_p", "method",
                "detectable_difference", "seeds_needed", "rank_p"):
        assert key in first


def test_report_names_outlying_runs_and_shows_the_contrast_without_them(tmp_path):
    _, plan, rows = small_study(tmp_path, "collapsed", seeds="[1, 2, 3, 4, 5]")
    collapsed = (rows["target"] == "panx") & (rows["condition"] == "nli_en>nli_de") & (rows["seed"] == 3)
    assert collapsed.any()
    rows = rows.copy()
    rows.loc[collapsed, "value"] = 1.0  # an all-"O" head: F1 near 0
    report = _report(plan, rows)
    warnings = next(s for s in report.sections if s.title == "Warnings").paragraphs
    (line,) = [line for line in warnings if line.startswith("Outlying runs (PAN-X")]
    assert "nli_en>nli_de: 1 of 5 runs (seed 3: 1.00" in line and "without them: nli_en>nli_de - nli_de>nli_en" in line
    assert "4 seeds" in line
    table = report.tables()["contrasts"]
    assert "signed-rank p" in table.columns and (table["signed-rank p"] != "-").all()
    values = report.tables()["contrasts_values"]
    (primary,) = [c for c in report.contrasts if c.lang == "avg" and c.condition_a == "nli_en>nli_de"
                  and c.condition_b == "nli_de>nli_en"]
    assert primary.n_seeds == 5  # the primary contrast keeps every run
    assert values["signed_rank_p"].notna().all()


def test_plan_with_a_pilot_sizes_the_seeds(tmp_path):
    pilot, _, _ = small_study(tmp_path, "pilot")
    study, _, _ = small_study(tmp_path, "bigger", seeds="[1, 2]")
    advice = json.loads(_cli(["plan", str(study), "--pilot", str(pilot), "--effect", "2", "--json"]))["seeds_advice"]
    (row,) = advice["contrasts"]
    assert row["contrast"] == "nli_en>nli_de - nli_de>nli_en" and row["sd_source"].startswith("pilot panx")
    from xstilts.results.power import seeds_needed

    assert row["seeds_needed"] == seeds_needed(row["pilot_sd"], 2.0)
    assert row["seeds_needed_cautious"] >= row["seeds_needed"]
    cost = advice["cost"][0]
    assert cost["seeds"] == row["seeds_needed"] and cost["trainings"] > 0 and cost["estimated_seconds"] > 0
    text = _cli(["plan", str(study), "--pilot", str(pilot)])
    assert "seeds needed" in text and "trainings" in text


# ---------------------------------------------------------------- paper outputs: titles, LaTeX, PDF, SVG

_LATEX_ESCAPES = {r"\textbackslash ": "\\", r"\textasciitilde ": "~", r"\textasciicircum ": "^", r"\space ": " ",
                  **{f"\\{c}": c for c in "&%$#_{}"}}


def _unescape(text: str) -> str:
    """The inverse of pandas' LaTeX escaping, in one pass (so "\\textbackslash space" stays)."""
    pattern = "|".join(re.escape(key) for key in sorted(_LATEX_ESCAPES, key=len, reverse=True))
    return re.sub(pattern, lambda m: _LATEX_ESCAPES[m.group(0)], text)


def _latex_problems(text: str) -> list[str]:
    """LaTeX checked without LaTeX: braces balance, environments nest, and no special character is
    left bare in the text (after comments, control sequences and the file names and keys of \\label,
    \\input and \\includegraphics are dropped, only ``&`` may stay: a tabular's separator)."""
    problems = []
    body = re.sub(r"(?<!\\)%.*", "", text)  # comments
    depth = 0
    for char in re.sub(r"\\[{}]", "", body):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            problems.append("a } closes nothing")
            break
    if depth > 0:
        problems.append(f"{depth} unclosed {{")
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            stack.append(name)
        elif not stack or stack.pop() != name:
            problems.append(f"\\end{{{name}}} closes {stack[-1] if stack else 'nothing'}")
    problems += [f"\\begin{{{name}}} never ends" for name in stack]
    names = re.sub(r"\\(label|input|includegraphics)(\[[^]]*\])?\{[^}]*\}", " ", body)  # file names, keys: not text
    bare = re.sub(r"\\([A-Za-z]+\*?|.)", " ", names)
    for line in bare.splitlines():
        found = sorted(set(line) & set("#$%^_~"))
        if found:
            problems.append(f"bare {''.join(found)} in {line.strip()[:80]!r}")
    return problems


def _latex_cells(text: str) -> list[list[str]]:
    """A booktabs table's rows (the header first) as unescaped cell texts."""
    tabular = text[text.index("\\toprule") + len("\\toprule"):text.index("\\bottomrule")]
    rows = [row.strip() for row in tabular.replace("\\midrule", "").split("\\\\\n") if row.strip()]
    return [[_unescape(cell.strip()) for cell in re.split(r"(?<!\\)&", row)] for row in rows]


def _shown_text(table: pd.DataFrame) -> list[list[str]]:
    from xstilts.results.report.render import _shown

    frame = _shown(table)
    frame = frame.loc[:, [c for c in frame.columns if (frame[c] != "").any()]]
    return [list(frame.columns), *[list(row) for row in frame.itertuples(index=False)]]


@pytest.fixture(scope="module")
def paper_report(study, tmp_path_factory):
    """The study's report written in every format (the default)."""
    _, plan, _ = study
    rows = _current_rows(plan)
    report = build_report(rows, {"study": "report-study"}, lambda ref: read_examples(plan.study.output_dir, ref))
    folder = tmp_path_factory.mktemp("paper") / "report"
    assert write_report(report, folder) == folder / "report.html"
    return report, folder


def test_every_table_has_a_human_title_in_markdown_html_and_latex(paper_report):
    report, folder = paper_report
    titles = report.titles()
    displayed = [name for name in report.tables() if not name.endswith("_values")]
    assert {"paper_table", "panx_cells", "panx_differences", "contrasts", "seeds"} <= set(displayed)
    assert titles["panx_cells"] == "PAN-X: F1 per language and condition"
    assert titles["tatoeba_cells"] == "Tatoeba: accuracy per language and condition"
    assert titles["panx_differences"] == "PAN-X: F1 difference from the no-intermediate baseline"
    markdown, page = (folder / "report.md").read_text(), (folder / "report.html").read_text()
    for name in displayed:
        title = titles[name]
        assert title != name and not re.search(r"\b[a-z]+_[a-z_]+\b", title.replace("nli_", "")), title
        assert f"**{title}** ([csv]({name}.csv), [tex]({name}.tex))" in markdown
        assert f"<h3>{html.escape(title)}</h3>" in page
        assert f"\\caption{{{title}}}" in (folder / f"{name}.tex").read_text()
    assert "**panx_cells**" not in markdown and "<h3>panx_differences</h3>" not in page
    for name, plot in report.figures().items():
        assert f"![{plot.title}]({name}.png) ([pdf]({name}.pdf), [svg]({name}.svg))" in markdown


def test_every_table_prints_one_decimal_and_p_values_as_format_p(paper_report):
    report, _ = paper_report
    from xstilts.results.report.render import _shown

    checked = 0
    for name, table in report.tables().items():
        if name.endswith("_values"):
            continue
        frame = _shown(table)
        for column in frame.columns:
            for cell in frame[column]:
                if column in ("p", "adjusted p") or column.endswith(" p"):  # p-values: format_p
                    assert re.fullmatch(r"< 0\.001|0\.\d{3,8}|1\.000|-", cell), (name, column, cell)
                    continue
                text = re.sub(r"\(\d+(\.\d+)?%\)", "", cell)  # an interval's level: 98.3%, 99.998%
                for number in re.findall(r"\d+\.\d+", text):
                    checked += 1
                    # One decimal; more only where one would print a nonzero bound or difference as 0.0.
                    assert len(number.split(".")[1]) == 1 or round(float(number), 1) == 0, (name, column, cell)
    assert checked > 50
    differences = report.tables()["panx_differences"]
    values = report.tables()["panx_differences_values"]
    assert differences.loc["nli_en>nli_de", "avg"] == f"{values.loc['nli_en>nli_de', 'avg']:+.1f}"
    contrasts = report.tables()["contrasts"]
    assert all(re.fullmatch(r"[+-]?\d+\.\d+|-", value) for value in contrasts["A - B"])


def test_latex_tables_are_escaped_balanced_and_hold_the_tables_text(paper_report):
    report, folder = paper_report
    for name, table in report.tables().items():
        tex = folder / f"{name}.tex"
        if name.endswith("_values"):
            assert not tex.exists()
            continue
        text = tex.read_text()
        assert text.startswith("\\begin{table}[htbp]") and "\\toprule" in text and "\\midrule" in text
        assert _latex_problems(text) == [], name
        assert _latex_cells(text) == _shown_text(table), name  # every cell, escaped by pandas and back
    assert "nli\\_en>nli\\_de" in (folder / "panx_cells.tex").read_text()
    document = (folder / "report.tex").read_text()
    assert _latex_problems(document) == []
    assert "\\usepackage{booktabs}" in document and document.rstrip().endswith("\\end{document}")
    inputs = re.findall(r"\\input\{(.*?)\.tex\}", document)
    assert inputs == [name for name in report.tables() if not name.endswith("_values")]
    assert re.findall(r"\\includegraphics\[[^]]*\]\{(.*?)\.pdf\}", document) == list(report.figures())


_ODD = "a_b & c % 5$ #1 ^x ~y \\z {w} 50% ± é > <"


def test_latex_escaping_of_every_special_character_round_trips():
    from xstilts.results.report.render import latex_table, latex_text, render_latex

    assert _unescape(latex_text(_ODD)) == _ODD and _latex_problems(latex_text(_ODD)) == []
    report = _odd_report()
    table = report.tables()["odd_table"]
    text = latex_table(table, "odd_table", report.titles()["odd_table"])
    assert _latex_problems(text) == []
    assert _latex_cells(text) == [["name_1", "100% & more", "n"], [_ODD, "1.2", "3"], ["plain", "-", "4"]]
    assert _unescape(re.search(r"\\caption\{(.*)\}\n", text).group(1)) == f"Title with {_ODD}"
    assert _latex_problems(render_latex(report)) == []


def test_figures_are_written_as_png_pdf_and_svg_that_open(paper_report):
    import xml.etree.ElementTree as ElementTree

    from xstilts.results.plots import Plot

    report, folder = paper_report
    assert report.figures()
    for name, plot in report.figures().items():
        png, pdf, svg = ((folder / f"{name}.{fmt}").read_bytes() for fmt in ("png", "pdf", "svg"))
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and b"matplotlib" in pdf
        assert b"/Type3" not in pdf  # TrueType fonts: venues' PDF checkers refuse Type 3
        root = ElementTree.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and len(list(root.iter())) > 50
        # No dates, fixed ids: drawn again, the files are the same bytes.
        again = Plot(plot.title, plot.draw).save("pdf", "svg")
        assert again == {"pdf": pdf, "svg": svg}


def test_formats_choose_what_the_report_writes(study, tmp_path):
    from xstilts.errors import ConfigError
    from xstilts.results.report.render import FORMATS, parse_formats

    assert parse_formats("all") == FORMATS and parse_formats(" SVG, pdf,") == ("pdf", "svg")
    for bad in ("md,docx", ""):
        with pytest.raises(ConfigError, match=r"^--formats: expected all or a comma-separated list of md, html, csv, "
                                              r"png, pdf, svg, tex, got '[^\n]*'[^\n]*$"):
            parse_formats(bad)
    _, plan, _ = study
    rows = _current_rows(plan)
    report = build_report(rows, {"study": "s"}, lambda ref: read_examples(plan.study.output_dir, ref))
    only = tmp_path / "md-tex"
    assert write_report(report, only, "md,tex") == only / "report.md"
    written = {path.name for path in only.iterdir()}
    displayed = {f"{name}.tex" for name in report.tables() if not name.endswith("_values")}
    assert written == {"report.md", "report.tex", *displayed}
    markdown = (only / "report.md").read_text()
    assert "](panx_heatmap.png)" not in markdown and "[csv](" not in markdown and "[tex](panx_cells.tex)" in markdown
    assert "\\includegraphics" not in (only / "report.tex").read_text()  # no PDF figures to include
    vectors = tmp_path / "vectors"
    assert write_report(report, vectors, ["svg", "pdf"]) == vectors
    assert {path.suffix for path in vectors.iterdir()} == {".svg", ".pdf"}
    from typer.testing import CliRunner

    bad = CliRunner().invoke(app, ["report", "no-such-study.toml", "--formats", "md,docx"])
    assert bad.exit_code != 0 and "docx unknown" in str(bad.exception) + bad.output


def _odd_report():
    """A report whose every text holds LaTeX's special characters."""
    from xstilts.results.report import Report, Section

    table = pd.DataFrame({"name_1": [_ODD, "plain"], "100% & more": [1.25, float("nan")], "n": [3, 4]})
    section = Section("Odd # section", [_ODD])
    section.add_table("odd_table", table, f"Title with {_ODD}")
    return Report("t_1", _ODD, [Section("Headline", [_ODD]), section], [])


def _pdflatex(folder: Path) -> tuple[str, bytes]:
    """Compile folder/report.tex: (the log, the PDF)."""
    result = subprocess.run([shutil.which("pdflatex"), "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    log = (folder / "report.log").read_text(errors="replace") if (folder / "report.log").exists() else ""
    assert result.returncode == 0, (result.stdout + log)[-3000:]
    assert "LaTeX Error" not in log and "Undefined control sequence" not in log
    return log, (folder / "report.pdf").read_bytes()


def test_report_tex_compiles_with_pdflatex(paper_report, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended); "
                    "test_latex_tables_are_escaped_balanced_and_hold_the_tables_text checks the LaTeX without it")
    report, folder = paper_report
    build = tmp_path / "latex"
    shutil.copytree(folder, build)
    log, pdf = _pdflatex(build)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    pages = int(re.search(r"Output written on report\.pdf \((\d+) pages?", log).group(1))
    assert pages >= len(report.sections) - 2  # a page per section with tables or figures
    # Every special character, escaped by pandas, compiles too.
    odd = tmp_path / "odd"
    write_report(_odd_report(), odd, "tex")
    _, pdf = _pdflatex(odd)
    assert pdf.startswith(b"%PDF-")
