"""The study file: what a researcher writes to get every run of a stage-order study.

A study names a base model, training STAGES (one or several tasks each), ORDERS of stages
(explicit lists, or helpers: all permutations of a set, each stage alone, no stage at all,
several stages mixed into one multi-task stage), TARGET tasks and SEEDS. Every (order, seed)
is fine-tuned on every target and evaluated zero-shot; ``plan`` turns this into the tree of
trainings that is actually run. These models only check shape and vocabulary; references
between sections are checked by ``xstilts.study.load``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from xstilts.errors import ConfigError, FieldValueError, UnknownTaskError
from xstilts.languages import MULTILINGUAL, is_language
from xstilts.paths import default_data_dir
from xstilts.study.sequential_spec import SequentialSpec
from xstilts.tasks.declared import TaskDeclaration, declared_task
from xstilts.tasks.registry import all_suites, declare, get_task, is_declared
from xstilts.tasks.slices import slice_range
from xstilts.tasks.types import FineTuning, TaskSpec
from xstilts.training.config import TrainConfig

Split = Literal["train", "dev", "test"]
Sampling = Literal["proportional", "temperature", "uniform"]
Keep = Literal["best", "leaves"]
# Numeric precision of evaluation forward passes (xstilts.modeling.eval_precision).
EvalPrecision = Literal["fp32", "bf16"]
# "all" once named a third policy but kept exactly what "best" keeps: it is refused with this line.
KEEP_ALL_REMOVED = 'keep "all" is gone: it kept the same models as "best" (every node\'s selected model); use "best"'


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_language(code: str) -> str:
    normalized = code.strip().lower()
    if not is_language(normalized):
        raise ValueError(f"unknown language {code!r}: not an ISO 639 / BCP 47 language code (e.g. de, zh, aym)")
    return normalized


def _selection_language(code: str) -> str:
    """A training selection's language: a known code, or "multi" (a mixed-language MLM corpus)."""
    return MULTILINGUAL if code.strip().lower() == MULTILINGUAL else _known_language(code)


def _valid_slice(spec: str | None) -> str | None:
    if spec is None:
        return None
    try:
        slice_range(spec, 100)
    except ConfigError as error:
        raise ValueError(str(error)) from None
    if not slice_range(spec, 10**9):  # empty whatever the data: e.g. '[10:5]' or '[:0]'
        raise ValueError(f"slice {spec!r} selects no rows of any split")
    return spec.strip()


def _task_name(name: str) -> str:
    try:
        return get_task(name).name
    except UnknownTaskError as error:
        raise ValueError(str(error)) from None


def _relative_to(info: ValidationInfo, path: Path) -> Path:
    """Paths in a study file are relative to the file's folder (``load_study`` passes it as context)."""
    base = Path((info.context or {}).get("base_dir", "."))
    return (base / path.expanduser()).resolve()


# Hyper-parameter overrides: every TrainConfig field, optional, with TrainConfig's constraints.
# The seed is not among them: it comes from the study's ``seeds``.
HParams = create_model(
    "HParams",
    __base__=StrictModel,
    **{name: (Optional[field.annotation], FieldInfo.merge_field_infos(field, default=None))
       for name, field in TrainConfig.model_fields.items() if name != "seed"},
)


def overrides(hparams: BaseModel) -> dict[str, Any]:
    """Only the hyper-parameters the study file sets."""
    return hparams.model_dump(exclude_unset=True)


class SelectionSpec(StrictModel):
    """Rows a training reads, and the (English by default) dev set it selects its checkpoint on."""

    lang: str = "en"
    split: Split = "train"
    slice: str | None = None
    files: tuple[str, ...] = Field((), description="Explicit files instead of the task's layout (relative to the study file).")
    dev: bool = Field(True, description="false: no dev set, keep the last weights.")
    dev_lang: str = "en"
    dev_split: Split = "dev"
    dev_slice: str | None = None
    dev_files: tuple[str, ...] = Field((), description="Explicit dev files instead of the task's layout "
                                                        "(relative to the study file).")

    check_languages = field_validator("lang", "dev_lang")(_selection_language)
    check_slices = field_validator("slice", "dev_slice")(_valid_slice)

    @field_validator("files", "dev_files")
    @classmethod
    def _files_relative_to_study(cls, files: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return tuple(str(_relative_to(info, Path(f))) for f in files)


class StageTaskSpec(SelectionSpec):
    task: str

    @field_validator("task")
    @classmethod
    def _trainable_task(cls, name: str) -> str:
        name = _task_name(name)
        if not get_task(name).facts.trains:
            raise ValueError(f"{name} is a retrieval task: it is evaluated from the encoder, never trained")
        return name

    @model_validator(mode="after")
    def _multi_only_for_mlm(self) -> "StageTaskSpec":
        if MULTILINGUAL in (self.lang, self.dev_lang) and not get_task(self.task).facts.mixes_languages:
            raise ValueError(f'lang "{MULTILINGUAL}" is only for the mlm task (a mixed-language text corpus)')
        return self


class StageSpec(StrictModel):
    tasks: list[StageTaskSpec] = Field(min_length=1)
    sampling: Sampling = Field("proportional", description="How a multi-task stage picks the task of each step.")
    temperature: float = Field(2.0, gt=0)
    hparams: HParams = HParams()
    description: str = ""


class MixedSpec(StrictModel):
    """Several stages merged into one multi-task stage (named "a+b")."""

    stages: list[str] = Field(min_length=2)
    sampling: Sampling | None = None
    temperature: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"stages": value} if isinstance(value, list) else value


class OrdersSpec(StrictModel):
    named: dict[str, list[str]] = Field({}, description="Explicit orders: name -> stages (\"a+b\" = a mixed stage).")
    permutations: list[list[str]] = Field([], description="Every order of each set, named \"a>b\".")
    singles: bool = Field(False, description="Each stage alone.")
    baseline: bool = Field(False, description="No intermediate training.")
    mixed: list[MixedSpec] = Field([], description="Each set as one multi-task stage, named \"a+b\".")


class RetrievalSpec(StrictModel):
    """Sentence vectors for BUCC and Tatoeba (see xstilts.modeling.kinds.retrieval.RetrievalSettings)."""

    layer: int | None = None
    pooling: Literal["mean", "cls"] = "mean"
    prefix: str = ""
    max_length: int = Field(512, ge=2)
    batch_size: int = Field(64, ge=1)


class TargetSpec(StrictModel):
    task: str
    name: str | None = Field(None, description="Defaults to the task; needed to evaluate one task twice.")
    langs: Literal["all"] | tuple[str, ...] = "all"
    eval_split: Split | None = None
    eval_slice: str | None = None
    eval_max_length: int | None = Field(None, gt=8)
    eval_precision: EvalPrecision | None = Field(None, description="Overrides the study's eval_precision for "
                                                                  "this target.")
    train: SelectionSpec = SelectionSpec()
    hparams: HParams = HParams()
    retrieval: RetrievalSpec | None = None
    scoring: Literal["fine-tuned", "encoder-only"] | None = Field(
        None, description='Retrieval targets: "fine-tuned" scores the task after the fine-tuning its suite protocol '
                          'trains (XTREME-R: LAReQA and Mewsli-X as dual encoders, Tatoeba after the SQuAD v1.1 QA '
                          'model), "encoder-only" straight from the encoder. Default: the study suite\'s protocol; '
                          'the other one is labelled in the target\'s default name (e.g. lareqa_encoder_only).')
    trajectory: bool | None = Field(
        None, description="Also evaluate the model after each stage of every order (not only after the last), "
                          "for the report's stage trajectories. Default: on for retrieval targets (no fine-tuning "
                          "needed); on a fine-tuned target it fine-tunes every stage prefix.")

    check_eval_slice = field_validator("eval_slice")(_valid_slice)

    @field_validator("task")
    @classmethod
    def _evaluable_task(cls, name: str) -> str:
        name = _task_name(name)
        if not get_task(name).facts.target:
            raise ValueError(f"{name} is an intermediate-stage task; it cannot be a target")
        return name

    @field_validator("langs", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if value == "all":
            return value
        if not isinstance(value, list) or not value or not all(isinstance(code, str) for code in value):
            raise ValueError(f"expected \"all\" or a non-empty list of language codes, got {value!r}")
        codes = tuple(_known_language(code) for code in value)
        if len(set(codes)) != len(codes):
            raise ValueError(f"a language is listed twice in {list(value)}")
        return codes

    @property
    def label(self) -> str:
        return self.name or self.task

    def wants_trajectory(self, suite: str) -> bool:
        # A task scored straight from the encoder (retrieval) costs no training per prefix: on by default.
        return self.trajectory if self.trajectory is not None else self.fine_tuning(suite) is None and \
            not get_task(self.task).facts.trains

    def fine_tuning(self, suite: str) -> FineTuning | None:
        """The fine-tuning a retrieval target is scored after (``TaskSpec.fine_tuning``): the suite
        protocol's unless ``scoring`` says otherwise; None = straight from the encoder."""
        task = get_task(self.task)
        if self.scoring == "encoder-only" or task.facts.trains:
            return None
        own = task.fine_tuning_in(suite)
        if self.scoring == "fine-tuned":  # any suite's, when its own suite scores the encoder
            return own or next(iter(task.fine_tuning), None)
        return own

    def default_label(self, suite: str) -> str:
        """The task's name, with the scoring when it is not the suite protocol's (a table shows it)."""
        protocol = get_task(self.task).fine_tuning_in(suite)
        fine_tuned = self.fine_tuning(suite) is not None
        if protocol is not None and not fine_tuned:
            return f"{self.task}_encoder_only"
        if protocol is None and fine_tuned:
            return f"{self.task}_fine_tuned"
        return self.task


class ReportSpec(StrictModel):
    """What ``xstilts report`` compares beyond the pairs it finds itself (``study.comparisons``)."""

    contrasts: list[tuple[str, str]] = Field(
        [], description='Pairs of orders to contrast, A - B: [["nli_en>nli_de", "baseline"]].')
    effect: float = Field(1.0, gt=0, description="The difference (metric points) the seeds advisor sizes the "
                                                 "study for.")


def check_keep(value: Any) -> Any:
    if value == "all":
        raise ValueError(KEEP_ALL_REMOVED)
    return value


class ExecutionSpec(StrictModel):
    workers: int = Field(1, ge=1)
    keep: Keep = Field("best", description="best: every node's selected model; leaves: drop a stage's model once "
                                           "no pending node needs it.")
    refuse_keep_all = field_validator("keep", mode="before")(check_keep)
    seconds_per_step: float = Field(
        2.0, gt=0, description="Seconds per optimizer step at batch 16 (scaled linearly with the batch). The "
                               "default is multilingual-e5-small on 2 CPU cores, up to 128 tokens (docs/"
                               "reference.md section 6: 1.5-3 s); measure your own hardware for a better estimate.")
    seconds_per_training: float = Field(10.0, ge=0, description="Fixed cost of one training: loading and saving "
                                                                 "the model (e5-small on CPU: about 10 s).")
    eval_seconds_per_example: float = Field(
        0.02, gt=0, description="Inference seconds per evaluated example (retrieval: per sentence). Measured with "
                                "e5-small on Tatoeba (de, sw; up to 512 tokens): 0.03 CPU-seconds a sentence, about "
                                "0.015 s on 2 cores.")
    model_bytes: int | None = Field(None, gt=0, description="Size of one saved model; default from the model.")


DECLARED_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class StudySpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    model: str
    output_dir: Path
    data_dir: Path | None = None
    seeds: list[int] = Field(min_length=1)
    description: str = ""
    hparams: HParams = Field(HParams(), description="For every training; stages and targets override.")
    # Before stages and targets: validating it registers the tasks they may name.
    tasks: dict[str, TaskDeclaration] = Field({}, description="Tasks declared here (no Python): [tasks.NAME].")
    stages: dict[str, StageSpec] = {}
    orders: OrdersSpec
    targets: list[TargetSpec] = Field(min_length=1)
    suite: str = Field("xtreme", description='The benchmark whose table and score the report and `results show` '
                                            'give: "xtreme" (XTREME) or "xtreme-r" (XTREME-R).')
    retrieval: RetrievalSpec = RetrievalSpec()
    eval_precision: EvalPrecision = Field(
        "fp32", description='Precision of every evaluation\'s forward passes: "fp32", or "bf16" autocast (weights '
                            "stay fp32; several times faster on a CPU with AVX512-BF16/AMX or a bf16 GPU; a few "
                            "predictions change: benchmarks/README.md). Training dev evaluation stays fp32.")
    execution: ExecutionSpec = ExecutionSpec()
    report: ReportSpec = ReportSpec()
    sequential: SequentialSpec | None = Field(None, description="A group-sequential seed design: analyse the "
                                                                "contrasts after some seeds, stop decided ones.")

    @field_validator("tasks")
    @classmethod
    def _declare_tasks(cls, tasks: dict[str, TaskDeclaration], info: ValidationInfo) -> dict[str, TaskDeclaration]:
        """Each declaration becomes a registered TaskSpec (``xstilts.tasks.declared``) in this
        process; workers register them again from the study context before running a node."""
        origin = str((info.context or {}).get("study_file", "the study file"))
        for name, declaration in tasks.items():
            if not DECLARED_NAME.match(name):
                raise FieldValueError(name, "a task name uses lower-case letters, digits and '_', starting with a "
                                            "letter")
            try:
                taken = get_task(name)
            except UnknownTaskError:
                taken = None
            if taken is not None and not is_declared(taken.name):
                raise FieldValueError(name, f"the name is taken by the registered task {taken.name} "
                                            f"({taken.title}); choose another")
            declare(declared_task(name, declaration, origin), f"[tasks.{name}] of {origin}")
        return tasks

    def declared_tasks(self) -> tuple[TaskSpec, ...]:
        """The TaskSpecs of the study's own tasks (what a worker registers before a node)."""
        return tuple(get_task(name) for name in self.tasks)

    @model_validator(mode="after")
    def _name_targets_by_scoring(self) -> "StudySpec":
        """An unnamed retrieval target scored otherwise than its suite protocol carries that in its
        name (``lareqa_encoder_only``), so every table and report line that shows it says so."""
        named = [target if target.name else target.model_copy(update={"name": target.default_label(self.suite)})
                 if target.default_label(self.suite) != target.task else target for target in self.targets]
        object.__setattr__(self, "targets", named)  # frozen model: set once, while it is built
        return self

    @field_validator("output_dir", "data_dir")
    @classmethod
    def _relative_to_study(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else _relative_to(info, path)

    @field_validator("model")
    @classmethod
    def _local_model_relative_to_study(cls, model: str, info: ValidationInfo) -> str:
        # A folder next to the study file is meant; anything else is a model name or hub id.
        candidate = _relative_to(info, Path(model))
        return str(candidate) if candidate.is_dir() else model

    @field_validator("suite")
    @classmethod
    def _known_suite(cls, suite: str) -> str:
        known = sorted(s.name for s in all_suites())
        if suite.strip().lower() not in known:
            raise ValueError(f"unknown suite {suite!r}; known suites: {', '.join(known)}")
        return suite.strip().lower()

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"a seed is listed twice in {seeds}")
        outside = [seed for seed in seeds if not 0 <= seed < 2**32]
        if outside:
            raise ValueError(f"seed {outside[0]} is outside 0 .. 2**32-1 (the range numpy's generators accept)")
        return seeds

    def resolved_data_dir(self) -> Path | None:
        return self.data_dir or default_data_dir()

    def eval_precision_for(self, target: TargetSpec) -> str:
        """The target's own eval_precision, else the study's."""
        return target.eval_precision or self.eval_precision

    def retrieval_for(self, target: TargetSpec) -> RetrievalSpec:
        """The study's retrieval settings with the target's own settings on top."""
        if target.retrieval is None:
            return self.retrieval
        return self.retrieval.model_copy(
            update={key: getattr(target.retrieval, key) for key in target.retrieval.model_fields_set})
