"""Readers turn one data file into raw examples (``xstilts.tasks.types``).

A reader is called as ``reader(path, lang, **layout.options)``; readers registered with
``labels=True`` also take ``labels`` (the task's label set) and reject anything outside it. Every
malformed line raises ``DataFormatError`` naming the file and line. Each reader registers itself
with ``@reader`` (``readers.common``): every module of this package is imported here, so a new
reader module needs no list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from xstilts.errors import ConfigError
from xstilts.tasks.readers.common import READERS

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
globals().update(READERS)  # every reader by name: ``from xstilts.tasks.readers import squad_json``


def get_reader(name: str) -> Callable:
    if name not in READERS:
        raise ConfigError(f"no reader named {name!r}; readers: {', '.join(sorted(READERS))}")
    return READERS[name]


__all__ = ["READERS", "get_reader", *READERS]
