"""Every exception class of the package survives pickling (a node's error crosses from its worker
process, or Ray task, to the study process), and one that would not is replaced by a WorkerError
before it leaves the worker."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import xstilts
from xstilts.errors import DataFormatError, WorkerError, XstiltsError
from xstilts.execution.portable_errors import call_portably, portable


def _package_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in any module of the package (new ones are found too)."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(xstilts.__path__, prefix="xstilts."):
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("xstilts."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


def _sample_arguments(cls: type[BaseException]) -> list[object]:
    """Arguments for the required parameters of ``cls.__init__``, by annotation (numbers for
    ``int``-like ones, text for the rest)."""
    if cls.__init__ is BaseException.__init__:
        return ["something went wrong"]
    arguments: list[object] = []
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.default is not inspect.Parameter.empty or parameter.kind in (
                parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = str(parameter.annotation)
        arguments.append(7 if "int" in annotation else f"{parameter.name} value")
    return arguments


CLASSES = _package_exception_classes()


def test_the_package_exception_classes_are_found():
    names = {cls.__name__ for cls in CLASSES}
    assert {"XstiltsError", "DataFormatError", "ConfigError", "StudyIssue", "WorkerDiedError", "WorkerError"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_package_exception_round_trips_through_pickle(cls):
    error = cls(*_sample_arguments(cls))
    error.__dict__.setdefault("extra_attribute", "kept")  # attributes set after construction survive too
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__dict__ == error.__dict__


def test_data_format_error_keeps_its_path_line_and_detail():
    copy = pickle.loads(pickle.dumps(DataFormatError("tydiqa/dev.json", 12, "every gold answer text is empty")))
    assert (copy.path, copy.line, copy.detail) == ("tydiqa/dev.json", 12, "every gold answer text is empty")
    assert str(copy) == "tydiqa/dev.json:12: every gold answer text is empty"


class _NeedsTwoArguments(Exception):
    """A library-style exception whose pickle cannot be read back (its __init__ wants two values)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")


def _raise_two_argument_error() -> None:
    raise _NeedsTwoArguments("model.bin", "truncated\nsecond line")


def test_a_foreign_exception_that_cannot_be_unpickled_becomes_a_worker_error():
    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(_NeedsTwoArguments("a", "b")))
    with pytest.raises(WorkerError) as raised:
        call_portably(_raise_two_argument_error)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert copy.type_name == "_NeedsTwoArguments" and str(copy) == "model.bin: truncated | second line"


def test_a_portable_exception_passes_unchanged():
    error = ValueError("bad value")
    assert portable(error) is error
    data_error = DataFormatError("f.tsv", 3, "two columns expected")
    assert portable(data_error) is data_error and isinstance(data_error, XstiltsError)
