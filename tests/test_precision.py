"""``mixed_precision = "auto"`` follows the hardware, and one process can train both precisions."""

from __future__ import annotations

import pytest

from xstilts import hardware as precision
from xstilts.training.config import TrainConfig
from xstilts.tasks.selection import DataSelection
from xstilts.training.data import StageData, prepare_task_data
from xstilts.training.trainer import Trainer


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(precision, "cuda_available", lambda: False)
    precision.cpu_has_native_bf16.cache_clear()
    yield
    precision.cpu_has_native_bf16.cache_clear()


@pytest.mark.parametrize("flags,expected", [("fpu avx2 avx512f avx512_bf16 fma", "bf16"),
                                            ("fpu amx_tile amx_bf16 avx512f", "bf16"),
                                            ("fpu avx2 avx512f avx512bw avx512vl", "no")])
def test_auto_is_bf16_only_on_cpus_with_native_bf16(cpu_only, monkeypatch, tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    real_path = precision.Path
    monkeypatch.setattr(precision, "Path", lambda p: cpuinfo if p == "/proc/cpuinfo" else real_path(p))
    assert precision.resolve_mixed_precision("auto") == expected
    assert precision.resolve_mixed_precision("no") == "no"
    assert precision.resolve_mixed_precision("bf16") == "bf16"


def test_one_process_trains_fp32_then_bf16(tmp_path, shared_data, tiny_model_dir):
    stage = StageData([prepare_task_data(DataSelection("xnli", "en", "dev", "[:16]"), None, shared_data)])
    seen = []
    for mixed in ("no", "bf16", "no"):
        config = TrainConfig(max_steps=1, batch_size=8, max_length=32, select_best=False, mixed_precision=mixed)
        result = Trainer(stage, config, tmp_path / f"run-{len(seen)}").run(str(tiny_model_dir))
        seen.append(result.numerics["mixed_precision"])
    assert seen == ["no", "bf16", "no"]
