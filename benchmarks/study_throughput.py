"""Study throughput: a small stage-order study (two orders of two NLI stages, three targets, two
seeds) with `xstilts run` vs the same trainings run one path at a time with the HF Trainer.

The study: stages nli_en and nli_de (XNLI dev rows ``[:examples]``, English and German), orders
nli_en>nli_de and nli_de>nli_en, targets XNLI, PAWS-X (trained on English dev rows) and PAN-X
(English train rows), seeds 1 and 2; every training runs ``--steps`` steps at batch ``--batch-size``,
full fine-tuning, no dev selection. xstilts trains each shared stage once (10 trainings a seed) and
also evaluates every target on a few English (PAWS-X: German) rows; the HF way retrains both stages
for every (order, target, seed) path (18 trainings a seed) and evaluates nothing, so the comparison
favours it. With ``--workers 1,2`` the study also runs with two concurrent nodes (one intra-op
thread each) to measure threads vs concurrent nodes on the CPU.

Each system is one fresh child process; after a warm-up round they alternate (side_by_side.py).
Last line: ``speedup: X.XX``, the median over rounds of HF time / xstilts time (its best worker
count).

    PYTHONPATH=src .venv/bin/python benchmarks/study_throughput.py --steps 3 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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

ORDERS = (("nli_en", "nli_de"), ("nli_de", "nli_en"))
TARGETS = {  # task: (training selection, evaluated language, evaluation split, evaluation slice)
    "xnli": (("en", "dev", "[:{n}]"), "en", "dev", "[2000:2016]"),
    "pawsx": (("en", "dev", "[:{n}]"), "de", "test", "[:16]"),
    "panx": (("en", "train", "[:{n}]"), "en", "dev", "[:16]"),
}
STAGES = {"nli_en": "en", "nli_de": "de"}
LEARNING_RATE = 5e-5


def study_toml(payload: dict[str, Any], out: Path) -> str:
    n, seeds = payload["examples"], payload["seeds"]
    lines = ['name = "throughput"', f'model = "{payload["model"]}"', f'output_dir = "{out}"',
             f'data_dir = "{payload["data"]}"', f"seeds = {json.dumps(seeds)}", "",
             "[hparams]", f"max_steps = {payload['steps']}", f"batch_size = {payload['batch_size']}",
             "max_length = 128", f"learning_rate = {LEARNING_RATE}",
             f'mixed_precision = "{XSTILTS_PRECISION[payload["precision"]]}"', ""]
    for stage, lang in STAGES.items():
        lines += [f"[stages.{stage}]",
                  f'tasks = [{{ task = "xnli", lang = "{lang}", split = "dev", slice = "[:{n}]", dev = false }}]', ""]
    lines += ["[orders]", "baseline = false", "singles = false", 'permutations = [["nli_en", "nli_de"]]', ""]
    for task, ((lang, split, rows), eval_lang, eval_split, eval_slice) in TARGETS.items():
        lines += ["[[targets]]", f'task = "{task}"', f'langs = ["{eval_lang}"]', f'eval_split = "{eval_split}"',
                  f'eval_slice = "{eval_slice}"', "eval_max_length = 128",
                  f'train = {{ lang = "{lang}", split = "{split}", slice = "{rows.format(n=n)}", dev = false }}', ""]
    lines += ["[execution]", f"workers = {payload['workers']}", 'keep = "leaves"']
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ children


def child_xstilts(payload: dict[str, Any]) -> dict[str, Any]:
    root = scratch_dir("xstilts-study-")
    study = root / "study.toml"
    study.write_text(study_toml(payload, root / "out"))
    env = dict(os.environ)
    if payload["workers"] > 1:
        # Concurrent nodes share the cores: one intra-op thread each instead of two for one node.
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // payload["workers"]))
    started = time.perf_counter()
    cli = str(Path(sys.executable).with_name("xstilts"))
    done = subprocess.run([cli, "run", str(study)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"xstilts run failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "trainings": _count_trainings(root / "out")}


def _count_trainings(out: Path) -> int:
    """Finished training runs (their result.json records steps)."""
    count = 0
    for path in out.rglob("result.json"):
        try:
            if "steps" in json.loads(path.read_text()):
                count += 1
        except (OSError, ValueError):
            continue
    return count


def child_hf(payload: dict[str, Any]) -> dict[str, Any]:
    import datasets
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from xstilts.modeling.kinds import adapter_for_task
    from xstilts.modeling.kinds.base import FeatureSettings
    from xstilts.tasks.types import TaskKind
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import prepare_task_data

    data, n = Path(payload["data"]), payload["examples"]
    tokenizer = AutoTokenizer.from_pretrained(payload["model"])
    root = scratch_dir("hf-study-")
    gpu = torch.cuda.is_available()
    trainings = 0

    def dataset(task_name: str, lang: str, split: str, rows: str):
        task_data = prepare_task_data(DataSelection(task_name, lang, split, rows), None, data)
        adapter = adapter_for_task(task_data.task)
        features = adapter.featurize(task_data.train, tokenizer, task_data.labels, FeatureSettings(max_length=128))
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids", "labels") if c in features[0]]
        return datasets.Dataset.from_dict({c: [f[c] for f in features] for c in columns}), task_data

    def train(source: str, task_name: str, lang: str, split: str, rows: str, seed: int, out: Path) -> str:
        nonlocal trainings
        train_set, task_data = dataset(task_name, lang, split, rows)
        labels = len(task_data.labels)
        tagging = task_data.task.kind is TaskKind.TAGGING
        auto = AutoModelForTokenClassification if tagging else AutoModelForSequenceClassification
        model = auto.from_pretrained(source, num_labels=labels, ignore_mismatched_sizes=True, dtype=torch.float32)
        args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=payload["batch_size"],
                                 max_steps=payload["steps"], learning_rate=LEARNING_RATE, weight_decay=0.01,
                                 warmup_steps=int(0.1 * payload["steps"]), optim="adamw_torch_fused",
                                 bf16=hf_bf16(payload["precision"], gpu),
                                 save_strategy="no", eval_strategy="no", report_to="none", logging_strategy="no",
                                 disable_tqdm=True, seed=seed, use_cpu=not gpu)
        collator = DataCollatorForTokenClassification(tokenizer) if tagging else DataCollatorWithPadding(tokenizer)
        trainer = Trainer(model=model, args=args, train_dataset=train_set, data_collator=collator)
        trainer.train()
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))
        trainings += 1
        return str(out)

    started = time.perf_counter()
    for seed in payload["seeds"]:
        for order in ORDERS:
            for target, ((lang, split, rows), *_rest) in TARGETS.items():
                source = payload["model"]
                path = root / f"s{seed}-{'-'.join(order)}-{target}"
                for stage in order:  # one path at a time: its stages are retrained for every target
                    source = train(source, "xnli", STAGES[stage], "dev", f"[:{n}]", seed, path / stage)
                train(source, target, lang, split, rows.format(n=n), seed, path / target)
    return {"seconds": time.perf_counter() - started, "trainings": trainings}


# ------------------------------------------------------------------ parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--examples", type=int, default=64, help="Training rows of every stage and target.")
    parser.add_argument("--steps", type=int, default=4, help="Optimizer steps of every training.")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--workers", default="1", help="xstilts worker counts to measure, e.g. 1,2.")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", choices=PRECISIONS, default=None, help=PRECISION_HELP)
    args = parser.parse_args()

    from xstilts.paths import default_data_dir

    data = args.data or default_data_dir()
    model = prepared_model(E5_SMALL, None)
    base = dict(model=model, data=str(data), examples=args.examples, steps=args.steps, batch_size=args.batch_size,
                seeds=[int(s) for s in args.seeds.split(",")], precision=args.precision or default_precision())
    workers = [int(w) for w in args.workers.split(",")]
    systems = ["hf", *[f"xstilts-w{w}" for w in workers]]
    print_header("study throughput: xstilts run vs one path at a time with the HF Trainer",
                 dict(model=E5_SMALL, orders=len(ORDERS), targets=len(TARGETS), seeds=base["seeds"],
                      steps=args.steps, batch=args.batch_size, examples=args.examples, rounds=args.rounds,
                      precision=base["precision"]))

    def run(system: str, warmup: bool) -> dict[str, Any]:
        payload = {**base, "system": system, "workers": int(system.split("-w")[1]) if "-w" in system else 1}
        if warmup:
            payload.update(steps=1, seeds=base["seeds"][:1])
        return run_child(Path(__file__), payload)

    def show(system: str, index: int, r: dict[str, Any]) -> None:
        print(f"round {index + 1} {system:11s}: {r['seconds']:8.1f} s, {r['trainings']} trainings, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)

    results = alternate(systems, args.rounds, run, show)
    times = {s: [r["seconds"] for r in results[s]] for s in systems}
    for s in systems:
        print(f"median {s:11s}: {median(times[s]):.1f} s")
    best = min(systems[1:], key=lambda s: median(times[s]))
    for s in systems[1:]:
        print(f"hf / {s}, median of rounds: {median_ratio(times['hf'], times[s]):.2f}x")
    print(f"speedup: {median_ratio(times['hf'], times[best]):.2f}")


if __name__ == "__main__":
    payload = child_payload()
    if payload is None:
        main()
    else:
        emit(child_hf(payload) if payload["system"] == "hf" else child_xstilts(payload))
