"""`xstilts run` under a sequential seed design (the study's ``[sequential]`` table).

Look by look: run the look's part of the plan (``study.sequential.look_plan``: the seeds up to the
look, for the conditions of the contrasts still undecided), read the primary contrasts from the
stored rows, decide each undecided one (``results.report.sequential.look_decisions``), record the
decisions with the ids of the rows that made them (``results.sequential.record``: written
atomically after each look), and go on with the undecided ones. A look is decided only when every
one of its nodes finished; a re-run (after a kill, a failure, or a finished run) reuses every
recorded look, so it resumes at the same look with the same decisions. The part of the plan is
run by whatever ``run_part`` the caller gives (the local or the Ray executor alike).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xstilts.execution.scheduler import RunSummary
from xstilts.results.filtering import stored_plan_rows
from xstilts.results.report.sequential import look_decisions
from xstilts.results.sequential.planning import plan_bounds, plan_contrasts
from xstilts.results.sequential.record import DecisionRecord, Key
from xstilts.results.statistics import format_number
from xstilts.study.plan import Plan
from xstilts.study.sequential import contrast_conditions, look_plan, look_seeds


def merge(total: RunSummary, part: RunSummary) -> None:
    total.trained += part.trained
    total.evaluated += part.evaluated
    total.skipped += part.skipped
    total.failed.update(part.failed)
    total.failed_labels.update(part.failed_labels)
    total.blocked += part.blocked
    total.wall_seconds = round(total.wall_seconds + part.wall_seconds, 2)
    total.by_others.update(part.by_others)  # cooperative runs: what other processes did meanwhile
    total.waited_seconds = round(total.waited_seconds + part.waited_seconds, 1)
    total.lost_claims += part.lost_claims


def _undecided(record: DecisionRecord, contrasts: Sequence[Key], look: int) -> list[Key]:
    """The contrasts no look before ``look`` decided."""
    decided = record.decided()
    return [key for key in contrasts
            if all(decision == "continue" for k, decision in decided.get(key, {}).items() if k < look)]


def describe(key: Key, entry: dict) -> str:
    target, a, b = key
    statistic = (f"t = {format_number(entry['t'], 2)}" if entry.get("t") is not None else "no t (no seed variance)")
    bounds = f"effect at |t| >= {format_number(entry['efficacy'], 2)}" if entry.get("efficacy") is not None else \
        "no effect decision at this look"
    if entry.get("futility"):
        bounds += f", no effect below {format_number(entry['futility'], 2)}"
    return (f"{target}: {a} - {b} = {format_number(entry.get('mean_difference'), 2, sign=True)}: {entry['decision']} "
            f"({statistic}; {bounds})")


def run_looks(plan: Plan, run_part: Callable[[Plan], RunSummary], say: Callable[[str], None]) -> RunSummary:
    study = plan.study
    bounds = plan_bounds(plan)
    looks = list(bounds.design.looks)
    contrasts = plan_contrasts(plan)
    record = DecisionRecord.open(study.output_dir, bounds, study.seeds, contrasts)
    say(f"sequential design: {bounds.design.describe()}")
    total = RunSummary()
    for look in range(len(looks)):
        undecided = _undecided(record, contrasts, look)
        if not undecided:
            break
        seeds = look_seeds(study.seeds, looks, look)
        part = look_plan(plan, seeds, None if look == 0 else contrast_conditions(undecided))
        say(f"look {look + 1} of {len(looks)}: seeds {', '.join(map(str, seeds))}; {len(undecided)} of "
            f"{len(contrasts)} contrasts undecided; {len(part.train_nodes)} trainings, {len(part.eval_nodes)} "
            "evaluations")
        summary = run_part(part)
        merge(total, summary)
        if not summary.ok:
            say(f"look {look + 1} is incomplete (a node failed): nothing decided; rerun the same command to resume it")
            return total
        recorded = record.made(look)
        if recorded:
            decisions = record.entries(look)
        else:
            rows, _ = stored_plan_rows(study.output_dir, [e.id for e in plan.eval_nodes], all_rows=False)
            decisions = look_decisions(rows, bounds, study.seeds, look, undecided)
            lacking = [key for key, entry in decisions.items() if entry["decision"] is None]
            if lacking:
                target, a, b = lacking[0]
                error = f"no decision: {target} {a} - {b}: {decisions[lacking[0]]['reason']}"
                total.failed[f"look-{look + 1}"] = error
                total.failed_labels[f"look-{look + 1}"] = f"look {look + 1}"
                say(f"look {look + 1}: {error}")
                return total
            record.add_look(look, seeds, decisions)
        say(f"look {look + 1} decisions{' (recorded before)' if recorded else ''}:")
        for key in undecided:
            if key in decisions:
                say(f"  {describe(key, decisions[key])}")
    left = _undecided(record, contrasts, len(looks))
    say("every contrast is decided" if not left else f"{len(left)} contrasts not decided yet")
    return total
