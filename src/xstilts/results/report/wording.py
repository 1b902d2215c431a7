"""The report's sentences: how a condition is named, the headline, and the contrasts as a reader
reads them. The headline states only what the tests support: the interval beside an adjusted p is
at the level that agrees with it, its sign follows the sentence, and a contrast with fewer than 2
seeds is not tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from xstilts.languages import language_name
from xstilts.metrics.registry import unit
from xstilts.scoring.aggregate import primary_metric
from xstilts.results.report.contrasts import oriented
from xstilts.results.report.rows import averaged_languages, condition_paths, target_name
from xstilts.results.report.types import CORRECTION_NAMES, ReportOptions
from xstilts.results.statistics import AVERAGE, POWER, ContrastResult, format_number, format_p
from xstilts.results.power import seed_advice
from xstilts.study.comparisons import ConditionPath


HEADLINE_RELATIONS = ("orders", "listed")  # the contrasts the headline speaks about (others: the contrast table)

def metric_unit(task: str) -> str:
    """How a difference in the task's primary metric is named ("F1", "accuracy": metrics.registry)."""
    return unit(primary_metric(task))


def describe(paths: Mapping[str, ConditionPath], condition: str, other: str) -> str:
    """``English-first (nli_en>nli_de)`` when the first stages' languages tell the two apart."""
    mine, theirs = paths[condition], paths.get(other)
    if len(mine.stages) == 1 and len(mine.stages[0].data) > 1:
        return f"the mixed stage ({condition})"
    languages = mine.first_languages()
    if (len(mine.stages) > 1 and theirs is not None and len(theirs.stages) > 1 and len(languages) == 1
            and languages != theirs.first_languages()):
        (language,) = languages
        return f"{language_name(language)}-first ({condition})"
    return condition


def _level(level: float) -> str:
    """95% / 98.3% / 99.998%: the interval's confidence level, never rounded up to 100%."""
    for digits in range(1, 6):
        text = f"{100 * level:.{digits}f}"
        if float(text) < 100:
            return text.rstrip("0").rstrip(".") + "%"
    return f"{100 * level:.6f}%"


def _magnitude(difference: float) -> str:
    """A difference > 0 with the digits it needs to show that it is not 0 (0.04 -> "0.04")."""
    for digits in range(1, 5):
        if round(difference, digits) > 0:
            return format_number(difference, digits)
    return f"{difference:.1e}"


def shown_value(value: float | None, sign: bool = False) -> str:
    """A difference or an interval's bound with one decimal, or the digits it needs to not print as
    0.0 (a bound of 0.04 beside an adjusted p just below 0.05 is "0.04", never "0.0")."""
    if value is None or value == 0 or round(abs(value), 1) > 0:
        return format_number(value, sign=sign)
    digits = next((d for d in range(2, 5) if round(abs(value), d) > 0), None)
    return format_number(value, digits, sign=sign) if digits else f"{value:+.1e}" if sign else f"{value:.1e}"


def _method_clause(contrast: ContrastResult) -> str:
    if contrast.method == "welch":
        text = f"Welch's t-test over {contrast.n_runs_text} runs"
    else:
        text = f"{'paired t-test' if contrast.method == 't' else 'paired t-test with item variance'} over " \
               f"{contrast.n_seeds} seed{'s' * (contrast.n_seeds != 1)}"
    note = contrast.test.note
    return f"{text}; {note}" if note and "fell back" in note else text


def _statistics_clause(contrast: ContrastResult, correction: str, interval: tuple[float, float] | None) -> str:
    low, high = interval or (None, None)
    adjusted = (f"{CORRECTION_NAMES[correction]}-adjusted over {contrast.family_size} contrast"
                f"{'s' * (contrast.family_size != 1)}: p = {format_p(contrast.adjusted_p)}")
    return (f"{adjusted}, {_level(contrast.interval_level)} CI {shown_value(low)} to {shown_value(high)}; "
            f"{_method_clause(contrast)}")


def contrast_clause(contrast: ContrastResult, names: Mapping[str, str], name: str, unit: str, over: str,
                    correction: str, effect: float) -> str:
    """One contrast as the headline says it: who beats whom by how much with the adjusted p and the
    interval that agrees with it, or that there is no significant difference and what these seeds
    detect, or why it is not tested. ``names``: how each condition is called; ``name``: what was
    scored ("PAN-X"); ``over``: "averaged over 3 languages" (may be empty)."""
    a, b = names[contrast.condition_a], names[contrast.condition_b]
    where = f"on {name}"
    over_text = f" {over}" if over else ""
    if contrast.sequential is not None:
        return sequential_clause(contrast, names, where, unit, over_text)
    if contrast.method == "welch" and contrast.p is None:
        return f"{name}: {a} vs {b} cannot be tested: {contrast.test.note}"
    if contrast.n_seeds < 2:
        return (f"{name}: {a} vs {b} cannot be tested with {contrast.n_seeds} seed"
                f"{'s' * (contrast.n_seeds != 1)} (difference {format_number(contrast.mean_difference, sign=True)} "
                f"{unit}): a paired test needs at least 2 seeds of both, and how many a given difference "
                "needs depends on the seed variance (`xstilts plan STUDY --pilot PILOT` sizes it from a "
                "pilot with 2 or more seeds)")
    if contrast.p is None:
        return (f"{name}: {a} - {b} = {format_number(contrast.mean_difference, sign=True)} {unit} in every "
                f"one of {contrast.n_seeds} seeds: {contrast.test.note}")
    if contrast.significant:
        winner, loser, difference, interval = oriented(contrast)
        return (f"{names[winner]} beats {names[loser]} {where} by {_magnitude(difference)} {unit}{over_text} "
                f"({_statistics_clause(contrast, correction, interval)})")
    detectable = ""
    if contrast.method != "welch":
        advice = seed_advice(contrast.test.sd, contrast.n_seeds, effect)
        detectable = (f"; these seeds detect a difference of {format_number(advice.detectable)} {unit} with "
                      f"{POWER:.0%} power" if advice.detectable is not None else "")
    return (f"no significant difference between {a} and {b} {where} ({contrast.condition_a} - "
            f"{contrast.condition_b} = {format_number(contrast.mean_difference, sign=True)} {unit}{over_text}; "
            f"{_statistics_clause(contrast, correction, contrast.interval)}{detectable})")


SEQUENTIAL_REASONS = {"futility boundary": "stopped for futility", "last look": "at the last look",
                      "no test at the last look": "no test possible at the last look"}


def sequential_clause(contrast: ContrastResult, names: Mapping[str, str], where: str, unit: str, over: str) -> str:
    """A contrast of a sequential design: its decision and where it stopped ("decided after 5 of at
    most 8 seeds"), with the design's adjusted stage-wise p and repeated interval."""
    outcome = contrast.sequential
    a, b = names[contrast.condition_a], names[contrast.condition_b]
    m = outcome.bounds.design.contrasts
    low, high = outcome.interval or (None, None)
    interval = (f"{_level(outcome.interval_level)} repeated CI {shown_value(low)} to {shown_value(high)}"
                if outcome.interval else "no interval at this look")
    seeds = f"paired t-test over {outcome.seeds} seed{'s' * (outcome.seeds != 1)}, group-sequential design"
    if outcome.look < 0:
        return (f"{a} vs {b} {where}: {outcome.where()} (a look needs the first "
                f"{outcome.bounds.design.looks[0]} seeds of both)")
    difference = f"{contrast.condition_a} - {contrast.condition_b} = {format_number(contrast.mean_difference, sign=True)}"
    if outcome.decision == "continue":
        return f"{a} vs {b} {where}: {outcome.where()} ({difference} {unit}{over}; {interval}; {seeds})"
    adjusted = f"stage-wise p adjusted over {m} contrast{'s' * (m != 1)} = {format_p(outcome.adjusted_p)}"
    if outcome.decision == "effect":
        winner, loser, size, shown = oriented(contrast)  # the interval of winner - loser
        low, high = shown or (None, None)
        interval = f"{_level(outcome.interval_level)} repeated CI {shown_value(low)} to {shown_value(high)}"
        return (f"{names[winner]} beats {names[loser]} {where} by {_magnitude(size)} {unit}{over} "
                f"({outcome.where()}: {adjusted}, {interval}; {seeds})")
    reason = SEQUENTIAL_REASONS.get(outcome.reason, outcome.reason)
    return (f"no significant difference between {a} and {b} {where} ({outcome.where()}, {reason}: {difference} "
            f"{unit}{over}; "
            f"{adjusted}, {interval}; {seeds})")


def headline(rows: pd.DataFrame, contrasts: Sequence[ContrastResult], options: ReportOptions) -> str:
    """One clause per primary order contrast (orders and listed pairs; all primary contrasts when
    there are none), each naming its test, its adjusted p and the interval that agrees with it."""
    paths = condition_paths(rows)
    primary = [c for c in contrasts if c.lang == AVERAGE]
    chosen = [c for c in primary if c.relation in HEADLINE_RELATIONS] or primary
    if not chosen:
        return ("No contrast can be computed: no two conditions that the study compares (orders over the same "
                "stages, an order and its mixed stage, or [report] contrasts) have results on a common target.")
    clauses = []
    for contrast in chosen:
        name = target_name(rows, contrast.target)
        a = describe(paths, contrast.condition_a, contrast.condition_b)
        b = describe(paths, contrast.condition_b, contrast.condition_a)
        n_lang = len(averaged_languages(rows, contrast.target, options.include_contaminated))
        over = f"averaged over {n_lang} language{'s' * (n_lang != 1)}"
        names = {contrast.condition_a: a, contrast.condition_b: b}
        clauses.append(contrast_clause(contrast, names, name, metric_unit(contrast.task), over,
                                       options.correction, options.effect))
    text = "; ".join(clauses)
    # A sentence starts with a capital, but a condition's own name is never changed ("en_start").
    if not any(text.startswith(name) for name in paths):
        text = text[0].upper() + text[1:]
    return text + "."


def contrast_table(contrasts: Sequence[ContrastResult]) -> pd.DataFrame:
    """The contrasts as a reader sees them: difference, adjusted p and the interval that agrees with it."""
    records = []
    sequential = any(c.sequential is not None for c in contrasts)
    for c in contrasts:
        low, high = c.interval or (None, None)
        stopped = {"decision": f"{c.sequential.decision}, {c.sequential.where()}" if c.sequential else ""} \
            if sequential else {}
        records.append({
            "target": c.target, "contrast": f"{c.condition_a} - {c.condition_b}", "lang": c.lang, "seeds": c.n_seeds,
            **stopped,
            "A - B": shown_value(c.mean_difference, sign=True),
            "CI": f"{shown_value(low)} to {shown_value(high)} ({_level(c.interval_level)})"
                  if c.interval else "-",
            "p": format_p(c.p), "adjusted p": format_p(c.adjusted_p), "significant": "yes" if c.significant else "",
            "signed-rank p": format_p(c.rank_p), "note": c.test.note or "",
        })
    return pd.DataFrame(records)

