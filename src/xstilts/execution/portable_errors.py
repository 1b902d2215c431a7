"""Exceptions that travel from a worker back to the study process.

A node runs in another process (a local worker, a Ray task) and its exception comes back
pickled. Our own errors survive that by construction (``XstiltsError.__reduce__``); an exception
from a library might not (a custom ``__init__``, an unpicklable attribute), and one that cannot
be rebuilt in the study process must not take more than its node down with it, so the worker
checks the round trip and, when it fails, sends a ``WorkerError`` with the type name and message.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from xstilts.errors import WorkerError, one_line


def portable(error: BaseException) -> BaseException:
    """``error`` itself when it survives a pickle round trip, else a WorkerError saying what it was."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return WorkerError(type(error).__name__, one_line(error) or repr(error))


def call_portably(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, whose exception (if any) is one the caller's process can rebuild."""
    try:
        return function(*args)
    except Exception as error:
        raise portable(error) from None
