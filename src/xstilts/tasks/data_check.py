"""`xstilts data check`: what every task finds under a data directory, and what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from xstilts.errors import MissingDataError, XstiltsError
from xstilts.tasks.load import available, load_examples
from xstilts.tasks.registry import all_tasks
from xstilts.tasks.types import Example, QAExample, RetrievalSet, TaskKind, TaskSpec

@dataclass(frozen=True)
class DataEntry:
    task: str
    lang: str
    split: str
    files: tuple[Path, ...]
    count: int | None  # None when reading failed (the problem is in DataReport.problems)
    unit: str
    official: bool  # an XTREME language of the task (others are translated or extra data)


@dataclass
class DataReport:
    data_dir: Path
    entries: list[DataEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Readable but suspicious data (e.g. a dev set whose gold answers were blanked).
    warnings: list[str] = field(default_factory=list)

    def count(self, task: str, lang: str, split: str) -> int | None:
        for entry in self.entries:
            if (entry.task, entry.lang, entry.split) == (task, lang, split):
                return entry.count
        return None


def check_data_dir(data_dir: Path) -> DataReport:
    """Read every task/language/split found under ``data_dir`` and count its examples.

    Reading errors are collected (one line each, naming file and line), not raised.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise MissingDataError(f"data directory {data_dir} does not exist")
    report = DataReport(data_dir)
    for task in all_tasks():
        for (lang, split), files in available(task, data_dir).items():
            report.entries.append(_check(task, lang, split, data_dir, files, report.problems, report.warnings))
    return report


def _check(task: TaskSpec, lang: str, split: str, data_dir: Path, files: list[Path],
           problems: list[str], warnings: list[str]) -> DataEntry:
    try:
        examples = load_examples(task, lang, split, data_dir)
        count = count_items(examples)
        warnings.extend(f"{task.name} {lang} {split} ({', '.join(str(f) for f in files)}): {message}"
                        for message in qa_warnings(examples))
    except XstiltsError as error:
        problems.append(f"{task.name} {lang} {split}: {error}")
        count = None
    return DataEntry(task.name, lang, split, tuple(files), count, task.facts.data_unit, lang in task.languages)


def qa_warnings(examples: list[Example]) -> list[str]:
    """QA files that read fine but cannot serve as gold: blanked answers, repeated question ids."""
    questions = [ex for ex in examples if isinstance(ex, QAExample)]
    if not questions:
        return []
    messages = []
    unanswered = sum(1 for ex in questions if not ex.is_impossible and not any(a.text for a in ex.answers))
    if unanswered == len(questions):
        messages.append(f"all {unanswered} questions have empty gold answers: usable as input, not for scoring")
    elif unanswered:
        messages.append(f"{unanswered} of {len(questions)} questions have empty gold answers")
    repeated = sum(1 for ex in questions if "#" in ex.guid)
    if repeated:
        messages.append(f"{repeated} repeated question ids (renamed id#N so that each question stays distinct)")
    return messages


def count_items(examples: list[Example]) -> int:
    """Examples, except for retrieval sets, which count their gold pairs."""
    return sum(len(ex.gold) if isinstance(ex, RetrievalSet) else 1 for ex in examples)


def render_report(report: DataReport, console: Console) -> None:
    table = Table(title=f"Data under {report.data_dir}", caption="* not an XTREME language of the task")
    table.add_column("task")
    table.add_column("language")
    table.add_column("split")
    table.add_column("examples", justify="right")
    table.add_column("files", overflow="fold")
    for entry in report.entries:
        count = f"{entry.count:,} {entry.unit}" if entry.count is not None else "[red]error[/red]"
        table.add_row(entry.task, entry.lang + ("" if entry.official else "*"), entry.split, count,
                      _files_cell(entry.files, report.data_dir))
    console.print(table)
    if report.problems:
        console.print(f"[red]{len(report.problems)} problem(s):[/red]")
        for problem in report.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
    else:
        console.print("No problems found.")
    for warning in report.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)


def _files_cell(files: tuple[Path, ...], data_dir: Path) -> str:
    names = [str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path) for path in files]
    return ", ".join(names)
