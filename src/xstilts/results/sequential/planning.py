"""A study plan under its sequential design: the primary contrasts the design decides, its
boundaries, and the trainings it is expected to cost (``xstilts plan``).

The family is the report's: every planned contrast (``Plan.comparisons``) on every target, one
primary contrast each. Expected cost: each contrast stops at look k with the design's probability
at the given difference (``operating``; contrasts independently), and a draw of stopping looks
costs the trainings and evaluations that ``study.sequential.look_plan`` runs for it, look by look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from xstilts.errors import ConfigError

from xstilts.results.sequential.design import Boundaries, Design, boundaries
from xstilts.results.sequential.operating import operating
from xstilts.results.sequential.record import Key
from xstilts.study.plan import Plan
from xstilts.study.sequential import contrast_conditions, look_plan, look_seeds

COST_DRAWS = 400
COST_SEED = 11


def plan_contrasts(plan: Plan) -> list[Key]:
    """(target, A, B) of every primary contrast the report will make, target by target."""
    comparisons = plan.comparisons()
    return [(target.label, c.a, c.b) for target in plan.study.targets for c in comparisons]


def plan_bounds(plan: Plan) -> Boundaries:
    spec = plan.study.sequential
    if spec is None:
        raise ValueError(f"{plan.study.name} has no [sequential] design")
    contrasts = plan_contrasts(plan)
    if not contrasts:
        raise ConfigError(f"{plan.study.name}: sequential: the study compares no two orders, so no contrast can be "
                          "decided; list pairs under [report] contrasts")
    return boundaries(Design.of(spec, len(contrasts)))


def _look_cost(plan: Plan, bounds: Boundaries, contrasts: Sequence[Key], stops: Sequence[int],
               memo: dict) -> tuple[int, int]:
    """Trainings and evaluations of the run whose contrast i stops at look ``stops[i]``."""
    trainings: set[str] = set()
    evaluations: set[str] = set()
    seeds = plan.study.seeds
    for look in range(len(bounds.design.looks)):
        still = frozenset(key for key, stop in zip(contrasts, stops) if stop >= look)
        if look > 0 and not still:
            break
        cache_key = (look, None if look == 0 else still)
        if cache_key not in memo:
            active = None if look == 0 else contrast_conditions(still)
            part = look_plan(plan, look_seeds(seeds, list(bounds.design.looks), look), active)
            memo[cache_key] = ({n.id for n in part.train_nodes}, {e.id for e in part.eval_nodes})
        trained, evaluated = memo[cache_key]
        trainings |= trained
        evaluations |= evaluated
    return len(trainings), len(evaluations)


def expected_cost(plan: Plan, bounds: Boundaries, effect: float, draws: int = COST_DRAWS) -> dict[str, Any]:
    """The expected trainings and evaluations when every primary contrast has the true difference
    ``effect`` (in SDs of its per-seed differences), and the stopping probabilities per look."""
    contrasts = plan_contrasts(plan)
    operating_point = operating(bounds, effect)
    rng = np.random.default_rng(COST_SEED)
    probabilities = np.array(operating_point.stop)
    memo: dict = {}
    costs = [_look_cost(plan, bounds, contrasts, rng.choice(len(probabilities), size=len(contrasts),
                                                              p=probabilities / probabilities.sum()), memo)
             for _ in range(draws)]
    trainings, evaluations = np.mean(costs, axis=0) if costs else (0.0, 0.0)
    return {"effect_sd": effect, "power": operating_point.power, "expected_seeds": operating_point.expected_seeds,
            "stop": list(operating_point.stop), "trainings": float(trainings), "evaluations": float(evaluations)}


def sequential_summary(plan: Plan, effect_points: float | None = None, sd: float | None = None) -> dict[str, Any]:
    """What ``xstilts plan`` shows of the design (``plan --json``: ``sequential``): the looks and
    boundaries, and the expected trainings with no difference, at the design effect and, given
    the SD of per-seed differences (``sd``, else the design's), at ``effect_points``."""
    spec = plan.study.sequential
    bounds = plan_bounds(plan)
    design = bounds.design
    scenarios = {"no effect": 0.0, "design effect": bounds.design_effect}
    sd = sd or (spec.sd if spec is not None else None)
    if effect_points is not None and sd:
        scenarios[f"{effect_points:g} point{'s' * (effect_points != 1)} (SD {sd:.3g})"] = effect_points / sd
    looks = []
    for k, n in enumerate(design.looks):
        looks.append({"look": k + 1, "seeds": n, "seed_list": look_seeds(plan.study.seeds, list(design.looks), k),
                      "df": n - 1, "efficacy": None if not math.isfinite(bounds.efficacy[k]) else bounds.efficacy[k],
                      "nominal_p": bounds.nominal[k], "futility": bounds.futility[k] if k < len(design.looks) - 1
                      else None, "spent": bounds.spent[k]})
    return {
        "design": design.describe(), "looks": looks, "contrasts": design.contrasts, "alpha": design.alpha,
        "alpha_each": design.alpha_each, "design_effect_sd": bounds.design_effect,
        "max_trainings": len(plan.train_nodes), "max_evaluations": len(plan.eval_nodes),
        "scenarios": {name: expected_cost(plan, bounds, effect) for name, effect in scenarios.items()},
        "sd": sd, "effect_points": effect_points,
    }


def render_lines(summary: dict[str, Any]) -> list[str]:
    """The design as ``xstilts plan`` prints it, one line each."""
    lines = [f"sequential design: {summary['design']}"]
    for look in summary["looks"]:
        efficacy = (f"effect if |t| >= {look['efficacy']:.2f} (nominal p {look['nominal_p']:.2g})"
                    if look["efficacy"] is not None else "no effect decision")
        futility = ("otherwise no effect" if look["futility"] is None else
                    f"no effect if |t| < {look['futility']:.2f}" if look["futility"] > 0 else "no futility stop")
        seeds = look["seed_list"]
        lines.append(f"  look {look['look']}: {look['seeds']} seeds ({', '.join(map(str, seeds))}; {look['df']} df): "
                     f"{efficacy}; {futility}")
    lines.append(f"  design effect: {summary['design_effect_sd']:.2f} SD of the per-seed differences (what a fixed "
                 f"design of {summary['looks'][-1]['seeds']} seeds detects with 80% power at alpha "
                 f"{summary['alpha_each']:.4g})")
    expected = []
    for name, scenario in summary["scenarios"].items():
        power = f", power {scenario['power']:.2f}" if name != "no effect" else ""
        expected.append(f"{scenario['trainings']:.0f} {'with' if name == 'no effect' else 'at'} {name} "
                        f"({scenario['evaluations']:.0f} evaluations, {scenario['expected_seeds']:.1f} seeds a "
                        f"contrast{power})")
    lines.append(f"  trainings: at most {summary['max_trainings']} ({summary['max_evaluations']} evaluations); "
                 f"expected {'; '.join(expected)}")
    if summary["sd"] is None and summary.get("effect_points") is not None:
        lines.append(f"  set [sequential] sd (the SD of per-seed differences, e.g. from a pilot) or give --pilot to see "
                     f"the trainings expected at [report] effect = {summary['effect_points']:g} point"
                     f"{'s' * (summary['effect_points'] != 1)}")
    return lines
