"""What this machine offers, read without importing torch: planning decides what ``"auto"``
means (it is part of node identities) and must start fast where torch is slow to load or absent.

* GPUs: ``nvidia-smi`` (the driver's own tool) lists them with their compute capability,
  restricted to ``CUDA_VISIBLE_DEVICES``; a CPU build of torch (its version ends in ``+cpu``)
  sees none, whatever the machine has. bf16 on a GPU = compute capability 8.0 or above, the rule
  ``torch.cuda.is_bf16_supported()`` applies to CUDA devices.
* CPUs: native bf16 matrix instructions (AVX512-BF16 or AMX-BF16) in ``/proc/cpuinfo``.

``mixed_precision = "auto"``: bf16 autocast (fp32 master weights, matmuls in bf16) wherever the
hardware multiplies bf16 natively. Measured on a 2-core AMD EPYC with AVX512-BF16
(benchmarks/README.md): a 640 x 384 x 1536 matmul runs at 970 GFLOP/s in bf16 against 217 in
fp32, and an e5-small training step takes 0.29 s instead of 0.59. A CPU without those
instructions would emulate bf16 (slower than fp32), so it stays fp32.
``compile = "auto"``: on for a CUDA device only (``xstilts.modeling.compilation``).
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Literal

# /proc/cpuinfo flags of native bf16 matrix instructions.
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
CompileSetting = bool | Literal["auto"]


def torch_version() -> str | None:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def gpus() -> tuple[tuple[str, float], ...]:
    """(name, compute capability) of each GPU torch would see here; () on a CPU build of torch."""
    version = torch_version()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if version is None or version.endswith("+cpu") or visible in ("", "-1") or not shutil.which("nvidia-smi"):
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    found = []
    for line in out.splitlines():
        name, _, capability = line.rpartition(",")
        try:
            found.append((name.strip(), float(capability)))
        except ValueError:
            continue
    if visible:
        indices = [int(part) for part in visible.split(",") if part.strip().isdigit()]
        found = [found[i] for i in indices if i < len(found)]
    return tuple(found)


def cuda_available() -> bool:
    return bool(gpus())


def cuda_bf16_supported() -> bool:
    return cuda_available() and gpus()[0][1] >= 8.0


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
    if cuda_available():
        return "bf16" if cuda_bf16_supported() else "no"
    return "bf16" if cpu_has_native_bf16() else "no"


def resolve_compile(setting: CompileSetting, device_type: str | None = None) -> bool:
    """``"auto"`` -> on for a CUDA device, off on a CPU (see ``xstilts.modeling.compilation``);
    booleans as given. ``device_type`` defaults to this machine's (cuda when a GPU is visible)."""
    if setting != "auto":
        return bool(setting)
    if device_type is None:
        device_type = "cuda" if cuda_available() else "cpu"
    return device_type == "cuda"


def describe_machine() -> str:
    """One line for a report's provenance: host, CPUs, OS, torch and the GPU."""
    text = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}"
    version = torch_version()
    if version is not None:
        text += f", torch {version}"
        text += f", GPU {gpus()[0][0]}" if cuda_available() else ", no GPU"
    return text + ")"
