"""BUCC 2018: mining parallel sentences (a language paired with English) straight from the encoder."""

from xstilts.tasks.types import FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec

TASK = TaskSpec(
    name="bucc2018", display_name="BUCC", aliases=("bucc",), kind=TaskKind.RETRIEVAL, metric=Metric.BUCC_F1,
    languages=tuple("de fr ru zh".split()), eval_split="test",
    description="BUCC 2018 parallel sentence mining (LANG paired with en); threshold tuned on dev.",
    layouts=(
        # XTREME layout: bucc2018/LANG-en.{dev,test}.{LANG,en,gold}; the reader finds the others.
        FileLayout("bucc2018/{lang}-en.{split}.{lang}", "bucc", ()),
        # Official release: bucc2018/LANG-en/LANG-en.{sample,training,test}.LANG. The official test
        # gold is hidden, so XTREME (and google/xtreme) score the "training" set as test.
        FileLayout("bucc2018/{lang}-en/{lang}-en.{split}.{lang}", "bucc", (),
                   split_names=(("dev", "sample"), ("test", "training"))),
    ),
    hub=HubSource(note="BUCC 2018 corpora are not on the hub (google/xtreme's bucc18 holds only the gold pairs): "
                       "download them from https://comparable.limsi.fr/bucc2018/bucc2018-task.html into bucc2018/ "
                       "(LANG-en/LANG-en.{sample,training}.{LANG,en,gold})"),
    suites=(SuiteMember("xtreme", "retrieval", 1),),
)
