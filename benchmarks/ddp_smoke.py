"""Two-process DDP smoke run: `xstilts train` under torchrun (2 processes) vs one process.

The trainer gives each process its share of every global batch, so two processes must end with
the same weights as one, up to float rounding (gradients are averaged in another order; dropout
is off, as each process draws its own masks). On a
machine with one GPU the two ranks run on the CPU with gloo (two NCCL ranks cannot share a GPU);
with two GPUs or more they use NCCL. Exit status 1 when the weights differ beyond rounding.

    PYTHONPATH=src .venv/bin/python benchmarks/ddp_smoke.py [--model multilingual-e5-small] [--steps 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import scratch_dir  # noqa: E402


def tiny_model(folder: Path) -> str:
    """A tiny random BERT with e5's tokenizer (the real vocabulary): seconds per step on a CPU."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from xstilts.modeling.loading import resolve_model

    torch.manual_seed(0)
    config = BertConfig(vocab_size=250037, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=514, pad_token_id=1,
                        tokenizer_class="XLMRobertaTokenizer")
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    e5 = Path(resolve_model("multilingual-e5-small"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(e5 / name, folder / name)
    return str(folder)


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    model = run_dir / "model"
    found = dict(load_file(model / "heads.safetensors"))
    for shard in (model / "encoder").glob("*.safetensors"):
        found.update(load_file(shard))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Default: a tiny random BERT with the real tokenizer.")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--mixed-precision", choices=("no", "bf16"), default="no",
                        help="fp32 (default) compares the math to 1e-4; bf16 rounds each process's matmuls "
                             "differently, so its tolerance is bf16's (3e-2).")
    args = parser.parse_args()
    import torch

    root = scratch_dir("ddp-smoke-")
    model = args.model or tiny_model(root / "tiny")
    env = dict(os.environ)
    if torch.cuda.device_count() < 2:
        env["CUDA_VISIBLE_DEVICES"] = ""  # gloo on the CPU: NCCL ranks cannot share one GPU
    worker = [str(Path(__file__).resolve()), "--worker", model, str(args.steps), args.mixed_precision]
    subprocess.run([sys.executable, *worker, str(root / "one")], check=True, env=env)
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", *worker, str(root / "two")], check=True, env=env)
    one, two = weights(root / "one"), weights(root / "two")
    assert one.keys() == two.keys(), "the two runs saved different tensors"
    worst = max(float(np.abs(one[k] - two[k]).max()) for k in one)
    changed = max(float(np.abs(one[k]).max()) for k in one)
    ok = worst < (1e-4 if args.mixed_precision == "no" else 3e-2) * max(1.0, changed)
    print(f"ddp smoke ({'gloo/CPU' if env.get('CUDA_VISIBLE_DEVICES') == '' else 'NCCL/GPU'}, 2 processes, "
          f"{args.steps} steps, mixed precision {args.mixed_precision}): max |one process - two processes| = {worst:.2e}: {'ok' if ok else 'DIFFERENT'}")
    raise SystemExit(0 if ok else 1)


def worker(model: str, steps: int, mixed_precision: str, out: Path) -> None:
    from xstilts.paths import default_data_dir
    from xstilts.training.config import TrainConfig
    from xstilts.tasks.selection import DataSelection
    from xstilts.training.data import StageData, prepare_task_data
    from xstilts.training.trainer import Trainer

    stage = StageData([prepare_task_data(DataSelection("xnli", "en", "dev", "[:64]"), None, default_data_dir())])
    config = TrainConfig(max_steps=steps, batch_size=8, max_length=64, learning_rate=1e-3, dropout=0.0,
                         checkpoint_every=2, mixed_precision=mixed_precision)
    Trainer(stage, config, out).run(model)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        at = sys.argv.index("--worker")
        worker(sys.argv[at + 1], int(sys.argv[at + 2]), sys.argv[at + 3], Path(sys.argv[at + 4]))
    else:
        main()
