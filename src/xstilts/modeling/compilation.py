"""torch.compile of the encoder: how it is applied, and why ``compile = "auto"`` (``xstilts.hardware.resolve_compile``) turns it on only on a GPU.

Compiling fuses the element-wise work around the matmuls (GELU, layer norm, dropout's random
draws, residual adds) into generated kernels. It pays where that work is a large share of a step
and where its one-off cost (tracing and code generation, per input shape) is small against the
run. Measured (benchmarks/README.md, "torch.compile"):

- CPU, fp32 (2-vCPU AMD EPYC, AVX2): an e5-small packed training step is ~75% matmuls at the
  CPU's fp32 peak; compiled steps were no faster than eager (4.5 s vs 4.2 s, 1 thread under
  load) and each new input shape cost ~4 minutes of compilation. So "auto" is off on a CPU.
- CUDA: the issue that asked for this measured torch.compile taking the HF Trainer's reference
  from 371 to ~1,560 examples/s (H100, XLM-R large, bf16); "auto" is on for a CUDA device.
  `benchmarks/gpu_checks.sh` measures xstilts with compile on and off.

Dropout inside a compiled graph draws its masks from inductor's own generator (seeded from
torch's, so a run is still a function of its seed and resumes exactly), not from the eager
kernels: compiled and eager runs differ by more than rounding, which is why a compiled training
is a different study node (``compile`` is in the node identity when on).

Shapes: a compiled graph is specialised to its input shapes and recompiled for new ones. Packed
training batches (``xstilts.modeling.packing``) are made of rows of ``ROW_CAPACITY`` positions;
with ``static_rows`` the row count is rounded up to a multiple of ``ROW_BUCKET`` too, so a
training sees a handful of shapes (batch 32 of XNLI pairs: 8, 12 or 16 rows), and dynamo's
automatic dynamic shapes turns a dimension symbolic after its second size instead of compiling
every size (evaluation batches, unpacked tasks).
"""

from __future__ import annotations

import torch
from torch import nn

def compile_encoder(encoder: nn.Module) -> None:
    """Compile ``encoder`` in place (``nn.Module.compile``: its parameter names, state dict and
    saved files stay those of the plain module)."""
    # A training runs many steps of few shapes; falling back to eager after the limit keeps a
    # pathological shape mix running instead of failing.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 16)
    encoder.compile()


def compiled_graphs() -> int:
    """Graphs compiled in this process so far (recorded with a training: shapes that recompiled)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
