"""LAReQA (XQuAD-R): language-agnostic answer retrieval from a multilingual pool, scored by mAP@20.

Every question of the 11 XQuAD-R languages retrieves from one pool holding every sentence of
every XQuAD paragraph in all 11 languages; its 11 correct answers are the sentence holding its
answer in each language. Built from the XQuAD files (``xquad/xquad.LANG.json``, sentences split
by xstilts; docs/reference.md) or read from the XQuAD-R release (``lareqa/xquad-r/LANG.json``,
which carries the released sentence breaks). Romanian is not in XQuAD-R.

DEVIATION from XTREME-R: there LAReQA is a dual encoder fine-tuned on English SQuAD v1.1
(question -> answer sentence + paragraph, google-research/xtreme scripts/train_lareqa.sh); here
it is scored straight from the encoder's sentence vectors (the study's retrieval settings: layer,
pooling, prefix; cosine similarity), like Tatoeba. Results are comparable across conditions of a
study, not with the XTREME-R paper's LAReQA numbers.
"""

from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV
from xstilts.tasks.types import DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec

POOL_LANGUAGES = "ar de el en es hi ru th tr vi zh"

TASK = TaskSpec(
    name="lareqa", display_name="LAReQA", kind=TaskKind.RETRIEVAL, metric=Metric.MAP_AT_20,
    languages=tuple(POOL_LANGUAGES.split()), eval_split="test",
    description="LAReQA / XQuAD-R answer-sentence retrieval from an 11-language pool (mAP@20; test only).",
    layouts=(
        # The XQuAD-R release (google-research-datasets/lareqa): XQuAD with sentence breaks.
        FileLayout("lareqa/xquad-r/{lang}.json", "lareqa_xquad", (("pool", POOL_LANGUAGES), ("sibling", "LANG.json")),
                   splits=("test",)),
        # Built from the XQuAD files themselves.
        FileLayout("xquad/xquad.{lang}.json", "lareqa_xquad",
                   (("pool", POOL_LANGUAGES), ("sibling", "xquad.LANG.json")), splits=("test",)),
    ),
    # XQuAD-R is XQuAD, which is SQuAD v1.1 dev translated.
    data=DataRelations(parallel=True, derived_from={"test": (SQUAD_V1_DEV,)}),
    hub=HubSource("google/xtreme", "XQuAD.{lang}", {"test": "validation"}, "squad_json", layout=1),
    suites=(SuiteMember("xtreme-r", "retrieval", 2),),
)
