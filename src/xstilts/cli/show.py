"""What `xstilts run` and `xstilts results show` print of a study's results: the current plan's
tables, the suite's score per condition and the notes that need no contrast.
"""

from __future__ import annotations

from rich.console import Console


def plan_rows(run_plan, all_rows: bool):
    """The store rows a table, export or report reads (the current plan's unless ``all_rows``) and
    how many stored rows were left out; None when the study has no store yet."""
    from xstilts.results.filtering import stored_plan_rows

    return stored_plan_rows(run_plan.study.output_dir, [node.id for node in run_plan.eval_nodes], all_rows)


def show_suite_score(frame, suite: str, out: Console) -> None:
    """The study suite's group scores and score per condition (mean over seeds), as the report's table."""
    import pandas as pd
    from rich.table import Table

    from xstilts.results.report import condition_suite_table

    table, notes = condition_suite_table(frame, suite)
    shown = Table(title=str(table.columns[-1]))
    shown.add_column("condition")
    for column in table.columns:
        shown.add_column(str(column), justify="right")
    for condition, values in table.iterrows():
        shown.add_row(condition, *("-" if pd.isna(v) else f"{v:.2f}" for v in values))
    out.print(shown)
    for note in notes:
        out.print(f"note: {note}", markup=False, highlight=False)


def show_results(run_plan, out: Console, all_rows: bool = False) -> None:
    from xstilts.results.report import result_notes
    from xstilts.results.table import build_tables, render_tables

    frame, dropped = plan_rows(run_plan, all_rows)
    if frame is None:
        out.print(f"no results yet ({run_plan.study.output_dir} has no results store; `xstilts run STUDY` makes one)",
                  markup=False, highlight=False)
        return
    if frame.empty:
        out.print("no results of the current plan yet" + (f" ({dropped} rows of other plans: --all-rows)" if dropped else ""))
        return
    render_tables(build_tables(frame), out)
    show_suite_score(frame, run_plan.study.suite, out)
    for note in result_notes(frame, {"rows_not_in_plan": dropped}):
        out.print(f"note: {note}", highlight=False)
