"""The study report: the answer to "does the order of intermediate stages change zero-shot
transfer, and where?", computed from the filtered store rows (``results.filtering``) with the
statistics of ``results.statistics``. ``build_report`` is pure (rows, study facts and a loader of
per-example outputs in; a ``Report`` of text, titled tables and figures out); ``write_report``
writes report.md, a self-contained report.html (figures embedded), every table as CSV and as a
booktabs LaTeX table with a report.tex that inputs them, and every figure as PNG, PDF and SVG
(``formats`` chooses; ``xstilts report --formats``).

One concept per module:

- ``types``: the options, a section, the report;
- ``rows``: row queries (conditions, targets, a target's rows, languages and per-run scores);
- ``scores``: a suite's score per condition;
- ``contrasts``: the tested, adjusted contrasts and their tables (the seeds advisor's too);
- ``trajectory``: scores after each stage of an order;
- ``wording``: condition names, the headline, the contrasts as a reader reads them, metric units;
- ``notes``: the warnings and the provenance;
- ``sections``: the table and figure sections;
- ``build``: ``build_report``;
- ``render``: Markdown, HTML, LaTeX and the files.
"""

from __future__ import annotations

from xstilts.results.report.build import build_report
from xstilts.results.report.contrasts import compute_contrasts, contrast_values, oriented, seed_advice_table
from xstilts.results.report.notes import compute_confounds, differing_hyperparameters, eval_precisions, result_notes
from xstilts.results.report.render import FORMATS, parse_formats, render_html, render_latex, render_markdown, write_report
from xstilts.results.report.rows import (
    averaged_languages, baseline_condition, condition_paths, contaminated_languages, ordered_conditions,
    ordered_targets, target_name, target_rows, target_scores_per_run, target_task,
)
from xstilts.results.report.scores import condition_suite_table, counted_targets, suite_notes, suite_table
from xstilts.results.report.trajectory import stage_trajectories, trajectory_summary
from xstilts.results.report.types import Report, ReportOptions, Section
from xstilts.results.report.wording import contrast_table, describe, headline

_eval_precisions = eval_precisions  # the name tests/test_results_report.py imports

__all__ = [
    "FORMATS", "Report", "ReportOptions", "Section", "averaged_languages", "baseline_condition", "build_report",
    "compute_confounds", "compute_contrasts", "condition_suite_table", "condition_paths", "contaminated_languages", "contrast_table",
    "contrast_values", "counted_targets", "describe", "differing_hyperparameters", "eval_precisions", "headline",
    "ordered_conditions", "ordered_targets", "oriented", "parse_formats", "render_html", "render_latex", "render_markdown", "result_notes",
    "seed_advice_table", "stage_trajectories", "suite_notes", "suite_table", "target_name", "target_rows", "target_scores_per_run",
    "target_task", "trajectory_summary", "write_report",
]
