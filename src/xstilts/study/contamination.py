"""The contamination guard: an evaluation cell (evaluation, language) is flagged when a training
anywhere on its model's path (an intermediate stage or the target fine-tuning) read rows that
the cell evaluates, as training data or as the dev set that picked the checkpoint.

Rows are compared as FOOTPRINTS: a source that row numbers index, and the rows used.

How sets relate is each task file's ``DataRelations`` (``TaskSpec.data``):

- A monolingual set is its own source per language ("panx dev-de").
- A parallel set (XNLI, PAWS-X, XQuAD, XCOPA) is ONE source for all its languages, because row i
  is the same item translated: training on xnli dev-de[:1245] uses rows 0-1244 of "xnli dev"
  and contaminates those rows in every language, while an evaluation of xnli dev[1245:] stays
  clean.
- A parallel set whose languages hold different subsets of the items (MLQA) matches rows only
  within a language; across languages any use of the split counts as overlap.
- A shared set is one set under several task names (XTREME's English XNLI train is MNLI train;
  XQuAD and MLQA train on SQuAD v1.1 train): it is one source, named by the set.
- A derived set was built from part of another with no row correspondence; using any row of
  the one counts as using the other. XQuAD (test) is 240 paragraphs of SQuAD v1.1 dev
  translated, and the SQuAD 2.0 dev set was built from the SQuAD 1.1 dev articles.
- A task whose rows are compared by content (``content_rows``: a task declared in a study file)
  is also ONE source of row contents across its splits and languages: a dev file of one
  language that copies rows of another, or of the training file, shares those rows whatever
  their positions.
- The files' bytes are a source too (per language, since a file may hold several): explicit
  ``files`` are compared by their content only, so a translation made by the user is not
  recognised as parallel to the set it was translated from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xstilts.study.data_facts import UNBOUNDED, DataFacts, selected_rows
from xstilts.tasks.registry import get_task
from xstilts.tasks.selection import DataSelection

TRAINED_ON = "trained on"
SELECTED_ON = "checkpoint selected on"


@dataclass(frozen=True)
class Footprint:
    source: str
    rows: range | None  # None: which rows is unknown, so all of them count
    # Set for a source whose rows only align within a language: then it only counts against
    # other languages (the per-language footprint compares rows within this one).
    except_lang: str | None = None
    # Set for a source compared by row content: the hashes of the rows used (``rows`` is None).
    contents: frozenset[str] | None = None

    def overlap(self, other: Footprint) -> str | None:
        """How the two footprints share rows, in words, or None when they do not."""
        if self.source != other.source:
            return None
        if self.contents is not None and other.contents is not None:
            shared = len(self.contents & other.contents)
            return f"{shared} row{'s' if shared > 1 else ''} of equal content in {self.source}" if shared else None
        if self.except_lang is not None and self.except_lang == other.except_lang:
            return None
        if self.rows is None or other.rows is None:
            return f"{self.source} (rows cannot be matched, so any use counts)"
        start, stop = max(self.rows.start, other.rows.start), min(self.rows.stop, other.rows.stop)
        if start >= stop:
            return None
        end = "end" if stop >= UNBOUNDED else str(stop - 1)
        return f"rows {start}-{end} of {self.source}"


def footprints(selection: DataSelection, facts: DataFacts, limit: int | None = None) -> tuple[Footprint, ...]:
    """The sources and rows a selection reads (``limit``: only its first N examples)."""
    rows = selected_rows(selection.slice, facts.rows, limit)
    lang, split = selection.lang, selection.split
    prints: list[Footprint] = []
    if not selection.files:
        task = get_task(selection.task)
        relations = task.data
        if split in relations.shared:
            prints.append(Footprint(relations.shared[split].name, rows))
        elif relations.parallel and not relations.aligned_rows:
            prints.append(Footprint(f"{task.name} {split}-{lang}", rows))
            prints.append(Footprint(f"{task.name} {split} (all languages)", None, except_lang=lang))
        elif relations.parallel:
            prints.append(Footprint(f"{task.name} {split} (all languages)", rows))
        else:
            prints.append(Footprint(f"{task.name} {split}-{lang}", rows))
        prints.extend(Footprint(source.name, None) for source in relations.derived_from.get(split, ()))
    if facts.row_hashes is not None and rows is not None:
        used = frozenset(facts.row_hashes[i] for i in rows if i < len(facts.row_hashes))
        prints.append(Footprint(f"{selection.task} (rows by content)", None, contents=used))
    if facts.present:
        prints.append(Footprint(f"files {facts.sha256[:12]} ({lang})", rows))
    return tuple(prints)


@dataclass(frozen=True)
class UsedData:
    """Data a training on an evaluated model's path read."""

    role: str  # TRAINED_ON or SELECTED_ON
    selection: DataSelection
    footprints: tuple[Footprint, ...]
    where: str  # which training, e.g. "stage nli_de"


def first_overlap(used: Sequence[Footprint], evaluated: Sequence[Footprint]) -> str | None:
    for a in used:
        for b in evaluated:
            detail = a.overlap(b)
            if detail:
                return detail
    return None


def contaminated_cells(evaluated: Mapping[str, Sequence[Footprint]], used: Sequence[UsedData]) -> dict[str, str]:
    """Language -> why its cell is contaminated (every offending use, "; "-joined), for every
    evaluated language that is."""
    flagged: dict[str, str] = {}
    for lang, prints in evaluated.items():
        reasons = [f"{use.role} {use.selection.describe()} in {use.where}: {detail}"
                   for use in used if (detail := first_overlap(use.footprints, prints))]
        if reasons:
            flagged[lang] = "; ".join(reasons)
    return flagged
