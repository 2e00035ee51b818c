"""The picture: the latest state of every uid, expired at its stale time, seen per viewer."""

from __future__ import annotations

import heapq
from datetime import datetime

from kizuna.clock import Clock
from kizuna.labels import Decider, Viewer
from kizuna.store import Record

__all__ = ["Picture"]


class Picture:
    """Pure and in memory: time comes from the injected clock, decisions from a Decider."""

    def __init__(self, clock: Clock, decider: Decider | None = None) -> None:
        self._clock = clock
        self._decider = decider or Decider()
        self._items: dict[str, Record] = {}
        self._stale: list[tuple[datetime, str, datetime]] = []  # (stale, uid, time), lazy

    def __len__(self) -> int:
        return len(self._items)

    def update(self, record: Record) -> bool:
        """Keep the record if it is newer than what the picture holds for its uid."""
        e = record.event
        held = self._items.get(e.uid)
        if held is not None and held.event.time >= e.time:
            return False
        self._items[e.uid] = record
        heapq.heappush(self._stale, (e.stale, e.uid, e.time))
        if len(self._stale) > 2 * len(self._items) + 1024:  # superseded entries pile up
            self._stale = [(r.event.stale, u, r.event.time) for u, r in self._items.items()]
            heapq.heapify(self._stale)
        return True

    def expire(self) -> list[str]:
        """Drop every item whose stale time has passed; return their uids."""
        now = self._clock.now()
        gone: list[str] = []
        while self._stale and self._stale[0][0] <= now:
            _, uid, time = heapq.heappop(self._stale)
            held = self._items.get(uid)
            if held is not None and held.event.time == time and held.event.stale <= now:
                del self._items[uid]
                gone.append(uid)
        return gone

    def get(self, uid: str) -> Record | None:
        return self._items.get(uid)

    def items(self) -> list[Record]:
        self.expire()
        return list(self._items.values())

    def view(self, viewer: Viewer) -> list[Record]:
        """Exactly the current items the viewer's nation and clearance permit, now."""
        now = self._clock.now()
        decide = self._decider.decide
        return [r for r in self.items() if decide(r.event.label, viewer, now).permit]
