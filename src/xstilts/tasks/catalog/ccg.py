"""CCG supertagging (CCGbank), an English intermediate task with an open tag set."""

from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="ccg", display_name="CCG", kind=TaskKind.TAGGING, metric=Metric.ACCURACY, languages=("en",),
    labels=None,  # supertags are read from the training data
    description="CCG supertagging (CCGbank; licensed data, bring your own files).",
    layouts=(
        FileLayout("ccg/{split}.tsv", "conll_tagging", ()),
        FileLayout("ccg/{split}-{lang}.tsv", "conll_tagging", ()),
        # jiant's layout: one sentence per line, tokens and tags as space-separated columns.
        FileLayout("ccg/ccg.{split}", "token_tag_lines", ()),
    ),
    data=DataRelations(train_rows=38_015),
    hub=HubSource(note="CCGbank is licensed by the LDC (LDC2005T13, https://catalog.ldc.upenn.edu/LDC2005T13): "
                       "convert its supertags to ccg/{train,dev,test}.tsv (token<TAB>supertag) yourself"),
)
