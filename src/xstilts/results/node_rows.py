"""The store is an index, not the only copy: each finished evaluation keeps the exact rows it
recorded in its own folder (``STUDY_DIR/evals/<id>/rows.json``, written atomically before the
store is written). A store that lost rows (deleted mid-run, a crash between the two writes, a
damaged file) is completed or rebuilt from those files.

The files hold plain row dicts (the fields of ``ResultRow``), so new result columns travel
through without changes here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from xstilts.files import write_json_atomic
from xstilts.results.store import STORE_FILENAME, ResultRow, ResultStore, current_code_version

ROWS_FILE = "rows.json"
ROWS_FORMAT = 1


def write_eval_rows(eval_dir: Path, records: dict[str, list[ResultRow]], created_at: str) -> dict[str, Any]:
    """Write the rows of every store key of one evaluation; returns what was written."""
    payload = {"format": ROWS_FORMAT, "code_version": current_code_version(), "created_at": created_at,
               "records": {key: [asdict(row) for row in rows] for key, rows in records.items()}}
    write_json_atomic(Path(eval_dir) / ROWS_FILE, payload)
    return payload


def read_eval_rows(eval_dir: Path) -> dict[str, Any] | None:
    """The rows file of an evaluation folder; None when absent or unreadable (the eval reruns)."""
    path = Path(eval_dir) / ROWS_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != ROWS_FORMAT or not isinstance(payload.get("records"), dict):
        return None
    return payload


def record_from_file(store: ResultStore, payload: dict[str, Any], keys: list[str] | None = None) -> int:
    """Insert the rows of ``payload`` (all keys, or ``keys``) through the store's own insert."""
    written = 0
    for key, rows in payload["records"].items():
        if keys is not None and key not in keys:
            continue
        store.record_eval(key, [ResultRow(**row) for row in rows], code_version=payload["code_version"],
                          created_at=payload["created_at"])
        written += len(rows)
    return written


def restore_missing_rows(store: ResultStore, eval_dirs: dict[str, list[str]], done: set[str]) -> list[str]:
    """Record from their folders the evaluations the store lacks; returns the eval ids restored.

    ``eval_dirs`` maps each evaluation folder to its store keys; ``done`` is the set of keys the
    store already has.
    """
    restored = []
    for eval_dir, keys in eval_dirs.items():
        missing = [key for key in keys if key not in done]
        if not missing:
            continue
        payload = read_eval_rows(Path(eval_dir))
        if payload is None or not set(missing) <= set(payload["records"]):
            continue
        record_from_file(store, payload, missing)
        restored.append(Path(eval_dir).name)
    return restored


def rebuild_store(study_dir: Path) -> tuple[Path, int, int]:
    """Recreate ``STUDY_DIR/results.sqlite`` from the rows files of ``STUDY_DIR/evals``.

    The new store is built beside the old one and then moved over it, so an interrupted rebuild
    leaves the old store untouched. Returns (path, evaluations, rows).
    """
    study_dir = Path(study_dir)
    target = study_dir / STORE_FILENAME
    staging = study_dir / f".{STORE_FILENAME}.rebuild"
    _remove_store_files(staging)
    store = ResultStore(staging)
    evaluations = rows = 0
    for eval_dir in sorted((study_dir / "evals").glob("*/")):
        payload = read_eval_rows(eval_dir)
        if payload is None:
            continue
        rows += record_from_file(store, payload)
        evaluations += 1
    _checkpoint_wal(staging)
    _remove_store_files(target)
    os.replace(staging, target)
    return target, evaluations, rows


def _checkpoint_wal(path: Path) -> None:
    """Fold the write-ahead log into the file, so that the file alone is the whole store."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _remove_store_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
