"""On-disk cache of tokenised features (Arrow, via `datasets`), shared by every run.

The key hashes everything the features depend on: the tokenizer's full definition, the task
kind and its featuriser version, the label list, the feature settings (max length, stride) and
the CONTENT of the examples themselves (so file edits, slices and translated data all get their
own entry). A stale cache is therefore impossible by construction: different inputs can never
map to the same key, and an entry is only visible once completely written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.files import replace_directory
from xstilts.modeling.kinds.base import FeatureSettings, KindAdapter
from xstilts.paths import features_dir
from xstilts.tasks.types import Example

_TOKENIZER_FINGERPRINTS: dict[int, str] = {}
_DONE = "COMPLETE"


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """Hash of the tokenizer's complete definition (vocabulary, normaliser, specials)."""
    key = id(tokenizer)
    if key not in _TOKENIZER_FINGERPRINTS:
        digest = hashlib.sha256()
        backend = getattr(tokenizer, "backend_tokenizer", None)
        digest.update(backend.to_str().encode() if backend is not None else repr(tokenizer.get_vocab()).encode())
        digest.update(repr(sorted(tokenizer.special_tokens_map.items())).encode())
        digest.update(str(getattr(tokenizer, "padding_side", "")).encode())
        _TOKENIZER_FINGERPRINTS[key] = digest.hexdigest()
    return _TOKENIZER_FINGERPRINTS[key]


def examples_fingerprint(examples: Sequence[Example]) -> str:
    """Content hash of the examples (their dataclass reprs are deterministic)."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(repr(example).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def feature_key(adapter: KindAdapter, examples: Sequence[Example], tokenizer: Any,
                labels: Sequence[str] | None, settings: FeatureSettings) -> str:
    payload = {
        "adapter": f"{type(adapter).__module__}.{type(adapter).__qualname__}",
        "adapter_version": adapter.version,
        "adapter_options": {k: v for k, v in vars(adapter).items() if isinstance(v, (bool, int, float, str))},
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "labels": list(labels) if labels is not None else None,
        "settings": dataclasses.asdict(settings),
        "examples": examples_fingerprint(examples),
        "count": len(examples),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cached_features(adapter: KindAdapter, examples: Sequence[Example], tokenizer: Any,
                    labels: Sequence[str] | None, settings: FeatureSettings,
                    cache_root: Path | None = None):
    """Features of ``examples`` as a memory-mapped ``datasets.Dataset``, computed at most once."""
    from datasets import Dataset, load_from_disk

    key = feature_key(adapter, examples, tokenizer, labels, settings)
    root = Path(cache_root) if cache_root is not None else features_dir()
    entry = root / key[:2] / key
    if (entry / _DONE).is_file():
        return load_from_disk(str(entry))

    rows = adapter.featurize(examples, tokenizer, labels, settings)
    dataset = Dataset.from_list(rows)
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = entry.parent / f".{key}.{uuid.uuid4().hex}.tmp"
    dataset.save_to_disk(str(staging))
    (staging / _DONE).write_text("ok\n")
    # Another process may have finished the same entry first: theirs is identical by construction.
    replace_directory(staging, entry, keep_existing=True)
    return load_from_disk(str(entry))
