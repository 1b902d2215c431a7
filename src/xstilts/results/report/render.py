"""Writing a report: report.md, a self-contained report.html (figures embedded), every table as CSV
and as a LaTeX (booktabs) table, a report.tex that inputs them, and every figure as PNG, PDF and
SVG; ``formats`` chooses which of these are written.

Every displayed table carries its human title and one way of printing numbers (one decimal; the
tables' own text, such as p-values, as it was formatted). LaTeX is escaped by pandas (the Styler's
``escape="latex"``), never by hand.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError
from xstilts.files import write_bytes_atomic
from xstilts.results.plots import FIGURE_FORMATS
from xstilts.results.report.types import Report, Section
from xstilts.results.statistics import format_number

FORMATS = ("md", "html", "csv", "png", "pdf", "svg", "tex")

# Column names as a reader reads them (the CSV files keep the code names).
COLUMN_LABELS = {
    "lang": "language", "sd_of_differences": "SD of differences", "detectable_80": "detectable (80% power)",
    "detectable_80_family": "detectable, family", "seeds_needed": "seeds needed",
    "seeds_needed_cautious": "seeds needed, cautious", "seeds_needed_family": "seeds needed, family",
    "gap_mean": "gap", "gap_std": "gap SD", "after_stages": "stages done", "std": "SD", "sha256": "SHA-256",
}


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"md,html,pdf"`` (or a list of names; ``all``: every format) -> the formats in ``FORMATS``
    order; an unknown or missing name is a one-line error."""
    names = [part.strip().lower() for part in (formats.split(",") if isinstance(formats, str) else formats)]
    names = [name for part in names if part for name in (FORMATS if part == "all" else (part,))]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"--formats: expected all or a comma-separated list of {', '.join(FORMATS)}, got "
                          f"{','.join(names) or 'nothing'!r}" + (f" ({', '.join(unknown)} unknown)" if unknown else ""))
    return tuple(name for name in FORMATS if name in names)


def _cell_text(value: Any) -> str:
    """A cell as every rendering prints it: numbers with one decimal, missing values as "-"."""
    if value is None:
        return "-"
    if isinstance(value, float):  # numpy's float64 too
        return format_number(value)
    if not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value):
        return "-"
    return str(value)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text: a meaningful index (``condition``) as its first column, no header row for
    the columns' own name, readers' column labels, every cell printed by ``_cell_text``."""
    frame = table.reset_index() if table.index.name or not isinstance(table.index, pd.RangeIndex) else table.copy()
    frame.columns = [COLUMN_LABELS.get(str(column), str(column)) for column in frame.columns]
    return frame.map(_cell_text).astype(object) if not frame.empty else frame.astype(object)


def _markdown_table(table: pd.DataFrame) -> str:
    frame = _shown(table)

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _displayed(name: str) -> bool:
    return not name.endswith("_values")


def _figure_file(name: str, formats: Iterable[str]) -> str | None:
    """The figure file Markdown shows: the PNG, else the SVG."""
    return next((f"{name}.{fmt}" for fmt in ("png", "svg") if fmt in formats), None)


def render_markdown(report: Report, formats: Iterable[str] = FORMATS) -> str:
    formats = tuple(formats)
    parts = [f"# {report.title}", ""]
    for section in report.sections:
        parts += [f"## {section.title}", ""]
        warnings = section.title == "Warnings"
        parts += [(f"- {p}" if warnings else p) for p in section.paragraphs]
        parts.append("")
        for name, table in section.tables.items():
            if _displayed(name):
                links = [f"[{fmt}]({name}.{fmt})" for fmt in ("csv", "tex") if fmt in formats]
                parts += [f"**{section.title_of(name)}**" + (f" ({', '.join(links)})" if links else ""), "",
                          _markdown_table(table), ""]
        for name, plot in section.figures.items():
            shown = _figure_file(name, formats)
            vectors = [f"[{fmt}]({name}.{fmt})" for fmt in ("pdf", "svg") if fmt in formats]
            line = f"![{plot.title}]({shown})" if shown else f"*{plot.title}*"
            parts += [line + (f" ({', '.join(vectors)})" if vectors else ""), ""]
    return "\n".join(parts)


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.scroll{overflow-x:auto;max-width:100%;margin:0.5em 0 1.5em}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #bbb;padding:3px 6px;
text-align:right;white-space:nowrap}th{background:#eee}.headline{font-size:1.2em;background:#f3f7ff;padding:0.8em;
border-left:4px solid #36c}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"""


def render_html(report: Report) -> str:
    body = [f"<h1>{html.escape(report.title)}</h1>",
            f"<p class='headline' id='headline'>{html.escape(report.headline)}</p>"]
    for section in report.sections[1:]:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.title == "Warnings":
            body.append("<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in section.paragraphs) + "</ul>")
        else:
            body += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        for name, table in section.tables.items():
            if not _displayed(name):
                continue
            body.append(f"<h3>{html.escape(section.title_of(name))}</h3>")
            # Wide tables scroll inside their box instead of running off the page.
            body.append("<div class='scroll'>" + _shown(table).to_html(
                index=False, na_rep="-", table_id=name, classes="report-table") + "</div>")
        for name, plot in section.figures.items():
            encoded = base64.b64encode(plot.png).decode("ascii")
            body.append(f"<img alt='{html.escape(plot.title)}' id='{html.escape(name)}' "
                        f"src='data:image/png;base64,{encoded}'>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(report.title)
            + f"</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>")


# ---------------------------------------------------------------- LaTeX

_NUMERIC = re.compile(r"^(-|[-+<]?\s?[0-9.]+.*)$")  # a column of numbers (and "-") is right-aligned
WIDE_TABLE = 8  # columns from which a LaTeX table is set in \small


def latex_text(text: str) -> str:
    """``text`` escaped for LaTeX by pandas: one cell through the Styler's ``escape="latex"``."""
    one = pd.DataFrame([[text]]).style.hide(axis="index").hide(axis="columns").format(escape="latex")
    body = one.to_latex()  # "\begin{tabular}{l}\n<text> \\\n\end{tabular}\n"
    start, end = body.index("\n") + 1, body.rindex(" \\\\\n\\end{tabular}")
    return body[start:end]


def latex_table(table: pd.DataFrame, name: str, title: str) -> str:
    """A booktabs ``table`` float: caption ``title``, label ``tab:NAME``, text columns left- and
    number columns right-aligned, every cell and column label escaped by pandas."""
    frame = _shown(table)
    # The table's text has no empty columns ("note" when no contrast has one).
    if len(frame):
        frame = frame.loc[:, [column for column in frame.columns if (frame[column] != "").any()]]
    align = "".join("r" if index > 0 and len(frame) and frame[column].map(lambda v: bool(_NUMERIC.match(v))).all()
                    else "l" for index, column in enumerate(frame.columns))
    styler = frame.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis="columns")
    if frame.shape[1] >= WIDE_TABLE:
        styler = styler.set_table_styles([{"selector": "small", "props": ":;"}])
    return styler.to_latex(hrules=True, caption=latex_text(title), label=f"tab:{name}", position="htbp",
                           position_float="centering", column_format=align or "l")


def _latex_section(section: Section, figures: bool) -> list[str]:
    lines = [f"\\section{{{latex_text(section.title)}}}", ""]
    if section.title == "Warnings" and section.paragraphs:
        lines += ["\\begin{itemize}", *[f"\\item {latex_text(p)}" for p in section.paragraphs], "\\end{itemize}", ""]
    else:
        lines += [line for p in section.paragraphs for line in (latex_text(p), "")]
    lines += [f"\\input{{{name}.tex}}" for name in section.tables if _displayed(name)]
    if figures:
        for name, plot in section.figures.items():
            lines += ["\\begin{figure}[htbp]", "\\centering",
                      f"\\includegraphics[width=\\linewidth,height=0.8\\textheight,keepaspectratio]{{{name}.pdf}}",
                      f"\\caption{{{latex_text(plot.title)}}}", f"\\label{{fig:{name}}}", "\\end{figure}"]
    if section.tables or (figures and section.figures):
        lines.append("\\clearpage")  # the section's floats are placed before the next section starts
    return [*lines, ""]


def render_latex(report: Report, figures: bool = True) -> str:
    """report.tex: a standalone document (pdflatex; booktabs, graphicx, geometry) of the headline,
    every section's text, its tables (\\input{NAME.tex}) and, with ``figures``, its figures (NAME.pdf)."""
    lines = [
        "% Written by `xstilts report`: compile with `pdflatex report.tex` in this folder.",
        "% Each table is its own file (NAME.tex: a booktabs table float) to \\input{} in a paper.",
        "\\documentclass[10pt]{article}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage[utf8]{inputenc}",
        "\\usepackage{textcomp}",
        "\\IfFileExists{lmodern.sty}{\\usepackage{lmodern}}{}  % vector T1 fonts where installed",
        "\\usepackage[margin=2cm]{geometry}",
        "\\usepackage{booktabs}",
        "\\usepackage{graphicx}",
        "\\extrafloats{100}",
        "\\begin{document}",
        f"\\section*{{{latex_text(report.title)}}}",
        "",
        latex_text(report.headline),
        "",
    ]
    for section in report.sections[1:]:
        lines += _latex_section(section, figures)
    return "\n".join([*lines, "\\end{document}", ""])


def write_report(report: Report, out_dir: str | Path, formats: str | Iterable[str] = FORMATS) -> Path:
    """Write, of ``formats``: report.md, report.html, NAME.csv per table, NAME.tex per displayed
    table and report.tex, NAME.png / NAME.pdf / NAME.svg per figure. Returns the HTML path (else
    report.md, else report.tex, else the folder)."""
    formats = parse_formats(formats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if "csv" in formats:
        for name, table in report.tables().items():
            write_bytes_atomic(out_dir / f"{name}.csv", table.to_csv().encode())
    figure_formats = [fmt for fmt in FIGURE_FORMATS if fmt in formats]
    drawn = [*figure_formats, *(["png"] if "html" in formats and "png" not in figure_formats else [])]
    if drawn:
        for name, plot in report.figures().items():
            for fmt, data in plot.save(*drawn).items():
                if fmt in figure_formats:
                    write_bytes_atomic(out_dir / f"{name}.{fmt}", data)
    if "tex" in formats:
        titles = report.titles()
        for name, table in report.tables().items():
            if _displayed(name):
                write_bytes_atomic(out_dir / f"{name}.tex", latex_table(table, name, titles[name]).encode())
        write_bytes_atomic(out_dir / "report.tex", render_latex(report, figures="pdf" in formats).encode())
    if "md" in formats:
        write_bytes_atomic(out_dir / "report.md", render_markdown(report, formats).encode())
    if "html" in formats:
        write_bytes_atomic(out_dir / "report.html", render_html(report).encode())
    for main in ("report.html", "report.md", "report.tex"):
        if (out_dir / main).is_file() and main.split(".")[1] in formats:
            return out_dir / main
    return out_dir
