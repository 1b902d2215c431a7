"""Reading a study file: TOML syntax, the spec's shape, then the references between its sections.

Every mistake becomes ONE line naming the file and the line (TOML syntax) or the field path,
e.g. ``study.toml: stages.nli_de.tasks[0].lang: unknown language 'xx' ...``. When a file has
several mistakes the first is reported with a count of the others.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from xstilts.errors import ConfigError, decode_error
from xstilts.study.orders import StudyIssue, resolve_stage, study_orders
from xstilts.study.spec import StudySpec, TargetSpec
from xstilts.tasks.registry import all_tasks, get_task

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# Keys people reach for that live elsewhere in a study.
_HINTS = {"seed": "seeds are set once, as seeds = [...] at the top of the study"}


def load_study(path: str | Path) -> StudySpec:
    """Read and check a study file; raises ConfigError with one line naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the study file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise decode_error(path, error) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_toml_error(path, error)) from None
    try:
        study = StudySpec.model_validate(data, context={"base_dir": path.parent.resolve(), "study_file": path})
    except ValidationError as error:
        # A misspelt key also makes its real name "missing": report the misspelling first.
        errors = sorted(error.errors(), key=lambda item: item["type"] != "extra_forbidden")
        declared = [item for item in errors if item["loc"][:1] == ("tasks",)]
        # A task declaration that fails is unknown to the stages and targets naming it: only its
        # own errors count.
        errors = declared or errors
        lines = [format_error(item) for item in errors]
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        raise ConfigError(f"{path}: {lines[0]}{more}") from None
    try:
        check_study(study)
    except StudyIssue as issue:
        raise ConfigError(f"{path}: {issue}") from None
    return study


def check_study(study: StudySpec) -> None:
    """What the spec's models cannot see alone: names, references between sections, and that
    every stage an order uses can be built (mixed stages must agree on their settings)."""
    for name in study.stages:
        if not NAME_PATTERN.match(name):
            raise StudyIssue(f"stages.{name}", "a stage name uses letters, digits, '_', '-' and '.' only "
                                               "('+' mixes stages, '>' orders them)")
    labels: set[str] = set()
    for i, target in enumerate(study.targets):
        if target.label in labels:
            raise StudyIssue(f"targets[{i}]", f"target {target.label!r} is listed twice; give one a distinct name")
        labels.add(target.label)
        _check_target(target, f"targets[{i}]", study.suite)
    orders = study_orders(study)
    for order in orders:
        for reference in order.stages:
            resolve_stage(reference, study)
    names = [order.name for order in orders]
    for i, (a, b) in enumerate(study.report.contrasts):
        for side, name in enumerate((a, b)):
            if name not in names:
                raise StudyIssue(f"report.contrasts[{i}][{side}]", f"unknown order {name!r}{_suggestion(name, names)}")
        if a == b:
            raise StudyIssue(f"report.contrasts[{i}]", f"contrasts {a!r} with itself")
    if study.sequential is not None and study.sequential.looks[-1] != len(study.seeds):
        raise StudyIssue("sequential.looks", f"the last look ({study.sequential.looks[-1]} seeds) must be the number "
                                             f"of seeds listed in seeds ({len(study.seeds)})")


def _check_target(target: TargetSpec, path: str, suite: str) -> None:
    task = get_task(target.task)
    if target.scoring is not None and task.facts.trains:
        raise StudyIssue(f"{path}.scoring", f"{target.task} is fine-tuned as a target; scoring chooses how a "
                                            "retrieval task is scored")
    if target.scoring == "fine-tuned" and not task.fine_tuning:
        raise StudyIssue(f"{path}.scoring", f"{target.task} has no fine-tuning protocol; it is scored from the encoder")
    if not task.facts.trains:
        # Training settings apply to the fine-tuning a retrieval target is scored after, if any.
        unused = ("eval_slice", "eval_max_length") + (("train", "hparams") if target.fine_tuning(suite) is None else ())
        for key in unused:
            if key in target.model_fields_set:
                raise StudyIssue(f"{path}.{key}", f"{target.task} is a retrieval task: it is scored from the "
                                                  "encoder on whole sets, without fine-tuning")
    elif target.retrieval is not None:
        retrieval = [task.name for task in all_tasks() if not task.facts.trains]
        listed = " and ".join([", ".join(retrieval[:-1]), retrieval[-1]] if len(retrieval) > 1 else retrieval)
        raise StudyIssue(f"{path}.retrieval", f"retrieval settings apply to {listed}, not {target.task}")


# ------------------------------------------------------------------ error lines


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if not match:
        return f"{path}: invalid TOML: {message}"
    detail = message[:match.start()].strip()
    return f"{path}:{match.group(1)}: invalid TOML: {detail} (column {match.group(2)})"


def field_path(loc: tuple[Any, ...]) -> str:
    """("stages", "nli_de", "tasks", 0, "lang") -> "stages.nli_de.tasks[0].lang"."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def format_error(error: dict[str, Any]) -> str:
    """One pydantic error as "field.path: what is wrong"."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        where = field_path(loc[:-1]) or "top level"
        return f"{where}: unknown key {key!r}{_suggestion(key, _allowed_keys(loc[:-1]))}"
    message = error["msg"].removeprefix("Value error, ")
    subpath = getattr((error.get("ctx") or {}).get("error"), "subpath", "")
    if subpath:  # a validator named the part of its field that is wrong (tasks.x.columns.label)
        return f"{field_path(loc)}{'' if subpath.startswith('[') else '.'}{subpath}: {message}"
    if kind == "missing":
        message = "required but missing"
    elif kind != "value_error":
        message = message[0].lower() + message[1:]
        if not isinstance(error.get("input"), (dict, list)):
            message += f" (got {error.get('input')!r})"
    return f"{field_path(loc) or 'top level'}: {message}"


def _suggestion(key: str, allowed: list[str]) -> str:
    if key in _HINTS:
        return f"; {_HINTS[key]}"
    if not allowed:
        return ""
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; expected one of: {', '.join(allowed)}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (walking StudySpec's annotations)."""
    current: Any = StudySpec
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _model_in(current)
    return list(model.model_fields) if model else []


def _step(annotation: Any, part: Any) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str) and part in model.model_fields:
        return model.model_fields[part].annotation
    for option in _options(annotation):
        origin = typing.get_origin(option)
        args = typing.get_args(option)
        if origin in (list, tuple) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _options(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None
