"""An in-memory Store for unit tests; it follows the same contract as SqliteStore."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from kizuna.errors import StoreError
from kizuna.labels import Decider, Viewer
from kizuna.store._base import Committed, Record, visible

__all__ = ["MemoryStore"]


class MemoryStore:
    def __init__(self, decider: Decider | None = None) -> None:
        self._records: list[Record] = []
        self._keys: set[tuple[str, str, datetime]] = set()
        self._owners: dict[str, str] = {}
        self._decider = decider or Decider()
        self._closed = False

    async def append(self, records: Sequence[Record]) -> tuple[bool, ...]:
        return self._add(records)

    def submit(
        self, records: Sequence[Record], done: Committed, *, after: Callable[[], None] | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(done, self._add(records))
        if after is not None:
            loop.call_soon(after)

    def _add(self, records: Sequence[Record]) -> tuple[bool, ...]:
        if self._closed:
            raise StoreError("memory store is closed")
        out = []
        for r in records:
            new = r.key not in self._keys
            if new:
                self._keys.add(r.key)
                self._records.append(r)
                self._owners.setdefault(r.event.uid, r.origin)
            out.append(new)
        return tuple(out)

    async def replay(
        self,
        start: datetime,
        end: datetime,
        viewer: Viewer | None = None,
        at: datetime | None = None,
        *,
        limit: int = 100_000,
    ) -> list[Record]:
        found = [r for r in self._records if start <= r.event.time < end]
        return visible(found, viewer, at, self._decider)[:limit]

    async def current(self, at: datetime) -> list[Record]:
        latest: dict[str, tuple[int, Record]] = {}
        for i, r in enumerate(self._records):
            held = latest.get(r.event.uid)
            if held is None or r.event.time >= held[1].event.time:
                latest[r.event.uid] = (i, r)
        return [r for _, r in sorted(latest.values(), key=lambda x: x[0]) if r.event.stale > at]

    async def owners(self) -> dict[str, str]:
        return dict(self._owners)

    async def count(self) -> int:
        return len(self._records)

    async def since(self, after: int, limit: int) -> list[tuple[int, Record]]:
        if self._closed:
            raise StoreError("memory store is closed")
        start = max(after, 0)  # record i has sequence number i + 1
        return [(start + i + 1, r) for i, r in enumerate(self._records[start : start + limit])]

    async def last_seq(self) -> int:
        return len(self._records)

    async def close(self) -> None:
        self._closed = True
