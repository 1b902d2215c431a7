"""The metric registry: every fact about a metric, declared once.

Two things are declared here and nowhere else:

* **Metric keys** (``MetricKey``): the numbers a scorer returns and a result row is stored under
  (``f1``, ``accuracy``, ``map_at_20``, ...), with their display name, the unit the report's
  sentences use, their scale, their direction and how they average over languages.
* **Scoring rules** (``Metric``, with its ``ScoringRule``): how a task is scored (``squad``,
  ``span_f1``, ``map_at_20``, ...): which keys the rule produces, which one ranks models (checkpoint
  selection, tables, contrasts), which keys make the task's single suite score, which task kinds'
  scorers compute it, and each key's per-example decomposition for ``--test t+items``
  (``xstilts.metrics.per_example``).

Selection, result rows, tables, progress bars, ``data check``, declared tasks and the report all
read these; a rule naming a key that is not declared here fails at import, so a score can never
be computed and then silently not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class MetricKey:
    """One stored number. ``scale`` 100: a percentage (x100, as XTREME reports); 1: a raw value."""

    key: str
    display_name: str  # column headers: "F1", "EM", "mAP@20"
    unit: str  # in sentences: "+1.5 F1", "+0.9 accuracy"
    scale: float = 100.0
    higher_is_better: bool = True
    # How a task's language scores combine into its average: "mean" (XTREME: plain mean over
    # languages, English included) is the only rule the suites use.
    aggregation: str = "mean"


# Declaration order is the order rows are written and metrics listed in.
_KEYS: tuple[MetricKey, ...] = (
    MetricKey("accuracy", "Acc.", "accuracy"),
    MetricKey("f1", "F1", "F1"),
    MetricKey("precision", "Precision", "precision"),
    MetricKey("recall", "Recall", "recall"),
    MetricKey("exact_match", "EM", "EM"),
    MetricKey("f1_macro", "Macro F1", "macro F1"),
    MetricKey("map_at_20", "mAP@20", "mAP@20"),
    MetricKey("perplexity", "Perplexity", "perplexity", scale=1.0, higher_is_better=False),
    MetricKey("masked_accuracy", "Masked acc.", "masked-token accuracy"),
)
METRIC_KEYS: dict[str, MetricKey] = {metric.key: metric for metric in _KEYS}


class Metric(str, Enum):
    """How a task is scored; semantics in ``xstilts.metrics`` follow XTREME's official scorer.
    Each member's facts are its ``ScoringRule`` (``scoring_rule``)."""

    ACCURACY = "accuracy"
    F1_MACRO = "f1_macro"
    POS_F1 = "pos_f1"
    SPAN_F1 = "span_f1"
    SQUAD = "squad"
    MLQA = "mlqa"
    BUCC_F1 = "bucc_f1"
    TATOEBA_ACCURACY = "tatoeba_accuracy"
    PERPLEXITY = "perplexity"
    MAP_AT_20 = "map_at_20"


# Per-example decompositions (xstilts.metrics.per_example): "ratio" = sum(num) / sum(den) over
# examples (accuracy, chunk F1 2TP/(P+G)); "mean" = a mean of per-example values (QA F1/EM per
# question, AP@20 per query); "pseudo" = delta-method pseudo-values (macro F1).
DECOMPOSITIONS = frozenset({"ratio", "mean", "pseudo"})


@dataclass(frozen=True)
class ScoringRule:
    metric: Metric
    description: str
    keys: tuple[str, ...]  # what the scorer returns and rows store; the first is the primary key
    kinds: tuple[str, ...]  # task kinds (``TaskKind`` values) whose scorers compute it
    # Keys whose language averages make the task's single suite score (their mean); default: primary.
    score_keys: tuple[str, ...] = ()
    # Key -> decomposition; a key missing here has no per-example form (BUCC: one threshold
    # over the whole candidate set), so its contrasts are compared over seeds only.
    per_example: Mapping[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.keys[0]

    @property
    def task_score_keys(self) -> tuple[str, ...]:
        return self.score_keys or (self.primary,)


_CLASSIFICATION = ("single_classification", "pair_classification")
_RULES: tuple[ScoringRule, ...] = (
    ScoringRule(Metric.ACCURACY, "accuracy (tagging: token accuracy)", ("accuracy",),
                (*_CLASSIFICATION, "multiple_choice", "tagging"), per_example={"accuracy": "ratio"}),
    ScoringRule(Metric.F1_MACRO, "macro-averaged F1 over the labels present, accuracy beside it",
                ("f1_macro", "accuracy"), _CLASSIFICATION,
                per_example={"f1_macro": "pseudo", "accuracy": "ratio"}),
    ScoringRule(Metric.POS_F1, "seqeval-0.0.12 chunk F1 of bare UPOS tags, token accuracy beside it",
                ("f1", "precision", "recall", "accuracy"), ("tagging",),
                per_example={"f1": "ratio", "accuracy": "ratio"}),
    ScoringRule(Metric.SPAN_F1, "IOB2 entity-span F1 (conlleval-style), token accuracy beside it",
                ("f1", "precision", "recall", "accuracy"), ("tagging",),
                per_example={"f1": "ratio", "accuracy": "ratio"}),
    ScoringRule(Metric.SQUAD, "SQuAD v1.1 F1 and exact match", ("f1", "exact_match"), ("extractive_qa",),
                score_keys=("f1", "exact_match"), per_example={"f1": "mean", "exact_match": "mean"}),
    ScoringRule(Metric.MLQA, "MLQA's language-specific normalisation of F1 and exact match",
                ("f1", "exact_match"), ("extractive_qa",),
                score_keys=("f1", "exact_match"), per_example={"f1": "mean", "exact_match": "mean"}),
    ScoringRule(Metric.BUCC_F1, "F1 of mined sentence pairs at the dev-tuned threshold",
                ("f1", "precision", "recall"), ("retrieval",)),
    ScoringRule(Metric.TATOEBA_ACCURACY, "share of English sentences whose nearest neighbour is their translation",
                ("accuracy",), ("retrieval",), per_example={"accuracy": "ratio"}),
    ScoringRule(Metric.PERPLEXITY, "masked-LM perplexity of held-out lines, masked-token accuracy beside it",
                ("perplexity", "masked_accuracy"), ("mlm",)),
    # Mean over queries of average precision in the top 20 (XTREME-R's mAP@20; with one gold
    # per query, Mewsli-X's, it is MRR@20).
    # dual_encoder: the dev set's queries against its own candidates, during training.
    ScoringRule(Metric.MAP_AT_20, "mean average precision in the top 20 of a ranked pool",
                ("map_at_20",), ("retrieval", "dual_encoder"), per_example={"map_at_20": "mean"}),
)
RULES: dict[Metric, ScoringRule] = {rule.metric: rule for rule in _RULES}


def _check_registry() -> None:
    """Every rule's keys are declared keys and every Metric has a rule (checked at import)."""
    missing = [metric.value for metric in Metric if metric not in RULES]
    if missing:
        raise ValueError(f"metrics without a scoring rule: {', '.join(missing)}")
    for rule in _RULES:
        unknown = [key for key in dict.fromkeys((*rule.keys, *rule.score_keys, *rule.per_example))
                   if key not in METRIC_KEYS or key not in rule.keys]
        if unknown:
            raise ValueError(f"scoring rule {rule.metric.value}: keys {unknown} are not declared metric keys "
                             f"it produces (declared: {', '.join(METRIC_KEYS)})")
        bad = {form for form in rule.per_example.values() if form not in DECOMPOSITIONS}
        if bad:
            raise ValueError(f"scoring rule {rule.metric.value}: unknown decompositions {sorted(bad)}")


_check_registry()


# ---------------------------------------------------------------- look-ups


def scoring_rule(metric: Metric | str) -> ScoringRule:
    try:
        return RULES[Metric(metric)]
    except ValueError:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(m.value for m in Metric)}") from None


def metric_key(key: str) -> MetricKey:
    if key not in METRIC_KEYS:
        raise KeyError(f"unknown metric key {key!r}; expected one of {', '.join(METRIC_KEYS)}")
    return METRIC_KEYS[key]


def higher_is_better(key: str) -> bool:
    return metric_key(key).higher_is_better


def unit(key: str) -> str:
    """How sentences name a difference in ``key`` ("F1", "accuracy")."""
    return metric_key(key).unit


def row_keys(metric: Metric | str, scores: Mapping[str, object], where: str = "") -> list[str]:
    """The keys a result row is stored under for scores of ``metric`` (in registry order): every
    key of the rule that the scores hold; a missing primary or score key is an error, never a
    dropped row. Anything else a scorer returns (BUCC's threshold, masked-LM loss) is a
    diagnostic and not stored."""
    rule = scoring_rule(metric)
    missing = [key for key in dict.fromkeys((rule.primary, *rule.task_score_keys)) if key not in scores]
    if missing:
        raise ValueError(f"{where or rule.metric.value}: the scorer returned no {', '.join(missing)} "
                         f"(scoring rule {rule.metric.value} produces {', '.join(rule.keys)})")
    return [key for key in METRIC_KEYS if key in rule.keys and key in scores]


def rules_for_kind(kind: str) -> list[Metric]:
    """The scoring rules a task kind's scorer computes, in declaration order."""
    return [rule.metric for rule in _RULES if kind in rule.kinds]


def progress_keys() -> tuple[str, ...]:
    """Keys shown beside a progress bar: those that make some task's score."""
    shown = {key for rule in _RULES for key in rule.task_score_keys}
    return tuple(key for key in METRIC_KEYS if key in shown)
