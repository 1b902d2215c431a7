"""File helpers every folder uses.

Atomic writes: a reader (or a re-run after a crash) sees the old file or the new one, never half
of one: write a temporary file beside the target, flush it to disk, rename it over. Folders are
replaced the same way: built beside the target, then swapped in. Content hashes: the sha256 that
manifests, checkpoints and node identities record."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for any writer (a library's ``to_parquet``, ``torch.save``):
    when the block ends normally the file is flushed to disk and renamed over ``path``; when it
    fails the temporary file is removed (a full disk must not keep a stray half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


ID_LENGTH = 16  # hex digits: 64 bits, plenty for the few thousand nodes of a study


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


# ---------------------------------------------------------------- folders


@contextmanager
def staged_directory(directory: Path) -> Iterator[Path]:
    """A fresh folder beside ``directory`` to build in; it replaces ``directory`` when the block
    ends normally and is removed when it fails."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        yield staging
        replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_directory(staging: Path, directory: Path, *, retired: Path | None = None, durable: bool = False,
                      keep_existing: bool = False) -> bool:
    """Move the finished folder ``staging`` into place as ``directory``; True when it was moved.

    A rename cannot overwrite a non-empty directory, so an existing one is first renamed aside to
    ``retired`` (default: beside ``staging``, named after it) and kept there until the new one is in
    place, then removed: readers may briefly find nothing, never a half-written folder, and a kill
    between the two renames leaves the old copy at ``retired`` (a reader that knows the name, like
    ``find_checkpoint``, falls back to it; a copy left there by an earlier kill is removed first).
    ``durable``: the parent folder is flushed to disk once the new one is in place, before the old
    copy is removed. ``keep_existing``: an existing ``directory`` is another process's identical
    result: it is kept and ``staging`` removed (False is returned).
    """
    staging, directory = Path(staging), Path(directory)
    if keep_existing:
        try:
            os.replace(staging, directory)
        except OSError:
            if not directory.exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)
            return False
        return True
    retired = Path(retired) if retired is not None else staging.with_name(staging.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    if directory.exists():
        os.replace(directory, retired)
    try:
        os.replace(staging, directory)
    except OSError:
        if directory.exists():  # another process put its own in place: the old copy is not needed
            shutil.rmtree(retired, ignore_errors=True)
        elif retired.exists():
            os.replace(retired, directory)  # the old copy back rather than nothing
        raise
    if durable:
        fsync_directory(directory.parent)
    shutil.rmtree(retired, ignore_errors=True)
    return True


def fsync_directory(path: Path) -> None:
    """Flush a folder's entries (renames into it) to disk; nothing where that cannot be done."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (same bytes, no copy); copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def link_tree(source: Path, target: Path) -> None:
    """``target`` becomes a copy of the folder ``source`` made of hard links (written atomically)."""
    with staged_directory(target) as staging:
        for path in sorted(source.rglob("*")):
            destination = staging / path.relative_to(source)
            if path.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                link_or_copy(path, destination)
