"""A study with a [sequential] design: the file's table, the plan (the fixed design's node ids),
what each look runs, and the look-by-look run with its recorded decisions, resumed after a kill.
Nodes are not trained here: a fake executor records synthetic rows for the evaluations of each
look (tests/test_end_to_end_sequential.py runs a real study)."""

from __future__ import annotations

import hashlib
import json

import pytest

from test_study_plan import STUDY, plan_for
from xstilts.errors import ConfigError
from xstilts.execution.looks import run_looks
from xstilts.execution.scheduler import RunSummary
from xstilts.results.sequential.planning import plan_bounds, plan_contrasts, render_lines, sequential_summary
from xstilts.results.sequential.record import read_record, record_path
from xstilts.results.store import ResultRow, ResultStore
from xstilts.study.sequential import look_plan

SEEDS = 'seeds = [1, 2]'
SEQUENTIAL = STUDY.replace(SEEDS, "seeds = [1, 2, 3, 4, 5, 6]") + """
[report]
contrasts = [["A", "baseline"]]

[sequential]
looks = [2, 4, 6]
"""
FIXED = STUDY.replace(SEEDS, "seeds = [1, 2, 3, 4, 5, 6]") + """
[report]
contrasts = [["A", "baseline"]]
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


def test_the_plan_is_the_fixed_designs_with_every_seed(tmp_path):
    fixed, sequential = plan_for(tmp_path, FIXED, "fixed"), plan_for(tmp_path, SEQUENTIAL, "sequential")
    assert [n.id for n in fixed.train_nodes] == [n.id for n in sequential.train_nodes]
    assert [e.id for e in fixed.eval_nodes] == [e.id for e in sequential.eval_nodes]
    assert fixed.study.sequential is None and sequential.study.sequential.looks == [2, 4, 6]
    # Orders A>B / B>A and the listed A - baseline, on panx and tatoeba: 4 primary contrasts.
    assert plan_contrasts(sequential) == [("panx", "A>B", "B>A"), ("panx", "A", "baseline"),
                                          ("tatoeba", "A>B", "B>A"), ("tatoeba", "A", "baseline")]
    assert plan_bounds(sequential).design.contrasts == 4


@pytest.mark.parametrize("table,message", [
    ("looks = [2, 4]", "sequential.looks: the last look (4 seeds) must be the number of seeds listed in seeds (6)"),
    ("looks = [4, 2, 6]", "sequential.looks: looks are cumulative seed counts and must increase"),
    ("looks = [1, 6]", "sequential.looks: the first look needs at least 2 seeds"),
    ("looks = [2, 6]\nspending = \"haybittle\"", "sequential.spending"),
    ("looks = [2, 6]\nfutility_bet = 0.1", "sequential: unknown key 'futility_bet'"),
])
def test_a_wrong_design_is_one_line_naming_the_field(tmp_path, table, message):
    text = SEQUENTIAL.replace("looks = [2, 4, 6]", table)
    with pytest.raises(ConfigError, match="^.*study.toml: " + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")) as error:
        plan_for(tmp_path, text)
    assert "\n" not in str(error.value)


def test_a_look_runs_the_undecided_conditions_of_its_seeds(tmp_path):
    plan = plan_for(tmp_path, SEQUENTIAL)
    first = look_plan(plan, [1, 2], None)
    assert {s for e in first.eval_nodes for s in e.seeds} >= {1, 2}
    assert {n.seed for n in first.train_nodes} == {1, 2}
    # Every condition of seeds 1-2 (the untrained baseline's Tatoeba evaluation stands for all seeds).
    assert len(first.eval_nodes) == len([e for e in plan.eval_nodes if {1, 2} & set(e.seeds)])
    later = look_plan(plan, [1, 2, 3, 4], {("A", "panx"), ("baseline", "panx")})
    assert {(e.order, e.target) for e in later.eval_nodes} == {("A", "panx"), ("baseline", "panx")}
    # A's trainings and the panx fine-tunings on top of A and of the base model, for seeds 1-4.
    assert sorted((n.label, n.seed) for n in later.train_nodes) == sorted(
        [(label, seed) for seed in (1, 2, 3, 4) for label in ("A", "panx", "panx")])
    ids = {n.id for n in later.train_nodes}
    assert all(n.parent is None or n.parent in ids for n in later.train_nodes)


def _value(order: str, target: str, seed: int, lang: str) -> float:
    """Synthetic scores: on Tatoeba, A is 30 points above the untrained baseline (one evaluation,
    the same in every seed) with almost no seed noise: decided at the first look; elsewhere seed
    noise (SD about 1.5) and no difference."""
    digest = hashlib.sha256(f"{order}|{target}|{seed}|{lang}".encode()).digest()
    noise = (int.from_bytes(digest[:4], "big") / 2**32 - 0.5) * 5
    if target == "tatoeba" and order == "baseline":
        return 50.0
    if target == "tatoeba" and order == "A":
        return 80.0 + 0.001 * noise
    return 60.0 + noise


class FakeExecutor:
    """Records the rows of every evaluation of a part (no training); ``stop_at``: raise
    KeyboardInterrupt (a kill) after that many parts, half-way through the part's evaluations."""

    def __init__(self, plan, stop_at: int | None = None):
        self.plan, self.stop_at, self.parts, self.evaluated = plan, stop_at, [], []

    def __call__(self, part) -> RunSummary:
        self.parts.append(part)
        store = ResultStore.for_study(part.study.output_dir)
        done = store.done_evals()
        evaluated = []
        for index, evaluation in enumerate(part.eval_nodes):
            if self.stop_at is not None and len(self.parts) == self.stop_at and index == len(part.eval_nodes) // 2:
                raise KeyboardInterrupt
            for seed in evaluation.seeds:
                key = f"{evaluation.id}:{seed}"
                if key in done:
                    continue
                metric = "f1" if evaluation.task == "panx" else "accuracy"
                rows = [ResultRow(evaluation.task, lang, evaluation.split, metric,
                                  _value(evaluation.order, evaluation.target, seed, lang), evaluation.model_node or "base",
                                  seed, evaluation.order, evaluation.stage_path, "m", "s", eval_node=evaluation.id,
                                  target=evaluation.target, training=list(evaluation.path), role=evaluation.role)
                        for lang in evaluation.langs]
                store.record_eval(key, rows)
                evaluated.append(key)
        self.evaluated += evaluated
        return RunSummary(trained=[n.id for n in part.train_nodes], evaluated=evaluated)


def _decisions(study_dir) -> list[tuple]:
    record = read_record(study_dir)
    return [(entry["look"], c["target"], c["a"], c["b"], c["decision"], c["t"], tuple(c["rows"]))
            for entry in record["looks"] for c in entry["contrasts"]]


def test_the_run_stops_decided_contrasts_and_a_killed_run_resumes_with_the_same_decisions(tmp_path):
    plan = plan_for(tmp_path, SEQUENTIAL, "whole")
    said: list[str] = []
    executor = FakeExecutor(plan)
    summary = run_looks(plan, executor, said.append)
    assert summary.ok
    record = read_record(plan.study.output_dir)
    first = {(c["target"], c["a"], c["b"]): c for c in record["looks"][0]["contrasts"]}
    decided = first[("tatoeba", "A", "baseline")]
    assert decided["decision"] == "effect" and decided["seeds"] == 2
    # Its rows: A's two Tatoeba evaluations and the baseline's one evaluation, recorded under each seed.
    assert len(decided["rows"]) == 4 and len({row.split(":")[0] for row in decided["rows"]}) == 3
    # After the first look, Tatoeba's A and baseline are no longer evaluated unless another undecided
    # contrast needs them; the decided contrast is not analysed again.
    for part in executor.parts[1:]:
        assert ("A", "tatoeba") not in {(e.order, e.target) for e in part.eval_nodes}
    assert all(("tatoeba", "A", "baseline") != (c["target"], c["a"], c["b"])
               for entry in record["looks"][1:] for c in entry["contrasts"])
    assert any("look 1 decisions" in line for line in said) and "every contrast is decided" in said[-1]
    assert record["design"]["looks"] == [2, 4, 6] and record["seeds"] == [1, 2, 3, 4, 5, 6]

    # The same study killed during its second look, then run again.
    killed = plan_for(tmp_path, SEQUENTIAL, "killed")
    with pytest.raises(KeyboardInterrupt):
        run_looks(killed, FakeExecutor(killed, stop_at=2), said.append)
    assert [entry["look"] for entry in read_record(killed.study.output_dir)["looks"]] == [0]
    stamp = read_record(killed.study.output_dir)["looks"][0]["decided_at"]
    resumed = FakeExecutor(killed)
    assert run_looks(killed, resumed, said.append).ok
    assert read_record(killed.study.output_dir)["looks"][0]["decided_at"] == stamp  # look 1 reused, not redone
    assert _decisions(killed.study.output_dir) == _decisions(plan.study.output_dir)
    store_rows = lambda p: sorted(  # noqa: E731
        (r["eval_id"], r["lang"], r["value"]) for r in ResultStore.for_study(p.study.output_dir).rows())
    assert store_rows(killed) == store_rows(plan)
    # A finished run, run again, decides nothing new and records nothing new.
    before = record_path(killed.study.output_dir).read_text()
    again = FakeExecutor(killed)
    assert run_looks(killed, again, said.append).ok
    assert record_path(killed.study.output_dir).read_text() == before
    assert again.parts and again.evaluated == []


def test_a_record_of_another_design_is_refused_in_one_line(tmp_path):
    plan = plan_for(tmp_path, SEQUENTIAL)
    assert run_looks(plan, FakeExecutor(plan), lambda text: None).ok
    other = plan_for(tmp_path, SEQUENTIAL.replace("looks = [2, 4, 6]", "looks = [3, 6]"))
    with pytest.raises(ConfigError, match=r"sequential.json: recorded for another design .*move it away"):
        run_looks(other, FakeExecutor(other), lambda text: None)


def test_plan_states_the_looks_boundaries_and_expected_trainings(tmp_path):
    plan = plan_for(tmp_path, SEQUENTIAL.replace("looks = [2, 4, 6]", "looks = [2, 4, 6]\nsd = 2.0"))
    summary = sequential_summary(plan, effect_points=3.0)
    assert [look["seeds"] for look in summary["looks"]] == [2, 4, 6]
    assert summary["max_trainings"] == len(plan.train_nodes)
    scenarios = summary["scenarios"]
    assert set(scenarios) == {"no effect", "design effect", "3 points (SD 2)"}
    assert scenarios["no effect"]["trainings"] < scenarios["design effect"]["trainings"] < summary["max_trainings"]
    assert 0.7 < scenarios["design effect"]["power"] < 0.8
    json.dumps(summary)  # plan --json prints it
    lines = render_lines(summary)
    assert lines[1].startswith("  look 1: 2 seeds (1, 2; 1 df): effect if |t| >= ")
    assert lines[3].endswith("otherwise no effect")
    assert f"trainings: at most {len(plan.train_nodes)} " in lines[5] and "at 3 points (SD 2)" in lines[5]


def test_the_report_says_where_each_contrast_stopped(tmp_path):
    from xstilts.results.filtering import stored_plan_rows
    from xstilts.results.report import ReportOptions, build_report, render_markdown
    from xstilts.results.report.sequential import study_setting

    plan = plan_for(tmp_path, SEQUENTIAL)
    assert run_looks(plan, FakeExecutor(plan), lambda text: None).ok
    rows, _ = stored_plan_rows(plan.study.output_dir, [e.id for e in plan.eval_nodes], all_rows=False)
    options = ReportOptions(listed_contrasts=(("A", "baseline"),), sequential=study_setting(plan))
    report = build_report(rows, {"study": "tiny"}, None, options)
    record = read_record(plan.study.output_dir)
    stopped = {(c["target"], c["a"], c["b"]): (entry["look"], c["decision"]) for entry in record["looks"]
               for c in entry["contrasts"] if c["decision"] != "continue"}
    primary = {(c.target, c.condition_a, c.condition_b): c for c in report.contrasts if c.lang == "avg"}
    assert set(primary) == set(stopped)
    for key, (look, decision) in stopped.items():
        outcome = primary[key].sequential
        assert (outcome.look, outcome.decision) == (look, decision)
        assert primary[key].n_seeds == (2, 4, 6)[look]  # its numbers come from the seeds of that look
        assert primary[key].significant == (decision == "effect")
        assert primary[key].family_size == 4 and primary[key].adjusted_p == outcome.adjusted_p
    assert "A beats baseline on Tatoeba by 30" in report.headline
    assert "decided after 2 of at most 6 seeds" in report.headline
    assert report.headline.count("decided after") == 4
    tables = report.tables()
    assert list(tables["sequential_boundaries"]["seeds"]) == [2, 4, 6]
    assert set(tables["sequential_decisions"]["decision"]) <= {"effect", "no effect"}
    text = render_markdown(report)
    assert "## Sequential design" in text and "Sequential seed design: looks after 2, 4, 6 seeds" in text
    assert "Sequential design: looks after 2, 4, 6 seeds" in text  # the provenance line
    # Without the design, the same rows give the fixed report: no sequential section or column.
    fixed = build_report(rows, {"study": "tiny"}, None, ReportOptions(listed_contrasts=(("A", "baseline"),)))
    assert "sequential_decisions" not in fixed.tables() and "decided after" not in fixed.headline
    assert "decision" not in fixed.tables()["contrasts"].columns


def test_a_sequential_study_without_contrasts_is_refused(tmp_path):
    text = SEQUENTIAL.replace('permutations = [["A", "B"]]\n', "").replace('contrasts = [["A", "baseline"]]', "")
    plan = plan_for(tmp_path, text)
    with pytest.raises(ConfigError, match="sequential: the study compares no two orders.*\\[report\\] contrasts"):
        plan_bounds(plan)
