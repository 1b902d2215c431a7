"""Batched inference of a head over feature rows, in feature order (dev evaluation during training,
zero-shot evaluation)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from xstilts.modeling.eval_precision import DEFAULT_EVAL_PRECISION, check_eval_precision


def _to_numpy(logits: Any) -> Any:
    if isinstance(logits, (tuple, list)):
        return tuple(_to_numpy(part) for part in logits)
    return logits.detach().float().cpu().numpy()


def _split_rows(logits: Any, count: int) -> list[Any]:
    if isinstance(logits, tuple):
        parts = [_split_rows(part, count) for part in logits]
        return [tuple(p[i] for p in parts) for i in range(count)]
    return [logits[i] for i in range(count)]


def _trim(row_logits: Any, length: int) -> Any:
    if isinstance(row_logits, tuple):
        return tuple(part[:length] for part in row_logits)
    return row_logits[:length]


def predict_logits(model: Any, head_name: str, features: Sequence[dict[str, Any]], collator: Callable,
                   batch_size: int, device: torch.device | str, *, per_token: bool = False,
                   on_batch: Callable[[int], None] | None = None,
                   precision: str = DEFAULT_EVAL_PRECISION) -> list[Any]:
    """Logits per feature row (a numpy array, or a tuple of arrays for QA start/end).

    Rows are processed longest-first in batches (less padding) and returned in input order.
    With ``per_token`` (tagging, QA) each row's logits are cut back to its unpadded length.
    ``precision`` "bf16" runs the forward passes under bf16 autocast (``eval_precision``); the
    logits come back as float32 either way.
    """
    lengths = np.array([len(row["input_ids"]) if not isinstance(row["input_ids"][0], list)
                        else max(len(x) for x in row["input_ids"]) for row in features])
    order = np.argsort(-lengths, kind="stable")
    results: list[Any] = [None] * len(features)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            batch = collator([features[i] for i in index])
            batch = {k: v.to(device) for k, v in batch.items() if k not in ("labels", "start_positions", "end_positions")}
            with eval_autocast(precision, device):
                _, logits = model(head_name, batch)
            for i, row_logits in zip(index, _split_rows(_to_numpy(logits), len(index))):
                results[i] = _trim(row_logits, int(lengths[i])) if per_token else row_logits
            if on_batch is not None:
                on_batch(len(index))
    return results


@contextlib.contextmanager
def eval_autocast(precision: str, device: torch.device | str) -> Iterator[None]:
    """bf16 autocast on ``device``'s type for "bf16"; nothing for "fp32"."""
    check_eval_precision(precision)
    if precision == DEFAULT_EVAL_PRECISION:
        yield
        return
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        yield
