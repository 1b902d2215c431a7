"""UD-POS: Universal Dependencies part-of-speech tagging (UPOS), scored as XTREME does."""

from xstilts.languages import language_name
from xstilts.tasks.families import TRAIN_DEV_TEST, XTREME_CLASSIFY
from xstilts.tasks.types import FileLayout, HubSource, Metric, SuiteMember, TaskKind, TaskSpec, TrainingDefaults

UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
             "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")

XTREME_LANGUAGES = tuple("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl "
                         "tr ur vi yo zh".split())
LANGUAGES = XTREME_LANGUAGES + ("lt", "pl", "uk", "wo", "ro")  # XTREME-R's additions
# google/xtreme names its UD-POS configs by the language's English name ("udpos.English").
UD_NAMES: dict[str, str] = {code: language_name(code) for code in LANGUAGES}

TASK = TaskSpec(
    name="udpos", display_name="UD-POS", aliases=("pos",), kind=TaskKind.TAGGING, metric=Metric.POS_F1,
    languages=LANGUAGES,
    labels=UPOS_TAGS, description="Universal Dependencies part-of-speech tagging (UPOS).",
    layouts=(
        # XTREME download layout: word \t UPOS, blank line between sentences.
        FileLayout("udpos/{split}-{lang}.tsv", "conll_tagging", ()),
        # Original UD CoNLL-U, every treebank of the language (XTREME concatenates them).
        FileLayout("udpos/{lang}_*-ud-{split}.conllu", "conllu", ()),
        FileLayout("ud-treebanks-v*/UD_*/{lang}_*-ud-{split}.conllu", "conllu", ()),
    ),
    training=TrainingDefaults(target_epochs=10, xtreme={**XTREME_CLASSIFY, "learning_rate": 2e-5, "epochs": 10.0}),
    hub=HubSource("google/xtreme", "udpos.{ud_name}", TRAIN_DEV_TEST, "conll_tsv", names={"ud_name": UD_NAMES}),
    suites=(SuiteMember("xtreme", "structured_prediction", 1, languages=XTREME_LANGUAGES),
            # XTREME-R adds Lithuanian, Polish, Ukrainian, Wolof and Romanian.
            SuiteMember("xtreme-r", "structured_prediction", 1)),
)
