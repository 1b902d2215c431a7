"""The built folder in the cache: its build marker, its retrieval record, and publishing it."""

from __future__ import annotations

import json
from pathlib import Path

from xstilts.files import replace_directory
from xstilts.modeling import retrieval_record

MARKER_FILE = "xstilts-build.json"
# Bump when the folder layout or conversion changes, so that older builds are rebuilt.
BUILD_VERSION = 1

# The model card's documented use of multilingual-e5-small for retrieval: "query: " before every
# sentence, mean pooling of the last layer (then L2-normalised).
RETRIEVAL_USE = {"prefix": "query: ", "layer": -1, "pooling": "mean",
                 "source": "intfloat/multilingual-e5-small model card"}


def write_retrieval_record(folder: Path) -> None:
    """Record the model's retrieval use in the folder (``xstilts.modeling.retrieval_record``)."""
    retrieval_record.write_retrieval_record(folder, RETRIEVAL_USE)


def is_complete(folder: Path, source_sha256: str) -> bool:
    """A finished build of this builder version from the source file with this sha256."""
    marker = folder / MARKER_FILE
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (record.get("source_sha256") == source_sha256 and record.get("build_version") == BUILD_VERSION
            and all((folder / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json")))


def publish(staging: Path, destination: Path, digest: str) -> None:
    """Move the checked build into place (see ``prepare_model``), replacing an older build."""
    try:
        replace_directory(staging, destination)
    except OSError:
        # Another process published the same build first: keep theirs.
        if not is_complete(destination, digest):
            raise
