"""``build_report``: the whole report of the filtered store rows, section by section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from xstilts.results.filtering import condition_rows
from xstilts.results.report.contrasts import compute_contrasts
from xstilts.results.report.notes import provenance_section, warnings_section
from xstilts.results.report.rows import condition_paths, ordered_conditions, ordered_targets
from xstilts.results.report.sections import (
    contrast_section, paper_table_section, seeds_section, target_section, trajectory_section, transfer_gap_section,
)
from xstilts.results.report.sequential_section import sequential_section
from xstilts.results.report.types import Report, ReportOptions, Section
from xstilts.results.report.wording import headline
from xstilts.results.statistics import ExampleLoader


def build_report(rows: pd.DataFrame, facts: Mapping[str, Any], load_examples: ExampleLoader | None,
                 options: ReportOptions = ReportOptions()) -> Report:
    """The report of the filtered store ``rows`` (with ``condition``); ``facts`` are study-level
    provenance (name, model, hashes, machine, excluded row counts...)."""
    paths = condition_paths(rows)
    conditions = ordered_conditions(paths)
    targets = ordered_targets(condition_rows(rows))
    contrasts = compute_contrasts(rows, load_examples, options)
    sections = [
        paper_table_section(rows, targets, conditions, options),
        *[target_section(rows, target, conditions, options) for target in targets],
        contrast_section(rows, contrasts, options),
        sequential_section(rows, contrasts, options),
        seeds_section(rows, contrasts, options),
        transfer_gap_section(rows, targets, conditions),
        trajectory_section(rows, targets, conditions, options),
        warnings_section(rows, targets, contrasts, facts, options),
        provenance_section(rows, facts, options),
    ]
    text = headline(rows, contrasts, options)
    title = f"xstilts report: {facts.get('study', 'study')}"
    return Report(title, text, [Section("Headline", [text]), *[s for s in sections if s is not None]], contrasts)

