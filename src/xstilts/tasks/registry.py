"""The task registry: name -> ``TaskSpec``, name -> ``Suite``.

Tasks are found, never listed here: every module of ``xstilts.tasks.catalog`` declares ``TASK``
or ``TASKS``, and an installed package may add tasks through the entry-point group
``xstilts.tasks`` (an entry point loads a ``TaskSpec``, a sequence of them, or a module declaring
``TASK``/``TASKS``). Suites are the modules of ``xstilts.tasks.suites`` declaring ``SUITE``.
Everything is loaded on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from importlib import metadata
from types import ModuleType
from typing import Any

from xstilts.errors import ConfigError, UnknownLanguageError, UnknownTaskError
from xstilts.languages import MULTILINGUAL, check_code
from xstilts.tasks import catalog, suites
from xstilts.tasks.suites import Suite
from xstilts.metrics.registry import scoring_rule
from xstilts.tasks.types import TaskSpec

ENTRY_POINT_GROUP = "xstilts.tasks"
# The suite whose tasks are "the target tasks" where none is named.
DEFAULT_SUITE = "xtreme"

_TASKS: dict[str, TaskSpec] = {}
_ORIGIN: dict[str, str] = {}  # task name -> where it was declared (for clash messages)
_ALIASES: dict[str, str] = {}
_DECLARED: set[str] = set()  # tasks declared in study files (``declare``)
_SUITES: dict[str, Suite] = {}


def register(spec: TaskSpec, origin: str = "a caller") -> TaskSpec:
    """Add one task; a name or alias that is taken is an error naming both declarations."""
    if not isinstance(spec, TaskSpec):
        raise ConfigError(f"{origin}: expected a TaskSpec, got {type(spec).__name__}")
    kinds = scoring_rule(spec.metric).kinds
    if spec.kind.value not in kinds:
        raise ConfigError(f"task {spec.name!r} from {origin}: metric {spec.metric.value} is for "
                          f"{' and '.join(kinds)} tasks, not {spec.kind.value}")
    for name in (spec.name, *spec.aliases):
        taken = _TASKS.get(name) or _TASKS.get(_ALIASES.get(name, ""))
        if taken is not None:
            raise ConfigError(f"task {name!r} from {origin} is already declared by {_ORIGIN[taken.name]}")
    _TASKS[spec.name] = spec
    _ORIGIN[spec.name] = origin
    _ALIASES.update({alias: spec.name for alias in spec.aliases})
    return spec


def declare(spec: TaskSpec, origin: str) -> TaskSpec:
    """Add a task declared in a study file (``xstilts.tasks.declared``), in the planning process and
    in every worker before it runs a node. It may replace a task declared the same way (a later
    study, or the same study again), never a task of the catalog or of an entry point."""
    _ensure_loaded()
    for name in (spec.name, *spec.aliases):
        taken = _TASKS.get(name) or _TASKS.get(_ALIASES.get(name, ""))
        if taken is not None and taken.name not in _DECLARED:
            raise ConfigError(f"task {name!r} from {origin}: the name is taken by the registered task "
                              f"{taken.name} ({_ORIGIN[taken.name]})")
    if _TASKS.get(spec.name) == spec and _ORIGIN.get(spec.name) == origin:
        return _TASKS[spec.name]
    _forget(spec.name)
    register(spec, origin)
    _DECLARED.add(spec.name)
    return spec


def forget_declared() -> None:
    """Remove every task declared by a study file (tests that load several studies)."""
    for name in list(_DECLARED):
        _forget(name)


def is_declared(name: str) -> bool:
    """Whether ``name`` is a task declared in a study file (not in the catalog or an entry point)."""
    return name in _DECLARED


def source_of(name: str) -> str:
    """Where a task comes from, in words: "study file" (a ``[tasks.NAME]`` table), "entry point
    NAME (MODULE)" (an installed package) or "xstilts" (the package's own catalog)."""
    task = get_task(name)
    if task.name in _DECLARED:
        return "study file"
    origin = _ORIGIN[task.name]
    return origin if origin.startswith("entry point") else "xstilts"


def _forget(name: str) -> None:
    old = _TASKS.pop(name, None)
    _ORIGIN.pop(name, None)
    _DECLARED.discard(name)
    if old is not None:
        for alias in old.aliases:
            _ALIASES.pop(alias, None)


def _declared(module: ModuleType) -> tuple[TaskSpec, ...]:
    if hasattr(module, "TASK"):
        return (module.TASK,)
    if hasattr(module, "TASKS"):
        return tuple(module.TASKS)
    raise ConfigError(f"{module.__file__}: a task module declares TASK or TASKS")


def _modules(package: ModuleType) -> Iterable[ModuleType]:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def _entry_point_tasks(loaded: Any, origin: str) -> tuple[TaskSpec, ...]:
    if isinstance(loaded, ModuleType):
        return _declared(loaded)
    if isinstance(loaded, TaskSpec):
        return (loaded,)
    if isinstance(loaded, (list, tuple)):
        return tuple(loaded)
    raise ConfigError(f"{origin}: expected a TaskSpec, a sequence of them or a module declaring TASK/TASKS, "
                      f"got {type(loaded).__name__}")


def _ensure_loaded() -> None:
    if _TASKS:
        return
    for module in _modules(catalog):
        for spec in _declared(module):
            register(spec, f"{module.__name__}")
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {entry.name} ({entry.value})"
        try:
            loaded = entry.load()
        except Exception as error:  # a broken plugin is named, not a traceback
            raise ConfigError(f"{origin}: cannot be loaded ({type(error).__name__}: {error})") from None
        for spec in _entry_point_tasks(loaded, origin):
            register(spec, origin)
    for module in _modules(suites):
        suite = getattr(module, "SUITE", None)
        if not isinstance(suite, Suite):
            raise ConfigError(f"{module.__file__}: a suite module declares SUITE (a Suite)")
        _SUITES[suite.name] = suite


# ---------------------------------------------------------------- tasks


def get_task(name: str) -> TaskSpec:
    _ensure_loaded()
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _TASKS:
        known = ", ".join(sorted(_TASKS))
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {known}")
    return _TASKS[key]


def display_name(name: str) -> str:
    """A task's name in tables and reports (``PAN-X``); the name itself for a task this process
    does not know (rows read from another study's store)."""
    try:
        return get_task(name).display_name
    except UnknownTaskError:
        return name


def all_tasks() -> list[TaskSpec]:
    """Every task: the default suite's targets in table order, then the others by name."""
    _ensure_loaded()
    targets = suite_tasks(DEFAULT_SUITE)
    placed = {task.name for task in targets}
    return targets + sorted((task for task in _TASKS.values() if task.name not in placed), key=lambda task: task.name)


def target_tasks(suite: str = DEFAULT_SUITE) -> list[TaskSpec]:
    return suite_tasks(suite)


def head_name(task: TaskSpec) -> str:
    """The head ``task`` trains and is evaluated with: tasks on one label set share one (every NLI
    task: "nli"); a target that trains as another task (XQuAD, MLQA: SQuAD v1.1) uses that one's."""
    return get_task(task.trains_as).head_name if task.trains_as else task.head_name


def check_language(task: TaskSpec, lang: str, *, strict: bool = False) -> str:
    """Validate a language code for ``task``.

    Any language code may be used for any task (translated or native data), but with
    ``strict`` only the task's official languages are accepted.
    """
    code = lang.strip().lower()
    if code == MULTILINGUAL and task.facts.mixes_languages:
        return code  # a masked-LM corpus may mix languages
    if strict and code not in task.languages:
        raise UnknownLanguageError(
            f"language {lang!r} is not a {task.name} language; expected one of {' '.join(task.languages)}"
        )
    return check_code(code)


# ---------------------------------------------------------------- suites


def get_suite(name: str) -> Suite:
    _ensure_loaded()
    key = name.strip().lower()
    if key not in _SUITES:
        raise UnknownTaskError(f"unknown suite {name!r}; known suites: {', '.join(sorted(_SUITES))}")
    return _SUITES[key]


def all_suites() -> list[Suite]:
    _ensure_loaded()
    return list(_SUITES.values())


def suite_tasks(suite: str = DEFAULT_SUITE) -> list[TaskSpec]:
    """The suite's target tasks in table order (group, then position)."""
    return get_suite(suite).members(_TASKS.values())


def suite_groups(suite: str = DEFAULT_SUITE) -> dict[str, tuple[str, ...]]:
    """Group -> its task names, both in table order."""
    found = get_suite(suite)
    members = suite_tasks(suite)
    return {group: tuple(task.name for task in members if task.member_of(found.name).group == group)
            for group, _ in found.groups}
