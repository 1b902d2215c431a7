"""`xstilts results show|export|rebuild` and `xstilts report`: reading a study's results store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from xstilts.cli.common import app, console, err_console, results_app, study_and_plan
from xstilts.cli.show import plan_rows, show_results
from xstilts.errors import ConfigError


@results_app.command("show")
def results_show(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row, labelled by plan/settings, "
                                  "not only the current plan's."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Per-order, per-language tables (mean ± std over seeds) of the current plan's results."""
    _, run_plan = study_and_plan(study, data)
    show_results(run_plan, console, all_rows)


@results_app.command("export")
def results_export(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    out: Path = typer.Option(..., help="Output file (.csv or .parquet)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv | parquet (default: from --out's suffix)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row (with a labelled condition column)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Export the current plan's result rows (or --all-rows) as CSV or Parquet."""
    from xstilts.results.export import export_frame


    _, run_plan = study_and_plan(study, data)
    frame, _ = plan_rows(run_plan, all_rows)
    if frame is None:
        raise ConfigError(f"{study}: no results to export ({run_plan.study.output_dir} has no results store yet)")
    print(export_frame(frame, out, fmt or (out.suffix.lstrip(".") or "csv")))


@app.command("report")
def report(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row, labelled by plan/settings."),
    include_contaminated: bool = typer.Option(False, help="Keep contaminated cells in the language averages."),
    correction: str = typer.Option("holm", help="Multiple-testing correction within each family: holm | bh."),
    test: str = typer.Option("t", help="t: paired t-test over seeds (generalises over new seeds) | t+items: adds the "
                                       "evaluation items' variance (also over new test items)."),
    effect: Optional[float] = typer.Option(None, help="The difference the seeds advisor sizes for (default: the "
                                                      "study's [report] effect, 1 point)."),
    out: Optional[Path] = typer.Option(None, help="Report folder (default: OUTPUT_DIR/report)."),
    formats: str = typer.Option("all", "--formats",
                                help="What to write, comma-separated: md (report.md), html (report.html), csv (every "
                                     "table), tex (booktabs tables and report.tex), png, pdf, svg (every plot); "
                                     "all (the default) is every one."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Write the study report (report.md, self-contained report.html, CSV and LaTeX tables, plots as
    PNG, PDF and SVG; --formats chooses) and print its path and headline."""
    from xstilts.execution.result_rows import read_examples
    from xstilts.results.report import build_report, write_report
    from xstilts.results.report.render import parse_formats
    from xstilts.study.provenance import study_facts

    chosen = parse_formats(formats)  # a typo fails before the study is read
    spec, run_plan = study_and_plan(study, data)
    options = report_options(spec, correction, test, effect, include_contaminated)
    if spec.sequential is not None:  # the primary contrasts as the design decided them
        from dataclasses import replace

        from xstilts.results.report.sequential import study_setting

        options = replace(options, sequential=study_setting(run_plan))
    frame, dropped = plan_rows(run_plan, all_rows)
    if frame is None or frame.empty:
        raise ConfigError(f"{study}: no results of the current plan in {run_plan.study.output_dir} yet: run the study first")
    facts = {**study_facts(run_plan, study), "rows_not_in_plan": dropped}
    study_dir = run_plan.study.output_dir
    built = build_report(frame, facts, lambda ref: read_examples(study_dir, ref), options)
    path = write_report(built, out or study_dir / "report", chosen)
    print(path)
    print(built.headline)


def report_options(spec, correction: str, test: str, effect: Optional[float], include_contaminated: bool = False):
    from xstilts.results.report import ReportOptions
    from xstilts.results.statistics import CORRECTIONS, METHODS

    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if test not in METHODS:
        raise ConfigError(f"--test: expected one of {', '.join(METHODS)}, got {test!r}")
    if effect is not None and not effect > 0:
        raise ConfigError(f"--effect: a positive difference in metric points, got {effect}")
    return ReportOptions(correction=correction, test=test, include_contaminated=include_contaminated,
                         listed_contrasts=tuple(tuple(pair) for pair in spec.report.contrasts),
                         effect=effect if effect is not None else spec.report.effect, suite=spec.suite)


@results_app.command("rebuild")
def results_rebuild(study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML).")) -> None:
    """Recreate a study's results store from the rows each evaluation keeps in its folder."""
    from xstilts.results.node_rows import rebuild_store
    from xstilts.study import load_study

    path, evaluations, rows = rebuild_store(load_study(study).output_dir)
    err_console.print(f"rebuilt {path}: {rows} rows from {evaluations} evaluations", markup=False, highlight=False)
