"""The plan as a rich tree: base model -> stages (shared prefixes appear once) -> targets."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from xstilts.study.cost import training_steps
from xstilts.study.plan import EvalNode, Plan, TrainNode
from xstilts.study.summary import plan_summary


def render_plan(plan: Plan, console: Console) -> None:
    summary = plan_summary(plan)
    root = Tree(
        f"[bold]{escape(plan.study.name)}[/]: {escape(plan.study.model)}, seeds {', '.join(map(str, plan.study.seeds))}"
        f" - {summary['stage_trainings']} trainings ({summary['naive_stage_trainings']} if every path ran alone), "
        f"{summary['evaluations']} evaluations{_trajectory_note(summary['trajectory_evaluations'])}, "
        f"{summary['contaminated_cells']} contaminated cells"
    )
    orders = _orders_through(plan)
    for seed in plan.study.seeds:
        branch = root.add(f"[bold]seed {seed}[/]")
        for evaluation in plan.evals_on(None):
            if seed in evaluation.seeds:
                branch.add(_eval_line(evaluation))
        _add_level(branch, plan, None, orders, seed)
    contrasts = plan.comparisons()
    block = root.add(f"[bold]report contrasts ({len(contrasts)})[/]: A - B, found from what each order trains")
    for contrast in contrasts:
        block.add(f"{escape(contrast.a)} - {escape(contrast.b)} [dim]({contrast.relation})[/]")
    if not contrasts:
        block.add("none: no two orders share their stages (list pairs under [report] contrasts)")
    cells = contaminated_lines(plan)
    if cells:
        block = root.add(f"[bold yellow]warning: {len(cells)} contaminated cells[/] (their rows were trained or "
                         "selected on; use labelled test splits or disjoint slices)")
        for line in cells[:MAX_LISTED]:
            block.add(f"[yellow]{escape(line)}[/]")
        if len(cells) > MAX_LISTED:
            block.add(f"... and {len(cells) - MAX_LISTED} more (`xstilts plan --json` lists them all)")
    if plan.missing_data:
        missing = root.add(f"[red]missing data ({len(plan.missing_data)}): plan only, `run` would fail[/]")
        for line in plan.missing_data:
            missing.add(escape(line))
    console.print(root)


MAX_LISTED = 30


def _trajectory_note(count: int) -> str:
    return f" ({count} of them after a stage inside an order, for the trajectories)" if count else ""


def contaminated_lines(plan: Plan) -> list[str]:
    """One line per contaminated cell: target, language, order, seeds and the reason."""
    return [f"{e.target} {lang} after {e.order} (seed{'s' if len(e.seeds) > 1 else ''} "
            f"{', '.join(map(str, e.seeds))}): {reason}"
            for e in plan.eval_nodes for lang, reason in sorted(e.contaminated.items())]


def _add_level(branch: Tree, plan: Plan, parent: str | None, orders: dict[str, list[str]], seed: int) -> None:
    """The trainings of one seed under ``parent``: stages recurse, target fine-tunings are one line."""
    for node in plan.children(parent):
        if node.seed != seed:
            continue
        if node.is_target:
            evaluations = plan.evals_on(node.id)
            branch.add(f"-> {escape(node.label)} fine-tuning [dim]({_steps(node)}, {node.id})[/], "
                       + "; ".join(_eval_line(e) for e in evaluations))
            continue
        through = ", ".join(orders.get(node.id, []))
        child = branch.add(f"[bold]{escape(node.label)}[/] [dim]({_steps(node)}, {node.id}; "
                           f"orders {escape(through)})[/]")
        for evaluation in plan.evals_on(node.id):
            child.add(_eval_line(evaluation))
        _add_level(child, plan, node.id, orders, seed)


def _eval_line(evaluation: EvalNode) -> str:
    langs = evaluation.langs
    line = f"eval {escape(evaluation.target)} ({' '.join(langs) if len(langs) <= 6 else f'{len(langs)} languages'})"
    if evaluation.eval_precision != "fp32":
        line += f" [dim]({evaluation.eval_precision})[/]"
    if evaluation.role == "trajectory":
        line += " [dim](trajectory point)[/]"
    if len(evaluation.seeds) > 1:
        line += f" [dim](one evaluation for seeds {', '.join(map(str, evaluation.seeds))})[/]"
    if evaluation.contaminated:
        line += f" [red]({len(evaluation.contaminated)} contaminated: {', '.join(evaluation.contaminated)})[/]"
    return line


def _steps(node: TrainNode) -> str:
    steps = training_steps(node)
    return "? steps" if steps is None else f"{steps} steps"


def _orders_through(plan: Plan) -> dict[str, list[str]]:
    """Train node id -> the orders whose path runs through it."""
    through: dict[str, list[str]] = {}
    for evaluation in plan.eval_nodes:
        for node in plan.path(evaluation.model_node):
            names = through.setdefault(node.id, [])
            if evaluation.order not in names:
                names.append(evaluation.order)
    return through
