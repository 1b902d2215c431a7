"""Which nodes each look of a sequential seed design runs (the design: ``study.sequential_spec``).

The plan is the fixed design's with every seed (the same node ids); a look runs, of the seeds up
to it, only the evaluations that an undecided contrast needs and the trainings under them. The
first look runs every condition; later looks only the conditions (per target) of the contrasts
that are still undecided, so a condition that no contrast compares stops after the first look.
The boundaries and decisions are ``xstilts.results.sequential``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from xstilts.study.plan import EvalNode, Plan, lineage


def look_seeds(seeds: list[int], looks: list[int], look: int) -> list[int]:
    """The seeds analysed at ``look`` (an index): the first ``looks[look]`` of the study's seeds."""
    return list(seeds[:looks[look]])


def look_plan(plan: Plan, seeds: Collection[int], active: Collection[tuple[str, str]] | None) -> Plan:
    """The part of ``plan`` a look runs: of the ``seeds``, the evaluations of the ``active``
    (order, target) conditions (None: all of them), the trajectory points on their paths, and the
    trainings those read. Node ids are the full plan's."""
    seeds = set(seeds)
    kept: dict[str, EvalNode] = {}
    paths: dict[str, set[str | None]] = {}  # target -> models on the paths of its kept conditions
    for evaluation in plan.eval_nodes:
        if evaluation.role != "condition" or not seeds & set(evaluation.seeds):
            continue
        if active is not None and (evaluation.order, evaluation.target) not in active:
            continue
        kept[evaluation.id] = evaluation
        on_path = paths.setdefault(evaluation.target, {None})
        on_path.update(node.id for node in plan.path(evaluation.model_node))
    for evaluation in plan.eval_nodes:
        if (evaluation.role == "trajectory" and seeds & set(evaluation.seeds)
                and evaluation.model_node in paths.get(evaluation.target, ())):
            kept[evaluation.id] = evaluation
    trainings = _reads(plan, kept.values())
    return Plan(plan.study, plan.data_dir, plan.orders, [n for n in plan.train_nodes if n.id in trainings],
                [e for e in plan.eval_nodes if e.id in kept], plan.naive_stage_trainings, plan.missing_data,
                plan.missing_selections)


def _reads(plan: Plan, evaluations: Iterable[EvalNode]) -> set[str]:
    nodes = {node.id: node for node in plan.train_nodes}
    return {node.id for evaluation in evaluations for node in lineage(nodes, evaluation.model_node)}


def contrast_conditions(contrasts: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """(order, target) of both sides of each (target, A, B)."""
    return {(order, target) for target, a, b in contrasts for order in (a, b)}
