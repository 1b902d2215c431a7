"""Mewsli-X: entity linking as retrieval. WikiNews mentions in 11 languages retrieve their
WikiData entity from one candidate set of entity descriptions; scored by mAP@20 (one gold entity
per mention, so it equals MRR@20, google-research/xtreme third_party/utils_mewslix.py).

The candidate set holds one description per entity in one of 50 languages (1,003,893 entities,
257,008 of them described in English; mewsli-x.md), not English only. The released data is "not
directly comparable" with the XTREME-R paper's (mewsli-x.md), and its test labels are not public:
dev scores compare conditions of a study, not leaderboard numbers.

Files as google-research/xtreme's download_data.sh leaves them: ``mewslix/wikinews_mentions/
{dev,test}-LANG.jsonl`` (a context and its mentions per line) and ``mewslix/candidate_set_entities
.jsonl``. ``xstilts data fetch mewslix`` writes the mention files from the hub copy below; the
candidate set (535 MB) comes from that copy's candidate_entities.jsonl.tar.gz or from
google-research's get-mewsli-x.sh, unpacked to ``mewslix/candidate_set_entities.jsonl``.

Scored two ways (``TaskSpec.fine_tuning``): under ``suite = "xtreme-r"`` from a dual encoder
fine-tuned on English Wikipedia mention -> entity pairs (``mewslix_retrieval``; scripts/
train_mewslix.sh), as XTREME-R does; or straight from the encoder's sentence vectors, like
Tatoeba (``scoring = "encoder-only"``, labelled as such).
"""

from xstilts.tasks.types import FileLayout, FineTuning, HubSource, Metric, SuiteMember, TaskKind, TaskSpec

TASK = TaskSpec(
    name="mewslix", display_name="Mewsli-X", aliases=("mewsli-x",), kind=TaskKind.RETRIEVAL,
    metric=Metric.MAP_AT_20, languages=tuple("ar de en es fa ja pl ro ta tr uk".split()), eval_split="test",
    description="Mewsli-X entity-mention retrieval against entity descriptions in 50 languages (mAP@20).",
    layouts=(
        FileLayout("mewslix/wikinews_mentions/{split}-{lang}.jsonl", "mewslix_jsonl",
                   (("entities", "candidate_set_entities.jsonl"),), splits=("dev", "test")),
    ),
    # A community copy of XTREME-R's preprocessed Mewsli-X (per-language mention configs).
    hub=HubSource("izhx/mewsli-x", "{lang}", {"dev": "validation", "test": "test"}, "mewslix_jsonl"),
    fine_tuning=(FineTuning("mewslix_retrieval", suites=("xtreme-r",)),),
    leaderboard_caveat="the released Mewsli-X data is not the paper's (\"not directly comparable\", mewsli-x.md)",
    suites=(SuiteMember("xtreme-r", "retrieval", 1),),
)
