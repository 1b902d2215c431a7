"""LAReQA's pool built from the plain XQuAD files, split into sentences by xstilts: NOT XQuAD-R.

The XQuAD-R release carries its own sentence breaks (``lareqa``); the XQuAD files do not, and a
rule-based splitter (``tasks.readers.lareqa.sentence_breaks``) gives another pool: 12,799
candidates instead of 13,014 (Thai 295 instead of 852: the splitter cannot break Thai), and 12.9%
of the questions get a different gold sentence. For a study that has only the XQuAD files and
asks for this pool by name; every table and report shows its own name and title, and it is in no
suite (its score is not LAReQA's).
"""

from xstilts.tasks.catalog.lareqa import POOL_LANGUAGES
from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, TaskKind, TaskSpec

TASK = TaskSpec(
    name="lareqa_xquad_split", display_name="LAReQA (XQuAD split by xstilts, not XQuAD-R)",
    aliases=("lareqa-xquad-split",), kind=TaskKind.RETRIEVAL, metric=Metric.MAP_AT_20,
    languages=tuple(POOL_LANGUAGES.split()), eval_split="test",
    description="LAReQA-style retrieval over a pool split from the plain XQuAD files (not XQuAD-R; mAP@20).",
    layouts=(
        FileLayout("xquad/xquad.{lang}.json", "lareqa_xquad",
                   (("pool", POOL_LANGUAGES), ("sibling", "xquad.LANG.json")), splits=("test",)),
    ),
    data=DataRelations(parallel=True, derived_from={"test": (SQUAD_V1_DEV,)}),
    hub=HubSource("google/xtreme", "XQuAD.{lang}", {"test": "validation"}, "squad_json"),
)
