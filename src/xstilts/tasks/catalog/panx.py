"""PAN-X (WikiANN): named entity recognition, IOB2 tags for persons, organisations and locations."""

from xstilts.tasks.families import TRAIN_DEV_TEST, XTREME_CLASSIFY
from xstilts.tasks.types import (
    DataRelations, FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults,
)

PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

XTREME_LANGUAGES = tuple("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl "
                         "pt ru sw ta te th tl tr ur vi yo zh".split())

TASK = TaskSpec(
    name="panx", display_name="PAN-X", aliases=("ner", "pan-x"), kind=TaskKind.TAGGING, metric=Metric.SPAN_F1,
    languages=tuple("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt "
                    "ru sw ta te th tl tr ur vi yo zh qu pl uk az lt pa gu ro".split()),
    labels=PANX_TAGS, description="WikiANN / PAN-X named entity recognition (IOB2: PER, ORG, LOC).",
    layouts=(
        FileLayout("panx/{split}-{lang}.tsv", "conll_tagging", (("strip_lang_prefix", True),)),
        # Rahimi et al.'s split of the original release: panx_dataset/LANG/{train,dev,test}
        FileLayout("panx_dataset/{lang}/{split}", "conll_tagging", (("strip_lang_prefix", True),)),
    ),
    training=TrainingDefaults(target_epochs=10, xtreme={**XTREME_CLASSIFY, "learning_rate": 2e-5, "epochs": 10.0}),
    data=DataRelations(train_rows=20_000),
    # The files carry the "lang:" token prefix of the original release.
    hub=HubSource("google/xtreme", "PAN-X.{lang}", TRAIN_DEV_TEST, "conll_tsv",
                  options={"lang_prefix": True, "lang": "{lang}"}),
    suites=(SuiteMember("xtreme", "structured_prediction", 2, languages=XTREME_LANGUAGES),
            # XTREME-R ("WikiANN-NER") adds Quechua, Polish, Ukrainian, Azerbaijani, Lithuanian,
            # Punjabi, Gujarati and Romanian.
            SuiteMember("xtreme-r", "structured_prediction", 2)),
)
