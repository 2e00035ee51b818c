"""The gateway's own SQLite file: audit rows, checkpoints (ours and the partner's we
countersigned), the hold queue, the message ids already accepted inbound, and the cursors
over the node feed (how far each partner's offers and the hand-over to the node have got)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from kizuna._files import create_private
from kizuna.errors import StoreError
from kizuna.gateway._audit import AuditRow, AuditSink, Checkpoint, Statement

__all__ = ["GatewayDb", "HeldItem", "Received", "TierState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, data BLOB NOT NULL, chain BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    log_id TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, chain BLOB NOT NULL,
    at TEXT NOT NULL, signer TEXT NOT NULL, signature BLOB NOT NULL,
    cosigner TEXT NOT NULL, cosignature BLOB NOT NULL,
    PRIMARY KEY (log_id, size, cosigner)
);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, partner TEXT NOT NULL, uid TEXT NOT NULL,
    data BLOB NOT NULL, rule TEXT NOT NULL, at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'held'
);
CREATE TABLE IF NOT EXISTS tiers (
    partner TEXT PRIMARY KEY, tier TEXT NOT NULL, pinned INTEGER NOT NULL,
    at TEXT NOT NULL, operator TEXT NOT NULL, why TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (msg_id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS received (
    msg_id TEXT PRIMARY KEY, origin TEXT NOT NULL, uid TEXT NOT NULL, label TEXT NOT NULL,
    data BLOB NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, msg_id TEXT NOT NULL,
    data BLOB NOT NULL
);
"""


_SET_CURSOR = "INSERT OR REPLACE INTO feed_cursors VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class HeldItem:
    id: int
    partner: str
    uid: str
    data: bytes
    rule: str
    at: str
    state: str


@dataclass(frozen=True, slots=True)
class TierState:
    """The tier last in force for a partner; ``pinned`` when an operator set it, and then it
    outranks the file and the assessments until an operator clears it."""

    partner: str
    tier: str
    pinned: bool
    at: str
    operator: str = ""
    why: str = ""

    def statement(self) -> Statement:
        """The write that records this state, for the audit flush that records the change."""
        return (
            "INSERT OR REPLACE INTO tiers VALUES (?, ?, ?, ?, ?, ?)",
            (self.partner, self.tier, int(self.pinned), self.at, self.operator, self.why),
        )


class Received(msgspec.Struct, frozen=True):
    """An item accepted from the partner, as stored (one is made per item accepted)."""

    msg_id: str
    origin: str
    uid: str
    label: str
    data: bytes
    at: str


class GatewayDb(AuditSink):
    """The gateway's database. A new file is created 0600 before SQLite writes a byte (its
    -wal and -shm files take that mode); ``readonly`` opens an existing file for reading and
    never creates one, for commands that only look."""

    def __init__(self, path: Path | str = ":memory:", *, readonly: bool = False) -> None:
        self.path = str(path)
        self._next_seq: int | None = None
        try:
            if readonly:
                if not Path(self.path).is_file():
                    raise StoreError(f"no gateway database at {self.path}")
                uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
                self._db.execute("SELECT 1 FROM audit LIMIT 1")  # a gateway's, or an error
                return
            if self.path != ":memory:":
                create_private(self.path)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open gateway database {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _run(self, what: str, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot {what} in {self.path}: {exc}") from exc

    # -- audit -----------------------------------------------------------------------------

    def write(self, rows: Sequence[AuditRow], also: Sequence[Statement] = ()) -> None:
        if self._next_seq is None:
            (top,) = self._run("find the audit tail", "SELECT MAX(seq) FROM audit").fetchone()
            self._next_seq = 0 if top is None else int(top) + 1
        start = self._next_seq
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO audit VALUES (?, ?, ?)",
                    [(start + i, r.data, r.chain) for i, r in enumerate(rows)],
                )
                for sql, params in also:
                    self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot append audit rows in {self.path}: {exc}") from exc
        self._next_seq = start + len(rows)

    def rows(self) -> list[AuditRow]:
        cur = self._run("read audit rows", "SELECT data, chain FROM audit ORDER BY seq")
        return [AuditRow(bytes(d), bytes(c)) for d, c in cur]

    def save_checkpoint(self, cp: Checkpoint) -> None:
        self._run(
            "save a checkpoint",
            "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cp.log_id, cp.size, cp.root, cp.chain, cp.at,
                cp.signer, cp.signature, cp.cosigner, cp.cosignature,
            ),
        )  # fmt: skip

    def checkpoints(self, log_id: str | None = None) -> list[Checkpoint]:
        cur = self._run(
            "read checkpoints",
            "SELECT * FROM checkpoints WHERE ? IS NULL OR log_id = ? ORDER BY size",
            (log_id, log_id),
        )
        return [
            Checkpoint(lid, size, bytes(root), bytes(chain), at, s, bytes(sig), cs, bytes(csig))
            for lid, size, root, chain, at, s, sig, cs, csig in cur
        ]

    # -- tiers -----------------------------------------------------------------------------

    def tier_states(self) -> dict[str, TierState]:
        cur = self._run("read tiers", "SELECT partner, tier, pinned, at, operator, why FROM tiers")
        return {p: TierState(p, t, bool(pin), a, o, w) for p, t, pin, a, o, w in cur}

    # -- holds -----------------------------------------------------------------------------

    def hold(self, partner: str, uid: str, data: bytes, rule: str, at: str) -> int:
        cur = self._run(
            "hold an item",
            "INSERT INTO holds (partner, uid, data, rule, at) VALUES (?, ?, ?, ?, ?)",
            (partner, uid, data, rule, at),
        )
        return int(cur.lastrowid or 0)

    def holds(self, state: str | None = "held") -> list[HeldItem]:
        cur = self._run(
            "list holds",
            "SELECT id, partner, uid, data, rule, at, state FROM holds "
            "WHERE ? IS NULL OR state = ? ORDER BY id",
            (state, state),
        )
        return [HeldItem(i, p, u, bytes(d), r, a, s) for i, p, u, d, r, a, s in cur]

    def get_hold(self, hold_id: int) -> HeldItem | None:
        found = [h for h in self.holds(None) if h.id == hold_id]
        return found[0] if found else None

    @staticmethod
    def settle_statement(hold_id: int, state: str) -> Statement:
        """The write that settles a hold, for the commit of the audit entry that decides it."""
        return "UPDATE holds SET state = ? WHERE id = ?", (state, hold_id)

    def settle(self, hold_id: int, state: str) -> None:
        self._run("settle a hold", "UPDATE holds SET state = ? WHERE id = ?", (state, hold_id))

    # -- inbound replay --------------------------------------------------------------------

    def seen(self, msg_id: str) -> bool:
        cur = self._run("look up a message id", "SELECT 1 FROM seen WHERE msg_id = ?", (msg_id,))
        return cur.fetchone() is not None

    def seen_among(self, msg_ids: Sequence[str]) -> set[str]:
        """Which of these message ids were accepted before: one query for a run of them."""
        cur = self._run(
            "look up message ids",
            "SELECT msg_id FROM seen WHERE msg_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(msg_ids)),),
        )
        return {m for (m,) in cur}

    def mark_seen(self, msg_id: str, at: str) -> None:
        self._run("record a message id", "INSERT OR IGNORE INTO seen VALUES (?, ?)", (msg_id, at))

    # -- items accepted from the partner ---------------------------------------------------

    @staticmethod
    def accept_statements(received: Sequence[Received]) -> list[Statement]:
        """The writes that store accepted items with their origin and mark their ids seen,
        for the commit of the audit entries that accepted them: a received frame costs one
        commit, and an item is never on record as accepted without being stored."""
        out: list[Statement] = []
        for r in received:
            out.append(
                (
                    "INSERT INTO received VALUES (?, ?, ?, ?, ?, ?)",
                    (r.msg_id, r.origin, r.uid, r.label, r.data, r.at),
                )
            )
            out.append(("INSERT OR IGNORE INTO seen VALUES (?, ?)", (r.msg_id, r.at)))
        return out

    def received(self) -> list[Received]:
        cur = self._run(
            "read received items",
            "SELECT msg_id, origin, uid, label, data, at FROM received ORDER BY rowid",
        )
        return [Received(m, o, u, lb, bytes(d), a) for m, o, u, lb, d, a in cur]

    def received_since(self, after: int, limit: int) -> list[tuple[int, Received]]:
        """Accepted items stored after position ``after`` (their order of acceptance)."""
        cur = self._run(
            "read received items",
            "SELECT rowid, msg_id, origin, uid, label, data, at FROM received "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [(int(n), Received(m, o, u, lb, bytes(d), a)) for n, m, o, u, lb, d, a in cur]

    # -- feed cursors ----------------------------------------------------------------------

    def cursor(self, name: str) -> int:
        """How far the cursor ``name`` has got (0: not started)."""
        cur = self._run("read a cursor", "SELECT seq FROM feed_cursors WHERE name = ?", (name,))
        row = cur.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def cursor_statement(name: str, seq: int) -> Statement:
        """The write that moves cursor ``name`` to ``seq``: committed with the audit rows of
        what was judged up to it, so the two are durable together."""
        return _SET_CURSOR, (name, seq)

    def save_cursor(self, name: str, seq: int) -> None:
        """Move a cursor now, on its own."""
        self._run("save a cursor", _SET_CURSOR, (name, seq))

    # -- outbox: sealed envelopes on their way to the bus ----------------------------------

    @staticmethod
    def outbox_statements(subject: str, sealed: Sequence[tuple[str, bytes]]) -> list[Statement]:
        """The writes that keep ``(msg_id, envelope)`` pairs for ``subject`` until the bus
        has them, committed with the audit rows that released them: a crash between the
        audit and the bus then loses no release (the next start publishes them)."""
        return [
            ("INSERT INTO outbox (subject, msg_id, data) VALUES (?, ?, ?)", (subject, m, d))
            for m, d in sealed
        ]

    def outbox(self) -> list[tuple[int, str, str, bytes]]:
        """What is waiting for the bus: ``(id, subject, msg_id, envelope)`` in order."""
        cur = self._run(
            "read the outbox", "SELECT id, subject, msg_id, data FROM outbox ORDER BY id"
        )
        return [(int(i), s, m, bytes(d)) for i, s, m, d in cur]

    @staticmethod
    def outbox_done(upto: int) -> Statement:
        """The write that forgets envelopes the bus has durably taken, up to ``upto``: it
        rides the next commit rather than costing one of its own."""
        return "DELETE FROM outbox WHERE id <= ?", (upto,)
