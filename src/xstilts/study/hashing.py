"""Content hashes: node ids from canonical JSON, data hashes from file bytes.

A node id is the hash of everything that determines its output, so equal ids mean equal work
and a finished node is reused by every order, target and study that needs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.study.file_cache import FileFacts

ID_LENGTH = 16  # hex digits: 64 bits, plenty for the few thousand nodes of a study
MISSING = "missing"  # the data hash of a selection whose files are not on disk


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def stable_hash(payload: Any) -> str:
    """Short hex id of a JSON-able payload; key order and whitespace do not matter."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:ID_LENGTH]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(paths: Sequence[Path], facts: FileFacts) -> str:
    """One hash over several files read one after the other (their order matters, their names not)."""
    hashes = [facts.get("sha256", [path], "", lambda path=path: file_sha256(path)) for path in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode("ascii")).hexdigest()
