"""Node claims: how several `xstilts run` processes of one study share its nodes.

Terminals, job-array tasks and machines that share a study's output folder each run the same
plan; a node is run by the process that claims it. A claim is a file::

    STUDY_DIR/claims/<node id>/<generation>.json   {"host", "pid", "machine", "pid_started",
                                                     "token", "state", "error"}

Creating the file is the only way to claim: it is written in full under a temporary name and
hard-linked to its place (``link`` fails when the name exists, also over NFS, where ``O_EXCL``
was not always atomic). The newest generation is the node's state:

- held: a process is running the node. Its heartbeat thread touches the file every
  ``lease / 6`` seconds; while running the node it never rewrites it.
- failed: the holder's node failed (``error``). Processes that were running when it failed do
  not retry it (they report it as failed elsewhere); a process started later does, as a re-run.
- no file: nobody holds the node (never claimed, or finished: a finished node's claim is
  removed after its results are on disk).

A held claim is stale when its holder is gone: on the same machine (host name, boot id and pid
namespace), when its pid is gone, a zombie, or a newer process; on any machine, when its file
was not touched for ``lease`` seconds. Age is measured on the file system's own clock (the
mtime of the claims folder, touched just before), so the machines' clocks may differ. A stale
claim is taken over by creating the generation above it: of two takers, one creates it and
the other finds it held. A holder whose claim was taken over (its process had stalled for a
whole lease) finds a newer generation at its next heartbeat and reports the claim lost.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

LEASE_ENV = "XSTILTS_CLAIM_LEASE"
DEFAULT_LEASE = 180.0  # seconds: a holder on another machine is given up after this long unheard
CLAIMS_DIR = "claims"


def lease_seconds() -> float:
    """The lease from ``$XSTILTS_CLAIM_LEASE`` (seconds), else the default."""
    from xstilts.errors import ConfigError

    text = os.environ.get(LEASE_ENV, "").strip()
    if not text:
        return DEFAULT_LEASE
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigError(f"${LEASE_ENV}: expected a number of seconds above 0, got {text!r}")
    return value


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _machine() -> str:
    """Where a pid means one process: the host name, its boot, and this pid namespace."""
    boot = _read("/proc/sys/kernel/random/boot_id") or ""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{boot}/{namespace}"


def _pid_started(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot; None without /proc): tells a reused pid apart."""
    stat = _read(f"/proc/{pid}/stat")
    return stat[stat.rindex(")") + 2:].split()[19] if stat else None


def _pid_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return not os.path.isdir("/proc/self")  # no /proc at all: os.kill is all we know
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    return started is None or fields[19] == started


@dataclass(frozen=True)
class Holder:
    """A process that claims nodes."""

    host: str
    pid: int
    machine: str
    pid_started: str | None
    token: str  # unique to this process's run: a restarted process with the same pid is another holder

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}"

    @classmethod
    def this_process(cls) -> Holder:
        return cls(socket.gethostname(), os.getpid(), _machine(), _pid_started(os.getpid()), uuid.uuid4().hex)


@dataclass(frozen=True)
class Claim:
    """The newest claim file of a node."""

    node_id: str
    generation: int
    holder: Holder
    state: str  # "held" | "failed"
    error: str | None = None


class Claims:
    """This process's claims in one study folder, kept alive by a heartbeat thread."""

    def __init__(self, study_dir: str | Path, lease: float | None = None, holder: Holder | None = None):
        self.root = Path(study_dir) / CLAIMS_DIR
        self.lease = lease if lease is not None else lease_seconds()
        self.me = holder or Holder.this_process()
        self.root.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, Path] = {}
        self._lock = threading.Lock()
        self.lost: set[str] = set()  # nodes whose claim another process took over from this one
        # Failures recorded before this process started are retried (a re-run); later ones are not.
        self._old_failures = {(c.node_id, c.generation) for c in self._all_newest() if c.state == "failed"}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- claiming

    def claim(self, node_id: str) -> Claim | None:
        """Claim ``node_id``: None when this process now holds it, else the claim in the way (a
        live holder, or a failure recorded since this process started)."""
        folder = self.root / node_id
        while True:  # a turn is lost only to another process's new generation, which the next turn reads
            # One listing per turn: a taker creates the generation above the newest it judged, so
            # that two takers of one stale claim compete for the same name.
            generations = _generations(folder)
            newest = self._newest(node_id, generations)
            if newest is not None and newest.holder.token == self.me.token and newest.state == "held":
                return None
            if newest is not None and newest.state == "failed" and (node_id, newest.generation) not in self._old_failures:
                return newest
            if newest is not None and newest.state == "held" and self.alive(newest):
                return newest
            # Free, stale, or failed before this run: the next generation (above any unreadable file).
            generation = max(generations, default=-1) + 1
            path = folder / f"{generation:06d}.json"
            if self._create(path, asdict(self.me) | {"state": "held", "error": None}):
                with self._lock:
                    self._held[node_id] = path
                self._remove_older(folder, generation)
                return None

    def release(self, node_id: str, error: str | None = None) -> None:
        """Give the node up: finished (its claim goes), or failed (``error`` stays for the others)."""
        with self._lock:
            path = self._held.pop(node_id, None)
        if path is None or node_id in self.lost:
            return
        if error is None:
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()  # tidy: empty once the node is done (a claimer recreates it)
            except OSError:
                pass
        else:
            _write_atomic(path, asdict(self.me) | {"state": "failed", "error": error})

    def newest(self, node_id: str) -> Claim | None:
        return self._newest(node_id, _generations(self.root / node_id))

    def _newest(self, node_id: str, generations: list[int]) -> Claim | None:
        folder = self.root / node_id
        for generation in sorted(generations, reverse=True):
            claim = _load(node_id, generation, folder / f"{generation:06d}.json")
            if claim is not None:
                return claim
        return None

    def alive(self, claim: Claim) -> bool:
        """Whether the holder of a held claim is still there (see the module's note)."""
        if claim.holder.token == self.me.token:
            return True
        if claim.holder.machine == self.me.machine:
            return _pid_alive(claim.holder.pid, claim.holder.pid_started)
        path = self.root / claim.node_id / f"{claim.generation:06d}.json"
        try:
            touched = path.stat().st_mtime
        except FileNotFoundError:
            return False
        return self._now() - touched <= self.lease

    # -------------------------------------------------------------- the heartbeat

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, daemon=True, name="xstilts-claims")
        self._thread.start()

    def close(self) -> None:
        """Stop the heartbeat and give up every claim still held (an interrupted run: others may take them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for node_id in list(self._held):
            self.release(node_id)

    def _beat(self) -> None:
        interval = min(30.0, max(0.2, self.lease / 6))
        while not self._stop.wait(interval):
            self.renew()

    def renew(self) -> None:
        with self._lock:
            held = dict(self._held)
        for node_id, path in held.items():
            generation = int(path.stem)
            if any(g > generation for g in _generations(path.parent)):
                self.lost.add(node_id)
                continue
            try:
                os.utime(path)  # no times: over NFS the server's clock stamps it
            except FileNotFoundError:
                self.lost.add(node_id)

    # -------------------------------------------------------------- files

    def _now(self) -> float:
        """Now on the file system's clock, which stamps the claims' mtimes: touch the claims
        folder (no times given: over NFS the server sets its own) and read its mtime back."""
        os.utime(self.root)
        return self.root.stat().st_mtime

    def _all_newest(self) -> list[Claim]:
        found = []
        for folder in self.root.iterdir():
            if folder.is_dir():
                claim = self.newest(folder.name)
                if claim is not None:
                    found.append(claim)
        return found

    def _create(self, path: Path, record: dict) -> bool:
        """Create ``path`` holding ``record`` unless it exists (atomic: link of a full temporary file)."""
        temporary = path.with_name(f".{path.name}.{self.me.token}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            temporary.write_text(json.dumps(record))
        except FileNotFoundError:  # its folder was just tidied away by a finishing holder: look again
            return False
        try:
            os.link(temporary, path)
            return True
        except FileExistsError:
            return False
        except OSError:
            # NFS may lose the reply of a link that was made: two names on the file means it was.
            if temporary.stat().st_nlink == 2:
                return True
            return _create_exclusive(path, record)  # a file system without hard links
        finally:
            temporary.unlink(missing_ok=True)

    def _remove_older(self, folder: Path, generation: int) -> None:
        for older in _generations(folder):
            if older < generation:
                (folder / f"{older:06d}.json").unlink(missing_ok=True)


def _generations(folder: Path) -> list[int]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()]


def _load(node_id: str, generation: int, path: Path) -> Claim | None:
    try:
        record = json.loads(path.read_text())
        holder = Holder(str(record["host"]), int(record["pid"]), str(record["machine"]), record.get("pid_started"),
                        str(record["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # removed meanwhile (or not a claim): the next generation down decides
    return Claim(node_id, generation, holder, str(record.get("state", "held")), record.get("error"))


def _create_exclusive(path: Path, record: dict) -> bool:
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(record))
    return True


def _write_atomic(path: Path, record: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, path)
