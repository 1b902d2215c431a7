"""The task contract: what a task is (``TaskSpec`` and its parts) and the raw example types readers return.

Stages of a task's data: raw example (here) -> tokenized features (``modeling``) -> tensors.
Each example type is a frozen dataclass so examples can be hashed, cached and compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

# Metric and TaskKind are re-exported: task files declare theirs from here.
from xstilts.metrics.registry import Metric, scoring_rule
from xstilts.tasks.kinds import KindFacts, TaskKind, kind_facts



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


@dataclass(frozen=True)
class RetrievalPairExample:
    """A query and the candidate it should retrieve (dual-encoder training: a SQuAD question and
    its answer sentence with the paragraph, a Wikipedia mention and its entity's description).
    Examples with one ``candidate_id`` share one candidate text (several questions answered by one
    sentence): dev ranking pools candidates by it."""

    guid: str
    query: str
    candidate: str
    candidate_id: str


Example = Union[ClassificationExample, MultipleChoiceExample, TaggingExample, QAExample, RetrievalSet, TextExample,
                RetrievalPairExample]


# ---------------------------------------------------------------- task definitions


@dataclass(frozen=True)
class FileLayout:
    """One way a split can lie on disk.

    ``pattern`` is a glob relative to the data directory with placeholders ``{lang}`` (the
    language code), ``{split}``, and any placeholder the task's ``file_codes`` define (Tatoeba's
    ``{lang3}``, TyDiQA's ``{lang_name}``).
    Several files matching one pattern are concatenated in sorted order (UD: several treebanks).
    ``reader`` names a function in ``xstilts.tasks.readers`` and ``options`` are passed to it.
    """

    pattern: str
    reader: str
    options: tuple[tuple[str, object], ...] = ()
    split_names: tuple[tuple[str, str], ...] = ()  # our split -> the name this layout uses
    splits: tuple[str, ...] = ()  # the splits this layout serves; empty = any
    # An absolute folder the pattern is relative to instead of the data directory (a task declared
    # in a study file reads its files next to the study); empty = the data directory.
    root: str = ""

    def split_name(self, split: str) -> str:
        return dict(self.split_names).get(split, split)

    def serves(self, split: str) -> bool:
        return not self.splits or split in self.splits


@dataclass(frozen=True)
class HubSource:
    """Where ``xstilts data fetch`` gets a task's sets on the Hugging Face hub and how it writes them.

    Files are written in the task's layout number ``layout`` (with that layout's split names),
    by ``converter`` (a name in ``xstilts.tasks.fetch.convert.CONVERTERS``) from the hub split
    ``splits[our split]`` of ``dataset`` / ``config``. ``config`` and string ``options`` may hold
    the layout placeholders ({lang}, {lang3}, {lang_name}) and the keys of ``names`` (a per-language
    table, e.g. google/xtreme's UD config names). A set with a ``note`` is not fetched: the note
    says where to get it.
    """

    dataset: str = ""
    config: str | None = None
    splits: Mapping[str, str] = field(default_factory=dict)
    converter: str = ""
    layout: int = 0
    options: Mapping[str, object] = field(default_factory=dict)
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Another source for some languages (English COPA is SuperGLUE's, the rest is XCOPA).
    by_language: Mapping[str, HubSource] = field(default_factory=dict)
    # Machine-translated training sets of the other languages that are not on the hub: a URL
    # and a destination, both with {lang} (XTREME's translate-train SQuAD).
    translated_train_url: str = ""
    translated_train_file: str = ""
    # A set published as files already in the layout's format (the XQuAD-R release, whose
    # sentence breaks the hub's row copy drops): a URL with the layout's placeholders, copied
    # as is, and ``verify(path, lang)`` run on the download before it is kept (raises on a
    # file that is not the release: its counts differ).
    file_url: str = ""
    verify: Callable[[Path, str], None] | None = field(default=None, compare=False)
    note: str = ""


@dataclass(frozen=True)
class SharedSet:
    """A set of rows that more than one (task, split) reads under its own name: XNLI's English
    train IS MNLI train; XQuAD and MLQA train on SQuAD v1.1 train. ``rows``: the full set's size
    (it stands in for data that is not on disk when estimating cost)."""

    name: str
    rows: int | None = None


@dataclass(frozen=True)
class DataRelations:
    """How a task's rows relate to other rows: what the contamination guard compares
    (``xstilts.study.contamination``) and the cost estimate counts.

    - ``parallel``: line-by-line translations of one set: row i is the same item in every
      language (XNLI, PAWS-X, XQuAD, XCOPA);
    - ``aligned_rows`` False: parallel items, but each language holds a different subset, so row
      numbers match only within a language (MLQA);
    - ``shared``: split -> the SharedSet it reads;
    - ``derived_from``: split -> sets it was built from without a row correspondence (XQuAD is
      SQuAD v1.1 dev translated): using any row of one counts as using the other;
    - ``train_rows``: the full training set's size, when ``shared`` does not give it;
    - ``content_rows``: rows are also compared by their content across the task's splits and
      languages (a task declared in a study file: its dev file of one language may copy rows of
      another, or of its training file).
    """

    parallel: bool = False
    aligned_rows: bool = True
    shared: Mapping[str, SharedSet] = field(default_factory=dict)
    derived_from: Mapping[str, tuple[SharedSet, ...]] = field(default_factory=dict)
    train_rows: int | None = None
    content_rows: bool = False

    def reference_rows(self, split: str) -> int | None:
        """Rows of the task's full ``split`` (docs/reference.md section 1), when known."""
        if split in self.shared:
            return self.shared[split].rows
        return self.train_rows if split == "train" else None


# The intermediate-task epochs of the paper's setup (docs/reference.md section 1).
INTERMEDIATE_EPOCHS = 3.0


# The scales XTREME's scripts tell apart: "large" (xlm-roberta-large, xlm-mlm-100-1280) and
# everything else ("base"); ``xstilts.modeling.identity.model_scale`` decides a model's.
ModelScale = str
MODEL_SCALES = ("base", "large")


@dataclass(frozen=True)
class ByModelScale:
    """A preset value that XTREME's scripts choose by the model's size (XCOPA and XNLI: lr 3e-5
    for large models, 2e-5 for base ones)."""

    large: object
    base: object

    def value(self, scale: ModelScale) -> object:
        if scale not in MODEL_SCALES:
            raise ValueError(f"unknown model scale {scale!r}; expected one of {', '.join(MODEL_SCALES)}")
        return self.large if scale == "large" else self.base


@dataclass(frozen=True)
class TrainingDefaults:
    """What a task brings to TrainConfig's defaults: the paper's epochs when it is fine-tuned as a
    target (else INTERMEDIATE_EPOCHS), and XTREME's baseline-script values (preset "xtreme",
    target fine-tuning only: XTREME has no intermediate stages)."""

    target_epochs: float | None = None
    xtreme: Mapping[str, object] = field(default_factory=dict)
    # The task's own reference values over its kind's ``training_defaults``, in every role and
    # preset (Mewsli-X's dual encoder: 2 epochs on 64 sub-words, where LAReQA's trains 3 on 256).
    own: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FineTuning:
    """The training a suite scores a retrieval task after, instead of the bare encoder: XTREME-R
    scores LAReQA from a dual encoder fine-tuned on SQuAD v1.1 question -> answer-sentence pairs,
    Mewsli-X from one fine-tuned on Wikipedia mention -> entity pairs, and Tatoeba from the SQuAD
    v1.1 QA model (google-research/xtreme scripts/run_tatoeba.sh). ``task``: the task trained on
    English on top of the study's encoder (a QA target's name shares that target's training).
    ``suites``: the suites whose protocol this is; a study of another suite scores the task from
    the encoder unless its target asks for ``scoring = "fine-tuned"``."""

    task: str
    suites: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteMember:
    """A task's place in a benchmark suite (``xstilts.tasks.suites``): its group and its column."""

    suite: str
    group: str
    position: int
    # The languages the suite scores the task on, where they are not all of the task's (XTREME
    # scores PAN-X on 40 languages, XTREME-R on 48): the task's ``languages`` are the union.
    languages: tuple[str, ...] = ()


# Open tag sets (CCG supertags) are read from the training data; a dev/test tag never seen in
# training maps to this label (so it is always scored wrong) instead of stopping the run.
UNKNOWN_TAG = "<unk>"


@dataclass(frozen=True)
class TaskSpec:
    """Everything the package knows about one task; each task's file (``xstilts.tasks.catalog``)
    declares one. Holds mappings, so it is not hashable: look tasks up by name."""

    name: str
    kind: TaskKind
    metric: Metric
    languages: tuple[str, ...]  # its official languages; () = any language (a masked-LM corpus)
    layouts: tuple[FileLayout, ...]
    display_name: str = ""  # in tables and reports; default: the name
    description: str = ""
    aliases: tuple[str, ...] = ()  # other names users type ("pos", "ner", "anli+")
    labels: tuple[str, ...] | None = None  # None: open label set (tags read from data) or no labels
    num_choices: int | None = None
    train_language: str = "en"
    # Sub-tasks merged into one (ANLI+ = ANLI r1-r3 + MNLI + SNLI on one label set).
    components: tuple[str, ...] = ()
    # The split zero-shot evaluation reads by default (XQuAD and Tatoeba only have "test").
    eval_split: str = "dev"
    allow_no_answer: bool = False  # extractive QA: a question may have no answer (SQuAD v2)
    # Tasks on one label set share a head ("nli": ANLI+, MNLI, XNLI); default: the task's name.
    head: str | None = None
    # A target fine-tuned on another task's English training set: XQuAD and MLQA train on SQuAD
    # v1.1 (XTREME trains one model for both), sharing that training and its head.
    trains_as: str | None = None
    # A corpus without a dev split keeps this share of its lines out of training and measures
    # dev on them (masked LM: perplexity); 0 = the task has dev sets of its own.
    held_out_percent: int = 0
    training: TrainingDefaults = TrainingDefaults()
    data: DataRelations = DataRelations()
    hub: HubSource | None = None
    suites: tuple[SuiteMember, ...] = ()
    # A retrieval task some suite scores after a fine-tuning (XTREME-R's dual encoders).
    fine_tuning: tuple[FineTuning, ...] = ()
    # Why a suite score that includes this task cannot be compared with the suite's leaderboard
    # (Mewsli-X: the released data is not the paper's); empty when it can.
    leaderboard_caveat: str = ""
    # Codes its files use for a language, where they are not its language code: placeholder ->
    # {language code: code in file names} (Tatoeba's {lang3}: "deu"; TyDiQA's {lang_name}:
    # "arabic"). A layout with such a placeholder holds only the languages listed.
    file_codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # A hash of what a task declared outside the package's code (a study file's [tasks.NAME])
    # means: part of the identity of every node that reads it (catalog tasks are covered by the
    # hash of the readers' and task files' code). Empty for catalog tasks.
    declaration_hash: str = ""

    # ------------------------------------------------------------ what the kind implies

    @property
    def facts(self) -> KindFacts:
        """What this task's kind is (``xstilts.tasks.kinds``): trains, may be a target, ..."""
        return kind_facts(self.kind)

    @property
    def open_labels(self) -> bool:
        """Tags read from the training data (CCG supertags) rather than a fixed label list."""
        return self.labels is None and self.facts.open_labels

    # ------------------------------------------------------------ facts for other layers

    @property
    def needs_data_dir(self) -> bool:
        """Whether some layout reads under the data directory (not only under its own root)."""
        return any(not layout.root for layout in self.layouts) or not self.layouts

    @property
    def title(self) -> str:
        return self.display_name or self.name

    @property
    def in_suite(self) -> bool:
        """A member of some benchmark suite (XTREME's nine targets, XTREME-R's ten)."""
        return bool(self.suites)

    @property
    def default_role_is_target(self) -> bool:
        """Whether ``xstilts train`` fine-tunes it as a target unless told otherwise: the task
        declares target fine-tuning values (its paper epochs), as every suite target does."""
        return self.facts.target and self.training.target_epochs is not None

    @property
    def primary_metric(self) -> str:
        """The score key that ranks models on this task: checkpoint selection, tables (QA: F1)."""
        return scoring_rule(self.metric).primary

    @property
    def head_name(self) -> str:
        return self.head or self.name

    def member_of(self, suite: str) -> SuiteMember | None:
        return next((member for member in self.suites if member.suite == suite), None)

    def fine_tuning_in(self, suite: str) -> FineTuning | None:
        """The fine-tuning ``suite`` scores this task after, None when it scores the bare encoder."""
        return next((tuning for tuning in self.fine_tuning if suite in tuning.suites), None)

    def suite_languages(self, suite: str) -> tuple[str, ...]:
        """The languages ``suite`` scores this task on (all of the task's unless its membership says)."""
        member = self.member_of(suite)
        return member.languages if member is not None and member.languages else self.languages

    def training_defaults(self, *, target: bool, preset: str = "paper",
                          model_scale: ModelScale = "large") -> dict[str, object]:
        """The preset's hyper-parameters for this task, as overrides on TrainConfig's defaults
        (``target``: fine-tuned as a target, else trained as an intermediate stage; values XTREME's
        scripts choose by model size follow ``model_scale``)."""
        epochs = self.training.target_epochs if target and self.training.target_epochs else INTERMEDIATE_EPOCHS
        values: dict[str, object] = {"epochs": epochs, **self.facts.training_defaults, **self.training.own}
        if preset == "xtreme" and target:
            values.update(self.training.xtreme)
        values = {key: value.value(model_scale) if isinstance(value, ByModelScale) else value
                  for key, value in values.items()}
        if preset != "paper":
            values["preset"] = preset
        return values

    def training_labels(self, train: Sequence[Example]) -> tuple[str, ...] | None:
        """The task's labels, or (an open tag set) the tags seen in training plus UNKNOWN_TAG for
        tags that only occur in dev or test."""
        if not self.open_labels:
            return self.labels
        seen = {tag for example in train for tag in (getattr(example, "tags", None) or ())}
        return (*sorted(seen - {UNKNOWN_TAG}), UNKNOWN_TAG)
