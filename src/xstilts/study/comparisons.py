"""Which conditions a study compares, decided from what each condition trained, never from names.

A condition (an order of the study) is the sequence of its intermediate trainings, each known by
what it trains on (task, language, split, slice, files) and its settings. The same description is
in the plan's evaluation nodes (``EvalNode.path``) and in every result row (``training``), so the
plan can list the report's contrasts before anything runs and the report finds the same ones.

Contrasts, each A - B:

* ``orders``: two conditions with the same stages (two or more) in a different sequence: the
  permutations of a study, and named orders alike. When exactly one of them starts with an
  English-only stage it is A, so that a positive difference favours English-first.
* ``mixed``: an order of two or more stages against the one multi-task stage that trains on all of
  their data at once.
* ``listed``: the pairs the study names under ``[report] contrasts`` (A as listed).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ENGLISH = "en"
RELATIONS = ("orders", "mixed", "listed")  # how the two conditions of a contrast relate


@dataclass(frozen=True)
class Stage:
    """One intermediate training as the comparison sees it."""

    data: frozenset[tuple[Any, ...]]  # (task, lang, split, slice, files) of every task it trains on
    settings: str  # its training settings (seed left out), as canonical JSON
    label: str  # for display only

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(item[1] for item in self.data)


@dataclass(frozen=True)
class ConditionPath:
    name: str
    stages: tuple[Stage, ...]

    def starts_in_english_only(self) -> bool:
        return bool(self.stages) and self.stages[0].languages == {ENGLISH}

    def first_languages(self) -> frozenset[str]:
        return self.stages[0].languages if self.stages else frozenset()


@dataclass(frozen=True)
class PlannedContrast:
    a: str
    b: str
    relation: str  # one of RELATIONS


def _item(selection: Mapping[str, Any]) -> tuple[Any, ...]:
    return (selection["task"], selection["lang"], selection["split"], selection.get("slice"),
            tuple(selection.get("files") or ()))


def condition_path(name: str, trainings: Sequence[Mapping[str, Any]]) -> ConditionPath:
    """A condition from the trainings on its path (plan ``path`` facts or a row's ``training``);
    the target's own fine-tuning is not part of the condition."""
    stages = tuple(Stage(frozenset(_item(item) for item in training.get("train", ())),
                         json.dumps(training.get("config") or {}, sort_keys=True, default=str),
                         str(training.get("label", "")))
                   for training in trainings if not training.get("is_target"))
    return ConditionPath(name, stages)


def planned_contrasts(conditions: Sequence[ConditionPath], listed: Sequence[tuple[str, str]] = ()
                      ) -> list[PlannedContrast]:
    """Every pair to compare, in a stable order: orders, then order vs mixed stage, then the
    study's listed pairs (a listed pair that is also found automatically keeps the listed sign)."""
    found: dict[frozenset[str], PlannedContrast] = {}
    for i, first in enumerate(conditions):
        for second in conditions[i + 1:]:
            relation = _relation(first, second)
            if relation == "orders":
                a, b = (second, first) if second.starts_in_english_only() and not first.starts_in_english_only() \
                    else (first, second)
                found[frozenset((a.name, b.name))] = PlannedContrast(a.name, b.name, relation)
            elif relation == "mixed":
                order, mixed = (first, second) if len(first.stages) > 1 else (second, first)
                found[frozenset((order.name, mixed.name))] = PlannedContrast(order.name, mixed.name, relation)
    for a, b in listed:
        key = frozenset((a, b))
        relation = found[key].relation if key in found else "listed"
        found[key] = PlannedContrast(a, b, relation)
    rank = {relation: index for index, relation in enumerate(RELATIONS)}
    return sorted(found.values(), key=lambda c: rank[c.relation]) if found else []


def _relation(first: ConditionPath, second: ConditionPath) -> str | None:
    if len(first.stages) > 1 and len(second.stages) > 1:
        if first.stages != second.stages and Counter(first.stages) == Counter(second.stages):
            return "orders"
        return None
    order, single = (first, second) if len(first.stages) > 1 else (second, first)
    if len(order.stages) > 1 and len(single.stages) == 1:
        union = frozenset().union(*(stage.data for stage in order.stages))
        if single.stages[0].data == union:
            return "mixed"
    return None
