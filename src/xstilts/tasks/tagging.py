"""Token tagging tasks: UD-POS, PAN-X (NER) and CCG supertagging."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
             "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

register(TaskSpec(
    name="udpos", kind=TaskKind.TAGGING, metric=Metric.POS_F1,
    languages=tuple("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl "
                    "tr ur vi yo zh".split()),
    labels=UPOS_TAGS, is_target=True, group="structured_prediction",
    description="Universal Dependencies part-of-speech tagging (UPOS).",
    layouts=(
        # XTREME download layout: word \t UPOS, blank line between sentences.
        FileLayout("udpos/{split}-{lang}.tsv", "conll_tagging", ()),
        # Original UD CoNLL-U, every treebank of the language (XTREME concatenates them).
        FileLayout("udpos/{lang}_*-ud-{split}.conllu", "conllu", ()),
        FileLayout("ud-treebanks-v*/UD_*/{lang}_*-ud-{split}.conllu", "conllu", ()),
    ),
    hub=HubSource("google/xtreme", "udpos.{ud_name}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="panx", kind=TaskKind.TAGGING, metric=Metric.SPAN_F1,
    languages=tuple("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt "
                    "ru sw ta te th tl tr ur vi yo zh".split()),
    labels=PANX_TAGS, is_target=True, group="structured_prediction",
    description="WikiANN / PAN-X named entity recognition (IOB2: PER, ORG, LOC).",
    layouts=(
        FileLayout("panx/{split}-{lang}.tsv", "conll_tagging", (("strip_lang_prefix", True),)),
        # Rahimi et al.'s split of the original release: panx_dataset/LANG/{train,dev,test}
        FileLayout("panx_dataset/{lang}/{split}", "conll_tagging", (("strip_lang_prefix", True),)),
    ),
    hub=HubSource("google/xtreme", "PAN-X.{lang}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="ccg", kind=TaskKind.TAGGING, metric=Metric.ACCURACY, languages=("en",),
    labels=None,  # supertags are read from the training data
    description="CCG supertagging (CCGbank; licensed data, bring your own files).",
    layouts=(
        FileLayout("ccg/{split}.tsv", "conll_tagging", ()),
        FileLayout("ccg/{split}-{lang}.tsv", "conll_tagging", ()),
        # jiant's layout: one sentence per line, tokens and tags as space-separated columns.
        FileLayout("ccg/ccg.{split}", "token_tag_lines", ()),
    ),
))


# Open tag sets (CCG supertags) are read from the training data; a dev/test tag never seen in
# training maps to this label (so it is always scored wrong) instead of stopping the run.
UNKNOWN_TAG = "<unk>"
