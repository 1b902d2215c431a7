"""The run plan: a study as a tree of trainings with shared prefixes, and the evaluations on it.

A TrainNode's id hashes exactly what determines its weights (``TrainNode.identity``):

- the parent node's id, or for the first stage the base model by content (``model_identity``:
  a local folder by the hash of its files, an offline model by its source file, a hub model by
  its resolved revision; never an absolute path);
- per task of the stage: the data selection, the hash of the files it reads, the fingerprint
  of the parsed examples (a reader change that alters them makes new ids) and the featuriser's
  kind and version;
- the sampling rule (multi-task stages), the fully resolved TrainConfig (seed included, preset
  values resolved, ``mixed_precision`` resolved on the machine that plans: a CPU fp32 run and a
  GPU bf16 run are different nodes) and TRAINING_SEMANTICS_VERSION.

Equal ids are one training: the English stage of seed 1 is trained once and reused by every
order that starts with it and by every target task; XQuAD and MLQA fine-tune on the same SQuAD
v1.1 data (``TaskSpec.trains_as``) and share one node, as XTREME trains one model for both. Numerics that
cannot be hashed without losing sharing (torch threads, device, library versions) are recorded
by the trainer in each node's ``result.json`` (``numerics``).

Per (order, seed): one node per stage along the order; then per target either a fine-tuning
node (parent: the order's last node, or None = the base model) with an EvalNode on it, or,
for retrieval targets (BUCC, Tatoeba), an EvalNode straight on the order's last node's encoder.
A target is evaluated on its labelled test split when the data directory has it, else on dev
(``eval_split`` overrides).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from xstilts.errors import ConfigError
from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION
from xstilts.study.comparisons import ConditionPath, PlannedContrast, condition_path, planned_contrasts
from xstilts.study.contamination import SELECTED_ON, TRAINED_ON, UsedData, contaminated_cells, footprints
from xstilts.study.data_facts import DataFacts, DataInspector, estimated_examples, selected_rows
from xstilts.modeling.identity import model_scale
from xstilts.study.hashing import model_identity, stable_hash
from xstilts.study.orders import Order, ResolvedStage, resolve_stage, study_orders
from xstilts.study.spec import Sampling, SelectionSpec, StudySpec, TargetSpec, overrides
from xstilts.tasks.registry import get_task
from xstilts.tasks.selection import DataSelection, stage_selections
from xstilts.tasks.slices import slice_range
from xstilts.tasks.types import TaskSpec
from xstilts.training.config import TrainConfig, dev_selects
from xstilts.hardware import resolve_compile, resolve_mixed_precision
from xstilts.versions import TRAINING_SEMANTICS_VERSION

# TrainConfig fields that do not change the weights (resuming is exact whatever the interval;
# vocabulary trimming and sequence packing equal the plain computation up to float rounding).
NOT_IN_IDENTITY = frozenset({"checkpoint_every", "trim_vocabulary", "pack_sequences"})


def config_identity(config: TrainConfig, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """What of ``config`` a node id hashes. ``compile`` only when on (compiled dropout draws differ
    from eager ones; xstilts.modeling.compilation), so that nodes planned before it existed keep their ids."""
    values = config.model_dump(exclude=set(NOT_IN_IDENTITY | exclude))
    if values.get("compile") is False:
        del values["compile"]
    return values


class StageTask(NamedTuple):
    train: DataSelection
    dev: DataSelection | None


@dataclass(frozen=True)
class TrainNode:
    id: str
    parent: str | None  # None: starts from the base model
    label: str  # the stage reference ("nli_en", "nli_en+nli_de") or the target's name
    tasks: tuple[StageTask, ...]
    sampling: Sampling
    temperature: float
    config: TrainConfig
    seed: int
    is_target: bool
    identity: dict[str, Any] = field(compare=False, repr=False)  # what the id hashes; the trainer records it
    examples: tuple[int | None, ...] = field(compare=False, repr=False)  # per task; None = unknown


@dataclass(frozen=True)
class EvalNode:
    """A zero-shot evaluation of one model on one target's languages.

    ``settings`` go to ``evaluate``: retrieval tasks pass them as ``retrieval=``, other tasks
    hold {"max_length": int | None} (None: the task's default). ``seeds`` lists the seeds it
    stands for: one, or all of them when the model does not depend on the seed (the base model).
    """

    id: str
    model_node: str | None  # None: the base model
    target: str
    task: str
    langs: tuple[str, ...]
    split: str
    eval_slice: str | None
    order: str
    seeds: tuple[int, ...]
    stage_path: tuple[str, ...]
    contaminated: dict[str, str]  # language -> reason
    settings: dict[str, Any]
    units: int | None = field(default=None, compare=False)  # examples (retrieval: sentences) to run
    # Every training from the base model down to the evaluated model: what it trained on, what
    # picked its checkpoint, its settings (``path_facts``); the result rows record it.
    path: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    # "condition": the result of ``order``; "trajectory": the model after some of ``order``'s
    # stages, evaluated for the report's stage trajectories (a target's ``trajectory`` setting).
    role: str = "condition"
    eval_precision: str = DEFAULT_EVAL_PRECISION  # of the forward passes: "fp32" | "bf16"
    # torch.compile of the encoder (the study's or target's ``compile`` hyper-parameter, "auto"
    # resolved here). Not in the id: inference has no random draws, so compiled and eager logits
    # agree to float rounding (tests/test_compile.py).
    compile: bool = field(default=False, compare=False)


@dataclass
class Plan:
    study: StudySpec
    data_dir: Path | None
    orders: list[Order]
    train_nodes: list[TrainNode]  # topological: every parent before its children
    eval_nodes: list[EvalNode]
    naive_stage_trainings: int  # trainings if every (order, seed, target) path ran on its own
    missing_data: list[str]  # one line per selection whose data is not on disk
    missing_selections: list[DataSelection] = field(default_factory=list)  # those selections (``data fetch``)

    def __post_init__(self) -> None:
        self._by_id = {node.id: node for node in self.train_nodes}

    def node(self, node_id: str) -> TrainNode:
        return self._by_id[node_id]

    def children(self, node_id: str | None) -> list[TrainNode]:
        return [node for node in self.train_nodes if node.parent == node_id]

    def path(self, node_id: str | None) -> list[TrainNode]:
        """The trainings from the base model down to ``node_id``, in order."""
        return lineage(self._by_id, node_id)

    def evals_on(self, node_id: str | None) -> list[EvalNode]:
        return [e for e in self.eval_nodes if e.model_node == node_id]

    def needed_by(self, node_id: str, done: Collection[str] = ()) -> list[str]:
        """Ids of the trainings and evaluations not in ``done`` that read this node's model."""
        dependents = [n.id for n in self.children(node_id)] + [e.id for e in self.evals_on(node_id)]
        return [i for i in dependents if i not in done]

    def plan_hash(self) -> str:
        """Names this plan's set of evaluations: rows recorded under another plan carry another hash."""
        return stable_hash(sorted(node.id for node in self.eval_nodes))

    def selection_languages(self, evaluation: EvalNode) -> set[str]:
        """Languages of the dev sets that pick checkpoints on the path to ``evaluation``'s model.
        A non-English one makes its results "not zero-shot" (docs/reference.md section 4)."""
        return {selection["lang"] for training in evaluation.path for selection in training["select"]}

    def comparisons(self) -> list[PlannedContrast]:
        """The pairs of orders the report will contrast (``study.comparisons``), found from what
        each order trains."""
        paths: dict[str, ConditionPath] = {}
        for evaluation in self.eval_nodes:
            if evaluation.role == "condition" and evaluation.order not in paths:
                paths[evaluation.order] = condition_path(evaluation.order, evaluation.path)
        return planned_contrasts(list(paths.values()), self.study.report.contrasts)


ENGLISH = "en"


def is_zero_shot(path: Sequence[Mapping[str, Any]]) -> bool:
    """Zero-shot (docs/reference.md section 4): the target task trained on English only, and every
    training on the path picked its checkpoint on English data (``EvalNode.path``)."""
    for training in path:
        if any(selection["lang"] != ENGLISH for selection in training.get("select", ())):
            return False
        if training.get("is_target") and any(item["lang"] != ENGLISH for item in training.get("train", ())):
            return False
    return True


def _task_order(task: StageTask) -> tuple:
    train, dev = task.train, task.dev
    return (train.task, train.lang, train.split, train.slice or "", train.files,
            () if dev is None else (dev.task, dev.lang, dev.split, dev.slice or ""))


def agreed_defaults(tasks: list[TaskSpec], target: bool, given: dict[str, Any], where: str,
                    model_scale: str = "large") -> dict[str, Any]:
    """The preset's defaults shared by every task of a stage; a value the tasks disagree on must
    be set by the study (else a one-line error), so the result never depends on listing order.
    ``model_scale``: the base model's, for values XTREME's scripts choose by model size."""
    preset = given.get("preset", "paper")
    per_task = {task.name: task.training_defaults(target=target, preset=preset, model_scale=model_scale)
                for task in tasks}
    merged: dict[str, Any] = {}
    for key in sorted({key for values in per_task.values() for key in values}):
        if key in given:
            continue
        values = {name: values.get(key, TrainConfig.model_fields[key].default) for name, values in per_task.items()}
        if len(set(values.values())) > 1:
            listed = ", ".join(f"{name} {value}" for name, value in sorted(values.items()))
            raise ConfigError(f"{where}: its tasks have different default {key} ({listed}); set hparams.{key} "
                              "for it")
        merged[key] = next(iter(values.values()))
    return merged


def resolved_precision(setting: str) -> str:
    """``auto`` -> what this machine would train with (bf16 on a bf16 GPU or a CPU with native bf16, else no)."""
    if setting != "auto":
        return setting
    return resolve_mixed_precision(setting)


def lineage(nodes: Mapping[str, TrainNode], node_id: str | None) -> list[TrainNode]:
    """The trainings from the base model down to ``node_id``, in order."""
    path: list[TrainNode] = []
    while node_id is not None:
        path.append(nodes[node_id])
        node_id = path[-1].parent
    return path[::-1]


def build_plan(study: StudySpec, data_dir_override: Path | None = None) -> Plan:
    """Every training and evaluation of the study, shared prefixes trained once. Reads data files
    (hashes, counts) but loads no model; data that is missing is listed, not fatal."""
    data_dir = Path(data_dir_override) if data_dir_override else study.resolved_data_dir()
    builder = _PlanBuilder(study, DataInspector(data_dir))
    orders = study_orders(study)
    for seed in study.seeds:
        for order in orders:
            builder.add_order(order, seed)
    builder.inspector.save()
    return Plan(study, data_dir, orders, list(builder.train_nodes.values()), list(builder.eval_nodes.values()),
                builder.naive, builder.missing_lines(), list(builder.missing_selections))


class _PlanBuilder:
    def __init__(self, study: StudySpec, inspector: DataInspector):
        self.study = study
        self.inspector = inspector
        self.train_nodes: dict[str, TrainNode] = {}
        self.eval_nodes: dict[str, EvalNode] = {}
        self.missing: dict[tuple[str, str, tuple[str, ...]], dict[str, str]] = {}
        self.missing_selections: dict[DataSelection, None] = {}  # ordered set, slices dropped
        self.naive = 0

    # ------------------------------------------------------------ walking the orders

    def add_order(self, order: Order, seed: int) -> None:
        prefixes: list[TrainNode | None] = [None]  # the model after 0, 1, ... of the order's stages
        for reference in order.stages:
            prefixes.append(self.intermediate_node(resolve_stage(reference, self.study), prefixes[-1], seed))
        for target in self.study.targets:
            task = get_task(target.task)
            self.naive += len(order.stages) + (1 if task.facts.trains or target.fine_tuning(self.study.suite) else 0)
            self.eval_node(target, task, self.evaluated_model(target, task, prefixes[-1], seed), order, seed)
            if target.wants_trajectory(self.study.suite):
                for prefix in prefixes[:-1]:
                    model = self.evaluated_model(target, task, prefix, seed)
                    self.eval_node(target, task, model, order, seed, role="trajectory")

    def evaluated_model(self, target: TargetSpec, task: TaskSpec, encoder: TrainNode | None,
                        seed: int) -> TrainNode | None:
        """The model a target evaluates on top of ``encoder``: its fine-tuning on the target; for a
        retrieval task, the fine-tuning its suite scores it after (XTREME-R), else the encoder itself."""
        if task.facts.trains:
            return self.target_node(target, task, encoder, seed)
        fine_tuning = target.fine_tuning(self.study.suite)
        if fine_tuning is None:
            return encoder
        return self.fine_tuning_node(target, get_task(fine_tuning.task), encoder, seed)

    def fine_tuning_node(self, target: TargetSpec, trained: TaskSpec, encoder: TrainNode | None,
                         seed: int) -> TrainNode:
        """The training a retrieval target is scored after. A target task's training (Tatoeba after
        XQuAD's SQuAD v1.1 model) is the study's own target of that training when it has one and
        this target sets no training of its own: one QA fine-tuning per path serves both. Any
        other (a dual encoder) is trained on ``target.train`` with ``target.hparams``."""
        own = {"train", "hparams"} & target.model_fields_set
        if trained.facts.target:
            shared = next((other for other in self.study.targets if not own and other.scoring is None
                           and self.training_data(other) == self.training_data(TargetSpec(task=trained.name))), None)
            spec = shared or TargetSpec(task=trained.name, **{key: getattr(target, key) for key in own})
            return self.target_node(spec, get_task(spec.task), encoder, seed)
        config = self.config([trained], True, overrides(target.hparams), seed, f"target {target.label}")
        return self.train_node(f"{target.label}:{trained.name}", (self.stage_task(trained.name, target.train),),
                               "proportional", 2.0, config, encoder, True)

    @staticmethod
    def training_data(target: TargetSpec) -> str | None:
        """The task whose English data a target fine-tunes on (XQuAD and MLQA: SQuAD v1.1)."""
        task = get_task(target.task)
        return (task.trains_as or task.name) if task.facts.trains else None

    def intermediate_node(self, stage: ResolvedStage, parent: TrainNode | None, seed: int) -> TrainNode:
        # Canonical task order: listing a mixed stage's tasks differently is the same training.
        tasks = tuple(sorted((self.stage_task(spec.task, spec) for spec in stage.tasks), key=_task_order))
        config = self.config([get_task(t.train.task) for t in tasks], False, stage.hparams, seed, f"stage {stage.name}")
        return self.train_node(stage.name, tasks, stage.sampling, stage.temperature, config, parent, False)

    def target_node(self, target: TargetSpec, task: TaskSpec, parent: TrainNode | None, seed: int) -> TrainNode:
        config = self.config([task], True, overrides(target.hparams), seed, f"target {target.label}")
        train_task = task.name
        if task.trains_as and (target.train.files or target.train.split == "train"):
            # XQuAD and MLQA both fine-tune on SQuAD v1.1 (its train split, or the same explicit
            # files): one node (and head) for both.
            train_task = task.trains_as
        stage_task = StageTask(self.stage_task(train_task, target.train).train,
                               self.stage_task(task.name, target.train).dev)
        return self.train_node(target.label, (stage_task,), "proportional", 2.0, config, parent, True)

    # ------------------------------------------------------------ nodes

    def stage_task(self, task: str, spec: SelectionSpec) -> StageTask:
        return StageTask(*stage_selections(
            get_task(task), lang=spec.lang, split=spec.split, train_slice=spec.slice, files=spec.files, dev=spec.dev,
            dev_lang=spec.dev_lang, dev_split=spec.dev_split, dev_slice=spec.dev_slice, dev_files=spec.dev_files))

    def config(self, tasks: list[TaskSpec], target: bool, stage_overrides: dict[str, Any], seed: int,
               where: str) -> TrainConfig:
        """The preset's defaults for the stage's tasks (which must agree where nothing overrides
        them), then the study's hyper-parameters, then the stage's or target's, then the seed;
        ``mixed_precision`` and ``compile`` "auto" resolved on this machine."""
        given = {**overrides(self.study.hparams), **stage_overrides}
        defaults = agreed_defaults(tasks, target, given, where, self.model_scale())
        config = TrainConfig(**{**defaults, **given, "seed": seed})
        return config.model_copy(update={"mixed_precision": resolved_precision(config.mixed_precision),
                                         "compile": resolve_compile(config.compile)})

    def train_node(self, label: str, tasks: tuple[StageTask, ...], sampling: Sampling, temperature: float,
                   config: TrainConfig, parent: TrainNode | None, is_target: bool) -> TrainNode:
        multi = len(tasks) > 1
        identity = {
            "semantics": TRAINING_SEMANTICS_VERSION,
            "base_model": None if parent else self.base_model_identity(),
            "parent": parent.id if parent else None,
            "tasks": [{"train": self.selection_identity(t.train),
                       "dev": self.selection_identity(t.dev) if t.dev else None} for t in tasks],
            # Sampling only matters when a stage has several tasks.
            "sampling": sampling if multi else None,
            "temperature": temperature if multi and sampling == "temperature" else None,
            "config": config_identity(config),
        }
        node_id = stable_hash(identity)
        if node_id not in self.train_nodes:
            examples = tuple(estimated_examples(t.train, self.facts(t.train).rows, config.max_train_examples)
                             for t in tasks)
            self.train_nodes[node_id] = TrainNode(node_id, identity["parent"], label, tasks, sampling, temperature,
                                                  config, config.seed, is_target, identity, examples)
        return self.train_nodes[node_id]

    def model_scale(self) -> str:
        if not hasattr(self, "_model_scale"):
            self._model_scale = model_scale(self.study.model)
        return self._model_scale

    def base_model_identity(self) -> dict[str, Any]:
        if not hasattr(self, "_base_model"):
            self._base_model = model_identity(self.study.model, self.inspector.cache)
        return self._base_model

    def selection_identity(self, selection: DataSelection) -> dict[str, Any]:
        # File names, not paths: the same data elsewhere on another machine is the same node.
        task = get_task(selection.task)
        facts = self.facts(selection)
        identity = {"task": selection.task, "lang": selection.lang, "split": selection.split, "slice": selection.slice,
                    "files": [Path(f).name for f in selection.files], "data": facts.sha256,
                    "examples": facts.examples, "featurizer": f"{task.kind.value}/{task.facts.featurizer_version}"}
        if task.declaration_hash:  # a task declared in the study file: what its declaration means
            identity["declaration"] = task.declaration_hash
        return identity

    def facts(self, selection: DataSelection) -> DataFacts:
        facts = self.inspector.facts(selection)
        if facts.missing:
            key = (selection.task, selection.split, selection.files)
            self.missing.setdefault(key, {})[selection.lang] = facts.missing
            self.missing_selections[replace(selection, slice=None)] = None
        elif selection.slice and facts.rows is not None and not slice_range(selection.slice, facts.rows):
            raise ConfigError(f"slice {selection.slice!r} of {selection.task} {selection.lang} {selection.split} "
                              f"selects no rows: that split has {facts.rows}")
        return facts

    def missing_lines(self) -> list[str]:
        """One line per (task, split): its message, or the languages lacking it and one example."""
        lines = []
        for (task, split, _), by_lang in sorted(self.missing.items()):
            langs = sorted(by_lang)
            if len(langs) == 1:
                lines.append(by_lang[langs[0]])
            else:
                lines.append(f"{task} {split} for {len(langs)} languages ({' '.join(langs)}), "
                             f"e.g. {by_lang[langs[0]]}")
        return lines

    # ------------------------------------------------------------ evaluations

    def eval_node(self, target: TargetSpec, task: TaskSpec, model: TrainNode | None, order: Order, seed: int,
                  role: str = "condition") -> None:
        split = target.eval_split or self.default_split(target, task)
        langs = self.languages(target, task, split)
        selections = {lang: DataSelection(task.name, lang, split, target.eval_slice) for lang in langs}
        facts = {lang: self.facts(selection) for lang, selection in selections.items()}
        # Retrieval: only what the study sets; the rest comes from the model folder's recorded
        # use (e5: "query: ", last layer, mean) or the defaults (XLM-R: XTREME's layer rule).
        settings = ({"max_length": target.eval_max_length} if task.facts.trains
                    else self.study.retrieval_for(target).model_dump(exclude_unset=True))
        identity = {
            "model": model.id if model else self.study.model, "task": task.name, "langs": langs, "split": split,
            "slice": target.eval_slice, "settings": settings, "data": {lang: f.sha256 for lang, f in facts.items()},
        }
        precision = self.study.eval_precision_for(target)
        if precision != DEFAULT_EVAL_PRECISION:  # only then: fp32 evaluations keep the ids they always had
            identity["eval_precision"] = precision
        eval_id = stable_hash(identity)
        existing = self.eval_nodes.get(eval_id)
        if existing is not None:
            if role == "condition" and existing.role == "condition" and existing.order != order.name:
                raise ConfigError(f"orders {existing.order!r} and {order.name!r} train identical models: "
                                  "their stages are defined identically")
            if role == "condition" and existing.role == "trajectory":
                # A model first met inside a longer order is also this order's result.
                existing = replace(existing, order=order.name, stage_path=order.stages, role="condition")
            seeds = existing.seeds if seed in existing.seeds else (*existing.seeds, seed)
            self.eval_nodes[eval_id] = replace(existing, seeds=seeds)
            return
        evaluated = {lang: footprints(selections[lang], facts[lang]) for lang in langs}
        self.eval_nodes[eval_id] = EvalNode(
            eval_id, model.id if model else None, target.label, task.name, langs, split, target.eval_slice,
            order.name, (seed,), self.stage_path(order, model) if role == "trajectory" else order.stages,
            contaminated_cells(evaluated, self.used_data(model)), settings,
            self.units(task, target.eval_slice, facts.values()), self.path_facts(model), role, precision,
            resolve_compile(overrides(target.hparams).get("compile", self.study.hparams.compile) or False),
        )

    def stage_path(self, order: Order, model: TrainNode | None) -> tuple[str, ...]:
        """The stages of ``order`` that trained ``model`` (a trajectory point: a prefix of them)."""
        trained = sum(not node.is_target for node in lineage(self.train_nodes, model.id if model else None))
        return order.stages[:trained]

    def default_split(self, target: TargetSpec, task: TaskSpec) -> str:
        """The labelled test split when the data directory has it (for any of the target's
        languages), else the task's evaluation split (dev)."""
        if task.eval_split == "test":
            return "test"
        langs = task.suite_languages(self.study.suite) if target.langs == "all" else target.langs
        for lang in langs:
            facts = self.inspector.facts(DataSelection(task.name, lang, "test"))
            if facts.present and facts.labelled:
                return "test"
        return task.eval_split

    def languages(self, target: TargetSpec, task: TaskSpec, split: str) -> tuple[str, ...]:
        """The target's languages; "all" = every language the study's suite scores the task on
        with data on disk (an XTREME study does not evaluate XTREME-R's extra languages), or all
        of them when none is there (then they are listed missing)."""
        if target.langs != "all":
            return target.langs
        languages = task.suite_languages(self.study.suite)
        present = tuple(lang for lang in languages
                        if self.inspector.facts(DataSelection(task.name, lang, split)).present)
        return present or languages

    def path_reads(self, model: TrainNode | None) -> Iterator[tuple[TrainNode, list[StageTask]]]:
        """Per training from the base model down to ``model``: per task, what it trained on and the
        dev set that shaped its weights, None when none did (``dev_selects``: a dev set counts only
        when it picked the checkpoint or stopped training early)."""
        for node in lineage(self.train_nodes, model.id if model else None):
            selecting = dev_selects(node.config)
            yield node, [StageTask(task.train, task.dev if selecting else None) for task in node.tasks]

    def path_facts(self, model: TrainNode | None) -> tuple[dict[str, Any], ...]:
        """Per training on the path to ``model``: its data and model-selection sets and settings."""
        return tuple({
            "node": node.id, "label": node.label, "is_target": node.is_target,
            "train": [_selection_fact(task.train) for task in reads],
            "select": [_selection_fact(task.dev) for task in reads if task.dev is not None],
            "config": config_identity(node.config, frozenset({"seed"})),
            "examples": list(node.examples),
        } for node, reads in self.path_reads(model))

    def used_data(self, model: TrainNode | None) -> list[UsedData]:
        """What every training from the base model down to ``model`` read, in that order."""
        used: list[UsedData] = []
        for node, reads in self.path_reads(model):
            where = f"{node.label} fine-tuning" if node.is_target else f"stage {node.label}"
            for task in reads:
                used.append(UsedData(TRAINED_ON, task.train, footprints(
                    task.train, self.facts(task.train), node.config.max_train_examples), where))
                if task.dev is not None:
                    used.append(UsedData(SELECTED_ON, task.dev, footprints(
                        task.dev, self.facts(task.dev), node.config.max_eval_examples), where))
        return used

    @staticmethod
    def units(task: TaskSpec, eval_slice: str | None, facts: Collection[DataFacts]) -> int | None:
        """What the evaluation's cost scales with: examples (a slice selects them), or the
        sentences of a retrieval set (``DataFacts.units``)."""
        if any(f.rows is None for f in facts):
            return None
        if eval_slice is None:
            return sum(f.units for f in facts)
        return sum(len(selected_rows(eval_slice, f.rows)) for f in facts)


def _selection_fact(selection: DataSelection) -> dict[str, Any]:
    fact = {"task": selection.task, "lang": selection.lang, "split": selection.split, "slice": selection.slice}
    if selection.files:  # file names only: the same data elsewhere is the same selection
        fact["files"] = [Path(f).name for f in selection.files]
    return fact
