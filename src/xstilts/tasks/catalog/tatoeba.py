"""Tatoeba: finding each English sentence's translation by nearest neighbour.

XTREME (and the X-STILTs paper) score it straight from the study's encoder; XTREME-R scores it
from the model fine-tuned on English SQuAD v1.1 (google-research/xtreme scripts/run_tatoeba.sh
points MODEL at the SQuAD model), the training XQuAD and MLQA share: under ``suite = "xtreme-r"``
a study trains (or reuses) that QA fine-tuning on each path and scores Tatoeba from its encoder.
"""

from xstilts.languages import alpha3
from xstilts.tasks.types import FileLayout, FineTuning, HubSource, Metric, SuiteMember, TaskKind, TaskSpec

XTREME_LANGUAGES = tuple("af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw "
                         "ta te th tl tr ur vi zh".split())

LANGUAGES = tuple("af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw "
                  "ta te th tl tr ur vi zh az lt pl uk ro".split())
# The LASER files name each language by an ISO 639-3 code: the individual language where the
# ISO 639-1 code is a macrolanguage (Persian, Swahili, Chinese) and Tagalog's own code.
FILE_CODES = {lang: {"fa": "pes", "sw": "swh", "zh": "cmn", "tl": "tgl"}.get(lang) or alpha3(lang) for lang in LANGUAGES}

TASK = TaskSpec(
    name="tatoeba", display_name="Tatoeba", kind=TaskKind.RETRIEVAL, metric=Metric.TATOEBA_ACCURACY,
    languages=LANGUAGES, file_codes={"lang3": FILE_CODES},
    eval_split="test",
    description="Tatoeba similarity search (LASER test set, 1,000 pairs a language; test only).",
    layouts=(
        FileLayout("tatoeba/tatoeba.{lang3}-eng.{lang3}", "tatoeba", (), splits=("test",)),
        FileLayout("tatoeba/v1/tatoeba.{lang3}-eng.{lang3}", "tatoeba", (), splits=("test",)),
    ),
    hub=HubSource("google/xtreme", "tatoeba.{lang3}", {"test": "validation"}, "tatoeba_files"),
    # XTREME-R: scored from XQuAD's SQuAD v1.1 fine-tuning (shared with the study's XQuAD/MLQA).
    fine_tuning=(FineTuning("xquad", suites=("xtreme-r",)),),
    suites=(SuiteMember("xtreme", "retrieval", 2, languages=XTREME_LANGUAGES),
            # XTREME-R: the same search over 41 languages (adds az lt pl uk ro).
            SuiteMember("xtreme-r", "retrieval", 3)),
)
