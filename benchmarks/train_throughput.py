"""Training throughput: the Hugging Face Trainer (padding to max length, and dynamic padding) vs
`xstilts train` on the same model, data, batch, lengths, optimizer (fused AdamW, linear schedule
with 10% warm-up, weight decay 0.01, clip 1.0) and number of steps: one pass over the first
``--examples`` English XNLI pairs (fp32 on CPU, bf16 on GPU), no dev evaluation, no checkpoints.

Each run is a fresh child process; after a warm-up round the three alternate (see
side_by_side.py). Per run: examples/s and real (unpadded) tokens/s of the training loop (first
step to last step), the end-to-end time (load, tokenise, train, save), peak memory, and on a GPU
useful TFLOP/s (6 x non-embedding weights x real tokens) and their share of a measured bf16
matmul peak. Last line: ``speedup: X.XX``, the median over rounds of (faster HF configuration's
loop time) / (xstilts' loop time).

    PYTHONPATH=src .venv/bin/python benchmarks/train_throughput.py --examples 256 --rounds 3
    PYTHONPATH=src .venv/bin/python benchmarks/train_throughput.py --model-config xlm-roberta-large \\
        --batch-size 32 --examples 3200 --rounds 3          # GPU
    ... --set trim_vocabulary=false    # an xstilts switch off, to measure what it buys
    ... --precision bf16               # both in bf16 autocast (default: fp32 on a CPU, bf16 on a GPU)
    ... --precision defaults           # each system's own default precision
    ... --systems hf-dynamic,xstilts,xstilts-compiled  # also xstilts with torch.compile (compile = true;
                                                       # its loop time includes compiling)
    ... --background-load 2            # two CPU-bound processes run throughout (a loaded machine)
    ... --systems xstilts,xstilts-serial  # what prefetching the next step's batches buys
                                          # (xstilts-serial: prefetch and background checkpoints off)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import (  # noqa: E402
    E5_SMALL,
    PRECISION_HELP,
    PRECISIONS,
    XSTILTS_PRECISION,
    alternate,
    child_payload,
    default_precision,
    emit,
    hf_bf16,
    median,
    median_ratio,
    prepared_model,
    print_header,
    run_child,
    scratch_dir,
)

SYSTEMS = ("hf-pad", "hf-dynamic", "xstilts")  # and "xstilts-serial", "xstilts-compiled", on request
LEARNING_RATE = 2e-5


# ------------------------------------------------------------------ child side


def _examples(payload: dict[str, Any]):
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import prepare_task_data

    selection = DataSelection("xnli", "en", payload["split"], f"[:{payload['examples']}]")
    return prepare_task_data(selection, None, Path(payload["data"]))


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _real_tokens(task_data, tokenizer, max_length: int) -> int:
    texts = [ex.text_a for ex in task_data.train], [ex.text_b for ex in task_data.train]
    return sum(len(ids) for ids in tokenizer(*texts, truncation=True, max_length=max_length)["input_ids"])


def _non_embedding_weights(model) -> int:
    skip = {id(p) for name, p in model.named_parameters() if "embeddings" in name}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def _gpu_memory() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def child_hf(payload: dict[str, Any]) -> dict[str, Any]:
    import datasets
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        default_data_collator,
    )

    from xstilts.tasks.families import NLI_LABELS

    started = time.perf_counter()
    task_data = _examples(payload)
    gpu = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(payload["model"])
    model = AutoModelForSequenceClassification.from_pretrained(payload["model"], num_labels=len(NLI_LABELS),
                                                               dtype=torch.float32)
    pad = payload["system"] == "hf-pad"
    encoded = tokenizer([ex.text_a for ex in task_data.train], [ex.text_b for ex in task_data.train],
                        truncation=True, max_length=payload["max_length"],
                        padding="max_length" if pad else False)
    encoded["labels"] = [NLI_LABELS.index(ex.label) for ex in task_data.train]
    dataset = datasets.Dataset.from_dict(dict(encoded))
    steps = payload["steps"]
    marks: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            _sync()
            marks["begin"], marks["cpu_begin"] = time.perf_counter(), time.process_time()

        def on_train_end(self, args, state, control, **kwargs):
            _sync()
            marks["end"], marks["cpu_end"] = time.perf_counter(), time.process_time()

    out = str(scratch_dir("hf-train-"))
    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=payload["batch_size"], max_steps=steps,
        learning_rate=LEARNING_RATE, weight_decay=0.01, warmup_steps=int(0.1 * steps), lr_scheduler_type="linear",
        max_grad_norm=1.0, optim="adamw_torch_fused", bf16=hf_bf16(payload["precision"], gpu),
        save_strategy="no", eval_strategy="no", report_to="none", logging_strategy="no", disable_tqdm=True, seed=payload["seed"], use_cpu=not gpu,
        dataloader_num_workers=0,
    )
    collator = default_data_collator if pad else DataCollatorWithPadding(tokenizer)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[Clock()])
    trainer.train()
    trainer.save_model(out)
    ended = time.perf_counter()
    return {"loop_seconds": marks["end"] - marks["begin"], "end_to_end_seconds": ended - started,
            "loop_cpu_seconds": marks["cpu_end"] - marks["cpu_begin"],
            "examples": min(len(dataset), steps * payload["batch_size"]),
            "real_tokens": _real_tokens(task_data, tokenizer, payload["max_length"]),
            "non_embedding_weights": _non_embedding_weights(model), "gpu_peak_mb": _gpu_memory()}


def child_xstilts(payload: dict[str, Any]) -> dict[str, Any]:
    # The libraries the HF child imports before its clock starts (Trainer brings accelerate), so
    # that neither end-to-end time includes importing them (~1.3 s on this CPU).
    import accelerate  # noqa: F401
    import transformers  # noqa: F401

    from xstilts.modeling.loading import load_tokenizer
    from xstilts.training.config import TrainConfig
    from xstilts.training.data import StageData
    from xstilts.training.trainer import Trainer

    started = time.perf_counter()
    task_data = _examples(payload)
    steps = payload["steps"]
    config = TrainConfig(max_steps=steps, batch_size=payload["batch_size"], max_length=payload["max_length"],
                         learning_rate=LEARNING_RATE, weight_decay=0.01, warmup_ratio=0.1, seed=payload["seed"],
                         checkpoint_every=10**9,
                         **{"mixed_precision": XSTILTS_PRECISION[payload["precision"]], **payload.get("overrides", {}),
                            **({"compile": True} if payload["system"] == "xstilts-compiled" else {})})
    marks: dict[str, float] = {}

    def clock(event: str, info: dict[str, Any]) -> None:
        if event == "start":
            _sync()
            marks["begin"], marks["cpu_begin"] = time.perf_counter(), time.process_time()
        elif event == "step" and info["step"] == steps:
            _sync()
            marks["end"], marks["cpu_end"] = time.perf_counter(), time.process_time()

    run_dir = scratch_dir("xstilts-train-") / "run"
    serial = payload["system"] == "xstilts-serial"
    result = Trainer(StageData([task_data]), config, run_dir, progress=clock, prefetch=not serial,
                     background_checkpoints=not serial).run(payload["model"])
    ended = time.perf_counter()
    from xstilts.modeling.model import load_model
    from xstilts.modeling.reference import ModelRef

    weights = _non_embedding_weights(load_model(ModelRef.of(result.model_dir))) if payload.get("count_weights") else None
    return {"loop_seconds": marks["end"] - marks["begin"], "end_to_end_seconds": ended - started,
            "loop_cpu_seconds": marks["cpu_end"] - marks["cpu_begin"],
            "examples": min(len(task_data.train), steps * payload["batch_size"]),
            "real_tokens": _real_tokens(task_data, load_tokenizer(payload["model"]), payload["max_length"]),
            "non_embedding_weights": weights, "gpu_peak_mb": _gpu_memory(), "vocabulary": result.vocabulary,
            "compiled_graphs": result.numerics.get("compiled_graphs")}


# ------------------------------------------------------------------ parent side


def bf16_matmul_peak() -> float | None:
    """Measured dense bf16 matmul TFLOP/s of GPU 0 (None without a GPU)."""
    import torch

    if not torch.cuda.is_available():
        return None
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    started = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e12


def start_background_load(count: int) -> list:
    """``count`` busy-looping processes (each keeps one CPU busy) and a one-line note of them."""
    import subprocess

    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    if processes:
        print(f"# background load: {count} CPU-bound processes running from before the first run to the end",
              flush=True)
    return processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=E5_SMALL)
    parser.add_argument("--model-config", default=None, help="Random-init encoder of this size (xlm-roberta-large).")
    parser.add_argument("--data", type=Path, default=None, help="XTREME data (default: the shared copy).")
    parser.add_argument("--split", default="dev", help="XNLI English split to train on (dev: 2,490 pairs).")
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--precision", choices=PRECISIONS, default=None, help=PRECISION_HELP)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="An xstilts TrainConfig override (JSON value), e.g. trim_vocabulary=false.")
    parser.add_argument("--json", type=Path, default=None, help="Also write every run's figures here.")
    parser.add_argument("--background-load", type=int, default=0, metavar="N",
                        help="Start N CPU-bound processes before the first run and keep them running to the "
                             "end: the systems start, and train, on a loaded machine.")
    args = parser.parse_args()

    from xstilts.paths import default_data_dir

    data = args.data or default_data_dir()
    model = prepared_model(args.model, args.model_config)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    steps = math.ceil(args.examples / args.batch_size)
    precision = args.precision or default_precision()
    base = dict(model=model, data=str(data), split=args.split, batch_size=args.batch_size,
                max_length=args.max_length, seed=args.seed, overrides=overrides, precision=precision)
    systems = [s for s in args.systems.split(",") if s]
    print_header("training throughput: HF Trainer vs xstilts train",
                 dict(model=args.model_config or args.model, examples=args.examples, steps=steps,
                      batch=args.batch_size, max_length=args.max_length, rounds=args.rounds, precision=precision,
                      overrides=overrides, background_load=args.background_load))
    load = start_background_load(args.background_load)
    peak = bf16_matmul_peak()
    if peak:
        print(f"# measured bf16 matmul peak: {peak:.0f} TFLOP/s")
    weights: dict[str, int] = {}

    def run(system: str, warmup: bool) -> dict[str, Any]:
        payload = {**base, "system": system, "examples": 2 * args.batch_size if warmup else args.examples,
                   "steps": 2 if warmup else steps, "count_weights": warmup}
        result = run_child(Path(__file__), payload)
        if result.get("non_embedding_weights"):
            weights[system] = result["non_embedding_weights"]
        return result

    def show(system: str, index: int, r: dict[str, Any]) -> None:
        loop = r["loop_seconds"]
        line = (f"round {index + 1} {system:14s}: loop {loop:7.2f} s, {r['examples'] / loop:7.1f} examples/s, "
                f"{r['real_tokens'] / loop:8.0f} real tokens/s, end-to-end {r['end_to_end_seconds']:7.2f} s, "
                f"loop CPU {r['loop_cpu_seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB")
        if r.get("gpu_peak_mb"):
            line += f", GPU peak {r['gpu_peak_mb']:.0f} MB"
        n = weights.get(system) or weights.get("xstilts") or weights.get("hf-dynamic")
        if peak and n:
            tflops = 6 * n * r["real_tokens"] / loop / 1e12
            line += f", useful {tflops:.1f} TFLOP/s ({100 * tflops / peak:.1f}% of peak)"
        if r.get("vocabulary") and index == 0:
            line += f", vocabulary {r['vocabulary']}"
        if r.get("compiled_graphs") is not None:
            line += f", compiled graphs {r['compiled_graphs']}"
        print(line, flush=True)

    try:
        results = alternate(systems, args.rounds, run, show)
    finally:
        for process in load:
            process.kill()
    if args.json:
        args.json.write_text(json.dumps({"systems": results, "settings": base}, indent=2) + "\n")
    loops = {s: [r["loop_seconds"] for r in results[s]] for s in systems}
    for s in systems:
        print(f"median {s:10s}: loop {median(loops[s]):.2f} s, "
              f"end-to-end {median([r['end_to_end_seconds'] for r in results[s]]):.2f} s")
    if "xstilts" in systems and "xstilts-serial" in systems:
        print(f"xstilts-serial / xstilts (what prefetch buys), median of rounds: loop "
              f"{median_ratio(loops['xstilts-serial'], loops['xstilts']):.3f}x")
    if "xstilts" in systems and "xstilts-compiled" in systems:
        print(f"xstilts / xstilts-compiled (what torch.compile buys), median of rounds: loop "
              f"{median_ratio(loops['xstilts'], loops['xstilts-compiled']):.3f}x")
    hf = [s for s in systems if s.startswith("hf")]
    # `speedup:` is of plain xstilts when it ran, else of the xstilts variant that did (gpu_checks.sh).
    ours = next((s for s in ("xstilts", "xstilts-compiled", "xstilts-serial") if s in systems), None)
    if ours is None or not hf:
        return
    fastest = min(hf, key=lambda s: median(loops[s]))
    for s in hf:
        print(f"{s} / {ours}, median of rounds: loop {median_ratio(loops[s], loops[ours]):.2f}x, end-to-end "
              f"{median_ratio([r['end_to_end_seconds'] for r in results[s]], [r['end_to_end_seconds'] for r in results[ours]]):.2f}x")
    cpu = {s: [r["loop_cpu_seconds"] for r in results[s]] for s in systems}
    print(f"{fastest} / {ours} in loop CPU seconds (less sensitive to other load), median of rounds: "
          f"{median_ratio(cpu[fastest], cpu[ours]):.2f}x")
    print(f"faster HF configuration: {fastest}")
    print(f"speedup: {median_ratio(loops[fastest], loops[ours]):.2f}")

if __name__ == "__main__":
    payload = child_payload()
    if payload is None:
        main()
    else:
        emit(child_hf(payload) if payload["system"].startswith("hf") else child_xstilts(payload))
