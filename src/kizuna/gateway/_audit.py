"""The tamper-evident audit log: a hash chain over entries plus an RFC 6962 Merkle tree, with
Ed25519-signed checkpoints (tree heads) that the partner gateway countersigns and keeps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from hashlib import sha256

import msgspec

from kizuna.errors import ParseError
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._merkle import MerkleTree, leaf_hash

__all__ = [
    "GENESIS", "AuditEntry", "AuditLog", "AuditRow", "AuditSink", "Checkpoint", "Statement",
]  # fmt: skip

GENESIS = bytes(32)
_ENC = msgspec.json.Encoder()


class AuditEntry(msgspec.Struct, frozen=True):
    """One gateway decision (or tier change), as recorded. A frozen msgspec struct: one is
    made per item judged, and it is built in C."""

    seq: int
    at: str
    event: str  # outbound | inbound | tier | hold | approve | reject
    partner: str
    item: str
    outcome: str
    reasons: tuple[str, ...] = ()
    label: str = ""
    category: str = ""
    digest: str = ""
    detail: str = ""
    # The authenticated operator who acted (approve, reject, tier, checkpoint): the OS user
    # behind the admin socket, never text the operator typed (that goes in ``detail``).
    operator: str = ""

    def encode(self) -> bytes:
        """Canonical bytes: a JSON array in field order. ``operator`` is written only when
        set, so an entry without one has the same bytes as before the field existed."""
        fields: tuple[object, ...] = (
            self.seq,
            self.at,
            self.event,
            self.partner,
            self.item,
            self.outcome,
            self.reasons,
            self.label,
            self.category,
            self.digest,
            self.detail,
        )
        return _ENC.encode((*fields, self.operator) if self.operator else fields)

    @classmethod
    def decode(cls, data: bytes) -> AuditEntry:
        try:
            raw = msgspec.json.decode(data)
            if not isinstance(raw, list) or len(raw) not in (11, 12):
                raise TypeError("must be an array of 11 or 12 fields")
            seq, at, event, partner, item, outcome, reasons, label, cat, digest, detail = raw[:11]
            operator = raw[11] if len(raw) == 12 else ""
            if not isinstance(seq, int) or not all(isinstance(r, str) for r in reasons):
                raise TypeError("seq must be an integer and reasons strings")
            if not isinstance(operator, str) or (len(raw) == 12 and not operator):
                raise TypeError("operator must be a non-empty string when present")
            return cls(
                seq, at, event, partner, item, outcome, tuple(reasons), label, cat, digest,
                detail, operator,
            )  # fmt: skip
        except (msgspec.DecodeError, TypeError, ValueError) as exc:
            raise ParseError(f"audit entry is not well-formed: {exc}") from exc


class AuditRow(msgspec.Struct, frozen=True):
    """An entry as stored: its canonical bytes and the chain hash after it."""

    data: bytes
    chain: bytes


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    return sha256(prev + leaf).digest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed tree head. The partner's countersignature covers the same body."""

    log_id: str
    size: int
    root: bytes
    chain: bytes
    at: str
    signer: str = ""
    signature: bytes = b""
    cosigner: str = ""
    cosignature: bytes = b""

    def body(self) -> bytes:
        return (
            f"kizuna-checkpoint/v1\n{self.log_id}\n{self.size}\n"
            f"{self.root.hex()}\n{self.chain.hex()}\n{self.at}\n"
        ).encode()

    def signed(self, signer: Signer) -> Checkpoint:
        return replace(self, signer=signer.name, signature=signer.sign(self.body()))

    def countersigned(self, signer: Signer) -> Checkpoint:
        return replace(self, cosigner=signer.name, cosignature=signer.sign(self.body()))

    def signature_ok(self, ring: KeyRing) -> bool:
        return ring.verify(self.signer, self.signature, self.body())

    def cosignature_ok(self, ring: KeyRing) -> bool:
        return bool(self.cosigner) and ring.verify(self.cosigner, self.cosignature, self.body())


Statement = tuple[str, Sequence[object]]  # SQL and its parameters


class AuditSink:
    """Where rows go to be durable; the default keeps nothing beyond memory."""

    def write(self, rows: Sequence[AuditRow], also: Sequence[Statement] = ()) -> None:
        """Make ``rows`` durable (called by AuditLog.flush); ``also`` are state changes the
        rows record, committed in the same transaction so that neither is ever durable
        without the other."""

    def save_checkpoint(self, cp: Checkpoint) -> None:
        """Keep a checkpoint (ours, or one the partner sent us to countersign)."""


class AuditLog:
    """Append-only; every append extends both the chain and the tree."""

    def __init__(
        self, log_id: str, sink: AuditSink | None = None, rows: Iterable[AuditRow] = ()
    ) -> None:
        self.log_id = log_id
        self._sink = sink or AuditSink()
        self._tree = MerkleTree()
        self._rows: list[AuditRow] = []
        self._unflushed = 0
        self._chain = GENESIS
        for row in rows:  # rebuilt from storage as stored; `verify` judges it
            self._rows.append(row)
            self._tree.append(leaf_hash(row.data))
            self._chain = row.chain

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> Sequence[AuditRow]:
        return self._rows

    def append(
        self,
        at: str,
        event: str,
        partner: str,
        item: str,
        outcome: str,
        *,
        reasons: tuple[str, ...] = (),
        label: str = "",
        category: str = "",
        digest: str = "",
        detail: str = "",
        operator: str = "",
    ) -> AuditEntry:
        entry = AuditEntry(
            len(self._rows), at, event, partner, item, outcome, reasons,
            label, category, digest, detail, operator,
        )  # fmt: skip
        data = entry.encode()
        leaf = leaf_hash(data)
        self._chain = chain_hash(self._chain, leaf)
        self._rows.append(AuditRow(data, self._chain))
        self._tree.append(leaf)
        self._unflushed += 1
        return entry

    def flush(self, also: Sequence[Statement] = ()) -> None:
        """Make every appended entry durable before anything it records is acted on;
        ``also`` (state the entries record) is committed with them."""
        if self._unflushed or also:
            self._sink.write(self._rows[-self._unflushed :] if self._unflushed else [], also)
            self._unflushed = 0

    def root(self, size: int | None = None) -> bytes:
        return self._tree.root(size)

    def checkpoint(self, signer: Signer, at: str) -> Checkpoint:
        self.flush()
        size = len(self._rows)
        cp = Checkpoint(self.log_id, size, self._tree.root(), self._chain, at).signed(signer)
        self._sink.save_checkpoint(cp)
        return cp

    def keep(self, cp: Checkpoint) -> None:
        """Store a checkpoint once it has been countersigned."""
        self._sink.save_checkpoint(cp)

    def leaf(self, seq: int) -> bytes:
        return leaf_hash(self._rows[seq].data)

    def entry(self, seq: int) -> AuditEntry:
        return AuditEntry.decode(self._rows[seq].data)

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        return self._tree.inclusion_proof(seq, size)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        return self._tree.consistency_proof(old, new)
