"""The signed envelope one gateway sends another: the canonical item plus who sent it to whom,
when, under which audit entry, and an Ed25519 signature over all of that."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

import msgspec

from kizuna.errors import ParseError
from kizuna.gateway._keys import KeyRing, Signer

__all__ = ["Envelope", "open_envelope", "seal"]


class _Wire(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    msg_id: str
    sender: str
    receiver: str
    sent_at: str
    audit_seq: int
    item: bytes
    signature: bytes = b""


_DEC = msgspec.json.Decoder(_Wire)
_ENC = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Envelope:
    msg_id: str
    sender: str
    receiver: str
    sent_at: str
    audit_seq: int
    item: bytes
    signature: bytes = b""

    def body(self) -> bytes:
        """What the signature covers."""
        digest = sha256(self.item).hexdigest()
        return (
            f"kizuna-envelope/v1\n{self.msg_id}\n{self.sender}\n{self.receiver}\n"
            f"{self.sent_at}\n{self.audit_seq}\n{digest}\n"
        ).encode()

    def signature_ok(self, ring: KeyRing) -> bool:
        return bool(self.signature) and ring.verify(self.sender, self.signature, self.body())

    def encode(self) -> bytes:
        return _ENC.encode(
            _Wire(
                self.msg_id, self.sender, self.receiver, self.sent_at,
                self.audit_seq, self.item, self.signature,
            )
        )  # fmt: skip


def seal(
    signer: Signer, *, msg_id: str, receiver: str, sent_at: str, audit_seq: int, item: bytes
) -> Envelope:
    env = Envelope(msg_id, signer.name, receiver, sent_at, audit_seq, item)
    return Envelope(
        msg_id, signer.name, receiver, sent_at, audit_seq, item, signer.sign(env.body())
    )


def open_envelope(data: bytes) -> Envelope:
    """Parse (not yet trust) an envelope."""
    try:
        w = _DEC.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ParseError(f"envelope: {exc}") from exc
    if not w.msg_id or len(w.msg_id) > 128:
        raise ParseError("envelope.msg_id: must be 1..128 characters")
    return Envelope(w.msg_id, w.sender, w.receiver, w.sent_at, w.audit_seq, w.item, w.signature)
