"""Slices of an example list in the spirit of `datasets`' split slicing: "[:1245]", "[50%:]", "[10:20]".

A slice selects rows by position in the file. Parallel sets (XNLI, PAWS-X, XQuAD, MLQA) are
line-by-line translations, so the same slice names the same items in every language: that is
what the contamination guard compares.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from xstilts.errors import ConfigError

T = TypeVar("T")

_BOUND = r"(-?\d+%?)?"
_SLICE_RE = re.compile(rf"^\[\s*{_BOUND}\s*:\s*{_BOUND}\s*\]$")


def _bound(text: str | None, n: int, default: int) -> int:
    if text is None:
        return default
    if text.endswith("%"):
        value = round(n * int(text[:-1]) / 100)
    else:
        value = int(text)
    if value < 0:
        value += n
    return max(0, min(n, value))


def slice_range(spec: str | None, n: int) -> range:
    """Row indices that ``spec`` selects out of ``n`` rows (None or "" selects all)."""
    if not spec:
        return range(n)
    match = _SLICE_RE.match(spec.strip())
    if not match:
        raise ConfigError(f"slice {spec!r}: expected a form like '[:1245]', '[50%:]' or '[100:200]'")
    start = _bound(match.group(1), n, 0)
    stop = _bound(match.group(2), n, n)
    return range(start, max(start, stop))


def apply_slice(items: Sequence[T], spec: str | None) -> list[T]:
    rows = slice_range(spec, len(items))
    return [items[i] for i in rows]
