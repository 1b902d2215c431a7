"""`xstilts model prepare`, `xstilts train` and `xstilts evaluate`: one model, one stage, one evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from xstilts.cli.common import (
    app, check_out_arg, console, data_dir_or_default, err_console, model_app, print_json, use_process_cpus,
)
from xstilts.errors import ConfigError


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
    dev_file: list[Path] = typer.Option([], help="Explicit dev file(s) instead of the task's layout."),
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
    max_query_length: Optional[int] = typer.Option(None, help="Max sub-words of a QA question or a dual-encoder "
                                                   "query (default 64; dual encoder 96)."),
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
    from xstilts.modeling.reference import ModelRef
    from xstilts.modeling.run_folders import run_record
    from xstilts.progress import training_progress
    from xstilts.tasks.registry import get_task
    from xstilts.tasks.selection import stage_selections
    from xstilts.modeling.identity import model_scale
    from xstilts.training.config import make_config
    from xstilts.training.stage import train_stage
    from xstilts.versions import TRAINING_SEMANTICS_VERSION

    spec = get_task(task)
    check_out_arg(out)
    as_target = _train_role(spec, role)
    reference = ModelRef.of(model)
    reference.check()  # a bad --model is one line before any bar or folder appears
    config = make_config(
        spec, target=as_target, model_scale=model_scale(model), learning_rate=learning_rate, epochs=epochs,
        max_steps=max_steps, batch_size=batch_size, grad_accumulation=grad_accumulation, max_length=max_length,
        max_query_length=max_query_length, seed=seed, eval_every=eval_every, early_stopping_patience=patience,
        mixed_precision=mixed_precision, freeze_embeddings=freeze_embeddings,
        max_train_examples=max_train_examples, max_eval_examples=max_eval_examples, checkpoint_every=checkpoint_every,
        mlm_whole_word=mlm_whole_word, compile=compile_encoder,
        preset=preset, carry_head=carry_head,
    )
    train_sel, dev_sel = stage_selections(spec, lang=lang, split=train_split, train_slice=train_slice,
                                          files=tuple(str(f) for f in train_file), dev=not no_dev, dev_lang=dev_lang,
                                          dev_split=dev_split, dev_slice=dev_slice,
                                          dev_files=tuple(str(f) for f in dev_file))
    # Explicit files everywhere (a masked-LM corpus measures dev on its own lines) need no data folder.
    from_files = bool(train_sel.files) and (dev_sel is None or bool(dev_sel.files))
    data_dir = data if from_files else data_dir_or_default(data)
    # run.json: the parent run (for the contamination guard's lineage) or the base model as given.
    parent = str(reference.run_dir.resolve()) if reference.run_dir else None
    identity = run_record([{"train": train_sel.record(), "dev": dev_sel.record() if dev_sel else None}],
                          config.model_dump(), semantics=TRAINING_SEMANTICS_VERSION, parent=parent,
                          base_model=None if parent else {"reference": model})
    use_process_cpus()
    result = train_stage([(train_sel, dev_sel)], config, out, model, identity, data_dir=data_dir, target=as_target,
                         progress=lambda: training_progress(err_console, f"train {spec.name}-{lang}"))
    print_json(result.to_json())


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
    check_out_arg(out)
    data_dir = data_dir_or_default(data)
    explicit = None if langs.strip().lower() == "all" else languages_to_evaluate(spec, langs, data_dir, spec.eval_split)
    split = split or default_eval_split(spec, data_dir, explicit)
    flagged = contamination_of_run(model, spec.name, languages_to_evaluate(spec, langs, data_dir, split), split,
                                   eval_slice, data_dir)
    if flagged and not allow_contaminated:
        raise ConfigError(refusal(model, spec.name, split, flagged))
    ModelRef.of(model).check()  # after the guard: a contaminated run is refused whatever its weights
    retrieval = {"layer": layer, "pooling": pooling, "prefix": prefix}
    use_process_cpus()
    with evaluation_progress(err_console, task) as on_event:
        summary = evaluate_fn(model, task, data_dir, out, langs=langs, split=split, eval_slice=eval_slice,
                              batch_size=batch_size, max_examples=max_examples, retrieval=retrieval,
                              contaminated=flagged, progress=on_event, compile=compile_encoder, eval_precision=eval_precision)
    print_json({k: summary[k] for k in ("task", "per_language", "average", "eval_precision")})
