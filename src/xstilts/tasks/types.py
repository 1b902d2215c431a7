"""The task contract: what a task is (``TaskSpec``) and the raw example types readers return.

Stages of a task's data: raw example (here) -> tokenized features (``modeling``) -> tensors.
Each example type is a frozen dataclass so examples can be hashed, cached and compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Union


class TaskKind(str, Enum):
    SINGLE_CLASSIFICATION = "single_classification"
    PAIR_CLASSIFICATION = "pair_classification"
    MULTIPLE_CHOICE = "multiple_choice"
    TAGGING = "tagging"
    EXTRACTIVE_QA = "extractive_qa"
    RETRIEVAL = "retrieval"
    MLM = "mlm"  # masked language modelling on plain text (an intermediate-only kind)


class Metric(str, Enum):
    """How a task is scored; semantics in ``xstilts.metrics`` follow XTREME's official scorer."""

    ACCURACY = "accuracy"
    POS_F1 = "pos_f1"  # seqeval-0.0.12 chunking of bare UPOS tags, token accuracy beside it
    SPAN_F1 = "span_f1"  # IOB2 entity spans, conlleval-style
    SQUAD = "squad"  # SQuAD v1.1 normalisation
    MLQA = "mlqa"  # MLQA language-specific normalisation
    BUCC_F1 = "bucc_f1"
    TATOEBA_ACCURACY = "tatoeba_accuracy"
    PERPLEXITY = "perplexity"  # masked-LM perplexity (lower is better), masked-token accuracy beside it


# ---------------------------------------------------------------- raw examples


@dataclass(frozen=True)
class ClassificationExample:
    """Single sentence (``text_b`` is None) or sentence pair classification."""

    guid: str
    text_a: str
    text_b: str | None
    label: str | None


@dataclass(frozen=True)
class MultipleChoiceExample:
    guid: str
    context: str
    question: str
    choices: tuple[str, ...]
    label: int | None  # index into choices


@dataclass(frozen=True)
class TaggingExample:
    """One sentence: words and one tag per word (UPOS for POS, IOB2 for NER, supertag for CCG)."""

    guid: str
    words: tuple[str, ...]
    tags: tuple[str, ...] | None


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset in the context; -1 when unknown


@dataclass(frozen=True)
class QAExample:
    """One question over one context paragraph (SQuAD layout). No answers = unanswerable (v2)."""

    guid: str  # the question id: prediction files are keyed by it
    question: str
    context: str
    answers: tuple[Answer, ...]
    title: str = ""
    is_impossible: bool = False


@dataclass(frozen=True)
class SentencePair:
    """A retrieval item: a sentence with its id (BUCC ids, or the line index for Tatoeba)."""

    id: str
    text: str


@dataclass(frozen=True)
class RetrievalSet:
    """Sentences in two languages and the gold pairs between them.

    Tatoeba: line-aligned, so ``gold`` maps each source line to the same target line.
    BUCC: two id-keyed corpora and a gold list of (source id, target id).
    """

    guid: str
    source_lang: str
    target_lang: str
    source: tuple[SentencePair, ...]
    target: tuple[SentencePair, ...]
    gold: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TextExample:
    """One line of plain text (a sentence or paragraph, any language) for masked-LM training."""

    guid: str
    text: str


Example = Union[ClassificationExample, MultipleChoiceExample, TaggingExample, QAExample, RetrievalSet, TextExample]


# ---------------------------------------------------------------- task definitions


@dataclass(frozen=True)
class FileLayout:
    """One way a split can lie on disk.

    ``pattern`` is a glob relative to the data directory with placeholders ``{lang}`` (XTREME
    code), ``{lang3}`` (Tatoeba code), ``{lang_name}`` (TyDiQA language name) and ``{split}``.
    Several files matching one pattern are concatenated in sorted order (UD: several treebanks).
    ``reader`` names a function in ``xstilts.tasks.readers`` and ``options`` are passed to it.
    """

    pattern: str
    reader: str
    options: tuple[tuple[str, object], ...] = ()
    split_names: tuple[tuple[str, str], ...] = ()  # our split -> the name this layout uses
    splits: tuple[str, ...] = ()  # the splits this layout serves; empty = any

    def split_name(self, split: str) -> str:
        return dict(self.split_names).get(split, split)

    def serves(self, split: str) -> bool:
        return not self.splits or split in self.splits


@dataclass(frozen=True)
class HubSource:
    """Where the Hugging Face ``datasets`` copy lives (used only when online)."""

    path: str
    config: str | None = None  # may contain {lang}
    split_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: TaskKind
    metric: Metric
    languages: tuple[str, ...]
    layouts: tuple[FileLayout, ...]
    labels: tuple[str, ...] | None = None  # None: open label set (tags read from data) or no labels
    num_choices: int | None = None
    train_language: str = "en"
    hub: HubSource | None = None
    is_target: bool = False  # one of the 9 XTREME target tasks
    group: str | None = None  # XTREME group: classification / structured / qa / retrieval
    # Line-by-line translations of one English set (XNLI, PAWS-X, XQuAD, MLQA): row i in every
    # language is the same item, which matters for contamination.
    parallel: bool = False
    description: str = ""
    # Sub-tasks merged into one (ANLI+ = ANLI r1-r3 + MNLI + SNLI on one label set).
    components: tuple[str, ...] = ()
    # The split zero-shot evaluation reads by default (XQuAD and Tatoeba only have "test").
    eval_split: str = "dev"
    extra: tuple[tuple[str, object], ...] = field(default=())

    @property
    def is_retrieval(self) -> bool:
        return self.kind is TaskKind.RETRIEVAL
