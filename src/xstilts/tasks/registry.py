"""The task registry: name -> ``TaskSpec``. Task families register themselves on import."""

from __future__ import annotations

from xstilts.errors import UnknownLanguageError, UnknownTaskError
from xstilts.languages import KNOWN_LANGUAGES, MULTILINGUAL
from xstilts.tasks.types import TaskKind, TaskSpec

_REGISTRY: dict[str, TaskSpec] = {}

# XTREME's nine target tasks, in the order of the paper's tables.
TARGET_TASKS: tuple[str, ...] = (
    "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "classification": ("xnli", "pawsx"),
    "structured_prediction": ("udpos", "panx"),
    "question_answering": ("xquad", "mlqa", "tydiqa"),
    "retrieval": ("bucc2018", "tatoeba"),
}
_ALIASES = {"pos": "udpos", "ner": "panx", "pan-x": "panx", "paws-x": "pawsx", "bucc": "bucc2018",
            "tydiqa-goldp": "tydiqa", "squad": "squad_v1", "anli+": "anli_plus"}


def register(spec: TaskSpec) -> TaskSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"task {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_loaded() -> None:
    # Importing the family modules fills the registry.
    from xstilts.tasks import classification, mlm, multiple_choice, qa, retrieval, tagging  # noqa: F401


def get_task(name: str) -> TaskSpec:
    _ensure_loaded()
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {known}")
    return _REGISTRY[key]


def all_tasks() -> list[TaskSpec]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def target_tasks() -> list[TaskSpec]:
    return [get_task(n) for n in TARGET_TASKS]


def check_language(task: TaskSpec, lang: str, *, strict: bool = False) -> str:
    """Validate a language code for ``task``.

    Any known language may be used for any task (translated or native data), but with
    ``strict`` only the task's official XTREME languages are accepted.
    """
    code = lang.strip().lower()
    if code == MULTILINGUAL and task.kind is TaskKind.MLM:
        return code  # a masked-LM corpus may mix languages
    if strict and code not in task.languages:
        raise UnknownLanguageError(
            f"language {lang!r} is not a {task.name} language; expected one of {' '.join(task.languages)}"
        )
    if code not in KNOWN_LANGUAGES:
        raise UnknownLanguageError(f"unknown language code {lang!r} (use two-letter XTREME codes like de, zh)")
    return code
