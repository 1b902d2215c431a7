"""The nodes another live process holds: which to look at again when, and how long to wait.

A run skips a node another process runs and goes on with other ready nodes; when nothing of its
own is left it waits, polling with a backoff (0.5 s up to 5 s), until those nodes are finished
(it then reads their results), given up (it claims them) or failed there (it reports them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

FIRST_DELAY = 0.5
LAST_DELAY = 5.0


@dataclass
class _Held:
    by: str  # "host:pid" of the holder
    checked: float  # monotonic time of the last look at its claim
    what: str = ""  # "train nli_en (9f0ce7b2d1f2)", for the progress display


class Elsewhere:
    def __init__(self) -> None:
        self.held: dict[str, _Held] = {}
        self.delay = FIRST_DELAY
        self.waited = 0.0  # seconds this run had nothing of its own to run

    def due(self, node_id: str) -> bool:
        """Whether to look at the node's claim now (every ready node is, until found held)."""
        held = self.held.get(node_id)
        return held is None or time.monotonic() - held.checked >= self.delay

    def hold(self, node_id: str, by: str, what: str) -> bool:
        """Note that ``by`` holds the node; True when that is news (to show once)."""
        news = self.held.get(node_id, _Held("", 0)).by != by
        self.held[node_id] = _Held(by, time.monotonic(), what)
        return news

    def waiting_for(self) -> dict[str, str]:
        """What this run waits for: "train nli_en (9f0ce7b2d1f2)" -> "host:pid"."""
        return {held.what: held.by for held in self.held.values()}

    def by(self, node_id: str) -> str | None:
        held = self.held.get(node_id)
        return held.by if held else None

    def drop(self, node_id: str) -> None:
        """The node is settled (finished, failed, or claimed here): something moved, look again soon."""
        if self.held.pop(node_id, None) is not None:
            self.delay = FIRST_DELAY

    def pause(self) -> list:
        """Nothing of this run's own is running: sleep before looking again (no finished handles)."""
        time.sleep(self.delay)
        self.waited += self.delay
        self.delay = min(LAST_DELAY, self.delay * 1.5)
        return []
