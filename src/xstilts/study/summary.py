"""What ``xstilts plan --json`` prints: the plan's counts, contamination, cost and disk estimates."""

from __future__ import annotations

from typing import Any

from xstilts.study.cost import disk_bytes, estimate_cost
from xstilts.study.plan import Plan


def plan_summary(plan: Plan) -> dict[str, Any]:
    targets = sum(node.is_target for node in plan.train_nodes)
    return {
        "study": plan.study.name,
        "orders": [order.name for order in plan.orders],
        "seeds": list(plan.study.seeds),
        "targets": [target.label for target in plan.study.targets],
        "stage_trainings": len(plan.train_nodes),
        "intermediate_trainings": len(plan.train_nodes) - targets,
        "target_trainings": targets,
        "naive_stage_trainings": plan.naive_stage_trainings,
        "evaluations": len(plan.eval_nodes),
        "trajectory_evaluations": sum(e.role == "trajectory" for e in plan.eval_nodes),
        "contrasts": [{"a": c.a, "b": c.b, "relation": c.relation} for c in plan.comparisons()],
        "evaluation_cells": sum(len(e.langs) for e in plan.eval_nodes),
        "contaminated_cells": sum(len(e.contaminated) for e in plan.eval_nodes),
        "contamination": [{"target": e.target, "lang": lang, "order": e.order, "seeds": list(e.seeds),
                           "reason": reason}
                          for e in plan.eval_nodes for lang, reason in sorted(e.contaminated.items())],
        "estimated_cost": estimate_cost(plan),
        "disk_bytes_estimate": disk_bytes(plan),
        "missing_data": list(plan.missing_data),
    }
