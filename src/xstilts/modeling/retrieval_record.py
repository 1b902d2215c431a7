"""A model folder's documented sentence-vector use: ``xstilts-retrieval.json``.

Some encoders are meant to be pooled a particular way (e5: a "query: " prefix, the last layer,
mean pooling; its model card says so). ``xstilts model prepare`` writes the record into the
folder, every stage model carries it in ``encoder/`` beside the tokenizer, and retrieval
evaluation starts from it where the study sets nothing (``xstilts.modeling.kinds.retrieval``).
A stage that trains sentence vectors (a dual encoder: the first token of the last layer) writes
its own record instead (``KindAdapter.retrieval_use``), which later stages then carry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xstilts.files import write_json_atomic

RETRIEVAL_RECORD = "xstilts-retrieval.json"
# RetrievalSettings fields a record may set (max_length: a dual encoder's candidates' length).
RECORDED_KEYS = ("layer", "pooling", "prefix", "max_length")


def recorded_retrieval(folder: str | Path) -> dict[str, Any]:
    """The retrieval settings a model folder records ({} when none: XTREME's layer rule applies)."""
    path = Path(folder) / RETRIEVAL_RECORD
    if not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    return {key: record[key] for key in RECORDED_KEYS if key in record}


def write_retrieval_record(folder: Path, use: dict[str, Any]) -> None:
    """Record ``use`` in ``folder`` (unchanged files are left alone)."""
    path = Path(folder) / RETRIEVAL_RECORD
    if path.is_file() and json.loads(path.read_text(encoding="utf-8")) == use:
        return
    write_json_atomic(path, use)
