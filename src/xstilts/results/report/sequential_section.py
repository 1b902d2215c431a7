"""The report's section on a sequential seed design: the design, its boundaries per look, and
where each primary contrast stopped with the numbers that are valid under the design."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from xstilts.results.report.rows import target_name
from xstilts.results.report.types import ReportOptions, Section
from xstilts.results.report.wording import _level, shown_value
from xstilts.results.sequential.operating import operating
from xstilts.results.statistics import AVERAGE, ContrastResult, format_number, format_p


def boundary_table(options: ReportOptions) -> pd.DataFrame:
    bounds = options.sequential.bounds
    design = bounds.design
    records = []
    for k, n in enumerate(design.looks):
        last = k == len(design.looks) - 1
        records.append({
            "look": k + 1, "seeds": n, "df": n - 1,
            "effect if |t| >=": format_number(bounds.efficacy[k], 2) if math.isfinite(bounds.efficacy[k]) else "-",
            "nominal p": format_p(bounds.nominal[k]) if bounds.nominal[k] is not None else "-",
            "no effect if |t| <": "every other t" if last else (format_number(bounds.futility[k], 2)
                                                               if bounds.futility[k] > 0 else "-"),
            "error spent": f"{bounds.spent[k]:.5f}",
        })
    return pd.DataFrame(records)


def design_lines(options: ReportOptions) -> list[str]:
    """The design in sentences (the section, the seeds advisor and the provenance use them)."""
    bounds = options.sequential.bounds
    design = bounds.design
    null, effect = operating(bounds, 0.0), operating(bounds, bounds.design_effect)
    return [
        f"Sequential seed design: {design.describe()}.",
        f"Boundaries on the paired t statistic, calibrated by simulating the null law of the t statistics at the "
        f"looks ({bounds.paths} paths, seed {bounds.seed}); futility is non-binding (continuing past it never raises "
        f"the error). The design effect is {format_number(bounds.design_effect, 2)} SD of the per-seed differences "
        f"(what a fixed design of {design.max_seeds} seeds detects with 80% power at alpha {design.alpha_each:.4g}): "
        f"there the design has power {effect.power:.2f} and takes {effect.expected_seeds:.1f} seeds on average; "
        f"with no difference, {null.expected_seeds:.1f} of {design.max_seeds} (normal seed noise; "
        "benchmarks/sequential_calibration.py measures heavy-tailed and collapsing seeds too).",
    ]


def sequential_section(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions
                       ) -> Section | None:
    if options.sequential is None:
        return None
    primary = [c for c in contrasts if c.lang == AVERAGE and c.sequential is not None]
    section = Section("Sequential design", [
        *design_lines(options),
        "Each primary contrast's numbers come from the seeds of the look where it stopped (later seeds, trained for "
        "another contrast, never change its decision). Its adjusted p is the stage-wise-ordering p (outcomes ordered "
        "by the look they stop at, then by |t|) times the number of primary contrasts (Bonferroni); its interval is "
        "the repeated confidence interval at that look, which covers the true difference at every look at once. "
        "Both agree with the decision. Per-language contrasts on the same seeds are descriptive (not adjusted for the "
        "looks)."])
    section.add_table("sequential_boundaries", boundary_table(options), "Sequential design: the boundaries per look")
    records = []
    for c in primary:
        outcome = c.sequential
        low, high = outcome.interval or (None, None)
        last = outcome.last
        records.append({
            "target": target_name(rows, c.target), "contrast": f"{c.condition_a} - {c.condition_b}",
            "decision": outcome.decision, "where": outcome.where(), "reason": outcome.reason,
            "A - B": shown_value(c.mean_difference, sign=True),
            "t": format_number(last.t, 2) if last is not None and last.t is not None else "-",
            "adjusted p": format_p(outcome.adjusted_p),
            "repeated CI": f"{shown_value(low)} to {shown_value(high)} ({_level(outcome.interval_level)})"
            if outcome.interval else "-",
        })
    if records:
        section.add_table("sequential_decisions", pd.DataFrame(records),
                          "Sequential design: where each primary contrast stopped")
    return section
