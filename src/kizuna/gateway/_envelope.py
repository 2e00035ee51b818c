"""The signed envelope one gateway sends another: the canonical item plus who sent it to whom,
when, under which audit entry, and an Ed25519 signature.

A gateway seals the items it releases together as one batch: each envelope's body is a leaf
of an RFC 6962 Merkle tree, the signature covers the tree's root, and each envelope carries
its audit path to that root. Every envelope still stands alone (any one of them proves its own
body was signed), but a batch costs one signature to make and, at a receiver that remembers
the roots it has verified, one to check: the signing, not the guard, was most of a crossing.

The metadata a receiver needs about an item travels here, signed, never in the item's own
bytes: its ``origin`` (always the sender: a gateway offers only its own nation's records),
its ``category`` (from the CoT type) and its ``label_source`` ("publisher", or "default"
when the sender's node gave the item its default label). A receiver checks each against
what it derives itself; an envelope with any of them missing fails that check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

import msgspec

from kizuna.errors import ParseError
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._merkle import Place, batch_paths, leaf_hash, path_nodes

__all__ = [
    "Envelope",
    "HeadCheck",
    "Meta",
    "open_envelope",
    "peek_msg_id",
    "seal",
    "seal_batch",
]

MAX_BATCH = 1 << 16
_MAX_PATH = 16  # log2(MAX_BATCH): a longer audit path cannot belong to any batch we accept


def _head(sender: str, size: int, root: bytes) -> bytes:
    """What the signature covers: the batch's root, its size and who made it."""
    return f"kizuna-batch/v1\n{sender}\n{size}\n{root.hex()}\n".encode()


class Meta(msgspec.Struct, frozen=True):
    """What the sender says about an item, signed with it: see the module's docstring."""

    origin: str
    category: str
    label_source: str = "publisher"


class Envelope(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Also the wire form: the JSON object ``encode`` writes and ``open_envelope`` reads."""

    msg_id: str
    sender: str
    receiver: str
    sent_at: str
    audit_seq: int
    item: bytes
    signature: bytes = b""
    index: int = 0  # this envelope's place in its batch
    size: int = 1  # how many envelopes the batch holds
    path: tuple[bytes, ...] = ()  # audit path from this envelope's leaf to the batch root
    origin: str = ""  # signed metadata ("": missing, which no receiver accepts)
    category: str = ""
    label_source: str = ""

    @property
    def meta(self) -> Meta:
        return Meta(self.origin, self.category, self.label_source)

    def body(self) -> bytes:
        """This envelope's leaf: everything about it except the signature and the path."""
        return _body(
            self.msg_id,
            self.sender,
            self.receiver,
            self.sent_at,
            seq=self.audit_seq,
            item=self.item,
            meta=self.meta,
        )

    def signature_ok(self, ring: KeyRing) -> bool:
        return HeadCheck(ring.verify)(self)

    def encode(self) -> bytes:
        return _ENC.encode(self)


def _body(
    msg_id: str, sender: str, receiver: str, sent_at: str, *, seq: int, item: bytes, meta: Meta
) -> bytes:
    # every text is one line: a newline inside one would let two bodies read alike
    texts = (msg_id, sender, receiver, sent_at, meta.origin, meta.category, meta.label_source)
    if any("\n" in t for t in texts):
        return b""  # a leaf no signer makes: such an envelope can never verify
    digest = sha256(item).hexdigest()
    return (
        f"kizuna-envelope/v2\n{msg_id}\n{sender}\n{receiver}\n{sent_at}\n{seq}\n{digest}\n"
        f"{meta.origin}\n{meta.category}\n{meta.label_source}\n"
    ).encode()


_DEC = msgspec.json.Decoder(Envelope)
_ENC = msgspec.json.Encoder()


class HeadCheck:
    """Checks an envelope's signature, remembering the batch heads already verified so that
    the rest of a batch costs a few hashes. Only good heads are kept: a bad signature is
    checked afresh every time, exactly as without the memory.

    For each good head it also keeps every subtree hash a verified path computed, by place.
    A later envelope of that batch is walked up from its leaf only until it reaches a place
    already proven under the signed root: it belongs to the batch if its hash there is the
    proven one (anything else would need a SHA-256 collision), and fails if not."""

    def __init__(
        self, verify: Callable[[str, bytes, bytes], bool], keep: int = 1024, nodes: int = 1 << 18
    ) -> None:
        self._verify = verify
        self._keep, self._max_nodes = keep, nodes  # heads, and subtree hashes over all heads
        self._good: dict[tuple[str, bytes, int], dict[Place, bytes]] = {}
        self._nodes = 0

    def __call__(self, env: Envelope) -> bool:
        if not env.signature:
            return False
        key = (env.sender, env.signature, env.size)
        proven = self._good.get(key)
        nodes = path_nodes(env.index, env.size, leaf_hash(env.body()), env.path, proven)
        if nodes is None:
            return False
        place, value = nodes[-1]
        if proven is not None:  # the walk stopped at a proven place: the root, if no sooner
            if proven[place] != value:
                return False
            before = len(proven)
            proven.update(nodes)
            self._nodes += len(proven) - before
            return True
        if not self._verify(env.sender, env.signature, _head(env.sender, env.size, value)):
            return False
        if len(self._good) >= self._keep or self._nodes >= self._max_nodes:
            self._good.clear()
            self._nodes = 0
        self._good[key] = dict(nodes)
        self._nodes += len(nodes)
        return True


def seal_batch(
    signer: Signer,
    *,
    receiver: str,
    sent_at: str,
    items: Sequence[tuple[str, int, bytes]],
    meta: Sequence[Meta] = (),
) -> list[Envelope]:
    """Seal ``(msg_id, audit_seq, item)`` triples under one signature, each with its
    ``meta`` (in the same order). Without ``meta`` an envelope says only its origin, the
    signer's nation, and no receiver accepts it (its category is missing)."""
    if not items:
        return []
    if len(items) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} envelopes")
    name = signer.name
    metas = list(meta) or [Meta(name, "", "")] * len(items)
    if len(metas) != len(items):
        raise ValueError("a batch needs one meta per item")
    bodies = [
        _body(m, name, receiver, sent_at, seq=seq, item=item, meta=mt)
        for (m, seq, item), mt in zip(items, metas, strict=True)
    ]
    if not all(bodies):
        raise ValueError("an envelope's texts must each be one line")
    root, paths = batch_paths([leaf_hash(b) for b in bodies])
    size = len(items)
    signature = signer.sign(_head(name, size, root))
    return [
        Envelope(
            m,
            name,
            receiver,
            sent_at,
            seq,
            item,
            signature,
            i,
            size,
            tuple(path),
            mt.origin,
            mt.category,
            mt.label_source,
        )
        for i, ((m, seq, item), path, mt) in enumerate(zip(items, paths, metas, strict=True))
    ]


def seal(
    signer: Signer,
    *,
    msg_id: str,
    receiver: str,
    sent_at: str,
    audit_seq: int,
    item: bytes,
    meta: Meta | None = None,
) -> Envelope:
    """One envelope sealed on its own: a batch of one."""
    return seal_batch(
        signer,
        receiver=receiver,
        sent_at=sent_at,
        items=[(msg_id, audit_seq, item)],
        meta=[meta] if meta is not None else (),
    )[0]


class _MsgId(msgspec.Struct):
    msg_id: str = ""


_PEEK = msgspec.json.Decoder(_MsgId)


def peek_msg_id(data: bytes) -> str:
    """The message id an envelope names, read without judging anything else ("" if none can
    be read): a hint for looking ids up together, never a reason to trust the envelope."""
    try:
        return _PEEK.decode(data).msg_id
    except (msgspec.ValidationError, msgspec.DecodeError):
        return ""


def open_envelope(data: bytes) -> Envelope:
    """Parse (not yet trust) an envelope."""
    try:
        env = _DEC.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ParseError(f"envelope: {exc}") from exc
    if not env.msg_id or len(env.msg_id) > 128:
        raise ParseError("envelope.msg_id: must be 1..128 characters")
    if not 1 <= env.size <= MAX_BATCH or not 0 <= env.index < env.size:
        raise ParseError("envelope.index: not a place in a batch of its size")
    if len(env.path) > _MAX_PATH or any(len(p) != 32 for p in env.path):
        raise ParseError("envelope.path: not an audit path of 32-byte hashes")
    return env
