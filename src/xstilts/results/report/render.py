"""Writing a report: report.md, a self-contained report.html (figures embedded), every table as CSV
and every figure as PNG.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.files import write_bytes_atomic
from xstilts.results.report.types import Report
from xstilts.results.statistics import format_number


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a meaningful index (``condition``) as its first column and no header row for
    the columns' own name."""
    frame = table.reset_index() if table.index.name or not isinstance(table.index, pd.RangeIndex) else table.copy()
    frame.columns.name = None
    return frame


def _markdown_table(table: pd.DataFrame) -> str:
    frame = _shown(table)

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return format_number(value, 3)
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _displayed(name: str) -> bool:
    return not name.endswith("_values")


def render_markdown(report: Report) -> str:
    parts = [f"# {report.title}", ""]
    for section in report.sections:
        parts += [f"## {section.title}", ""]
        warnings = section.title == "Warnings"
        parts += [(f"- {p}" if warnings else p) for p in section.paragraphs]
        parts.append("")
        for name, table in section.tables.items():
            if _displayed(name):
                parts += [f"**{name}** ([csv]({name}.csv))", "", _markdown_table(table), ""]
        for name in section.figures:
            parts += [f"![{name}]({name}.png)", ""]
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
            body.append(f"<h3>{html.escape(name)}</h3>")
            # Wide tables scroll inside their box instead of running off the page.
            body.append("<div class='scroll'>" + _shown(table).to_html(
                index=False, na_rep="-", float_format=lambda v: format_number(v, 3), table_id=name,
                classes="report-table") + "</div>")
        for name, png in section.figures.items():
            encoded = base64.b64encode(png).decode("ascii")
            body.append(f"<img alt='{html.escape(name)}' id='{html.escape(name)}' src='data:image/png;base64,{encoded}'>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(report.title)
            + f"</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>")


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write report.md, report.html, NAME.csv per table and NAME.png per figure; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in report.tables().items():
        write_bytes_atomic(out_dir / f"{name}.csv", table.to_csv().encode())
    for name, png in report.figures().items():
        write_bytes_atomic(out_dir / f"{name}.png", png)
    write_bytes_atomic(out_dir / "report.md", render_markdown(report).encode())
    write_bytes_atomic(out_dir / "report.html", render_html(report).encode())
    return out_dir / "report.html"

