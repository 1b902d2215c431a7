"""Content hashes: node ids from canonical JSON, data hashes from file bytes.

A node id is the hash of everything that determines its output, so equal ids mean equal work
and a finished node is reused by every order, target and study that needs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.files import ID_LENGTH, canonical_json, file_sha256, stable_hash
from xstilts.modeling.identity import hub_revision, model_identity as reference_identity, saved_model_of
from xstilts.study.file_cache import FileFacts

__all__ = ["ID_LENGTH", "MISSING", "canonical_json", "files_sha256", "hub_revision", "model_identity", "stable_hash"]

MISSING = "missing"  # the data hash of a selection whose files are not on disk


def files_sha256(paths: Sequence[Path], facts: FileFacts) -> str:
    """One hash over several files read one after the other (their order matters, their names not)."""
    hashes = [facts.get("sha256", [path], "", lambda path=path: file_sha256(path)) for path in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode("ascii")).hexdigest()


def model_identity(model: str, facts: FileFacts) -> dict[str, Any]:
    """The base model by content, never by absolute path: ``xstilts.modeling.identity.model_identity`` (the one rule), with
    the files' sha256 cached in ``facts``."""
    return reference_identity(model, saved_model_of(model)[0],
                              lambda path: facts.get("sha256", [path], "", lambda: file_sha256(path)))
