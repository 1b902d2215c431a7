"""LAReQA (XQuAD-R): language-agnostic answer retrieval from a multilingual pool, scored by mAP@20.

Every question of the 11 XQuAD-R languages retrieves from one pool holding every sentence of
every XQuAD-R paragraph in all 11 languages; its 11 correct answers are the sentence holding its
answer in each language. Read from the XQuAD-R release (google-research-datasets/lareqa,
``lareqa/xquad-r/LANG.json``: XQuAD with the released sentence breaks), which
``xstilts data fetch lareqa`` downloads and checks against the counts below. The hub's row copy
(google-research-datasets/xquad_r) drops the sentence breaks, so it cannot give this pool; a
pool split by xstilts from the plain XQuAD files is a different task, asked for by name
(``lareqa_xquad_split``) and labelled so wherever it shows. Romanian is not in XQuAD-R.

Scored two ways (``TaskSpec.fine_tuning``): under ``suite = "xtreme-r"`` as XTREME-R scores it,
from a dual encoder fine-tuned on English SQuAD v1.1 (question -> answer sentence + paragraph:
the ``squad_retrieval`` task; google-research/xtreme scripts/train_lareqa.sh); or straight from
the encoder's sentence vectors (the study's retrieval settings; cosine), like Tatoeba, which a
target asks for with ``protocol = "encoder-only"`` and which is labelled as such.
"""

from pathlib import Path

from xstilts.errors import DataFormatError
from xstilts.tasks.catalog.squad_v1 import SQUAD_V1_DEV
from xstilts.tasks.types import (
    DataRelations, FileLayout, FineTuning, HubSource, Metric, SuiteMember, TaskKind, TaskSpec,
)

POOL_LANGUAGES = "ar de el en es hi ru th tr vi zh"
# The release: 1,190 questions a language; its candidates (sentences) per language. The pool:
# 13,090 questions, 13,014 candidates (google-research/xtreme utils_lareqa.load_data).
RELEASE_QUESTIONS = 1190
RELEASE_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                      "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
RELEASE_URL = "https://github.com/google-research-datasets/lareqa/raw/master/xquad-r/{lang}.json"


def check_release_file(path: Path, lang: str) -> None:
    """A downloaded ``LANG.json`` is the release: its questions and sentences are counted."""
    from xstilts.tasks.readers.lareqa import xquad_pool_language

    questions, candidates, _ = xquad_pool_language(path, lang)
    counts = (len(questions), len(candidates))
    expected = (RELEASE_QUESTIONS, RELEASE_CANDIDATES[lang])
    if counts != expected:
        raise DataFormatError(path, None, f"not the XQuAD-R release: {counts[0]} questions and {counts[1]} "
                                          f"sentences, the release has {expected[0]} and {expected[1]}")


TASK = TaskSpec(
    name="lareqa", display_name="LAReQA", kind=TaskKind.RETRIEVAL, metric=Metric.MAP_AT_20,
    languages=tuple(POOL_LANGUAGES.split()), eval_split="test",
    description="LAReQA / XQuAD-R answer-sentence retrieval from an 11-language pool (mAP@20; test only).",
    layouts=(
        # The XQuAD-R release (google-research-datasets/lareqa): XQuAD with sentence breaks.
        FileLayout("lareqa/xquad-r/{lang}.json", "lareqa_xquad", (("pool", POOL_LANGUAGES), ("sibling", "LANG.json")),
                   splits=("test",)),
    ),
    # XQuAD-R is XQuAD, which is SQuAD v1.1 dev translated.
    data=DataRelations(parallel=True, derived_from={"test": (SQUAD_V1_DEV,)}),
    hub=HubSource("google-research-datasets/lareqa", None, {"test": "xquad-r"}, file_url=RELEASE_URL,
                  verify=check_release_file),
    # XTREME-R: a dual encoder fine-tuned on English SQuAD v1.1 question -> answer-sentence pairs.
    fine_tuning=(FineTuning("squad_retrieval", suites=("xtreme-r",)),),
    suites=(SuiteMember("xtreme-r", "retrieval", 2),),
)
