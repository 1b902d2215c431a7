"""Sentence retrieval tasks scored straight from the encoder: BUCC 2018 and Tatoeba."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.types import FileLayout, HubSource, Metric, TaskKind, TaskSpec

register(TaskSpec(
    name="bucc2018", kind=TaskKind.RETRIEVAL, metric=Metric.BUCC_F1,
    languages=tuple("de fr ru zh".split()), is_target=True, group="retrieval", eval_split="test",
    description="BUCC 2018 parallel sentence mining (LANG paired with en); threshold tuned on dev.",
    layouts=(
        # XTREME layout: bucc2018/LANG-en.{dev,test}.{LANG,en,gold}; the reader finds the others.
        FileLayout("bucc2018/{lang}-en.{split}.{lang}", "bucc", ()),
        # Official release: bucc2018/LANG-en/LANG-en.{sample,training,test}.LANG. The official test
        # gold is hidden, so XTREME (and google/xtreme) score the "training" set as test.
        FileLayout("bucc2018/{lang}-en/{lang}-en.{split}.{lang}", "bucc", (),
                   split_names=(("dev", "sample"), ("test", "training"))),
    ),
    hub=HubSource("google/xtreme", "bucc18.{lang}", (("dev", "validation"),)),
))

register(TaskSpec(
    name="tatoeba", kind=TaskKind.RETRIEVAL, metric=Metric.TATOEBA_ACCURACY,
    languages=tuple("af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw "
                    "ta te th tl tr ur vi zh".split()),
    is_target=True, group="retrieval", eval_split="test",
    description="Tatoeba similarity search (LASER test set, 1,000 pairs a language; test only).",
    layouts=(
        FileLayout("tatoeba/tatoeba.{lang3}-eng.{lang3}", "tatoeba", (), splits=("test",)),
        FileLayout("tatoeba/v1/tatoeba.{lang3}-eng.{lang3}", "tatoeba", (), splits=("test",)),
    ),
    hub=HubSource("google/xtreme", "tatoeba.{lang3}", (("test", "validation"),)),
))
