"""Masked language modelling on plain text: the paper's "keep training multilingual MLM" condition.

Any language, or a mix ("multi"). A corpus is text files with one sentence or paragraph per line;
`xstilts data fetch --mlm-corpus LANGS --to DIR` writes them as ``mlm/{split}-{lang}.txt``. Stages
usually point at files directly: ``{ task = "mlm", files = [...], lang = "multi" }``; their dev
metric is perplexity on a held-out slice of the same files (see ``study.plan``).
"""

from __future__ import annotations

from xstilts.languages import KNOWN_LANGUAGES
from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, Metric, TaskKind, TaskSpec

# Share of the lines a stage keeps out of training to measure dev perplexity on, when the
# study gives no slices of its own.
HELD_OUT_PERCENT = 5

register(TaskSpec(
    name="mlm", kind=TaskKind.MLM, metric=Metric.PERPLEXITY, languages=tuple(sorted(KNOWN_LANGUAGES)),
    description="Masked-LM (15% masked, 80/10/10) on plain text, one sentence or paragraph a line.",
    layouts=(
        FileLayout("mlm/{split}-{lang}.txt", "text_lines", ()),
        FileLayout("mlm/{lang}.txt", "text_lines", (), splits=("train",)),
    ),
))
