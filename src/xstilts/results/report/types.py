"""What a report is made of: its options, its sections (text, titled tables, figures) and the report itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from xstilts.results.plots import Plot
from xstilts.results.statistics import ContrastResult
from xstilts.tasks.registry import DEFAULT_SUITE

if TYPE_CHECKING:
    from xstilts.results.report.sequential import SequentialSetting


CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


@dataclass(frozen=True)
class ReportOptions:
    correction: str = "holm"  # within each family: the primary contrasts; the per-language contrasts
    test: str = "t"  # t (seeds) | t+items (seeds and evaluation items)
    include_contaminated: bool = False
    listed_contrasts: tuple[tuple[str, str], ...] = ()  # the study's [report] contrasts
    effect: float = 1.0  # the difference the seeds advisor sizes for (metric points)
    suite: str = DEFAULT_SUITE  # whose table and score (the study's ``suite``)
    sequential: SequentialSetting | None = None  # a sequential seed design (the study's [sequential])


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> table (written as name.csv, name.tex)
    figures: dict[str, Plot] = field(default_factory=dict)  # name -> figure (name.png, name.pdf, name.svg)
    titles: dict[str, str] = field(default_factory=dict)  # table name -> its human title

    def add_table(self, name: str, table: pd.DataFrame, title: str) -> None:
        """A table under its file name (a code name: ``panx_cells``) and its title for a reader
        ("PAN-X: F1 per language and condition")."""
        self.tables[name] = table
        self.titles[name] = title

    def title_of(self, name: str) -> str:
        return self.titles.get(name, name)


@dataclass
class Report:
    title: str
    headline: str
    sections: list[Section]
    contrasts: list[ContrastResult]  # every contrast, adjusted within its family

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: table for section in self.sections for name, table in section.tables.items()}

    def titles(self) -> dict[str, str]:
        return {name: section.title_of(name) for section in self.sections for name in section.tables}

    def figures(self) -> dict[str, Plot]:
        return {name: figure for section in self.sections for name, figure in section.figures.items()}

