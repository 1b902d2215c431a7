"""Which mixed precision ``"auto"`` means on this machine.

bf16 autocast (fp32 master weights, matmuls in bf16) wherever the hardware multiplies bf16
natively: a CUDA GPU with bf16 support, or a CPU with AVX512-BF16 or AMX-BF16. Measured on a
2-core AMD EPYC with AVX512-BF16 (benchmarks/README.md): a 640 x 384 x 1536 matmul runs at 970
GFLOP/s in bf16 against 217 in fp32, and an e5-small training step takes 0.29 s instead of 0.59.
A CPU without those instructions would emulate bf16 (slower than fp32), so it stays fp32.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

# /proc/cpuinfo flags of native bf16 matrix instructions.
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no cheap way to tell, stay fp32
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def resolve_mixed_precision(setting: str) -> str:
    """``auto`` -> "bf16" on a bf16 GPU or a CPU with native bf16, else "no"; other values as given."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16" if cpu_has_native_bf16() else "no"
