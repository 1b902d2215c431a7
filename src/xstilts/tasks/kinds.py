"""What each task kind IS, declared once and free of torch (planning, tables and reports read it).

A kind is the shape of a task's data and of what a model does with it (jiant's "head chosen by
task kind"). Its facts live here; its two working halves attach to them:

* the model half (``xstilts.modeling.kinds``: featurisation, head, decoding; needs torch), whose
  ``KindAdapter.facts`` is this module's entry;
* the scoring half (``xstilts.scoring.kinds``: prediction files, scores, per-example units).

Everything else asks a kind's facts (``kind_facts(task.kind).trains``) instead of comparing kinds.
Adding a kind: docs/tasks/add-a-kind.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from xstilts.metrics.registry import Metric, rules_for_kind


class TaskKind(str, Enum):
    SINGLE_CLASSIFICATION = "single_classification"
    PAIR_CLASSIFICATION = "pair_classification"
    MULTIPLE_CHOICE = "multiple_choice"
    TAGGING = "tagging"
    EXTRACTIVE_QA = "extractive_qa"
    RETRIEVAL = "retrieval"
    MLM = "mlm"  # masked language modelling on plain text (an intermediate-only kind)
    DUAL_ENCODER = "dual_encoder"  # query -> candidate pairs trained with in-batch negatives


@dataclass(frozen=True)
class KindFacts:
    kind: TaskKind
    description: str
    default_metric: Metric  # a declared task of this kind that names no metric is scored by it
    data_unit: str  # what one counted item is (``xstilts data check``)
    prediction_format: str  # what the model half decodes and the scoring half writes
    # Trains a head on labelled data (retrieval is scored straight from the encoder).
    trains: bool = True
    # May be a study's target: fine-tuned on English and evaluated zero-shot (masked LM may not).
    target: bool = True
    # One selection may mix languages (lang "multi": a multilingual masked-LM corpus).
    mixes_languages: bool = False
    # Its label list: "required" (classification), "optional" (tagging: without one, the tags
    # seen in training are the labels, as for CCG supertags) or "none" (the gold is an index,
    # a span, a pair or text).
    labels: str = "none"
    # Bump when featurisation changes: part of the feature-cache key and of training node ids.
    featurizer_version: str = "1"
    # Kind-wide values of the paper's setup that override TrainConfig's defaults.
    training_defaults: Mapping[str, object] = field(default_factory=dict)
    # Retrieval: the protocol each scoring rule is evaluated with (docs/reference.md section 3).
    protocols: Mapping[Metric, str] = field(default_factory=dict)

    @property
    def open_labels(self) -> bool:
        """A task of this kind without a label list reads its labels from the training data."""
        return self.labels == "optional"

    @property
    def metrics(self) -> list[Metric]:
        """The scoring rules this kind's scorer computes (``metrics.registry``)."""
        return rules_for_kind(self.kind.value)

    def protocol(self, metric: Metric) -> str:
        """How a task of this kind scored by ``metric`` is evaluated (retrieval's protocols)."""
        if metric not in self.protocols:
            raise ValueError(f"{self.kind.value} tasks have no evaluation protocol for metric {metric.value}")
        return self.protocols[metric]


_CLASSIFICATION = dict(default_metric=Metric.ACCURACY, prediction_format="one label per line", labels="required")
KINDS: dict[TaskKind, KindFacts] = {facts.kind: facts for facts in (
    KindFacts(TaskKind.SINGLE_CLASSIFICATION, "one sentence -> one of a fixed set of labels",
              data_unit="sentences", **_CLASSIFICATION),
    KindFacts(TaskKind.PAIR_CLASSIFICATION, "a sentence pair -> one of a fixed set of labels",
              data_unit="pairs", **_CLASSIFICATION),
    KindFacts(TaskKind.MULTIPLE_CHOICE, "a context and question -> the index of the right choice",
              default_metric=Metric.ACCURACY, data_unit="questions", prediction_format="one choice index per line"),
    KindFacts(TaskKind.TAGGING, "one tag per word (UPOS, IOB2 entities, CCG supertags)",
              default_metric=Metric.SPAN_F1, data_unit="sentences",
              prediction_format="one tag per line, a blank line between sentences", labels="optional",
              featurizer_version="2"),  # 2: open tag sets map unseen tags to UNKNOWN_TAG
    KindFacts(TaskKind.EXTRACTIVE_QA, "a question over a paragraph -> an answer span",
              default_metric=Metric.SQUAD, data_unit="questions", prediction_format="JSON {question id: answer}",
              featurizer_version="2",
              # The paper's setup: extractive QA trains at batch 16 on 384-token windows.
              training_defaults={"batch_size": 16, "max_length": 384, "doc_stride": 128}),
    KindFacts(TaskKind.RETRIEVAL, "sentences or queries -> their translations or answers, by vector similarity",
              default_metric=Metric.TATOEBA_ACCURACY, data_unit="gold pairs",
              prediction_format="indices (Tatoeba), id pairs (BUCC) or JSON rankings (LAReQA, Mewsli-X)",
              trains=False,
              protocols={Metric.TATOEBA_ACCURACY: "bitext_search", Metric.BUCC_F1: "bitext_mining",
                         Metric.MAP_AT_20: "ranked_pool"}),
    KindFacts(TaskKind.MLM, "plain text -> masked tokens (an intermediate-only kind)",
              default_metric=Metric.PERPLEXITY, data_unit="lines", prediction_format="masked-LM sums (in memory)",
              target=False, mixes_languages=True),
    # XTREME-R's LAReQA and Mewsli-X models (google-research/xtreme scripts/train_lareqa.sh):
    # lr 2e-5, 3 epochs (the intermediate default), batches of 4 x 4 accumulation, no warm-up, no
    # weight decay, answers cut at 256 sub-words and questions at 96. Not a target itself: it
    # trains the encoder that ranked retrieval (LAReQA, Mewsli-X) then scores.
    KindFacts(TaskKind.DUAL_ENCODER, "a query -> its candidate among the batch's (one shared encoder, in-batch "
              "negatives); an intermediate-only kind", default_metric=Metric.MAP_AT_20, data_unit="pairs",
              prediction_format="{query id: [candidate ids, best first]} (in memory: dev mAP@20)", target=False,
              training_defaults={"learning_rate": 2e-5, "batch_size": 16, "grad_accumulation": 4,
                                 "warmup_ratio": 0.0, "weight_decay": 0.0, "max_length": 256,
                                 "max_query_length": 96}),
)}


def kind_facts(kind: TaskKind | str) -> KindFacts:
    try:
        return KINDS[TaskKind(kind)]
    except ValueError:
        raise ValueError(f"unknown task kind {kind!r}; expected one of {', '.join(k.value for k in TaskKind)}") from None


def _check_kinds() -> None:
    """Every kind has facts, and its default metric is one its scorer computes (checked at import)."""
    for kind in TaskKind:
        if kind not in KINDS:
            raise ValueError(f"task kind {kind.value} has no KindFacts")
        facts = KINDS[kind]
        if facts.labels not in ("required", "optional", "none"):
            raise ValueError(f"task kind {kind.value}: labels must be required, optional or none")
        if facts.default_metric not in facts.metrics:
            raise ValueError(f"task kind {kind.value}: default metric {facts.default_metric.value} is not computed "
                             f"by its scorer (metrics.registry: {', '.join(m.value for m in facts.metrics)})")


_check_kinds()
