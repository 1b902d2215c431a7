"""The numeric precision of evaluation forward passes (``eval_precision``); torch-free, so planning
reads it (the autocast itself: ``xstilts.modeling.inference.eval_autocast``).

"fp32" (the default) runs every evaluation in float32. "bf16" runs the forward passes under
``torch.autocast(dtype=torch.bfloat16)``: weights stay float32, matmuls run in bf16, and logits
and sentence vectors are cast back to float32 before they leave torch. On a CPU with AVX512-BF16
or AMX (and on a bf16 GPU) this is several times faster; a few predictions near a decision
boundary change (benchmarks/README.md measures how many). A CPU without native bf16 still runs
it, only slower than fp32 (bf16 is emulated there): the setting is honoured, never swapped.
"""

from __future__ import annotations

from typing import Any


from xstilts.errors import ConfigError

EVAL_PRECISIONS = ("fp32", "bf16")
DEFAULT_EVAL_PRECISION = "fp32"


def check_eval_precision(value: Any, field: str = "eval_precision") -> str:
    """``value`` when it names a known precision, else a one-line ConfigError naming ``field``."""
    if value not in EVAL_PRECISIONS:
        raise ConfigError(f"{field}: expected 'fp32' or 'bf16', got {value!r}")
    return value
