"""What every command shares: the `xstilts` app and its command groups, the consoles, one-line
errors, JSON output and the arguments several commands read the same way (data folder, --out,
a study and its plan, the process's CPUs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from xstilts.errors import ConfigError

app = typer.Typer(
    name="xstilts",
    help="Intermediate-task training, stage orders and zero-shot cross-lingual transfer on XTREME.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect task data on disk.", no_args_is_help=True)
model_app = typer.Typer(help="Build and inspect encoders.", no_args_is_help=True)
results_app = typer.Typer(help="Read and export a study's results store.", no_args_is_help=True)
stats_app = typer.Typer(help="Statistics of per-seed scores made anywhere.", no_args_is_help=True)
# The groups after the commands in --help, in this order.
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.add_typer(results_app, name="results")
app.add_typer(stats_app, name="stats")

console = Console()
err_console = Console(stderr=True)


def print_json(obj: object) -> None:
    # Plain print, not rich: the output is meant for machines (jq, scripts).
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))


def print_error(message: object, prefix: str = "error: ") -> None:
    """One line on stderr, as plain text: paths and labels like '[abc]' or '[/bold]' are not markup."""
    from rich.text import Text

    from xstilts.errors import one_line

    line = Text(prefix, style="bold red") if prefix else Text()
    line.append(one_line(message))
    err_console.print(line, highlight=False, soft_wrap=True)


def data_dir_or_default(data_dir: Path | None) -> Path:
    from xstilts.errors import MissingDataError
    from xstilts.paths import default_data_dir

    directory = data_dir or default_data_dir()
    if directory is None:
        raise MissingDataError("no data directory given and none found (set XSTILTS_DATA or pass --data DIR)")
    if not Path(directory).is_dir():
        raise MissingDataError(f"{directory}: data directory does not exist")
    return Path(directory)


def check_out_arg(out: Path) -> None:

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")


def study_and_plan(study: Path, data: Optional[Path]):
    from xstilts.study import build_plan, load_study

    spec = load_study(study)
    return spec, build_plan(spec, data_dir_override=data)


def use_process_cpus() -> None:
    """Torch threads for a lone train/evaluate: the CPUs this process may use (affinity and cgroup
    quota, as a study's workers get; torch alone ignores the quota), recorded with the run."""
    from xstilts.threads import apply_threads, choose_threads

    apply_threads(choose_threads(1))
