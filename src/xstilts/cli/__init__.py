"""The `xstilts` command line: one entry point, sub-commands per job, one module per command group
(``data``, ``scoring``, ``training``, ``study``, ``results``, ``stats``); what they share is in ``common``,
and what `run` and `results show` print of a study's results in ``show``. The work itself lives in
the layers below (a command parses, calls one function, and prints).

Heavy imports (torch, transformers) happen inside the commands so that `xstilts --help`
and the scorer start instantly. User mistakes (``XstiltsError``) print one line and exit 2.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

# The command modules register their commands on import, in the order --help lists them.
from xstilts.cli import data, scoring, training, study, results, stats, collect  # noqa: F401  # isort: skip
from xstilts.cli.common import app, print_error, use_process_cpus
from xstilts.errors import XstiltsError

_use_process_cpus = use_process_cpus  # the name tests/test_threads.py imports

__all__ = ["app", "main"]


def _quiet_libraries() -> None:
    """Our own progress bars replace the libraries' per-call bars and load reports."""
    import os

    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def main(argv: Optional[list[str]] = None) -> None:
    _quiet_libraries()
    # Typer handles usage errors itself (message + exit 2); our own errors are one line too.
    try:
        # standalone_mode=False: errors come back here so that each prints as one line.
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        code = 130
    except _ClickException as error:  # usage errors: one line naming the option, exit 2
        where = f"{error.ctx.command_path}: " if getattr(error, "ctx", None) is not None else ""
        print_error(f"{where}{error.format_message()}")
        sys.exit(error.exit_code)
    except XstiltsError as error:
        print_error(error)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except OSError as error:
        # The file system refused (a folder that is a file, no permission, disk full): one line
        # naming the path, never a traceback.
        where = f"{error.filename}: " if error.filename else ""
        print_error(f"{where}{error.strerror or error}")
        sys.exit(2)
    if code == 130:  # typer turns Ctrl-C into exit code 130
        print_error("interrupted", prefix="")
    if isinstance(code, int) and code:
        sys.exit(code)


# typer >= 0.20 vendors click; its usage errors derive from this class (older typer: click's own).
try:
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException as _ClickException
