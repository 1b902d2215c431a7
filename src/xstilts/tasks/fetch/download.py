"""Running a fetch: resumable, atomic per file, recorded in ``DIR/MANIFEST.tsv``.

A file is skipped when it exists and the manifest has a row for it with the same source and the
file's current sha256. Every file is written beside its destination and renamed into place; the
manifest is rewritten atomically after each file, so a fetch killed at any point leaves only
complete files and a manifest that describes them. Without network access every set fails with
one line (checked once, quickly: ``datasets`` would otherwise retry each set for many seconds).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.files import atomic_path, file_sha256, write_text_atomic
from xstilts.tasks.fetch.convert import CONVERTERS
from xstilts.tasks.fetch.sources import Source

MANIFEST = "MANIFEST.tsv"
MANIFEST_COLUMNS = ("path", "task", "lang", "split", "source", "config", "hub_split", "revision", "rows", "sha256")
HUB_HOST = ("huggingface.co", 443)


@dataclass
class Outcome:
    source: Source
    status: str  # fetched | skipped | failed | unavailable | planned
    message: str = ""


# ------------------------------------------------------------------ manifest


def read_manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}


def write_manifest(directory: Path, rows: dict[str, dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for key in sorted(rows):
        writer.writerow({column: rows[key].get(column, "") for column in MANIFEST_COLUMNS})
    write_text_atomic(Path(directory) / MANIFEST, buffer.getvalue())




def _files_of(source: Source, root: Path) -> list[Path]:
    destination = Path(source.destination)
    destination = destination if destination.is_absolute() else root / destination
    companions = CONVERTERS[source.converter].companions if source.converter in CONVERTERS else ()
    return [destination] + [destination.with_suffix(suffix) for suffix in companions]


def _key(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def is_done(source: Source, root: Path, manifest: dict[str, dict[str, str]]) -> bool:
    for path in _files_of(source, root):
        row = manifest.get(_key(path, root))
        if (row is None or not path.is_file() or row.get("source") != (source.dataset or source.url)
                or row.get("config", "") != (source.config or "") or row.get("sha256") != file_sha256(path)):
            return False
    return True


# ------------------------------------------------------------------ network


def hub_reachable(timeout: float = 3.0) -> str | None:
    """None when the hub answers; else why not (one line). Also honours HF_HUB_OFFLINE."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "") or os.environ.get("HF_DATASETS_OFFLINE", "0") not in ("0", ""):
        return "offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set)"
    try:
        socket.create_connection(HUB_HOST, timeout=timeout).close()
    except OSError as error:
        # Tell datasets and huggingface_hub not to retry: every set then fails at once.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        return f"cannot reach {HUB_HOST[0]} ({error.__class__.__name__}: {error})".splitlines()[0]
    return None


# ------------------------------------------------------------------ fetching


def write_source(source: Source, rows: Iterable[dict[str, Any]], label_names: dict[str, list[str]], root: Path
                 ) -> tuple[list[Path], int]:
    """Convert hub rows and write the destination file(s) atomically; returns (files, row count)."""
    rows = list(rows)
    texts = CONVERTERS[source.converter](rows, label_names, dict(source.options))
    written = []
    destination = _files_of(source, root)[0]
    for suffix, text in texts.items():
        path = destination.with_suffix(suffix) if suffix else destination
        write_text_atomic(path, text)
        written.append(path)
    return written, len(rows)


def _load_rows(source: Source) -> tuple[list[dict[str, Any]], dict[str, list[str]], str]:
    """Rows, ClassLabel names and the dataset revision (commit) of one hub split."""
    from datasets import load_dataset
    from huggingface_hub import HfApi

    revision = HfApi().dataset_info(source.dataset).sha or ""
    options = dict(source.options)
    if options.get("streaming"):
        stream = load_dataset(source.dataset, source.config, split=source.hub_split, streaming=True, revision=revision)
        rows, size, cap = [], 0, options.get("max_chars")
        for row in stream:
            rows.append(row)
            size += len(str(row.get(options.get("column", "text"), "")))
            if cap is not None and size >= cap:
                break
        return rows, {}, revision
    dataset = load_dataset(source.dataset, source.config, split=source.hub_split, revision=revision)
    names = {column: list(getattr(feature, "names", None) or getattr(getattr(feature, "feature", None), "names", None))
             for column, feature in dataset.features.items()
             if getattr(feature, "names", None) or getattr(getattr(feature, "feature", None), "names", None)}
    return list(dataset), names, revision


def _download_url(source: Source, root: Path) -> tuple[list[Path], int]:
    from datasets import DownloadManager

    cached = Path(DownloadManager().download(source.url))
    destination = _files_of(source, root)[0]
    with atomic_path(destination) as tmp:
        shutil.copyfile(cached, tmp)
        if source.verify is not None:  # a file that is not the release is never kept
            source.verify(tmp, source.lang)
    return [destination], 0


def fetch_sources(sources: list[Source], root: Path, *, dry_run: bool = False,
                  on_event: Callable[[str, Outcome], None] | None = None,
                  reachable: Callable[[], str | None] = hub_reachable) -> list[Outcome]:
    """Fetch every source into ``root`` (one per destination: duplicates are fetched once)."""
    root = Path(root)
    on_event = on_event or (lambda event, outcome: None)
    manifest = read_manifest(root)
    outcomes: list[Outcome] = []
    unique: dict[str, Source] = {}
    for source in sources:
        if not source.fetchable:
            outcomes.append(Outcome(source, "unavailable", source.note))
        elif is_done(source, root, manifest):
            outcomes.append(Outcome(source, "skipped", "already fetched (manifest and sha256 match)"))
        elif dry_run:
            outcomes.append(Outcome(source, "planned", source.describe()))
        else:
            unique.setdefault(source.destination, source)
            outcomes.append(Outcome(source, "pending"))
    offline = reachable() if unique else None
    done: dict[str, Outcome] = {}
    for destination, source in unique.items():
        on_event("start", Outcome(source, "pending"))
        if offline:
            done[destination] = Outcome(source, "failed", f"not fetched ({source.describe()}): {offline}")
        else:
            done[destination] = _fetch_one(source, root, manifest)
        on_event("end", done[destination])
    for outcome in outcomes:
        if outcome.status == "pending":
            result = done[outcome.source.destination]
            outcome.status, outcome.message = result.status, result.message
    return outcomes


def _fetch_one(source: Source, root: Path, manifest: dict[str, dict[str, str]]) -> Outcome:
    try:
        if source.url:
            files, rows, revision = *_download_url(source, root), ""
        else:
            hub_rows, names, revision = _load_rows(source)
            files, rows = write_source(source, hub_rows, names, root)
    except Exception as error:  # network, unknown config, a schema change: one line per set
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return Outcome(source, "failed", f"could not fetch {source.describe()}: {reason}")
    for path in files:
        manifest[_key(path, root)] = {
            "path": _key(path, root), "task": source.task, "lang": source.lang, "split": source.split,
            "source": source.dataset or source.url, "config": source.config or "", "hub_split": source.hub_split,
            "revision": revision, "rows": str(rows), "sha256": file_sha256(path)}
    write_manifest(root, manifest)
    return Outcome(source, "fetched", f"{rows} rows from {source.describe()}" if rows else f"from {source.describe()}")
