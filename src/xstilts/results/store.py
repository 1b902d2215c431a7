"""The results store of a study: one SQLite file in the study directory.

Two tables:

* ``results``: one row per (eval_id, task, lang, split, metric) with the score and everything
  needed to read it (the trained model node, seed, stage order, base model, settings,
  contamination flag, code version) and what makes it comparable: the plan evaluation node and
  plan it belongs to, the target, the model-selection sets of every training on its path
  (``selection``), whether it is zero-shot, whether it used an oracle threshold, the trainings
  on its path with their settings and optimizer steps (``training``), and the content hash of
  its per-example outputs (``examples_ref``, a file under ``STUDY_DIR/examples/``).
* ``nodes``: the execution state of every train/eval node of the study plan.

Several processes may write at once (each opens its own connections): the file is in WAL mode,
every write is one short ``BEGIN IMMEDIATE`` transaction (so the busy timeout applies to it) and a
write that still meets ``database is locked`` is retried. A transaction either commits whole or
not at all, so a process killed mid-write leaves the file consistent: an eval has all of its rows
or none.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from xstilts.versions import code_version
from xstilts.errors import DataFormatError

SCHEMA_VERSION = 3
# Older schemas this version opens, with the statements that bring a store from each to the next.
_MIGRATIONS = {
    # 2 -> 3: rows say whether they are a condition's result or a trajectory point (a model after
    # some of an order's stages); every row of a version-2 store is a condition's.
    2: ("ALTER TABLE results ADD COLUMN role TEXT NOT NULL DEFAULT 'condition'",),
}
ROLES = ("condition", "trajectory")
STORE_FILENAME = "results.sqlite"
NODE_KINDS = ("train", "eval")
NODE_STATUSES = ("pending", "running", "done", "failed")
RESULT_KEY = ("eval_id", "task", "lang", "split", "metric")
RESULT_COLUMNS = (*RESULT_KEY, "value", "node_id", "seed", "order_name", "stage_path", "model", "settings_hash",
                  "settings", "contaminated", "contamination_reason", "code_version", "created_at",
                  "eval_node", "plan_hash", "target", "selection", "zero_shot", "oracle", "training",
                  "train_steps", "train_examples", "examples_ref", "role")
_JSON_COLUMNS = ("stage_path", "settings", "selection", "training", "info")
_BOOL_COLUMNS = ("contaminated", "zero_shot", "oracle")
_NODE_COLUMNS = ("node_id", "kind", "status", "label", "attempts", "started_at", "finished_at", "wall_seconds",
                 "error", "info")

_BUSY_TIMEOUT_S = 30.0
_LOCK_RETRIES = 8  # beyond the busy timeout: cases SQLite reports busy without waiting (WAL setup, recovery)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    eval_id TEXT NOT NULL,
    task TEXT NOT NULL,
    lang TEXT NOT NULL,
    split TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    node_id TEXT NOT NULL,
    seed INTEGER,
    order_name TEXT NOT NULL,
    stage_path TEXT NOT NULL,
    model TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    contaminated INTEGER NOT NULL CHECK (contaminated IN (0, 1)),
    contamination_reason TEXT,
    code_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    eval_node TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    target TEXT NOT NULL,
    selection TEXT NOT NULL,
    zero_shot INTEGER NOT NULL CHECK (zero_shot IN (0, 1)),
    oracle INTEGER NOT NULL CHECK (oracle IN (0, 1)),
    training TEXT NOT NULL,
    train_steps INTEGER,
    train_examples INTEGER,
    examples_ref TEXT,
    role TEXT NOT NULL DEFAULT 'condition',
    PRIMARY KEY ({", ".join(RESULT_KEY)})
);
CREATE INDEX IF NOT EXISTS results_by_task ON results (task, order_name);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN {NODE_KINDS}),
    status TEXT NOT NULL CHECK (status IN {NODE_STATUSES}),
    label TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    wall_seconds REAL,
    error TEXT,
    info TEXT NOT NULL DEFAULT '{{}}'
);
"""

T = TypeVar("T")


@dataclass(frozen=True)
class ResultRow:
    """One score of one evaluation: ``metric`` of ``task`` on ``lang``/``split`` (x100).

    ``node_id`` is the trained model node that was evaluated, ``order_name`` the name of its stage
    order (e.g. ``"nli_en>nli_de"``) and ``stage_path`` the stage names in training order.
    ``seed`` is None for a model that no seeded training produced (the untrained encoder).
    ``eval_node`` is the plan's evaluation node (``eval_id`` adds the seed), ``plan_hash`` the plan
    that recorded it, ``selection`` the model-selection sets (task, lang, split, slice) of every
    training on the path, ``zero_shot`` False when any of them or the target's own training is
    not English, ``oracle`` True when the score used a threshold tuned on the scored gold,
    ``training`` every training on the path (label, settings, optimizer steps, examples),
    ``train_steps``/``train_examples`` the optimizer steps and examples (steps x batch) of the
    intermediate stages, ``examples_ref`` the content hash of the per-example outputs.
    """

    task: str
    lang: str
    split: str
    metric: str
    value: float
    node_id: str
    seed: int | None
    order_name: str
    stage_path: Sequence[str]
    model: str
    settings_hash: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    contaminated: bool = False
    contamination_reason: str | None = None
    eval_node: str = ""
    plan_hash: str = ""
    target: str = ""
    selection: Sequence[Mapping[str, Any]] = ()
    zero_shot: bool = True
    oracle: bool = False
    training: Sequence[Mapping[str, Any]] = ()
    train_steps: int | None = None
    train_examples: int | None = None
    examples_ref: str | None = None
    role: str = "condition"  # "trajectory": a model after some of its order's stages (``EvalNode.role``)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.task, self.lang, self.split, self.metric


def current_code_version() -> str:
    """``xstilts.__version__`` plus the training semantics version, stamped on every result."""
    return code_version()


class ResultStore:
    """The SQLite results store at ``path`` (created with its schema when missing).

    Connections are opened per operation, so one ``ResultStore`` may be shared by threads and
    survives a fork; each process simply uses its own.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _retry_when_locked(self._initialise)
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and _is_lock_error(error):
                raise
            raise DataFormatError(self.path, None, f"not a usable xstilts results store ({error})") from error

    @classmethod
    def for_study(cls, study_dir: str | Path) -> ResultStore:
        """The store of the study in ``study_dir`` (``study_dir/results.sqlite``)."""
        return cls(Path(study_dir) / STORE_FILENAME)

    # ------------------------------------------------------------ results

    def record_eval(self, eval_id: str, rows: Sequence[ResultRow], *, code_version: str | None = None,
                    created_at: str | None = None) -> None:
        """Store the rows of one evaluation and mark its eval node done, in one transaction.

        Recording an eval again replaces its previous rows by ``rows``: the stored set is always
        exactly the latest recording (values of a re-run included), never a duplicate.
        ``code_version``/``created_at`` default to now; a rebuild passes the recorded ones.
        """
        _check_rows(eval_id, rows)
        code_version, now = code_version or current_code_version(), created_at or _now()
        records = [_result_record(eval_id, row, code_version, now) for row in rows]
        placeholders = ", ".join("?" for _ in RESULT_COLUMNS)

        def write(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM results WHERE eval_id = ?", (eval_id,))
            connection.executemany(f"INSERT INTO results ({', '.join(RESULT_COLUMNS)}) VALUES ({placeholders})",
                                   records)
            _update_node(connection, eval_id, "eval", "done", label=None, error=None, info={})

        self._write(write)

    def rows(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored results matching ``column=value`` filters (None matches NULL), in key order.

        JSON columns (``stage_path``, ``settings``, ``selection``, ``training``) come back decoded,
        flags (``contaminated``, ``zero_shot``, ``oracle``) as bools.
        """
        return [_decode_result(row) for row in self._select_results(filters)]

    def to_dataframe(self, **filters: Any) -> pd.DataFrame:
        """The results as a DataFrame, one row per stored result and one column per field.

        JSON columns stay JSON text (flat, exportable, groupable); ``seed``, ``train_steps`` and
        ``train_examples`` are nullable integers and the flags bools.
        """
        frame = pd.DataFrame([dict(row) for row in self._select_results(filters)], columns=list(RESULT_COLUMNS))
        frame["value"] = frame["value"].astype("float64")
        for column in ("seed", "train_steps", "train_examples"):
            frame[column] = frame[column].astype("Int64")
        for column in _BOOL_COLUMNS:
            frame[column] = frame[column].astype(bool)
        return frame

    def count(self) -> int:
        with self._read_connection() as connection:
            return connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def done_evals(self) -> set[str]:
        """Ids of the eval nodes that are done (``record_eval`` marks them, with their rows)."""
        with self._read_connection() as connection:
            found = connection.execute("SELECT node_id FROM nodes WHERE kind = 'eval' AND status = 'done'")
            return {row[0] for row in found}

    # ------------------------------------------------------------ nodes

    def mark_node(self, node_id: str, kind: str, status: str, *, label: str | None = None,
                  error: str | None = None, **info: Any) -> None:
        """Move a node to ``status``, creating it when new.

        ``running`` counts an attempt and starts the clock; ``done``/``failed`` stop it and record
        ``wall_seconds``; ``error`` is kept with a failure. ``info`` (JSON values) is merged into
        the node's stored info.
        """
        if kind not in NODE_KINDS:
            raise ValueError(f"node kind {kind!r}: expected one of {NODE_KINDS}")
        if status not in NODE_STATUSES:
            raise ValueError(f"node status {status!r}: expected one of {NODE_STATUSES}")
        self._write(lambda connection: _update_node(connection, node_id, kind, status, label=label, error=error,
                                                    info=info))

    def node_status(self, node_id: str) -> str | None:
        """The node's status, None when the node was never marked."""
        node = self.node(node_id)
        return None if node is None else node["status"]

    def node(self, node_id: str) -> dict[str, Any] | None:
        """Every stored field of the node (``info`` decoded), None when unknown."""
        nodes = self.nodes(node_id=node_id)
        return nodes[0] if nodes else None

    def nodes(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored nodes matching ``column=value`` filters (e.g. ``status="running"``), by node id."""
        where, values = _where(filters, allowed=_NODE_COLUMNS)
        with self._read_connection() as connection:
            found = connection.execute(f"SELECT * FROM nodes{where} ORDER BY node_id", values).fetchall()
        return [{**dict(row), "info": json.loads(row["info"])} for row in found]

    # ------------------------------------------------------------ connections

    def _initialise(self) -> None:
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
        self._write(self._create_schema)

    def _read_connection(self):
        self._recreate_if_deleted()
        return self._connect()

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        # One statement at a time: executescript() would commit the surrounding transaction.
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version")]
        while len(versions) == 1 and versions[0] in _MIGRATIONS:
            for statement in _MIGRATIONS[versions[0]]:
                connection.execute(statement)
            versions = [versions[0] + 1]
            connection.execute("UPDATE schema_version SET version = ?", (versions[0],))
        if not versions:
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif versions != [SCHEMA_VERSION]:
            found = ", ".join(str(version) for version in versions)
            advice = ("move this file away and rerun `xstilts run` (finished trainings are reused, evaluations rerun)"
                      if max(versions) < SCHEMA_VERSION else "open this study with the xstilts version that wrote it")
            raise DataFormatError(self.path, None, f"results store schema version {found}, expected {SCHEMA_VERSION}: "
                                                   f"{advice}")

    def _recreate_if_deleted(self) -> None:
        """A store deleted while a study runs is created again (its rows come back from the
        node folders on the next run, see ``eval_rows``) instead of failing every write."""
        if self.path.exists():
            return
        for suffix in ("-wal", "-shm"):  # a stale log must never be replayed into a new file
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _retry_when_locked(self._initialise)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)) as connection:
            connection.row_factory = sqlite3.Row
            # With WAL, NORMAL stays consistent through any crash and durable through a killed
            # process; only a power loss may forget the last commits (those evals simply rerun).
            connection.execute("PRAGMA synchronous = NORMAL")
            yield connection

    def _write(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` in one immediate transaction, retried while the file is locked."""

        self._recreate_if_deleted()

        def attempt() -> T:
            with self._connect() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = statements(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result

        return _retry_when_locked(attempt)

    def _select_results(self, filters: Mapping[str, Any]) -> list[sqlite3.Row]:
        where, values = _where(filters, allowed=RESULT_COLUMNS)
        with self._read_connection() as connection:
            return connection.execute(
                f"SELECT {', '.join(RESULT_COLUMNS)} FROM results{where} ORDER BY {', '.join(RESULT_KEY)}", values
            ).fetchall()


def now_stamp() -> str:
    """The store's timestamp format (UTC, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


_now = now_stamp


def _is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


def _retry_when_locked(operation: Callable[[], T]) -> T:
    for attempt in range(_LOCK_RETRIES - 1):
        try:
            return operation()
        except sqlite3.OperationalError as error:
            if not _is_lock_error(error):
                raise
            time.sleep(0.05 * 2**attempt)
    return operation()


def _where(filters: Mapping[str, Any], allowed: Sequence[str]) -> tuple[str, list[Any]]:
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise ValueError(f"unknown filter column(s) {unknown}: expected some of {list(allowed)}")
    clauses, values = [], []
    for column, value in filters.items():
        if value is None:
            clauses.append(f"{column} IS NULL")
        else:
            clauses.append(f"{column} = ?")
            values.append(_stored_value(column, value))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


def _stored_value(column: str, value: Any) -> Any:
    """A filter value as the column stores it."""
    if column in _JSON_COLUMNS:
        return _json(list(value) if column == "stage_path" else value)
    return int(value) if isinstance(value, bool) else value


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _check_rows(eval_id: str, rows: Sequence[ResultRow]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for row in rows:
        if row.role not in ROLES:
            raise ValueError(f"eval {eval_id!r} result {row.key} has role {row.role!r}: expected one of {ROLES}")
        if row.key in seen:
            raise ValueError(f"eval {eval_id!r} has two results for task/lang/split/metric {row.key}")
        if not math.isfinite(row.value):
            raise ValueError(f"eval {eval_id!r} result {row.key} is {row.value}: a score must be finite")
        seen.add(row.key)


def _result_record(eval_id: str, row: ResultRow, code_version: str, created_at: str) -> tuple[Any, ...]:
    values = {
        "eval_id": eval_id, "task": row.task, "lang": row.lang, "split": row.split, "metric": row.metric,
        "value": float(row.value), "node_id": row.node_id, "seed": row.seed, "order_name": row.order_name,
        "stage_path": _json(list(row.stage_path)), "model": row.model, "settings_hash": row.settings_hash,
        "settings": _json(dict(row.settings)), "contaminated": int(row.contaminated),
        "contamination_reason": row.contamination_reason, "code_version": code_version, "created_at": created_at,
        "eval_node": row.eval_node or eval_id.split(":")[0], "plan_hash": row.plan_hash, "target": row.target or row.task,
        "selection": _json([dict(item) for item in row.selection]), "zero_shot": int(row.zero_shot),
        "oracle": int(row.oracle), "training": _json([dict(item) for item in row.training]),
        "train_steps": row.train_steps, "train_examples": row.train_examples, "examples_ref": row.examples_ref,
        "role": row.role,
    }
    return tuple(values[column] for column in RESULT_COLUMNS)


def _decode_result(row: sqlite3.Row) -> dict[str, Any]:
    decoded = dict(row)
    for column in ("stage_path", "settings", "selection", "training"):
        decoded[column] = json.loads(decoded[column])
    for column in _BOOL_COLUMNS:
        decoded[column] = bool(decoded[column])
    return decoded


def _update_node(connection: sqlite3.Connection, node_id: str, kind: str, status: str, *, label: str | None,
                 error: str | None, info: Mapping[str, Any]) -> None:
    """Apply one status transition to the node inside the caller's transaction."""
    existing = connection.execute("SELECT * FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
    node: dict[str, Any] = dict(existing) if existing else {
        "node_id": node_id, "kind": kind, "label": None, "attempts": 0, "started_at": None, "finished_at": None,
        "wall_seconds": None, "error": None, "info": "{}",
    }
    if node["kind"] != kind:
        raise ValueError(f"node {node_id!r} is a {node['kind']} node, not a {kind} node")
    now = _now()
    if status == "running":
        node.update(attempts=node["attempts"] + 1, started_at=now, finished_at=None, wall_seconds=None, error=None)
    elif status in ("done", "failed"):
        started = node["started_at"]
        wall = (datetime.fromisoformat(now) - datetime.fromisoformat(started)).total_seconds() if started else None
        node.update(finished_at=now, wall_seconds=wall, error=error if status == "failed" else None)
    node["status"] = status
    if label is not None:
        node["label"] = label
    node["info"] = _json({**json.loads(node["info"]), **info})
    connection.execute(f"INSERT OR REPLACE INTO nodes ({', '.join(_NODE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' for _ in _NODE_COLUMNS)})",
                       tuple(node[column] for column in _NODE_COLUMNS))
