"""The embedded default Store: SQLite in WAL mode with synchronous=FULL and group commit.

One writer thread owns the write connection. Appends from any number of tasks queue up; the
writer takes everything queued (waiting up to ``batch_ms`` for company, none by default: what
arrives during one commit forms the next batch), inserts it in one transaction and commits
once, so one fsync covers the whole batch. Each caller's future
resolves only after that commit.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kizuna.cot import CotPolicy, event_to_xml, parse_event
from kizuna.errors import StoreError
from kizuna.labels import Decider, Viewer
from kizuna.store._base import Record, visible

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    origin   TEXT    NOT NULL,
    uid      TEXT    NOT NULL,
    time_ms  INTEGER NOT NULL,
    stale_ms INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    xml      BLOB    NOT NULL,
    UNIQUE (origin, uid, time_ms)
);
CREATE INDEX IF NOT EXISTS events_time ON events (time_ms);
"""
_INSERT = (
    "INSERT OR IGNORE INTO events (origin, uid, time_ms, stale_ms, type, xml) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# stored XML was written by us, so only size and depth matter on the way back
_REPLAY_POLICY = CotPolicy(max_unknown_bytes=64 * 1024)

_Row = tuple[str, str, int, int, str, bytes]
_Job = tuple[list[_Row], asyncio.Future[tuple[bool, ...]], asyncio.AbstractEventLoop]


def _ms(t: datetime) -> int:
    return (t - _EPOCH) // _MS


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _settle(job: _Job, result: tuple[bool, ...] | BaseException) -> None:
    _, fut, loop = job

    def apply() -> None:
        if fut.done():
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    loop.call_soon_threadsafe(apply)


class SqliteStore:
    def __init__(
        self,
        path: Path,
        *,
        batch_ms: float = 0.0,
        max_batch: int = 2048,
        decider: Decider | None = None,
    ) -> None:
        self.path = path
        self._batch_s = batch_ms / 1000
        self._max_batch = max_batch
        self._decider = decider or Decider()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = _connect(path)
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def append(self, records: Sequence[Record]) -> tuple[bool, ...]:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        if not records:
            return ()
        # serialise here, not in the writer: the writer should hold the GIL as little as it can
        rows = [
            (r.origin, r.event.uid, _ms(r.event.time), _ms(r.event.stale), r.event.type,
             event_to_xml(r.event))
            for r in records
        ]  # fmt: skip
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[bool, ...]] = loop.create_future()
        self._jobs.put((rows, fut, loop))
        return await fut

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        batch, size, stop = [first], len(first[0]), False
        deadline = time.monotonic() + self._batch_s
        while size < self._max_batch:
            try:
                wait = deadline - time.monotonic()
                job = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            batch.append(job)
            size += len(job[0])
        return batch, stop

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            self._commit(batch)
            if stop:
                return

    def _insert(self, rows: list[_Row]) -> list[bool]:
        """Insert in one statement; find which rows were new only when some were not."""
        conn = self._conn
        before = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        changes = conn.total_changes
        conn.executemany(_INSERT, rows)
        if conn.total_changes - changes == len(rows):
            return [True] * len(rows)
        fresh = set(
            conn.execute("SELECT origin, uid, time_ms FROM events WHERE seq > ?", (before,))
        )
        flags = []
        for row in rows:
            key = row[:3]
            flags.append(key in fresh)
            fresh.discard(key)  # a second copy in the same batch is a duplicate
        return flags

    def _commit(self, batch: list[_Job]) -> None:
        conn = self._conn
        rows = [row for job in batch for row in job[0]]
        try:
            conn.execute("BEGIN IMMEDIATE")
            flags = self._insert(rows)
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = StoreError(f"cannot append to {self.path}: {exc}")
            error.__cause__ = exc
            for job in batch:
                _settle(job, error)
            return
        pos = 0
        for job in batch:
            _settle(job, tuple(flags[pos : pos + len(job[0])]))
            pos += len(job[0])

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            conn = _connect(self.path)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    async def replay(
        self,
        start: datetime,
        end: datetime,
        viewer: Viewer | None = None,
        at: datetime | None = None,
        *,
        limit: int = 100_000,
    ) -> list[Record]:
        rows = await asyncio.to_thread(
            self._query,
            "SELECT origin, xml FROM events WHERE time_ms >= ? AND time_ms < ? ORDER BY seq",
            (_ms(start), _ms(end)),
        )
        found = []
        for origin, xml in rows:
            assert isinstance(origin, str) and isinstance(xml, bytes)
            found.append(Record(origin, parse_event(xml, _REPLAY_POLICY)))
        return visible(found, viewer, at, self._decider)[:limit]

    async def owners(self) -> dict[str, str]:
        rows = await asyncio.to_thread(
            self._query, "SELECT uid, origin FROM events ORDER BY seq DESC", ()
        )
        return {str(uid): str(origin) for uid, origin in rows}

    async def count(self) -> int:
        rows = await asyncio.to_thread(self._query, "SELECT count(*) FROM events", ())
        value = rows[0][0]
        assert isinstance(value, int)
        return value

    async def close(self) -> None:
        """Commit what is queued, then stop the writer and close the database."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)
        self._conn.close()
