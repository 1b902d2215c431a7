"""Evaluation throughput: zero-shot evaluation of one model on every shared language of XNLI, PAN-X
and Tatoeba, with xstilts vs the Hugging Face way (``Trainer.predict`` padding to max length at its
default eval batch of 8, as XTREME's scripts do, for the head tasks; a plain HF loop in input
order for Tatoeba). Both write prediction files; in fp32 they must be IDENTICAL (checked per
file). With ``--eval-precision bf16`` xstilts evaluates under bf16 autocast (HF stays fp32), so
a few predictions may change: the agreement (share of identical prediction lines per task) is
printed beside the speedup instead of failing.

The model: multilingual-e5-small with an NLI and a PAN-X head (random heads, seed 0: weights do
not change speed). Each run is a fresh child process, alternating after a warm-up round (see
side_by_side.py); xstilts' tokenised features are cached on disk by the warm-up, as in a study.
Last line: ``speedup: X.XX``, the median over rounds of HF time / xstilts time.

    PYTHONPATH=src .venv/bin/python benchmarks/eval_throughput.py --max-examples 32 --rounds 3
    PYTHONPATH=src .venv/bin/python benchmarks/eval_throughput.py --max-examples 40 --rounds 2 --eval-precision bf16
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import (  # noqa: E402
    BENCH_CACHE,
    E5_SMALL,
    alternate,
    child_payload,
    emit,
    median,
    median_ratio,
    prepared_model,
    print_header,
    run_child,
    scratch_dir,
)

HEAD_TASKS = ("xnli", "panx")
MAX_LENGTH = 128  # XTREME's max_seq_length for XNLI and PAN-X
HF_EVAL_BATCH = 8  # TrainingArguments' default per_device_eval_batch_size (XTREME's scripts: 8 too)
HF_RETRIEVAL_BATCH = 32


def eval_model(encoder: str) -> Path:
    """The evaluated model: e5-small with an "nli" and a "panx" head (created once, cached)."""
    folder = BENCH_CACHE / "e5-small-eval-heads"
    if (folder / "heads.json").is_file():
        return folder
    import torch

    from xstilts.modeling.loading import load_tokenizer
    from xstilts.modeling.model import MultiTaskModel
    from xstilts.tasks.registry import get_task
    from xstilts.tasks.registry import head_name

    torch.manual_seed(0)
    model = MultiTaskModel.from_pretrained_encoder(encoder)
    for name in HEAD_TASKS:
        task = get_task(name)
        model.add_head(head_name(task), task.kind, task.labels)
    model.save(folder, load_tokenizer(encoder))
    return folder


# ------------------------------------------------------------------ shared by both children


def _examples(task, lang: str, data: Path, limit: int):
    from xstilts.tasks.load import load_examples

    return load_examples(task, lang, task.eval_split, data)[:limit]


def _tatoeba_set(task, lang: str, data: Path, limit: int):
    """The first ``limit`` aligned lines of a Tatoeba pair."""
    from dataclasses import replace

    from xstilts.tasks.load import load_examples

    (pairs,) = load_examples(task, lang, task.eval_split, data)
    keep = {s.id for s in pairs.source[:limit]}
    return replace(pairs, source=pairs.source[:limit], target=pairs.target[:limit],
                   gold=tuple(g for g in pairs.gold if g[0] in keep))


def _languages(name: str, data: Path, only: str) -> list[str]:
    from xstilts.evaluation.zero_shot import languages_to_evaluate
    from xstilts.tasks.registry import get_task

    task = get_task(name)
    return languages_to_evaluate(task, only, data, task.eval_split)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _prediction_lines(folder: Path) -> dict[str, list[str]]:
    """Every prediction file's lines (one label, tag or retrieved index a line), for the agreement."""
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8").splitlines()
            for p in sorted(folder.rglob("*")) if p.is_file() and "/predictions/" in str(p.relative_to(folder))}


def agreement(hf: dict[str, list[str]], xstilts: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Per task (first path part): (identical lines, lines) over its prediction files; a file only
    one side wrote counts all its lines as different."""
    counts: dict[str, list[int]] = {}
    for path in sorted(hf.keys() | xstilts.keys()):
        a, b = hf.get(path, []), xstilts.get(path, [])
        same = sum(x == y for x, y in zip(a, b)) if len(a) == len(b) else 0
        entry = counts.setdefault(path.split("/", 1)[0], [0, 0])
        entry[0] += same
        entry[1] += max(len(a), len(b))
    return {task: (same, total) for task, (same, total) in counts.items()}


# ------------------------------------------------------------------ children


def child_xstilts(payload: dict[str, Any]) -> dict[str, Any]:
    import torch

    from xstilts.modeling.kinds.retrieval import RetrievalSettings
    from xstilts.scoring import write_predictions
    from xstilts.evaluation.retrieval import evaluate_tatoeba
    from xstilts.modeling.loading import load_encoder, load_tokenizer
    from xstilts.modeling.reference import ModelRef
    from xstilts.evaluation.zero_shot import evaluate
    from xstilts.tasks.registry import get_task

    data, limit, out = Path(payload["data"]), payload["max_examples"], scratch_dir("xstilts-eval-")
    started = time.perf_counter()
    sentences = 0
    precision = payload["eval_precision"]
    for name in HEAD_TASKS:
        evaluate(payload["model"], name, data, out / name, langs=payload["langs"][name], max_examples=limit,
                 max_length=MAX_LENGTH, batch_size=payload["batch_size"], eval_precision=precision)
    task = get_task("tatoeba")
    reference = ModelRef.of(payload["model"])
    encoder, tokenizer = load_encoder(reference.encoder_source()), load_tokenizer(reference.encoder_source())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    settings = RetrievalSettings(batch_size=payload["batch_size"])
    for lang in payload["langs"]["tatoeba"]:
        pairs = _tatoeba_set(task, lang, data, limit)
        result = evaluate_tatoeba(encoder, tokenizer, pairs, settings, device, precision=precision)
        write_predictions(task, out / "tatoeba" / "predictions", task.eval_split, lang, result["predictions"])
        sentences += len(pairs.source) + len(pairs.target)
    seconds = time.perf_counter() - started
    sentences += sum(len(_examples(get_task(name), lang, data, limit)) for name in HEAD_TASKS
                     for lang in payload["langs"][name])
    return {"seconds": seconds, "sentences": sentences,
            "predictions": {k: v for k, v in _digests(out).items() if "/predictions/" in k},
            "lines": _prediction_lines(out)}


def child_hf(payload: dict[str, Any]) -> dict[str, Any]:
    import datasets
    import numpy as np
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer, Trainer, TrainingArguments

    from xstilts.modeling.kinds.retrieval import RetrievalSettings
    from xstilts.scoring import write_predictions
    from xstilts.evaluation.retrieval import _english_first, tatoeba_predict
    from xstilts.modeling.kinds import adapter_for_task
    from xstilts.modeling.kinds.base import FeatureSettings
    from xstilts.modeling.model import MultiTaskModel
    from xstilts.tasks.registry import get_task
    from xstilts.tasks.types import TaskKind
    from xstilts.tasks.registry import head_name

    data, limit, out = Path(payload["data"]), payload["max_examples"], scratch_dir("hf-eval-")
    model_dir = Path(payload["model"])
    started = time.perf_counter()
    gpu = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(model_dir / "encoder")
    model = MultiTaskModel.load(model_dir)

    class HeadModel(nn.Module):
        """The same weights behind the interface Trainer.predict expects."""

        def __init__(self, head: str):
            super().__init__()
            self.inner, self.head = model, head

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            batch = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                batch["token_type_ids"] = token_type_ids
            return {"logits": self.inner(self.head, batch)[1]}

    args = TrainingArguments(output_dir=str(out / "trainer"), per_device_eval_batch_size=HF_EVAL_BATCH,
                             report_to="none", disable_tqdm=True, use_cpu=not gpu, bf16_full_eval=False)
    sentences = 0
    for name in HEAD_TASKS:
        task = get_task(name)
        adapter = adapter_for_task(task)
        head = head_name(task)
        labels = model.head_specs[head].labels
        trainer = Trainer(model=HeadModel(head), args=args)
        for lang in payload["langs"][name]:
            examples = _examples(task, lang, data, limit)
            features = adapter.featurize(examples, tokenizer, labels, FeatureSettings(max_length=MAX_LENGTH))
            columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in features[0]]
            pad = {"input_ids": tokenizer.pad_token_id, "attention_mask": 0, "token_type_ids": 0}
            padded = {c: [row[c] + [pad[c]] * (MAX_LENGTH - len(row[c])) for row in features] for c in columns}
            logits = trainer.predict(datasets.Dataset.from_dict(padded)).predictions
            if task.kind is TaskKind.TAGGING:
                logits = [row[:len(f["input_ids"])] for row, f in zip(logits, features)]
            predictions = adapter.decode(list(logits), features, examples, labels)
            write_predictions(task, out / name / "predictions", task.eval_split, lang, predictions)
            sentences += len(examples)
    # Tatoeba: a plain loop over the bare encoder, batches in input order, dynamic padding.
    task = get_task("tatoeba")
    encoder = AutoModel.from_pretrained(model_dir / "encoder", dtype=torch.float32).eval()
    device = torch.device("cuda" if gpu else "cpu")
    encoder.to(device)
    settings = RetrievalSettings().resolve(encoder.config.num_hidden_layers)

    def embed(texts: list[str]) -> np.ndarray:
        vectors = []
        with torch.no_grad():
            for start in range(0, len(texts), HF_RETRIEVAL_BATCH):
                batch = tokenizer(texts[start:start + HF_RETRIEVAL_BATCH], padding=True, truncation=True,
                                  max_length=settings.max_length, return_tensors="pt").to(device)
                states = encoder(**batch, output_hidden_states=True).hidden_states[settings.layer].float()
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)
                vectors.append(pooled.cpu().numpy())
        return np.concatenate(vectors)

    for lang in payload["langs"]["tatoeba"]:
        pairs = _tatoeba_set(task, lang, data, limit)
        english, other = _english_first(pairs)
        predictions = tatoeba_predict(embed([settings.prefix + s.text for s in english]),
                                      embed([settings.prefix + s.text for s in other]))
        write_predictions(task, out / "tatoeba" / "predictions", task.eval_split, lang, predictions)
        sentences += len(english) + len(other)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "sentences": sentences,
            "predictions": {k: v for k, v in _digests(out).items() if "/predictions/" in k},
            "lines": _prediction_lines(out)}


# ------------------------------------------------------------------ parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--max-examples", type=int, default=32, help="Examples (Tatoeba: line pairs) per language.")
    parser.add_argument("--langs", default="all", help="'all' shared languages, or a list such as de,zh.")
    parser.add_argument("--batch-size", type=int, default=128, help="xstilts' evaluation batch (sorted by length).")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--eval-precision", choices=("fp32", "bf16"), default="fp32",
                        help="xstilts' eval_precision (HF stays fp32 Trainer.predict).")
    args = parser.parse_args()

    from xstilts.paths import default_data_dir

    data = args.data or default_data_dir()
    model = eval_model(prepared_model(E5_SMALL, None))
    langs = {name: _languages(name, data, args.langs) for name in (*HEAD_TASKS, "tatoeba")}
    base = dict(model=str(model), data=str(data), max_examples=args.max_examples, langs=langs,
                batch_size=args.batch_size, eval_precision=args.eval_precision)
    print_header("evaluation throughput: HF Trainer.predict / plain HF loop vs xstilts",
                 dict(model=E5_SMALL, max_examples=args.max_examples, xstilts_batch=args.batch_size,
                      hf_batch=HF_EVAL_BATCH, max_length=MAX_LENGTH, rounds=args.rounds,
                      xstilts_eval_precision=args.eval_precision, hf_precision="fp32",
                      languages={k: len(v) for k, v in langs.items()}))
    digests: dict[str, dict[str, str]] = {}
    lines: dict[str, dict[str, list[str]]] = {}

    def run(system: str, warmup: bool) -> dict[str, Any]:
        payload = {**base, "system": system}
        if warmup:  # fills xstilts' feature cache exactly as a study's first evaluation would
            payload["max_examples"] = args.max_examples
        result = run_child(Path(__file__), payload)
        digests[system] = result["predictions"]
        lines[system] = result.pop("lines")
        return result

    def show(system: str, index: int, r: dict[str, Any]) -> None:
        print(f"round {index + 1} {system:8s}: {r['seconds']:7.2f} s, {r['sentences'] / r['seconds']:7.1f} sentences/s "
              f"({r['sentences']} sentences), peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)

    results = alternate(("hf", "xstilts"), args.rounds, run, show)
    differing = sorted(k for k in digests["hf"].keys() | digests["xstilts"].keys()
                       if digests["hf"].get(k) != digests["xstilts"].get(k))
    print(f"prediction files: {len(digests['xstilts'])}, identical: {'yes' if not differing else 'NO'}"
          + (f" (differ: {', '.join(differing[:10])})" if differing else ""))
    agreed = agreement(lines["hf"], lines["xstilts"])
    for task, (same, total) in agreed.items():
        print(f"agreement {task}: {same}/{total} prediction lines identical ({100 * same / max(total, 1):.2f}%)")
    same, total = (sum(v[i] for v in agreed.values()) for i in (0, 1))
    times = {s: [r["seconds"] for r in results[s]] for s in results}
    for s in times:
        print(f"median {s:8s}: {median(times[s]):.2f} s")
    print(f"agreement: {100 * same / max(total, 1):.2f}% of prediction lines (xstilts {args.eval_precision} vs HF fp32)")
    print(f"speedup: {median_ratio(times['hf'], times['xstilts']):.2f}")
    # fp32 must reproduce HF exactly; bf16 is allowed to move predictions near a decision boundary.
    if differing and args.eval_precision == "fp32":
        raise SystemExit(1)


if __name__ == "__main__":
    payload = child_payload()
    if payload is None:
        main()
    else:
        emit(child_hf(payload) if payload["system"] == "hf" else child_xstilts(payload))
