"""The embedded default bus: in process, durable in one SQLite file (WAL, synchronous=FULL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from kizuna._files import create_private
from kizuna.bus._protocol import Message, PubAck, subject_matches
from kizuna.clock import Clock, RealClock
from kizuna.errors import ConfigError, TransportError

__all__ = ["SqliteBus"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS consumers (
    durable TEXT PRIMARY KEY,
    filter TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending (
    durable TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    deadline REAL NOT NULL,
    PRIMARY KEY (durable, seq)
);
"""
_SCAN = 256


class SqliteBus:
    """One stream holding every subject; consumers filter by subject with NATS wildcards."""

    def __init__(
        self, path: Path | str = ":memory:", *, clock: Clock | None = None, name: str = "KIZUNA"
    ) -> None:
        self.name = name
        self._clock = clock or RealClock()
        self._path = str(path)
        self._wake = asyncio.Event()
        if self._path != ":memory:" and not self._path.startswith("file:"):
            try:  # 0600 before SQLite writes a byte (its -wal/-shm follow)
                create_private(self._path)
            except ConfigError as exc:
                raise TransportError(f"cannot open bus {self._path}: {exc}") from exc
        try:
            self._db = sqlite3.connect(self._path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            # Whatever was in flight when the process stopped is due again at once.
            self._db.execute("UPDATE pending SET deadline = 0")
        except sqlite3.Error as exc:
            raise TransportError(f"cannot open bus {self._path}: {exc}") from exc

    def _now(self) -> float:
        return self._clock.now().timestamp()

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PubAck:
        (ack,) = await self.publish_many(subject, [(data, msg_id)])
        return ack

    async def publish_many(
        self, subject: str, messages: Sequence[tuple[bytes, str]]
    ) -> list[PubAck]:
        if any(not msg_id for _, msg_id in messages):
            raise ValueError("a message id is required for de-duplication")
        ids = [msg_id for _, msg_id in messages]
        now = self._now()
        try:
            with self._db:  # one commit for the lot: durable together, or not at all
                self._db.execute("BEGIN")
                known = self._seqs(ids)
                first: dict[str, bytes] = {}  # a repeated id within the batch: its first copy
                for data, msg_id in messages:
                    if msg_id not in known:
                        first.setdefault(msg_id, bytes(data))
                self._db.executemany(
                    "INSERT INTO messages (subject, msg_id, data, at) VALUES (?, ?, ?, ?)",
                    [(subject, m, d, now) for m, d in first.items()],
                )
                # the write lock is held, so the batch's rows took consecutive positions
                (last,) = self._db.execute("SELECT last_insert_rowid()").fetchone()
                seqs = known | {m: int(last) - len(first) + 1 + i for i, m in enumerate(first)}
        except sqlite3.Error as exc:
            raise TransportError(f"cannot publish to {subject}: {exc}") from exc
        acks, fresh = [], set(first)
        for msg_id in ids:
            acks.append(PubAck(self.name, seqs[msg_id], duplicate=msg_id not in fresh))
            fresh.discard(msg_id)
        if messages:
            self._wake.set()
        return acks

    def _seqs(self, ids: Sequence[str]) -> dict[str, int]:
        """Stream positions of the ids already stored."""
        rows = self._db.execute(
            "SELECT msg_id, seq FROM messages WHERE msg_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
        return {m: int(q) for m, q in rows}

    async def subscribe(
        self, filter_subject: str, *, durable: str, ack_wait: float = 30.0
    ) -> _Consumer:
        if ack_wait <= 0:
            raise ValueError("ack_wait must be positive")
        row = self._db.execute(
            "SELECT filter FROM consumers WHERE durable = ?", (durable,)
        ).fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO consumers (durable, filter) VALUES (?, ?)", (durable, filter_subject)
            )
        elif row[0] != filter_subject:
            raise TransportError(f"consumer {durable} already filters {row[0]!r}")
        return _Consumer(self, durable, filter_subject, ack_wait)

    async def close(self) -> None:
        self._db.close()

    # -- used by consumers ---------------------------------------------------------------

    def _due(self, durable: str, limit: int) -> list[tuple[int, int]]:
        rows = self._db.execute(
            "SELECT seq, deliveries FROM pending WHERE durable = ? AND deadline <= ? "
            "ORDER BY seq LIMIT ?",
            (durable, self._now(), limit),
        ).fetchall()
        return [(int(s), int(d)) for s, d in rows]

    def _take(self, c: _Consumer, batch: int) -> list[Message]:
        now = self._now()
        due = self._due(c.durable, batch)
        out = [self._message(c, s, d + 1) for s, d in due]  # redeliveries first
        (delivered,) = self._db.execute(
            "SELECT delivered FROM consumers WHERE durable = ?", (c.durable,)
        ).fetchone()
        while len(out) < batch:
            rows = self._db.execute(
                "SELECT seq, subject, msg_id, data FROM messages WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (delivered, _SCAN),
            ).fetchall()
            if not rows:
                break
            for seq, subj, msg_id, data in rows:
                if len(out) >= batch:
                    break
                delivered = seq
                if subject_matches(c.filter, subj):
                    out.append(Message(subj, bytes(data), msg_id, int(seq), 1, c))
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE consumers SET delivered = ? WHERE durable = ?", (delivered, c.durable)
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)",
                [(c.durable, m.seq, m.deliveries, now + c.ack_wait) for m in out],
            )
        return out

    def _message(self, c: _Consumer, seq: int, deliveries: int) -> Message:
        subj, msg_id, data = self._db.execute(
            "SELECT subject, msg_id, data FROM messages WHERE seq = ?", (seq,)
        ).fetchone()
        return Message(subj, bytes(data), msg_id, seq, deliveries, c)


class _Consumer:
    def __init__(self, bus: SqliteBus, durable: str, filter_subject: str, ack_wait: float) -> None:
        self._bus = bus
        self.durable = durable
        self.filter = filter_subject
        self.ack_wait = ack_wait

    async def fetch(self, batch: int = 1, timeout: float = 0.0) -> list[Message]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while True:
            self._bus._wake.clear()
            try:
                got = self._bus._take(self, batch)
            except sqlite3.Error as exc:
                raise TransportError(f"cannot fetch for {self.durable}: {exc}") from exc
            left = until - loop.time()
            if got or left <= 0:
                return got
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bus._wake.wait(), timeout=min(left, 0.05))

    def pending(self) -> int:
        db = self._bus._db
        (delivered,) = db.execute(
            "SELECT delivered FROM consumers WHERE durable = ?", (self.durable,)
        ).fetchone()
        (inflight,) = db.execute(
            "SELECT COUNT(*) FROM pending WHERE durable = ?", (self.durable,)
        ).fetchone()
        rows = db.execute("SELECT subject FROM messages WHERE seq > ?", (delivered,)).fetchall()
        return int(inflight) + sum(1 for (s,) in rows if subject_matches(self.filter, s))

    async def ack(self, seq: int) -> None:
        try:
            self._bus._db.execute(
                "DELETE FROM pending WHERE durable = ? AND seq = ?", (self.durable, seq)
            )
        except sqlite3.Error as exc:
            raise TransportError(f"cannot ack {seq} for {self.durable}: {exc}") from exc

    async def ack_many(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        try:
            with self._bus._db:
                self._bus._db.execute("BEGIN")
                self._bus._db.executemany(
                    "DELETE FROM pending WHERE durable = ? AND seq = ?",
                    [(self.durable, m.seq) for m in messages],
                )
        except sqlite3.Error as exc:
            raise TransportError(f"cannot ack for {self.durable}: {exc}") from exc

    async def nak(self, seq: int) -> None:
        self._bus._db.execute(
            "UPDATE pending SET deadline = 0 WHERE durable = ? AND seq = ?", (self.durable, seq)
        )
        self._bus._wake.set()
