"""The `xstilts` command line: one entry point, sub-commands per job.

Heavy imports (torch, transformers) happen inside the commands so that `xstilts --help`
and the scorer start instantly. User mistakes (``XstiltsError``) print one line and exit 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from xstilts.errors import ConfigError, XstiltsError

app = typer.Typer(
    name="xstilts",
    help="Intermediate-task training, stage orders and zero-shot cross-lingual transfer on XTREME.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect task data on disk.", no_args_is_help=True)
model_app = typer.Typer(help="Build and inspect encoders.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")

console = Console()
err_console = Console(stderr=True)


def _print_json(obj: object) -> None:
    # Plain print, not rich: the output is meant for machines (jq, scripts).
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))


# ------------------------------------------------------------------ tasks


@app.command("tasks")
def list_tasks(
    study: Optional[Path] = typer.Option(None, "--study", help="Also list the tasks this study file declares "
                                                               "([tasks.NAME])."),
) -> None:
    """List the registered tasks with their kind, metric, suites, languages and source; with
    --study, the study's declared tasks too (source: study file)."""
    from rich.table import Table

    from xstilts.tasks.registry import all_tasks, source_of

    if study is not None:
        from xstilts.study import load_study

        load_study(study)  # registers its [tasks.NAME] tables (a mistake in it: one line, exit 2)
    table = Table(title="xstilts tasks" if study is None else f"xstilts tasks, with those of {study}")
    for column in ("task", "name", "kind", "metric", "target of", "languages", "source"):
        table.add_column(column)
    for task in all_tasks():
        suites = ", ".join(f"{member.suite} ({member.group})" for member in task.suites)
        table.add_row(task.name, task.title, task.kind.value, task.metric.value, suites,
                      f"{len(task.languages)}: {' '.join(task.languages)}", source_of(task.name))
    console.print(table)


# ------------------------------------------------------------------ data


@data_app.command("check")
def data_check(
    data_dir: Path = typer.Argument(None, help="Data directory (default: $XSTILTS_DATA or ../shared/xtreme-data)."),
) -> None:
    """Table of the tasks, languages and splits found under DATA_DIR, with counts and problems."""
    from xstilts.tasks.data_check import check_data_dir, render_report

    directory = _data_dir_or_default(data_dir)
    report = check_data_dir(directory)
    render_report(report, console)
    if report.problems:
        raise typer.Exit(1)


@data_app.command("fetch")
def data_fetch(
    tasks: list[str] = typer.Argument(None, help="Tasks to fetch (e.g. xnli mnli squad_v1 anli_plus); default: --study."),
    to: Optional[Path] = typer.Option(None, "--to", help="Data directory to write (default: the study's data_dir)."),
    study: Optional[Path] = typer.Option(None, help="Fetch exactly what `xstilts plan STUDY` reports missing."),
    langs: Optional[str] = typer.Option(None, help="Languages, e.g. de,sw (default: all of each task's)."),
    splits: Optional[str] = typer.Option(None, help="Splits, e.g. train,dev (default: every published split)."),
    translated: bool = typer.Option(False, help="Also the machine-translated train sets of non-English languages."),
    mlm_corpus: Optional[str] = typer.Option(None, help="Write a masked-LM text corpus for these languages (e.g. de,sw)."),
    max_chars: int = typer.Option(2_000_000, help="--mlm-corpus: characters per language at most."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be fetched, and from where."),
) -> None:
    """Download sets from the Hugging Face hub into the XTREME layout the readers read (resumable)."""
    from xstilts.paths import fetched_data_dir
    from xstilts.tasks.fetch.sources import mlm_corpus_source, sources_for_selections, sources_for_tasks

    def codes(text: Optional[str]) -> Optional[list[str]]:
        return [c.strip() for c in text.split(",") if c.strip()] if text else None

    sources = []
    target = to
    if study is not None:
        _, run_plan = _study_and_plan(study, to)
        target = to or run_plan.data_dir or fetched_data_dir()  # the last one is found without XSTILTS_DATA
        sources += sources_for_selections(run_plan.missing_selections)
    if tasks:
        sources += sources_for_tasks(tasks, codes(langs), codes(splits), translated)
    if mlm_corpus:
        sources += [mlm_corpus_source(lang, max_chars) for lang in codes(mlm_corpus)]
    if study is None and not tasks and not mlm_corpus:
        raise ConfigError("name the tasks to fetch, or --study FILE, or --mlm-corpus LANGS")
    if target is None:
        raise ConfigError("pass --to DIR: the data directory to write")
    _run_fetch(sources, Path(target), dry_run)


def _run_fetch(sources, target: Path, dry_run: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xstilts.tasks.fetch.download import fetch_sources

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=dry_run) as bar:
        overall = bar.add_task("fetching", total=len({s.destination for s in sources if s.fetchable}))

        def on_event(event: str, outcome) -> None:
            source = outcome.source
            if event == "start":
                bar.update(overall, description=f"{source.task} {source.split}-{source.lang}")
            else:
                bar.advance(overall)

        outcomes = fetch_sources(sources, target, dry_run=dry_run, on_event=on_event)
    notes_shown = set()
    counts: dict[str, int] = {}
    for outcome in outcomes:
        source = outcome.source
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        where = f"{source.task} {source.split}-{source.lang}"
        if outcome.status == "unavailable":
            if outcome.message not in notes_shown:
                notes_shown.add(outcome.message)
                console.print(f"[yellow]not on the hub[/] {where}: {outcome.message}", highlight=False, soft_wrap=True)
            continue
        style = {"fetched": "green", "skipped": "dim", "planned": "cyan", "failed": "red"}[outcome.status]
        console.print(f"[{style}]{outcome.status}[/] {where} -> {source.destination}: {outcome.message}",
                      highlight=False, soft_wrap=True)
    console.print(f"{target}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())), highlight=False)
    if counts.get("failed"):
        raise typer.Exit(1)


def _data_dir_or_default(data_dir: Path | None) -> Path:
    from xstilts.errors import MissingDataError
    from xstilts.paths import default_data_dir

    directory = data_dir or default_data_dir()
    if directory is None:
        raise MissingDataError("no data directory given and none found (set XSTILTS_DATA or pass --data DIR)")
    if not Path(directory).is_dir():
        raise MissingDataError(f"{directory}: data directory does not exist")
    return Path(directory)


# ------------------------------------------------------------------ scoring


@app.command("score")
def score(
    task: str = typer.Option(..., help="Task name, e.g. xnli, udpos, panx, mlqa, bucc2018, tatoeba."),
    lang: str = typer.Option(..., help="Language (two-letter XTREME code)."),
    gold: Path = typer.Option(..., help="Gold file: the task's own data file (see README)."),
    pred: Path = typer.Option(..., help="Prediction file in XTREME's prediction format."),
) -> None:
    """Score one prediction file exactly as XTREME's official scorer; prints one JSON object (x100)."""
    from xstilts.scoring import score_file

    _print_json(score_file(task, lang, gold, pred))


@app.command("score-folder")
def score_folder(
    pred: Path = typer.Option(..., help="Prediction folder (layout in README)."),
    gold: Path = typer.Option(..., help="Gold folder (the XTREME data layout)."),
    suite: str = typer.Option("xtreme", help="Benchmark whose groups, languages and score: xtreme | xtreme-r."),
) -> None:
    """Score a whole prediction folder like XTREME's evaluate.py (--xtreme_version): per language,
    task, group and suite score."""
    from xstilts.scoring import score_folder as score_folder_fn
    from xstilts.tasks.registry import get_suite

    _print_json(score_folder_fn(pred, gold, suite=get_suite(suite).name))


# ------------------------------------------------------------------ models


@model_app.command("prepare")
def model_prepare(
    name: str = typer.Argument("multilingual-e5-small", help="Offline model to build."),
    force: bool = typer.Option(False, help="Rebuild even if a verified folder exists."),
) -> None:
    """Build a standard Hugging Face folder of an offline model; prints the folder path last."""
    from xstilts.modeling.offline_e5 import prepare_model

    with console.status(f"preparing {name} ..."):
        path = prepare_model(name, force=force)
    print(path)


# ------------------------------------------------------------------ training and evaluation


@app.command("train")
def train(
    model: str = typer.Option(..., help="Encoder (HF id, local folder, 'multilingual-e5-small') or an earlier RUN_DIR/model."),
    task: str = typer.Option(..., help="Task to train on (an intermediate or target task)."),
    out: Path = typer.Option(..., help="Run directory (resumable: rerun the same command after a crash)."),
    lang: str = typer.Option("en", help="Language of the training data ('multi' for a mixed-language mlm corpus)."),
    data: Optional[Path] = typer.Option(None, help="Data directory (default: $XSTILTS_DATA or ../shared/xtreme-data)."),
    train_split: str = typer.Option("train", help="Split to train on (e.g. dev, to train on a dev set)."),
    train_slice: Optional[str] = typer.Option(None, help="Rows of the training split, e.g. '[:2000]' or '[:50%]'."),
    train_file: list[Path] = typer.Option([], help="Explicit training file(s) instead of the task's layout."),
    dev_lang: str = typer.Option("en", help="Language of the model-selection dev set (English by default)."),
    dev_split: str = typer.Option("dev", help="Split used for model selection."),
    dev_slice: Optional[str] = typer.Option(None, help="Rows of the dev split, e.g. '[2000:]'."),
    no_dev: bool = typer.Option(False, "--no-dev", help="No dev evaluation: keep the last weights."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default 1e-5)."),
    epochs: Optional[float] = typer.Option(None, help="Epochs (default: the paper's per-task value)."),
    max_steps: Optional[int] = typer.Option(None, help="Stop after N optimizer steps."),
    batch_size: Optional[int] = typer.Option(None, help="Effective batch size (default 32; QA 16)."),
    grad_accumulation: Optional[int] = typer.Option(None, help="Micro-batches per optimizer step."),
    max_length: Optional[int] = typer.Option(None, help="Max sub-words per sequence (default 256; QA 384)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 1)."),
    eval_every: Optional[int] = typer.Option(None, help="Evaluate on dev every N steps (default: each epoch)."),
    patience: Optional[int] = typer.Option(None, help="Early stopping after N evaluations without improvement."),
    mixed_precision: Optional[str] = typer.Option(None, help="auto | no | bf16 | fp16 (auto: bf16 where the GPU or CPU multiplies bf16 natively, else fp32)."),
    compile_encoder: Optional[str] = typer.Option(None, "--compile", help="false (default) | true | auto: torch.compile the encoder (auto: on a CUDA device, where it was measured to pay)."),
    freeze_embeddings: Optional[bool] = typer.Option(None, help="Freeze the word embeddings (big CPU saving)."),
    max_train_examples: Optional[int] = typer.Option(None, help="Use only the first N training examples."),
    max_eval_examples: Optional[int] = typer.Option(None, help="Use only the first N dev examples."),
    checkpoint_every: Optional[int] = typer.Option(None, help="Checkpoint every N steps (default 50)."),
    mlm_whole_word: Optional[bool] = typer.Option(None, help="mlm: mask whole words (default: single sub-words)."),
    preset: Optional[str] = typer.Option(None, help="paper (default: jiant's X-STILTs values) | xtreme (XTREME's baselines)."),
    carry_head: Optional[bool] = typer.Option(None, help="Target task: keep the model's same-family head (default: fresh)."),
    role: Optional[str] = typer.Option(None, help="target | intermediate: which defaults the task trains with, the "
                                                  "same a study gives it in that role (default: target for a task "
                                                  "with target fine-tuning values, e.g. every suite target)."),
) -> None:
    """Train MODEL on one stage (TASK in LANG) into OUT; prints the result as JSON at the end."""
    from xstilts.modeling.run_folders import run_record
    from xstilts.modeling.reference import ModelRef
    from xstilts.progress import training_progress
    from xstilts.tasks.registry import get_task
    from xstilts.tasks.selection import stage_selections
    from xstilts.training.config import make_config
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer
    from xstilts.versions import TRAINING_SEMANTICS_VERSION

    spec = get_task(task)
    as_target = _train_role(spec, role)
    _check_out_arg(out)
    reference = ModelRef.of(model)
    reference.check()  # a bad --model is one line before any bar or folder appears
    config = make_config(
        spec, target=as_target, learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
        grad_accumulation=grad_accumulation, max_length=max_length, seed=seed, eval_every=eval_every,
        early_stopping_patience=patience, mixed_precision=mixed_precision, freeze_embeddings=freeze_embeddings,
        max_train_examples=max_train_examples, max_eval_examples=max_eval_examples, checkpoint_every=checkpoint_every,
        mlm_whole_word=mlm_whole_word, compile=compile_encoder,
        preset=preset, carry_head=carry_head,
    )
    train_sel, dev_sel = stage_selections(spec, lang=lang, split=train_split, train_slice=train_slice,
                                          files=tuple(str(f) for f in train_file), dev=not no_dev, dev_lang=dev_lang,
                                          dev_split=dev_split, dev_slice=dev_slice)
    # Explicit files everywhere (a masked-LM corpus measures dev on its own lines) need no data folder.
    from_files = bool(train_sel.files) and (dev_sel is None or bool(dev_sel.files))
    data_dir = data if from_files else _data_dir_or_default(data)
    stage = StageData([prepare_task_data(train_sel, dev_sel, data_dir, config.max_train_examples,
                                         config.max_eval_examples)], target=as_target)
    # run.json: the parent run (for the contamination guard's lineage) or the base model as given.
    parent = str(reference.run_dir.resolve()) if reference.run_dir else None
    identity = run_record([{"train": train_sel.record(), "dev": dev_sel.record() if dev_sel else None}],
                          config.model_dump(), semantics=TRAINING_SEMANTICS_VERSION, parent=parent,
                          base_model=None if parent else {"reference": model})
    _use_process_cpus()
    with training_progress(err_console, f"train {spec.name}-{lang}") as on_event:
        result = Trainer(stage, config, out, progress=on_event).run(model, identity)
    _print_json(result.to_json())


def _train_role(spec, role: Optional[str]) -> bool:
    """``--role`` as "fine-tuned as a target?"; a one-line error for anything else."""
    if role is None:
        return spec.default_role_is_target
    if role not in ("target", "intermediate"):
        raise ConfigError(f"--role: expected target or intermediate, got {role!r}")
    if role == "target" and not spec.facts.target:
        raise ConfigError(f"--role: {spec.name} cannot be a target ({spec.kind.value} tasks are intermediate only)")
    return role == "target"


@app.command("evaluate")
def evaluate(
    model: str = typer.Option(..., help="A RUN_DIR (its selected model), a saved model folder, or an encoder for retrieval."),
    task: str = typer.Option(..., help="Target task."),
    out: Path = typer.Option(..., help="Evaluation directory: predictions/ and metrics.json."),
    langs: str = typer.Option("all", help="'all' (every language with data) or a list like de,zh."),
    data: Optional[Path] = typer.Option(None, help="Data directory (default: $XSTILTS_DATA or ../shared/xtreme-data)."),
    split: Optional[str] = typer.Option(None, help="Split to evaluate (default: the task's evaluation split)."),
    eval_slice: Optional[str] = typer.Option(None, "--slice", help="Rows of every language, e.g. '[2000:]' (keep "
                                             "evaluation rows disjoint from the rows a parallel set trained on)."),
    batch_size: int = typer.Option(64, help="Inference batch size."),
    max_examples: Optional[int] = typer.Option(None, help="Only the first N examples per language (quick looks)."),
    layer: Optional[int] = typer.Option(None, help="Retrieval: hidden layer (default: the model folder's recorded "
                                        "use, else round(7/12 of depth); -1 = last)."),
    pooling: Optional[str] = typer.Option(None, help="Retrieval: mean | cls (default: recorded use, else mean)."),
    prefix: Optional[str] = typer.Option(None, help="Retrieval: text put before every sentence (default: recorded "
                                         "use, e.g. e5's 'query: ', else none)."),
    compile_encoder: bool = typer.Option(False, "--compile", help="torch.compile the encoder (pays on a GPU; "
                                         "same predictions up to float rounding)."),
    allow_contaminated: bool = typer.Option(False, help="Score rows the run trained or selected on anyway; "
                                            "recorded in metrics.json as contaminated."),
    eval_precision: str = typer.Option("fp32", help="fp32 | bf16: bf16 autocast of the forward passes (faster "
                                       "where bf16 is native; a few predictions may change)."),
) -> None:
    """Zero-shot evaluation on every language of TASK; writes predictions and metrics.json.

    The split defaults to the labelled test split when the data has one, else dev. A run
    directory gets the same contamination guard as `plan`."""
    from xstilts.evaluation.zero_shot import evaluate as evaluate_fn
    from xstilts.evaluation.zero_shot import languages_to_evaluate
    from xstilts.modeling.reference import ModelRef
    from xstilts.progress import evaluation_progress
    from xstilts.study.run_guard import contamination_of_run, refusal
    from xstilts.tasks.load import default_eval_split
    from xstilts.tasks.registry import get_task
    from xstilts.tasks.slices import slice_range

    from xstilts.modeling.eval_precision import check_eval_precision

    check_eval_precision(eval_precision, "--eval-precision")
    spec = get_task(task)
    slice_range(eval_slice, 0)
    _check_out_arg(out)
    data_dir = _data_dir_or_default(data)
    explicit = None if langs.strip().lower() == "all" else languages_to_evaluate(spec, langs, data_dir, spec.eval_split)
    split = split or default_eval_split(spec, data_dir, explicit)
    flagged = contamination_of_run(model, spec.name, languages_to_evaluate(spec, langs, data_dir, split), split,
                                   eval_slice, data_dir)
    if flagged and not allow_contaminated:
        raise ConfigError(refusal(model, spec.name, split, flagged))
    ModelRef.of(model).check()  # after the guard: a contaminated run is refused whatever its weights
    retrieval = {"layer": layer, "pooling": pooling, "prefix": prefix}
    _use_process_cpus()
    with evaluation_progress(err_console, task) as on_event:
        summary = evaluate_fn(model, task, data_dir, out, langs=langs, split=split, eval_slice=eval_slice,
                              batch_size=batch_size, max_examples=max_examples, retrieval=retrieval,
                              contaminated=flagged, progress=on_event, compile=compile_encoder, eval_precision=eval_precision)
    _print_json({k: summary[k] for k in ("task", "per_language", "average", "eval_precision")})


def _use_process_cpus() -> None:
    """Torch threads for a lone train/evaluate: the CPUs this process may use (affinity and cgroup
    quota, as a study's workers get; torch alone ignores the quota), recorded with the run."""
    from xstilts.threads import apply_threads, choose_threads

    apply_threads(choose_threads(1))


def _check_out_arg(out: Path) -> None:

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")


# ------------------------------------------------------------------ studies


results_app = typer.Typer(help="Read and export a study's results store.", no_args_is_help=True)
app.add_typer(results_app, name="results")


def _study_and_plan(study: Path, data: Optional[Path]):
    from xstilts.study import build_plan, load_study

    spec = load_study(study)
    return spec, build_plan(spec, data_dir_override=data)


@app.command("plan")
def plan(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the tree."),
    pilot: Optional[Path] = typer.Option(None, help="A finished pilot study: size this study's seeds from its seed "
                                                    "variance and say what they cost."),
    effect: Optional[float] = typer.Option(None, help="With --pilot: the difference to detect (default: the study's "
                                                      "[report] effect, 1 point)."),
) -> None:
    """Show the run plan: shared trainings, evaluations, contamination, report contrasts, cost and
    disk estimates; with --pilot, the seeds the contrasts need."""
    from xstilts.study import plan_summary, render_plan

    spec, run_plan = _study_and_plan(study, data)
    advice = _pilot_advice(spec, run_plan, pilot, effect, data) if pilot is not None else None
    if as_json:
        summary = plan_summary(run_plan)
        if advice is not None:
            summary["seeds_advice"] = advice
        _print_json(summary)
        return
    render_plan(run_plan, console)
    if advice is not None:
        _render_advice(advice, console)


def _pilot_advice(spec, run_plan, pilot: Path, effect: Optional[float], data: Optional[Path]) -> dict:
    """The seeds this study's contrasts need, from the pilot's seed variance, and their cost."""
    from xstilts.results.report import ReportOptions, compute_contrasts
    from xstilts.results.seed_planning import pilot_seed_sizes
    from xstilts.results.store import ResultStore
    from xstilts.study import build_plan
    from xstilts.study.cost import estimate_cost

    effect = effect if effect is not None else spec.report.effect
    if not effect > 0:
        raise ConfigError(f"--effect: a positive difference in metric points, got {effect}")
    pilot_spec, pilot_plan = _study_and_plan(pilot, data)
    rows, _ = _plan_rows(pilot_plan, all_rows=False)
    if rows is None or rows.empty:
        raise ConfigError(f"--pilot {pilot}: no results of its current plan in {pilot_plan.study.output_dir}: run the "
                          "pilot first")
    contrasts = compute_contrasts(rows, None, ReportOptions(listed_contrasts=tuple(
        tuple(pair) for pair in pilot_spec.report.contrasts)))
    planned = [(target.label, target.task, c.a, c.b) for c in run_plan.comparisons() for target in spec.targets]
    sizes = pilot_seed_sizes(contrasts, planned, len(spec.seeds), effect)
    store = ResultStore.for_study(pilot_plan.study.output_dir)
    measured = {kind: [n["wall_seconds"] for n in store.nodes(kind=kind, status="done") if n.get("wall_seconds")]
                for kind in ("train", "eval")}
    costs = []
    for column in ("seeds_needed", "seeds_needed_cautious"):
        needed = sizes[column].dropna() if column in sizes else []
        if len(needed) == 0:
            continue
        count = int(max(needed))
        seeds = list(spec.seeds) + [seed for seed in range(max(spec.seeds) + 1, max(spec.seeds) + 1 + count)][
            :max(0, count - len(spec.seeds))]
        sized = build_plan(spec.model_copy(update={"seeds": seeds[:count]}), data_dir_override=data)
        cost = estimate_cost(sized)
        at_pilot_speed = None
        if measured["train"] and measured["eval"]:
            at_pilot_speed = round(len(sized.train_nodes) * sum(measured["train"]) / len(measured["train"])
                                   + len(sized.eval_nodes) * sum(measured["eval"]) / len(measured["eval"]))
        costs.append({"sizing": column, "seeds": count, "trainings": len(sized.train_nodes),
                      "evaluations": len(sized.eval_nodes), "estimated_seconds": cost["total_seconds"],
                      "seconds_at_pilot_speed": at_pilot_speed})
    records = sizes.astype(object).where(sizes.notna(), None).to_dict(orient="records")
    return {"pilot": str(pilot), "effect": effect, "seeds_now": len(spec.seeds), "contrasts": records, "cost": costs}


def _render_advice(advice: dict, out: Console) -> None:
    from rich.table import Table

    table = Table(title=f"Seeds to detect {advice['effect']:g} points with 80% power (pilot {advice['pilot']}; "
                        f"paired t-test, alpha 0.05)")
    for column in ("target", "contrast", "pilot SD", "SD from", f"detectable with {advice['seeds_now']} seeds",
                   "seeds needed", "cautious"):
        table.add_column(column)
    for row in advice["contrasts"]:
        def number(value, digits=2):
            return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))
        table.add_row(row["target"], row["contrast"], number(row["pilot_sd"]), row["sd_source"],
                      number(row["detectable_now"]), number(row["seeds_needed"]), number(row["seeds_needed_cautious"]))
    out.print(table)
    for cost in advice["cost"]:
        pilot_speed = (f", {cost['seconds_at_pilot_speed'] / 3600:.1f} h at the pilot's measured speed"
                       if cost["seconds_at_pilot_speed"] is not None else "")
        out.print(f"{cost['seeds']} seeds ({cost['sizing'].replace('_', ' ')}): {cost['trainings']} trainings, "
                  f"{cost['evaluations']} evaluations, estimated {cost['estimated_seconds'] / 3600:.1f} h{pilot_speed}",
                  highlight=False)
    if not advice["cost"]:
        out.print("no contrast could be sized: the pilot has no contrast with 2 or more seeds", highlight=False)


@app.command("run")
def run(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    executor: str = typer.Option("local", help="local | ray"),
    workers: Optional[int] = typer.Option(None, help="Concurrent nodes (default: the study's execution.workers)."),
    keep: Optional[str] = typer.Option(None, help="best | leaves: which models to keep on disk."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local Ray)."),
    gpus_per_node: float = typer.Option(0.0, help="GPUs each node asks for (e.g. 0.5: two nodes per GPU)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
    fetch: bool = typer.Option(False, "--fetch", help="Download missing data from the hub first (needs network)."),
) -> None:
    """Run every node of a study (resumable: re-run the same command after a crash)."""
    from xstilts.errors import MissingDataError
    from xstilts.execution.runner import run_study
    from xstilts.paths import fetched_data_dir
    from xstilts.tasks.fetch.sources import sources_for_selections

    spec, run_plan = _study_and_plan(study, data)
    if run_plan.missing_data and fetch:
        target = run_plan.data_dir or fetched_data_dir()
        _run_fetch(sources_for_selections(run_plan.missing_selections), target, dry_run=False)
        spec, run_plan = _study_and_plan(study, data or target)
    if run_plan.missing_data:
        raise MissingDataError(
            f"{len(run_plan.missing_data)} data selections are missing (e.g. {run_plan.missing_data[0]}); fetch them "
            f"with `xstilts data fetch --study {study}`, or rerun with --fetch")
    summary = run_study(run_plan, executor=executor, workers=workers, keep=keep, ray_address=ray_address,
                        gpus_per_node=gpus_per_node, console=err_console)
    _show_results(run_plan, console)
    if not summary.ok:
        for node_id, error in summary.failed.items():
            _print_error(f"{summary.failed_labels.get(node_id, 'node')} ({node_id}): {error}", prefix="failed ")
        raise typer.Exit(1)


def _existing_store(study_dir: Path):
    """The study's store, or None when it never ran (reading must not create one)."""
    from xstilts.results.store import STORE_FILENAME, ResultStore

    return ResultStore.for_study(study_dir) if (Path(study_dir) / STORE_FILENAME).is_file() else None


def _plan_rows(run_plan, all_rows: bool):
    """The store rows a table, export or report reads (the current plan's unless ``all_rows``) and
    how many stored rows were left out; None when the study has no store yet."""
    from xstilts.results.filtering import dropped_rows, select_rows

    store = _existing_store(run_plan.study.output_dir)
    if store is None:
        return None, 0
    frame = store.to_dataframe()
    current = [node.id for node in run_plan.eval_nodes]
    return select_rows(frame, current, all_rows=all_rows), (0 if all_rows else dropped_rows(frame, current))


def _show_suite_score(frame, suite: str, out: Console) -> None:
    """The study suite's group scores and score per condition (mean over seeds), as the report's table."""
    import pandas as pd
    from rich.table import Table

    from xstilts.results.filtering import condition_rows
    from xstilts.results.report import ordered_targets, suite_table

    rows = condition_rows(frame)
    if "condition" not in rows:
        rows = rows.assign(condition=rows["order_name"])
    conditions = sorted(set(rows["condition"]))
    table = suite_table(rows, ordered_targets(rows), conditions, suite)
    shown = Table(title=str(table.columns[-1]))
    shown.add_column("condition")
    for column in table.columns:
        shown.add_column(str(column), justify="right")
    for condition, values in table.iterrows():
        shown.add_row(condition, *("-" if pd.isna(v) else f"{v:.2f}" for v in values))
    out.print(shown)


def _show_results(run_plan, out: Console, all_rows: bool = False) -> None:
    from xstilts.results.report import result_notes
    from xstilts.results.table import build_tables, render_tables

    frame, dropped = _plan_rows(run_plan, all_rows)
    if frame is None:
        out.print(f"no results yet ({run_plan.study.output_dir} has no results store; `xstilts run STUDY` makes one)",
                  markup=False, highlight=False)
        return
    if frame.empty:
        out.print("no results of the current plan yet" + (f" ({dropped} rows of other plans: --all-rows)" if dropped else ""))
        return
    render_tables(build_tables(frame), out)
    _show_suite_score(frame, run_plan.study.suite, out)
    for note in result_notes(frame, {"rows_not_in_plan": dropped}):
        out.print(f"note: {note}", highlight=False)


@results_app.command("show")
def results_show(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row, labelled by plan/settings, "
                                  "not only the current plan's."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Per-order, per-language tables (mean ± std over seeds) of the current plan's results."""
    _, run_plan = _study_and_plan(study, data)
    _show_results(run_plan, console, all_rows)


@results_app.command("export")
def results_export(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    out: Path = typer.Option(..., help="Output file (.csv or .parquet)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv | parquet (default: from --out's suffix)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row (with a labelled condition column)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Export the current plan's result rows (or --all-rows) as CSV or Parquet."""
    from xstilts.results.export import export_frame


    _, run_plan = _study_and_plan(study, data)
    frame, _ = _plan_rows(run_plan, all_rows)
    if frame is None:
        raise ConfigError(f"{study}: no results to export ({run_plan.study.output_dir} has no results store yet)")
    print(export_frame(frame, out, fmt or (out.suffix.lstrip(".") or "csv")))


@app.command("report")
def report(
    study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Every stored row, labelled by plan/settings."),
    include_contaminated: bool = typer.Option(False, help="Keep contaminated cells in the language averages."),
    correction: str = typer.Option("holm", help="Multiple-testing correction within each family: holm | bh."),
    test: str = typer.Option("t", help="t: paired t-test over seeds (generalises over new seeds) | t+items: adds the "
                                       "evaluation items' variance (also over new test items)."),
    effect: Optional[float] = typer.Option(None, help="The difference the seeds advisor sizes for (default: the "
                                                      "study's [report] effect, 1 point)."),
    out: Optional[Path] = typer.Option(None, help="Report folder (default: OUTPUT_DIR/report)."),
    data: Optional[Path] = typer.Option(None, help="Override the study's data directory."),
) -> None:
    """Write the study report (report.md, self-contained report.html, CSV tables, PNG plots) and
    print its path and headline."""
    from xstilts.execution.result_rows import read_examples
    from xstilts.results.report import build_report, write_report
    from xstilts.study.provenance import study_facts

    spec, run_plan = _study_and_plan(study, data)
    options = _report_options(spec, correction, test, effect, include_contaminated)
    frame, dropped = _plan_rows(run_plan, all_rows)
    if frame is None or frame.empty:
        raise ConfigError(f"{study}: no results of the current plan in {run_plan.study.output_dir} yet: run the study first")
    facts = {**study_facts(run_plan, study), "rows_not_in_plan": dropped}
    study_dir = run_plan.study.output_dir
    built = build_report(frame, facts, lambda ref: read_examples(study_dir, ref), options)
    path = write_report(built, out or study_dir / "report")
    print(path)
    print(built.headline)


def _report_options(spec, correction: str, test: str, effect: Optional[float], include_contaminated: bool = False):
    from xstilts.results.report import ReportOptions
    from xstilts.results.statistics import CORRECTIONS, METHODS

    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if test not in METHODS:
        raise ConfigError(f"--test: expected one of {', '.join(METHODS)}, got {test!r}")
    if effect is not None and not effect > 0:
        raise ConfigError(f"--effect: a positive difference in metric points, got {effect}")
    return ReportOptions(correction=correction, test=test, include_contaminated=include_contaminated,
                         listed_contrasts=tuple(tuple(pair) for pair in spec.report.contrasts),
                         effect=effect if effect is not None else spec.report.effect, suite=spec.suite)


@results_app.command("rebuild")
def results_rebuild(study: Path = typer.Argument(..., metavar="STUDY", help="Study file (TOML).")) -> None:
    """Recreate a study's results store from the rows each evaluation keeps in its folder."""
    from xstilts.results.node_rows import rebuild_store
    from xstilts.study import load_study

    path, evaluations, rows = rebuild_store(load_study(study).output_dir)
    err_console.print(f"rebuilt {path}: {rows} rows from {evaluations} evaluations", markup=False, highlight=False)


stats_app = typer.Typer(help="Statistics of per-seed scores made anywhere.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")


@stats_app.command("contrast")
def stats_contrast(
    file: Path = typer.Argument(..., metavar="FILE.csv", help="Columns task,lang,condition,seed,score (+ --by columns)."),
    contrast: list[str] = typer.Option(None, "--contrast", help='"A - B" (repeatable; default: every pair of a '
                                                                "task's conditions). Corrected together per group and task."),
    by: list[str] = typer.Option(None, "--by", help="A column that splits the file into groups analysed on their own "
                                                     "(repeatable; no correction across groups)."),
    correction: str = typer.Option("holm", help="holm | bh."),
    per_language: bool = typer.Option(False, "--per-language", help="Also one line per language (a second family)."),
) -> None:
    """The report's paired contrasts for per-seed scores from any source: one JSON object per line per
    (group, task, contrast) with seeds, mean_difference (A - B), ci_low/ci_high, p, adjusted_p, method."""
    from xstilts.results.score_table import contrast_rows, parse_contrast, read_score_table
    from xstilts.results.statistics import CORRECTIONS

    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}")
    pairs = [parse_contrast(text) for text in contrast or []]
    frame = read_score_table(file, by or [])
    for record in contrast_rows(frame, pairs, by or [], correction, per_language):
        print(json.dumps(_finite(record), ensure_ascii=False))


def _finite(value):
    """JSON has no NaN: a missing number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


# ------------------------------------------------------------------ entry point


def _quiet_libraries() -> None:
    """Our own progress bars replace the libraries' per-call bars and load reports."""
    import os

    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def main(argv: Optional[list[str]] = None) -> None:
    _quiet_libraries()
    # Typer handles usage errors itself (message + exit 2); our own errors are one line too.
    try:
        # standalone_mode=False: errors come back here so that each prints as one line.
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        code = 130
    except _ClickException as error:  # usage errors: one line naming the option, exit 2
        where = f"{error.ctx.command_path}: " if getattr(error, "ctx", None) is not None else ""
        _print_error(f"{where}{error.format_message()}")
        sys.exit(error.exit_code)
    except XstiltsError as error:
        _print_error(error)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except OSError as error:
        # The file system refused (a folder that is a file, no permission, disk full): one line
        # naming the path, never a traceback.
        where = f"{error.filename}: " if error.filename else ""
        _print_error(f"{where}{error.strerror or error}")
        sys.exit(2)
    if code == 130:  # typer turns Ctrl-C into exit code 130
        _print_error("interrupted", prefix="")
    if isinstance(code, int) and code:
        sys.exit(code)


# typer >= 0.20 vendors click; its usage errors derive from this class (older typer: click's own).
try:
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException as _ClickException


def _print_error(message: object, prefix: str = "error: ") -> None:
    """One line on stderr, as plain text: paths and labels like '[abc]' or '[/bold]' are not markup."""
    from rich.text import Text

    from xstilts.errors import one_line

    line = Text(prefix, style="bold red") if prefix else Text()
    line.append(one_line(message))
    err_console.print(line, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
