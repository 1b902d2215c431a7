"""`xstilts plan` (with --pilot: the seeds a study needs) and `xstilts run`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from xstilts.cli.common import app, console, err_console, print_error, print_json, study_and_plan
from xstilts.cli.data import run_fetch
from xstilts.cli.show import plan_rows, show_results
from xstilts.errors import ConfigError


@app.command("plan")
def plan(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the tree."),
    pilot: Optional[Path] = typer.Option(None, help="A finished pilot study: size this study's seeds from its seed "
                                                    "variance and say what they cost."),
    effect: Optional[float] = typer.Option(None, help="With --pilot: the difference to detect (default: the study's "
                                                      "[report] effect, 1 point)."),
) -> None:
    """Show the run plan: shared trainings, evaluations, contamination, report contrasts, cost and
    disk estimates; with --pilot, the seeds the contrasts need."""
    from xstilts.study import plan_summary, render_plan

    spec, run_plan = study_and_plan(study, data)
    advice = pilot_advice(spec, run_plan, pilot, effect, data) if pilot is not None else None
    sequential = sequential_plan(spec, run_plan, advice, effect) if spec.sequential is not None else None
    if as_json:
        summary = plan_summary(run_plan)
        if advice is not None:
            summary["seeds_advice"] = advice
        if sequential is not None:
            summary["sequential"] = sequential
        print_json(summary)
        return
    render_plan(run_plan, console)
    if advice is not None:
        render_advice(advice, console)
    if sequential is not None:
        from xstilts.results.sequential.planning import render_lines

        for line in render_lines(sequential):
            console.print(line, markup=False, highlight=False)


def sequential_plan(spec, run_plan, advice: Optional[dict], effect: Optional[float]) -> dict:
    """The design's looks, boundaries and expected trainings; at the advisor's effect when the SD of
    per-seed differences is known (the design's ``sd``, else the pilot's pooled SD)."""
    from xstilts.results.sequential.planning import sequential_summary

    sd = None
    if advice is not None:
        sds = [row["pilot_sd"] for row in advice["contrasts"] if row.get("pilot_sd")]
        sd = (sum(value**2 for value in sds) / len(sds)) ** 0.5 if sds else None
    return sequential_summary(run_plan, effect if effect is not None else spec.report.effect, sd)


def pilot_advice(spec, run_plan, pilot: Path, effect: Optional[float], data: Optional[Path]) -> dict:
    """The seeds this study's contrasts need, from the pilot's seed variance, and their cost."""
    from xstilts.results.seed_planning import measured_seconds, pilot_advice as advise
    from xstilts.results.store import ResultStore

    effect = effect if effect is not None else spec.report.effect
    if not effect > 0:
        raise ConfigError(f"--effect: a positive difference in metric points, got {effect}")
    pilot_spec, pilot_plan = study_and_plan(pilot, data)
    rows, _ = plan_rows(pilot_plan, all_rows=False)
    if rows is None or rows.empty:
        raise ConfigError(f"--pilot {pilot}: no results of its current plan in {pilot_plan.study.output_dir}: run the "
                          "pilot first")
    measured = measured_seconds(ResultStore.for_study(pilot_plan.study.output_dir))
    return advise(spec, run_plan, pilot_spec, rows, measured, effect, pilot=str(pilot), data_dir_override=data)


def render_advice(advice: dict, out: Console) -> None:
    from rich.table import Table

    table = Table(title=f"Seeds to detect {advice['effect']:g} points with 80% power (pilot {advice['pilot']}; "
                        f"paired t-test, alpha 0.05)")
    for column in ("target", "contrast", "pilot SD", "SD from", f"detectable with {advice['seeds_now']} seeds",
                   "seeds needed", "cautious"):
        table.add_column(column)
    for row in advice["contrasts"]:
        def number(value, digits=2):
            return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))
        table.add_row(row["target"], row["contrast"], number(row["pilot_sd"]), row["sd_source"],
                      number(row["detectable_now"]), number(row["seeds_needed"]), number(row["seeds_needed_cautious"]))
    out.print(table)
    for cost in advice["cost"]:
        pilot_speed = (f", {cost['seconds_at_pilot_speed'] / 3600:.1f} h at the pilot's measured speed"
                       if cost["seconds_at_pilot_speed"] is not None else "")
        out.print(f"{cost['seeds']} seeds ({cost['sizing'].replace('_', ' ')}): {cost['trainings']} trainings, "
                  f"{cost['evaluations']} evaluations, estimated {cost['estimated_seconds'] / 3600:.1f} h{pilot_speed}",
                  highlight=False)
    if not advice["cost"]:
        out.print("no contrast could be sized: the pilot has no contrast with 2 or more seeds", highlight=False)


@app.command("run")
def run(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    executor: str = typer.Option("local", help="local | ray"),
    workers: Optional[int] = typer.Option(None, help="Concurrent nodes (default: the study's execution.workers)."),
    keep: Optional[str] = typer.Option(None, help="best | leaves: which models to keep on disk."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local Ray)."),
    gpus_per_node: float = typer.Option(0.0, help="GPUs each node asks for (e.g. 0.5: two nodes per GPU)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
    fetch: bool = typer.Option(False, "--fetch", help="Download missing data from the hub first (needs network)."),
) -> None:
    """Run every node of a study (resumable: re-run the same command after a crash)."""
    from xstilts.errors import MissingDataError
    from xstilts.execution.runner import run_study
    from xstilts.paths import fetched_data_dir
    from xstilts.tasks.fetch.sources import sources_for_selections

    spec, run_plan = study_and_plan(study, data)
    if run_plan.missing_data and fetch:
        target = run_plan.data_dir or fetched_data_dir()
        run_fetch(sources_for_selections(run_plan.missing_selections), target, dry_run=False)
        spec, run_plan = study_and_plan(study, data or target)
    if run_plan.missing_data:
        raise MissingDataError(
            f"{len(run_plan.missing_data)} data selections are missing (e.g. {run_plan.missing_data[0]}); fetch them "
            f"with `xstilts data fetch --study {study}`, or rerun with --fetch")
    summary = run_study(run_plan, executor=executor, workers=workers, keep=keep, ray_address=ray_address,
                        gpus_per_node=gpus_per_node, console=err_console)
    show_results(run_plan, console)
    if not summary.ok:
        for node_id, error in summary.failed.items():
            print_error(f"{summary.failed_labels.get(node_id, 'node')} ({node_id}): {error}", prefix="failed ")
        raise typer.Exit(1)
