"""Per-seed scores from result files people already have, as the long table `xstilts stats contrast`
reads: ``xstilts stats collect "TEMPLATE" --out scores.csv``.

TEMPLATE is a path with placeholders: ``{condition}`` and ``{seed}`` (required unless every file
names them itself, as xstilts' own rows do), optional ``{task}`` and ``{lang}``, and the glob
wildcards ``*``, ``?`` and ``**``; e.g. ``"runs/{condition}/seed{seed}/results*.json"``. A
placeholder matches one path component part (``{seed}`` an integer); the same placeholder twice
must match the same text.

The formats (lm-evaluation-harness, Hugging Face Trainer, jiant, xstilts rows) and the 0-100
scale: ``xstilts.results.score_files``.

Nothing is dropped in silence: a file of no known format, a template without ``{condition}`` or
``{seed}`` for files that do not name them, no file matched, a metric missing in a file, two
scores for one (task, lang, condition, seed): each is one line naming the file, and the table is
not written (``CollectError`` carries the lines). What is left out by design (harness groups,
xstilts trajectory points and unseeded rows) is counted in the notes.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError
from xstilts.results.score_files import FORMAT_NAMES, CollectError, Problem, read_scores

PLACEHOLDERS = ("condition", "seed", "task", "lang")
COLUMNS = ("task", "lang", "condition", "seed", "score", "metric", "scale", "format", "source")
@dataclass
class Collected:
    """The long table (``COLUMNS``, one row per (task, lang, condition, seed); ``task``/``lang``
    left out when no file names one) and notes on what was left out by design."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: int = 0


# ------------------------------------------------------------------ the template


@dataclass(frozen=True)
class Template:
    text: str
    pattern: str  # for glob
    regex: re.Pattern[str]
    fields: tuple[str, ...]

    def values(self, path: str) -> dict[str, str] | None:
        match = self.regex.fullmatch(path)
        return None if match is None else {name: match.group(name) for name in self.fields}


_FIELD = re.compile(r"\{([^{}]*)\}")


def parse_template(text: str) -> Template:
    """The glob pattern and the regex that reads the placeholders back from a matched path."""
    if not text.strip():
        raise ConfigError("TEMPLATE: empty; expected a path with {condition} and {seed}, e.g. "
                          "\"runs/{condition}/seed{seed}/results*.json\"")
    text = os.path.expanduser(text)
    glob_parts, regex_parts, fields = [], [], []
    position = 0
    for match in _FIELD.finditer(text):
        literal = text[position:match.start()]
        glob_parts.append(literal)
        regex_parts.append(_glob_regex(literal))
        name = match.group(1).strip()
        if name not in PLACEHOLDERS:
            raise ConfigError(f"TEMPLATE {text!r}: unknown placeholder {{{match.group(1)}}}; expected "
                              + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        glob_parts.append("*")
        if name in fields:
            regex_parts.append(f"(?P={name})")
        else:
            fields.append(name)
            regex_parts.append(rf"(?P<{name}>-?\d+)" if name == "seed" else rf"(?P<{name}>[^/]+?)")
        position = match.end()
    literal = text[position:]
    if "{" in literal or "}" in literal:
        raise ConfigError(f"TEMPLATE {text!r}: an unmatched brace; placeholders are {{condition}}, {{seed}}, "
                          "{task}, {lang}")
    glob_parts.append(literal)
    regex_parts.append(_glob_regex(literal))
    return Template(text, "".join(glob_parts), re.compile("".join(regex_parts)), tuple(fields))


def _glob_regex(literal: str) -> str:
    out, index = [], 0
    while index < len(literal):
        if literal.startswith("**/", index):
            out.append(r"(?:[^/]+/)*")
            index += 3
        elif literal.startswith("**", index):
            out.append(r".*")
            index += 2
        elif literal[index] == "*":
            out.append(r"[^/]*")
            index += 1
        elif literal[index] == "?":
            out.append(r"[^/]")
            index += 1
        elif literal[index] == "[" and "]" in literal[index + 2:]:  # [abc], [0-9], [!x] as glob reads them
            end = literal.index("]", index + 2)
            inside = literal[index + 1:end]
            out.append("[" + ("^" + inside[1:] if inside.startswith("!") else inside).replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            out.append(re.escape(literal[index]))
            index += 1
    return "".join(out)


def matched_files(template: Template) -> list[str]:
    return sorted({path for path in glob.glob(template.pattern, recursive="**" in template.pattern)
                   if Path(path).is_file()})


# ------------------------------------------------------------------ collecting


def collect_scores(template_text: str, metric: str | None = None, *, task: str | None = None,
                   lang: str | None = None) -> Collected:
    """The long table of every file ``template_text`` matches; ``CollectError`` lists every file
    that could not be read into it (nothing is written then)."""
    template = parse_template(template_text)
    files = matched_files(template)
    if not files:
        raise ConfigError(f"TEMPLATE {template.text!r}: no file matches (looked for {template.pattern})")
    problems: list[str] = []
    notes: list[str] = []
    unnamed: dict[str, list[tuple[str, str]]] = {"condition": [], "seed": []}
    rows: list[dict[str, Any]] = []
    for path in files:
        values = template.values(path)
        if values is None:
            problems.append(f"{path}: matches the template's wildcards but not {template.text!r} "
                            "({seed} must be an integer; a placeholder used twice must match the same text)")
            continue
        try:
            fmt, scores, file_notes = read_scores(path, metric)
        except Problem as problem:
            problems.append(f"{path}: {problem}")
            continue
        notes.extend(f"{path}: {note}" for note in file_notes)
        if not scores:
            problems.append(f"{path}: no score in this {FORMAT_NAMES[fmt]} file"
                            + (f" ({'; '.join(file_notes)})" if file_notes else ""))
        for score in scores:
            condition = values.get("condition", score.condition)
            seed = int(values["seed"]) if "seed" in values else score.seed
            if condition is None or seed is None:
                for name, value in (("condition", condition), ("seed", seed)):
                    if value is None and (not unnamed[name] or unnamed[name][-1][0] != path):
                        unnamed[name].append((path, fmt))
                continue
            rows.append({"task": values.get("task") or score.task or task or "",
                         "lang": values.get("lang") or score.lang or lang or "",
                         "condition": condition, "seed": seed, "score": score.score, "metric": score.metric,
                         "scale": score.scale, "format": fmt, "source": path})
    for name, missing in unnamed.items():
        if missing:
            first, fmt = missing[0]
            problems.append(f"TEMPLATE {template.text!r}: no {{{name}}} placeholder, and {first} "
                            f"({FORMAT_NAMES[fmt]}) names no {name}"
                            + (f" ({len(missing) - 1} more such files)" if len(missing) > 1 else "")
                            + f"; put {{{name}}} where the path holds it")
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    problems.extend(_duplicates(table))
    if problems:
        raise CollectError(problems)
    # Conditions in name order: `stats contrast`'s default pair "A - B" is the first name minus the second.
    table = table.sort_values(["condition", "seed", "task", "lang"], kind="stable").reset_index(drop=True)
    table["seed"] = table["seed"].astype(int)
    for column in ("task", "lang"):
        nameless = table[table[column] == ""]
        if len(nameless) == len(table):
            # One task or one language: the column is absent, as `stats contrast` reads it then.
            table = table.drop(columns=column)
            notes.append(f"no file names a {column} (nor does TEMPLATE or --{column}): the {column} column is left out")
        elif len(nameless):
            notes.append(f"{len(nameless)} of {len(table)} rows have no {column} (first: {nameless['source'].iloc[0]}); "
                         f"{{{column}}} in TEMPLATE or --{column} names it")
    return Collected(table, notes, len(files))


def _duplicates(table: pd.DataFrame) -> list[str]:
    key = ["task", "lang", "condition", "seed"]
    lines = []
    for _, group in table[table.duplicated(key, keep=False)].groupby(key, sort=False):
        first, second = group.iloc[0], group.iloc[1]
        where = (f"{second['source']} and {first['source']} both give" if first["source"] != second["source"]
                 else f"{first['source']}: gives twice")
        lines.append(f"{where} task={first['task']!r} lang={first['lang']!r} condition={first['condition']!r} "
                     f"seed={first['seed']} (scores {first['score']:g} and {second['score']:g}); "
                     "use {task}/{lang} placeholders or a narrower template")
    return lines


def write_scores(table: pd.DataFrame, out: str | Path) -> Path:
    """The table as CSV, written beside ``out`` and moved over it in one step."""
    from xstilts.files import atomic_path

    out = Path(out)
    with atomic_path(out) as temporary:
        table.to_csv(temporary, index=False, float_format="%.15g")
    return out


