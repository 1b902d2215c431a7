"""How much ``eval_precision = "bf16"`` changes zero-shot results: the same real models evaluated
once in fp32 and once under bf16 autocast, on the shared data.

Models: multilingual-e5-small (the offline copy) with an XNLI head fine-tuned on English dev rows
[500:] and a PAN-X head on English dev rows [2000:] (the shared data has no English train split
for either; the evaluated English rows are the first ``--max-examples``, disjoint from those while
it is at most 500), both with xstilts' own ``xstilts train`` (fp32, frozen word embeddings, no dev
selection), cached under the benchmark cache so a re-run skips them. Tatoeba and BUCC use the plain encoder (its recorded retrieval use: "query: ", last layer,
mean pooling).

Per task it prints the predictions that change (XNLI: class labels; PAN-X: tags; Tatoeba: the
retrieved index of each English sentence; BUCC: the mined pairs, as the symmetric difference of
the two sets over their union), the score per language in both precisions (max |delta| and mean
delta of the task's metric) and the time of each precision. Sizes are capped for a 2-core CPU:
``--max-examples`` rows per language for XNLI and PAN-X, ``--tatoeba-pairs`` line pairs per
Tatoeba language, ``--bucc-sentences`` sentences per BUCC side (all gold pairs' sentences first);
BUCC's threshold is tuned on those dev sentences and applied to them (an oracle, as on dev only).

    PYTHONPATH=src .venv/bin/python benchmarks/eval_precision_agreement.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import BENCH_CACHE, E5_SMALL, prepared_model, print_header, scratch_dir  # noqa: E402

PRECISIONS = ("fp32", "bf16")
TRAIN_MAX_LENGTH = 128
# (task, cache folder, `xstilts train` arguments): English training rows the evaluation never reads.
HEADS = {
    "xnli": ("e5-small-xnli-head", ["--task", "xnli", "--train-split", "dev", "--train-slice", "[500:]"]),
    "panx": ("e5-small-panx-head", ["--task", "panx", "--train-split", "dev", "--train-slice", "[2000:]"]),
}


def trained_head(task: str, encoder: str, data: Path, steps: int, batch: int) -> Path:
    """A run directory with ``task``'s head trained on English (trained once, then cached)."""
    folder, arguments = HEADS[task]
    run = BENCH_CACHE / f"{folder}-{steps}x{batch}"
    if (run / "result.json").is_file():
        return run
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "xstilts.cli", "train", "--model", encoder, *arguments, "--out", str(run),
                    "--data", str(data), "--no-dev", "--max-steps", str(steps), "--batch-size", str(batch),
                    "--max-length", str(TRAIN_MAX_LENGTH), "--mixed-precision", "no", "--lr", "5e-5",
                    "--freeze-embeddings"],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"# trained {task} head: {steps} steps of batch {batch} in {time.perf_counter() - started:.0f} s -> {run}",
          flush=True)
    return run


# ------------------------------------------------------------------ head tasks


def head_task(task: str, model: Path, data: Path, max_examples: int, langs: str = "all") -> dict[str, Any]:
    """Per precision: seconds, per-language metric and prediction lines (one label or tag a line)."""
    from xstilts.evaluation.zero_shot import evaluate

    runs = {}
    for precision in PRECISIONS:
        out = scratch_dir(f"agree-{task}-{precision}-")
        started = time.perf_counter()
        summary = evaluate(model, task, data, out, langs=langs, max_examples=max_examples, eval_precision=precision)
        seconds = time.perf_counter() - started
        metric = "accuracy" if task == "xnli" else "f1"  # the XTREME metric of each head task
        lines = {p.name: p.read_text(encoding="utf-8").splitlines()
                 for p in sorted((out / "predictions").rglob("*")) if p.is_file()}
        runs[precision] = {"seconds": seconds, "metric": metric,
                           "scores": {lang: s[metric] for lang, s in summary["per_language"].items()},
                           "lines": lines}
    fp32, bf16 = runs["fp32"], runs["bf16"]
    total = sum(len(v) for v in fp32["lines"].values())
    changed = sum(sum(a != b for a, b in zip(fp32["lines"][name], bf16["lines"].get(name, [])))
                  + abs(len(fp32["lines"][name]) - len(bf16["lines"].get(name, [])))
                  for name in fp32["lines"])
    return summarise(task, fp32["metric"], changed, total, fp32["scores"], bf16["scores"],
                     fp32["seconds"], bf16["seconds"], unit="labels" if task == "xnli" else "tags (token lines)")


# ------------------------------------------------------------------ retrieval


def _capped_tatoeba(task, lang: str, data: Path, pairs: int):
    from xstilts.tasks.load import load_examples

    (pair_set,) = load_examples(task, lang, task.eval_split, data)
    keep = {s.id for s in pair_set.source[:pairs]}
    return replace(pair_set, source=pair_set.source[:pairs], target=pair_set.target[:pairs],
                   gold=tuple(g for g in pair_set.gold if g[0] in keep))


def _capped_bucc(retrieval_set, sentences: int):
    """The gold pairs' sentences first, then the first other sentences, up to ``sentences`` a side."""
    gold_src, gold_trg = {s for s, _ in retrieval_set.gold}, {t for _, t in retrieval_set.gold}

    def side(items, gold_ids):
        chosen = [s for s in items if s.id in gold_ids][:sentences]
        rest = [s for s in items if s.id not in gold_ids][:max(0, sentences - len(chosen))]
        return tuple(chosen + rest)

    source, target = side(retrieval_set.source, gold_src), side(retrieval_set.target, gold_trg)
    ids_src, ids_trg = {s.id for s in source}, {t.id for t in target}
    return replace(retrieval_set, source=source, target=target,
                   gold=tuple((s, t) for s, t in retrieval_set.gold if s in ids_src and t in ids_trg))


def retrieval_tasks(encoder_name: str, data: Path, tatoeba_pairs: int, bucc_sentences: int,
                    langs: str = "all", tasks: frozenset[str] = frozenset({"tatoeba", "bucc2018"})
                    ) -> list[dict[str, Any]]:
    import torch

    from xstilts.modeling.kinds.retrieval import RetrievalSettings, retrieval_options
    from xstilts.evaluation.retrieval import evaluate_bucc, evaluate_tatoeba
    from xstilts.evaluation.zero_shot import languages_to_evaluate
    from xstilts.modeling.loading import load_encoder, load_tokenizer
    from xstilts.modeling.reference import ModelRef
    from xstilts.tasks.load import load_examples
    from xstilts.tasks.registry import get_task

    reference = ModelRef.of(encoder_name)
    encoder, tokenizer = load_encoder(reference.encoder_source()), load_tokenizer(reference.encoder_source())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    settings = RetrievalSettings(**retrieval_options(reference.encoder_source(), {})[0])
    summaries = []

    tatoeba = get_task("tatoeba")
    languages = languages_to_evaluate(tatoeba, langs, data, tatoeba.eval_split) if "tatoeba" in tasks else []
    sets = {lang: _capped_tatoeba(tatoeba, lang, data, tatoeba_pairs) for lang in languages}
    runs: dict[str, dict[str, Any]] = {}
    for precision in PRECISIONS:
        started = time.perf_counter()
        results = {lang: evaluate_tatoeba(encoder, tokenizer, pairs, settings, device, precision=precision)
                   for lang, pairs in sets.items()}
        runs[precision] = {"seconds": time.perf_counter() - started, "results": results}
    fp32, bf16 = runs["fp32"]["results"], runs["bf16"]["results"]
    changed = sum(a != b for lang in fp32 for a, b in zip(fp32[lang]["predictions"], bf16[lang]["predictions"]))
    total = sum(len(r["predictions"]) for r in fp32.values())
    if sets:
        summaries.append(summarise("tatoeba", "accuracy", changed, total,
                               {lang: r["accuracy"] for lang, r in fp32.items()},
                               {lang: r["accuracy"] for lang, r in bf16.items()},
                               runs["fp32"]["seconds"], runs["bf16"]["seconds"], unit="retrieved indices"))

    bucc = get_task("bucc2018")
    if "bucc2018" not in tasks:
        return summaries
    dev_sets = {lang: _capped_bucc(load_examples(bucc, lang, "dev", data)[0], bucc_sentences)
                for lang in languages_to_evaluate(bucc, "all", data, "dev")}
    runs = {}
    for precision in PRECISIONS:
        started = time.perf_counter()
        results = {lang: evaluate_bucc(encoder, tokenizer, dev, None, settings, device=device, precision=precision)
                   for lang, dev in dev_sets.items()}
        runs[precision] = {"seconds": time.perf_counter() - started, "results": results}
    fp32, bf16 = runs["fp32"]["results"], runs["bf16"]["results"]
    changed = sum(len(set(fp32[lang]["predictions"]) ^ set(bf16[lang]["predictions"])) for lang in fp32)
    total = sum(len(set(fp32[lang]["predictions"]) | set(bf16[lang]["predictions"])) for lang in fp32)
    summaries.append(summarise("bucc2018", "f1", changed, total, {lang: r["f1"] for lang, r in fp32.items()},
                               {lang: r["f1"] for lang, r in bf16.items()}, runs["fp32"]["seconds"],
                               runs["bf16"]["seconds"], unit="mined pairs (symmetric difference / union)",
                               extra={lang: f"threshold {fp32[lang]['threshold']:.4f} -> {bf16[lang]['threshold']:.4f}"
                                      for lang in fp32}))
    return summaries


# ------------------------------------------------------------------ report


def summarise(task: str, metric: str, changed: int, total: int, fp32: dict[str, float], bf16: dict[str, float],
              fp32_seconds: float, bf16_seconds: float, unit: str, extra: dict[str, str] | None = None
              ) -> dict[str, Any]:
    deltas = {lang: bf16[lang] - fp32[lang] for lang in fp32}
    summary = {"task": task, "metric": metric, "changed": changed, "total": total, "unit": unit,
               "languages": len(fp32), "max_abs_delta": max(abs(d) for d in deltas.values()),
               "mean_delta": statistics.mean(deltas.values()),
               "mean_fp32": statistics.mean(fp32.values()), "mean_bf16": statistics.mean(bf16.values()),
               "fp32_seconds": fp32_seconds, "bf16_seconds": bf16_seconds}
    print(f"{task}: {changed}/{total} {unit} changed ({100 * changed / max(total, 1):.2f}%); {metric} over "
          f"{len(fp32)} languages: fp32 {summary['mean_fp32']:.2f}, bf16 {summary['mean_bf16']:.2f}, "
          f"mean delta {summary['mean_delta']:+.3f}, max |delta| {summary['max_abs_delta']:.3f}; "
          f"time fp32 {fp32_seconds:.1f} s, bf16 {bf16_seconds:.1f} s", flush=True)
    for lang in sorted(deltas, key=lambda lang: -abs(deltas[lang]))[:5]:
        note = f" ({extra[lang]})" if extra and lang in extra else ""
        print(f"    {lang}: {fp32[lang]:.2f} -> {bf16[lang]:.2f} ({deltas[lang]:+.2f}){note}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=120, help="Fine-tuning steps of each head.")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-examples", type=int, default=200, help="XNLI / PAN-X rows per language.")
    parser.add_argument("--tatoeba-pairs", type=int, default=200, help="Tatoeba line pairs per language.")
    parser.add_argument("--bucc-sentences", type=int, default=2000, help="BUCC sentences per side.")
    parser.add_argument("--tasks", default="xnli,panx,tatoeba,bucc2018")
    parser.add_argument("--langs", default="all", help="XNLI, PAN-X and Tatoeba languages: 'all' shared ones, or "
                                                      "a list such as de,zh (BUCC: always all).")
    args = parser.parse_args()

    from xstilts.paths import default_data_dir
    from xstilts.hardware import cpu_has_native_bf16

    data = args.data or default_data_dir()
    encoder = prepared_model(E5_SMALL, None)
    tasks = args.tasks.split(",")
    print_header("evaluation precision: fp32 vs bf16 autocast, same models and data",
                 dict(model=E5_SMALL, steps=args.steps, batch_size=args.batch_size, max_examples=args.max_examples,
                      tatoeba_pairs=args.tatoeba_pairs, bucc_sentences=args.bucc_sentences,
                      cpu_native_bf16=cpu_has_native_bf16()))
    for task in (t for t in tasks if t in HEADS):
        head_task(task, trained_head(task, encoder, data, args.steps, args.batch_size), data, args.max_examples,
                  args.langs)
    if {"tatoeba", "bucc2018"} & set(tasks):
        retrieval_tasks(encoder, data, args.tatoeba_pairs, args.bucc_sentences, args.langs, frozenset(tasks))


if __name__ == "__main__":
    main()
