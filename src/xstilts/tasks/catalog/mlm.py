"""Masked language modelling on plain text: the paper's "keep training multilingual MLM" condition.

Any language, or a mix ("multi"). A corpus is text files with one sentence or paragraph per line;
``xstilts data fetch --mlm-corpus LANGS --to DIR`` writes them as ``mlm/{split}-{lang}.txt`` from
Wikipedia. Stages usually point at files directly: ``{ task = "mlm", files = [...], lang = "multi" }``;
their dev metric is perplexity on a held-out share of the same lines.
"""

from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="mlm", display_name="Masked LM", kind=TaskKind.MLM, metric=Metric.PERPLEXITY,
    languages=(),  # any language: a corpus is named by the study or found on disk
    description="Masked-LM (15% masked, 80/10/10) on plain text, one sentence or paragraph a line.",
    layouts=(
        FileLayout("mlm/{split}-{lang}.txt", "text_lines", ()),
        FileLayout("mlm/{lang}.txt", "text_lines", (), splits=("train",)),
    ),
    # No dev split: unless the study gives slices, the last 5% of the lines measure dev perplexity.
    held_out_percent=5,
    # Wikipedia, one article a row; fetched only on request (``--mlm-corpus``), capped in characters.
    hub=HubSource("wikimedia/wikipedia", "20231101.{lang}", {"train": "train"}, "text_lines",
                  options={"column": "text", "streaming": True},
                  note="masked-LM corpora: xstilts data fetch --mlm-corpus LANGS --to DIR (or any text files, "
                       "one line each)"),
)
