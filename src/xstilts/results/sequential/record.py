"""The decisions of a sequential run: ``STUDY_DIR/sequential.json``, beside the results store.

One entry per look made, in order: the seeds it read and, per contrast still undecided before it,
the decision with its statistic, boundaries and the ids of the result rows (``eval_id``) that made
it. The file is rewritten atomically after each look (a reader or a killed run sees the previous
looks or these, never half of a look), and a re-run reuses every recorded look: it resumes at the
same look with the same decisions. It also records the design; a study file whose design,
seeds or contrasts changed since is refused in one line (move the file away to start again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError
from xstilts.files import write_json_atomic
from xstilts.results.sequential.design import Boundaries
from xstilts.results.store import now_stamp

RECORD_FILENAME = "sequential.json"
RECORD_VERSION = 1
Key = tuple[str, str, str]  # (target, A, B): one primary contrast


def record_path(study_dir: str | Path) -> Path:
    return Path(study_dir) / RECORD_FILENAME


def _identity(bounds: Boundaries, seeds: Sequence[int], contrasts: Sequence[Key]) -> dict[str, Any]:
    identity = {"design": asdict(bounds.design), "seeds": [int(s) for s in seeds],
                "contrasts": [list(key) for key in contrasts]}
    return json.loads(json.dumps(identity))  # as the file stores it (tuples are lists)


class DecisionRecord:
    """The looks a run has made (``looks``: JSON-ready dicts, in order)."""

    def __init__(self, path: Path, identity: dict[str, Any], bounds: Boundaries, looks: list[dict[str, Any]]):
        self.path = path
        self.identity = identity
        self.bounds = bounds
        self.looks = looks

    @classmethod
    def open(cls, study_dir: str | Path, bounds: Boundaries, seeds: Sequence[int], contrasts: Sequence[Key]
             ) -> "DecisionRecord":
        """The study's record (empty when none yet); one-line error when it belongs to another design."""
        path = record_path(study_dir)
        identity = _identity(bounds, seeds, contrasts)
        if not path.is_file():
            return cls(path, identity, bounds, [])
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            looks = list(stored["looks"])
            recorded = {key: stored[key] for key in ("design", "seeds", "contrasts")}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{path}: not a readable record of sequential decisions ({error}); move it away to "
                              "decide the looks again from the stored rows") from None
        if recorded != identity:
            changed = next(key for key in ("design", "seeds", "contrasts") if recorded[key] != identity[key])
            raise ConfigError(f"{path}: recorded for another {changed} than the study file's now; move it away to "
                              "start the sequential design again (finished trainings are reused)")
        return cls(path, identity, bounds, looks)

    def save(self) -> None:
        write_json_atomic(self.path, {"version": RECORD_VERSION, **self.identity,
                                      "boundaries": self.bounds.to_json(), "looks": self.looks})

    def made(self, look: int) -> bool:
        return any(entry["look"] == look for entry in self.looks)

    def add_look(self, look: int, seeds: Sequence[int], decisions: Mapping[Key, Mapping[str, Any]]) -> dict[str, Any]:
        entry = {"look": look, "seeds": [int(s) for s in seeds], "decided_at": now_stamp(),
                 "contrasts": [{"target": key[0], "a": key[1], "b": key[2], **dict(value)}
                               for key, value in decisions.items()]}
        self.looks = [e for e in self.looks if e["look"] != look] + [entry]
        self.looks.sort(key=lambda e: e["look"])
        self.save()
        return entry

    def entries(self, look: int) -> dict[Key, dict[str, Any]]:
        for entry in self.looks:
            if entry["look"] == look:
                return {(c["target"], c["a"], c["b"]): c for c in entry["contrasts"]}
        return {}

    def decided(self) -> dict[Key, dict[int, str]]:
        """Per contrast: look -> recorded decision (every look it was analysed at)."""
        return recorded_decisions({"looks": self.looks})

    def undecided(self, contrasts: Sequence[Key]) -> list[Key]:
        """The contrasts no recorded look decided."""
        decided = self.decided()
        return [key for key in contrasts if all(d == "continue" for d in decided.get(key, {}).values())]


def read_record(study_dir: str | Path) -> dict[str, Any] | None:
    """The raw record, None when the study has none (for reports and provenance)."""
    path = record_path(study_dir)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recorded_decisions(record: Mapping[str, Any] | None) -> dict[Key, dict[int, str]]:
    """Per contrast of a raw record: look -> decision."""
    found: dict[Key, dict[int, str]] = {}
    for entry in (record or {}).get("looks", []):
        for c in entry["contrasts"]:
            found.setdefault((c["target"], c["a"], c["b"]), {})[int(entry["look"])] = c["decision"]
    return found
