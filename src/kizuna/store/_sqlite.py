"""The embedded default Store: SQLite in WAL mode with synchronous=FULL and group commit.

A batch is written the moment the writer is idle: nothing waits for more rows to arrive, so
a lone event costs one commit and no timer. Appends that come while a commit is in flight
gather, and when it lands the event loop writes everything gathered in one transaction
(cheap: pages go to the WAL in the OS cache) and hands only the COMMIT, whose fsync is the
slow part, to a single writer thread. One fsync covers the whole batch, and the thread takes
the GIL twice per batch, not once per row, so a busy loop cannot starve it. The thread wakes
the loop once per batch; the next batch is started before the callers of this one are told,
so its fsync runs while they relay. Each caller hears only after its batch is durable.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from kizuna._files import create_private
from kizuna.cot import CotPolicy, event_to_xml, parse_event
from kizuna.errors import StoreError
from kizuna.labels import Decider, Viewer
from kizuna.store._base import DEFAULT, PUBLISHER, Committed, LabelSource, Record, visible

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
    nation   TEXT    NOT NULL DEFAULT '',
    label_source TEXT NOT NULL DEFAULT 'publisher',
    UNIQUE (origin, uid, time_ms)
);
CREATE INDEX IF NOT EXISTS events_time ON events (time_ms);
"""
# columns added since the first schema: a file written before them gains them on open (its
# old rows have no known nation, which no reader takes as anyone's)
_ADDED = (
    ("nation", "TEXT NOT NULL DEFAULT ''"),
    ("label_source", "TEXT NOT NULL DEFAULT 'publisher'"),
)
_INSERT = (
    "INSERT OR IGNORE INTO events (origin, uid, time_ms, stale_ms, type, xml, nation, "
    "label_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# stored XML was written by us, so only size and depth matter on the way back
_REPLAY_POLICY = CotPolicy(max_unknown_bytes=64 * 1024)

_Row = tuple[str, str, int, int, str, bytes, str, LabelSource]
_Job = tuple[list[_Row], Committed, Callable[[], None] | None]


def _ms(t: datetime) -> int:
    return (t - _EPOCH) // _MS


def _settle(fut: asyncio.Future[tuple[bool, ...]], result: tuple[bool, ...] | StoreError) -> None:
    if fut.done():
        return
    if isinstance(result, StoreError):
        fut.set_exception(result)
    else:
        fut.set_result(result)


def _tell(
    loop: asyncio.AbstractEventLoop, call: Callable[..., None], *args: tuple[bool, ...]
) -> None:
    """One caller's failing callback must not keep the rest of its batch from hearing."""
    try:
        call(*args)
    except Exception as exc:  # reported through the loop, as asyncio does
        loop.call_exception_handler({"message": "store commit callback failed", "exception": exc})


def _migrate(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    for name, decl in _ADDED:
        if name not in have:
            conn.execute(f"ALTER TABLE events ADD COLUMN {name} {decl}")


def _label_source(value: object) -> LabelSource:
    # anything but a known publisher's mark reads as the node's default: fail closed
    return PUBLISHER if value == PUBLISHER else DEFAULT


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _record(row: tuple[object, ...]) -> tuple[int, Record]:
    seq, origin, xml, nation, source = row
    assert isinstance(seq, int) and isinstance(origin, str) and isinstance(xml, bytes)
    event = parse_event(xml, _REPLAY_POLICY)
    return seq, Record(origin, event, str(nation), _label_source(source))


class SqliteStore:
    def __init__(
        self,
        path: Path,
        *,
        max_batch: int = 4096,
        decider: Decider | None = None,
    ) -> None:
        self.path = path
        self._max_batch = max_batch
        self._decider = decider or Decider()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private(path)  # 0600 before SQLite writes a byte (its -wal/-shm follow)
            self._conn = _connect(path)
            self._conn.executescript(_SCHEMA)
            _migrate(self._conn)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self._jobs: deque[_Job] = deque()
        self._busy = False  # a transaction is being written or committed
        self._closed = False
        self._idle: asyncio.Event | None = None
        self._fsync = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self.commits = 0

    async def append(self, records: Sequence[Record]) -> tuple[bool, ...]:
        if not records:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            return ()
        fut: asyncio.Future[tuple[bool, ...]] = asyncio.get_running_loop().create_future()
        self.submit(records, partial(_settle, fut))
        return await fut

    def submit(
        self, records: Sequence[Record], done: Committed, *, after: Callable[[], None] | None = None
    ) -> None:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        rows = [
            (r.origin, r.event.uid, _ms(r.event.time), _ms(r.event.stale), r.event.type,
             event_to_xml(r.event), r.nation, r.label_source)
            for r in records
        ]  # fmt: skip
        self._jobs.append((rows, done, after))
        if not self._busy:
            self._start()

    def _take(self) -> list[_Job]:
        batch: list[_Job] = []
        size = 0
        while self._jobs and (not batch or size + len(self._jobs[0][0]) <= self._max_batch):
            job = self._jobs.popleft()
            batch.append(job)
            size += len(job[0])
        return batch

    def _start(self) -> None:
        batch = self._take()
        rows = [row for rows, _, _ in batch for row in rows]
        self._busy = True
        loop = asyncio.get_running_loop()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            flags = self._insert(rows)
        except sqlite3.Error as exc:
            self._fail(loop, batch, exc)
            return
        self._fsync.submit(self._commit, loop, batch, flags)

    def _commit(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Job], flags: list[bool]
    ) -> None:
        """On the writer thread: the fsync, then one wake-up of the loop."""
        exc: Exception | None = None
        try:
            self._conn.execute("COMMIT")
        except Exception as e:  # whatever it is, the callers must hear of it
            exc = e
        loop.call_soon_threadsafe(self._committed, loop, batch, flags, exc)

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

    def _committed(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Job],
        flags: list[bool],
        exc: Exception | None,
    ) -> None:
        if exc is not None:
            self._fail(loop, batch, exc)
            return
        self.commits += 1
        self._next()
        pos = 0
        afters: dict[Callable[[], None], None] = {}  # once each, in order
        for rows, done, after in batch:
            _tell(loop, done, tuple(flags[pos : pos + len(rows)]))
            pos += len(rows)
            if after is not None:
                afters[after] = None
        for after in afters:
            _tell(loop, after)

    def _fail(self, loop: asyncio.AbstractEventLoop, batch: list[_Job], exc: BaseException) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        afters: dict[Callable[[], None], None] = {}
        for _, done, after in batch:
            error = StoreError(f"cannot append to {self.path}: {exc}")
            error.__cause__ = exc
            loop.call_soon(done, error)  # never from inside submit
            if after is not None:
                afters[after] = None
        for after in afters:
            loop.call_soon(after)
        self._next()

    def _next(self) -> None:
        self._busy = False
        if self._jobs:
            self._start()
        elif self._idle is not None:
            self._idle.set()

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
            "SELECT origin, xml, nation, label_source FROM events "
            "WHERE time_ms >= ? AND time_ms < ? ORDER BY seq",
            (_ms(start), _ms(end)),
        )
        found = [_record(row)[1] for row in ((0, *r) for r in rows)]
        return visible(found, viewer, at, self._decider)[:limit]

    async def since(self, after: int, limit: int) -> list[tuple[int, Record]]:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        if limit <= 0:
            return []
        rows = await asyncio.to_thread(
            self._query,
            "SELECT seq, origin, xml, nation, label_source FROM events "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [_record(row) for row in rows]

    async def last_seq(self) -> int:
        rows = await asyncio.to_thread(self._query, "SELECT coalesce(max(seq), 0) FROM events", ())
        value = rows[0][0]
        assert isinstance(value, int)
        return value

    async def current(self, at: datetime) -> list[Record]:
        rows = await asyncio.to_thread(
            self._query,
            "SELECT origin, xml, nation, label_source FROM ("
            " SELECT seq, origin, xml, nation, label_source, stale_ms, row_number() OVER"
            " (PARTITION BY uid ORDER BY time_ms DESC, seq DESC) AS n FROM events"
            ") WHERE n = 1 AND stale_ms > ? ORDER BY seq",
            (_ms(at),),
        )
        return [_record((0, *r))[1] for r in rows]

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
        """Commit what is queued, then close the database."""
        if self._closed:
            return
        self._closed = True
        if self._busy:
            self._idle = asyncio.Event()
            await self._idle.wait()
        self._fsync.shutdown(wait=True)
        self._conn.close()
