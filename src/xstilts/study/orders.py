"""Orders of stages: the study's helpers expanded into named orders, and stage references resolved.

An order is a sequence of stage references. A reference is a stage name, or several names
joined by "+" for one multi-task stage mixing their tasks ("nli_en+nli_de"). Helpers name
their orders: a permutation "a>b", a single stage "a", a mixed stage "a+b", no stage "baseline".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from xstilts.errors import ConfigError
from xstilts.study.spec import MixedSpec, OrdersSpec, Sampling, StageTaskSpec, StudySpec, overrides

MIX = "+"
THEN = ">"
BASELINE = "baseline"


class StudyIssue(ConfigError):
    """A mistake in a study at a field path; ``load_study`` puts the file name in front."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Order:
    name: str
    stages: tuple[str, ...]  # stage references
    origin: str  # the field path that produced it, for error messages


@dataclass(frozen=True)
class ResolvedStage:
    """A stage reference made concrete: the tasks it trains and how."""

    name: str
    tasks: tuple[StageTaskSpec, ...]
    sampling: Sampling
    temperature: float
    hparams: dict[str, Any]


def expand_orders(orders: OrdersSpec, stage_names: list[str]) -> list[Order]:
    """Every order of the study: baseline, singles, mixed, permutations, then the named ones."""
    expanded: list[Order] = []
    if orders.baseline:
        expanded.append(Order(BASELINE, (), "orders.baseline"))
    if orders.singles:
        expanded.extend(Order(name, (name,), "orders.singles") for name in stage_names)
    for i, mixed in enumerate(orders.mixed):
        name = MIX.join(mixed.stages)
        expanded.append(Order(name, (name,), f"orders.mixed[{i}]"))
    for i, group in enumerate(orders.permutations):
        if len(group) < 2 or len(set(group)) != len(group):
            raise StudyIssue(f"orders.permutations[{i}]", f"expected at least two different stages, got {group}")
        for permutation in itertools.permutations(group):
            expanded.append(Order(THEN.join(permutation), tuple(permutation), f"orders.permutations[{i}]"))
    for name, stages in orders.named.items():
        path = f"orders.named.{name}"
        if name == BASELINE or not name:
            raise StudyIssue(path, f"{name!r} cannot name an explicit order")
        if not stages:
            raise StudyIssue(path, "an explicit order needs stages (use baseline = true for none)")
        expanded.append(Order(name, tuple(stages), path))
    return expanded


def study_orders(study: StudySpec) -> list[Order]:
    """The expanded orders, checked: known stages, distinct names, no order listed twice."""
    orders = expand_orders(study.orders, list(study.stages))
    if not orders:
        raise StudyIssue("orders", "no orders: set baseline, singles, permutations, mixed or named orders")
    seen_names: dict[str, Order] = {}
    seen_stages: dict[tuple[str, ...], Order] = {}
    for order in orders:
        for index, reference in enumerate(order.stages):
            named = order.origin.startswith("orders.named")
            _check_reference(reference, study, f"{order.origin}[{index}]" if named else order.origin)
        for earlier, what in ((seen_names.get(order.name), "name"), (seen_stages.get(order.stages), "stages")):
            if earlier is not None:
                raise StudyIssue(order.origin, f"order {order.name!r} has the same {what} as order "
                                               f"{earlier.name!r} from {earlier.origin}")
        seen_names[order.name] = order
        seen_stages[order.stages] = order
    return orders


def _check_reference(reference: str, study: StudySpec, path: str) -> None:
    parts = reference.split(MIX)
    for part in parts:
        if part not in study.stages:
            known = ", ".join(study.stages) or "none defined"
            raise StudyIssue(path, f"unknown stage {part!r} (stages: {known})")
    if len(set(parts)) != len(parts):
        raise StudyIssue(path, f"a stage is mixed with itself in {reference!r}")


def resolve_stage(reference: str, study: StudySpec) -> ResolvedStage:
    """The tasks and settings of a stage reference; a mixed stage merges its stages' tasks and
    hyper-parameters (which must agree) and takes its sampling from its ``orders.mixed`` entry."""
    names = reference.split(MIX)
    stages = [study.stages[name] for name in names]
    if len(stages) == 1:
        stage = stages[0]
        return ResolvedStage(reference, tuple(stage.tasks), stage.sampling, stage.temperature, overrides(stage.hparams))
    path = f"stage {reference}"
    hparams: dict[str, Any] = {}
    for name, stage in zip(names, stages):
        for key, value in overrides(stage.hparams).items():
            if key in hparams and hparams[key] != value:
                raise StudyIssue(path, f"stages {names} set hparams.{key} differently ({hparams[key]!r} vs "
                                       f"{value!r}); make them agree or define a multi-task stage")
            hparams[key] = value
    entry = _mixed_entry(names, study.orders.mixed)
    sampling = _agreed(path, "sampling", entry.sampling if entry else None, [s.sampling for s in stages])
    temperature = _agreed(path, "temperature", entry.temperature if entry else None, [s.temperature for s in stages])
    tasks = tuple(task for stage in stages for task in stage.tasks)
    return ResolvedStage(reference, tasks, sampling, temperature, hparams)


def _mixed_entry(names: list[str], entries: list[MixedSpec]) -> MixedSpec | None:
    return next((entry for entry in entries if entry.stages == names), None)


def _agreed(path: str, key: str, chosen: Any, values: list[Any]) -> Any:
    if chosen is not None:
        return chosen
    if len(set(values)) > 1:
        raise StudyIssue(path, f"the mixed stages set {key} differently ({values}); set it in orders.mixed")
    return values[0]
