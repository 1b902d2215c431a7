"""Shared machinery of the side-by-side benchmarks: each run in a fresh child process, alternating.

Every measured run is a child process of the benchmark (a clean heap: its peak memory is its own,
and nothing one system caches in memory helps the other). After one warm-up round the systems
alternate, in forward then reverse order, so a machine whose load drifts penalises both alike; the
headline is the MEDIAN over rounds of the per-round time ratio, which stays meaningful on a shared,
noisy machine where absolute timings do not.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULT_PREFIX = "RESULT "
E5_SMALL = "multilingual-e5-small"
# --precision of the side-by-side scripts: the same precision on both sides ("fp32", "bf16"), or
# each system's default ("defaults": the HF Trainer trains fp32 unless told bf16=True, which
# XTREME's scripts do on GPUs; xstilts' "auto" is bf16 on a GPU or a CPU with native bf16, see
# xstilts.hardware).
PRECISIONS = ("fp32", "bf16", "defaults")
PRECISION_HELP = "Both systems in fp32 or bf16 autocast, or each its own default (default: fp32 on a CPU, bf16 on a GPU)."
XSTILTS_PRECISION = {"fp32": "no", "bf16": "bf16", "defaults": "auto"}


def hf_bf16(precision: str, gpu: bool) -> bool:
    return precision == "bf16" or (precision == "defaults" and gpu)


def default_precision() -> str:
    import torch

    return "bf16" if torch.cuda.is_available() else "fp32"


BENCH_CACHE = Path(os.environ.get("XSTILTS_CACHE", Path.home() / ".cache" / "xstilts")) / "bench"


def scratch_dir(prefix: str) -> Path:
    """A temporary folder removed when the process exits (after its figures are emitted): a
    study benchmark otherwise leaves gigabytes of models behind at every run."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def machine() -> str:
    """A one-line description of where the figures were measured."""
    import torch

    where = f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    if torch.cuda.is_available():
        where += f", {torch.cuda.get_device_name(0)}"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{where}; load average at start {load:.1f}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"


def run_child(script: Path, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run ``script --child JSON`` in a fresh interpreter; its RESULT line plus its peak RSS (MB)."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(script), "--child", json.dumps(payload)],
                                   stdout=out, stderr=subprocess.STDOUT, env=_child_env())
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"child run {payload.get('system')} failed (exit {process.returncode}):\n{text[-4000:]}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result.setdefault("peak_rss_mb", usage.ru_maxrss / 1024)  # Linux: kilobytes
    result["process_seconds"] = wall
    return result


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    return env


def emit(result: dict[str, Any]) -> None:
    """What a child prints as its last line."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def alternate(systems: Sequence[str], rounds: int, run: Callable[[str, bool], dict[str, Any]],
              show: Callable[[str, int, dict[str, Any]], None]) -> dict[str, list[dict[str, Any]]]:
    """One warm-up round (discarded), then ``rounds`` rounds alternating forward and reverse order."""
    for system in systems:
        run(system, True)
    results: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
    for index in range(rounds):
        order = list(systems) if index % 2 == 0 else list(reversed(systems))
        for system in order:
            result = run(system, False)
            results[system].append(result)
            show(system, index, result)
    return results


def median_ratio(baseline: list[float], ours: list[float]) -> float:
    """Median over rounds of baseline_time / our_time (both lists in round order)."""
    return statistics.median(b / o for b, o in zip(baseline, ours))


def median(values: list[float]) -> float:
    return statistics.median(values)


def child_payload() -> dict[str, Any] | None:
    """The JSON payload when this process is a child run, else None."""
    if "--child" in sys.argv:
        return json.loads(sys.argv[sys.argv.index("--child") + 1])
    return None


def prepared_model(name: str, model_config: str | None) -> str:
    """A model folder: the offline e5-small, or a randomly initialised encoder of a known size
    (weights do not change speed) with e5's tokenizer (XLM-R's vocabulary)."""
    from xstilts.files import replace_directory
    from xstilts.modeling.loading import resolve_model

    base = resolve_model(name)
    if model_config is None:
        return base
    sizes = {"xlm-roberta-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                       intermediate_size=4096),
             "xlm-roberta-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072)}
    if model_config not in sizes:
        raise SystemExit(f"--model-config: one of {', '.join(sizes)}")
    folder = BENCH_CACHE / f"{model_config}-random"
    if (folder / "config.json").is_file():
        return str(folder)
    import shutil

    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                              tokenizer_class="XLMRobertaTokenizer", **sizes[model_config])
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(staging)
    for file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (Path(base) / file).is_file():
            shutil.copy2(Path(base) / file, staging / file)
    replace_directory(staging, folder)
    return str(folder)


def print_header(title: str, settings: dict[str, Any]) -> None:
    print(f"# {title}")
    print(f"# machine: {machine()}")
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print("# settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)
