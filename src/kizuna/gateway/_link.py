"""The link between gateways on TCP: length-prefixed frames, one reply per request.

Request kinds: ``E`` a signed envelope (reply: the inbound verdict), ``C`` a checkpoint to
countersign (reply: the countersigned checkpoint or an error). The same framing serves the
local admin port (``O`` offer, ``H`` holds, ``A`` approve, ``R`` reject, ``T`` set a partner's
tier, ``K`` checkpoint now),
which listens on loopback only.
"""

from __future__ import annotations

import asyncio
import struct

import msgspec

from kizuna.errors import ParseError, TransportError
from kizuna.gateway._audit import Checkpoint

__all__ = [
    "MAX_FRAME",
    "CheckpointWire",
    "checkpoint_from_wire",
    "checkpoint_to_wire",
    "read_frame",
    "request",
    "write_frame",
]

MAX_FRAME = 1 << 20
_LEN = struct.Struct(">I")


class CheckpointWire(msgspec.Struct, forbid_unknown_fields=True):
    log_id: str
    size: int
    root: bytes
    chain: bytes
    at: str
    signer: str
    signature: bytes
    cosigner: str = ""
    cosignature: bytes = b""
    proof: list[bytes] = []


def checkpoint_to_wire(cp: Checkpoint, proof: list[bytes] | None = None) -> bytes:
    return msgspec.json.encode(
        CheckpointWire(
            cp.log_id, cp.size, cp.root, cp.chain, cp.at,
            cp.signer, cp.signature, cp.cosigner, cp.cosignature, proof or [],
        )
    )  # fmt: skip


def checkpoint_from_wire(data: bytes) -> tuple[Checkpoint, list[bytes]]:
    try:
        w = msgspec.json.decode(data, type=CheckpointWire)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"checkpoint: {exc}") from exc
    cp = Checkpoint(
        w.log_id, w.size, w.root, w.chain, w.at, w.signer, w.signature, w.cosigner, w.cosignature
    )
    return cp, w.proof


async def read_frame(reader: asyncio.StreamReader, limit: int = MAX_FRAME) -> bytes | None:
    """One frame; None at a clean end of stream. A length over ``limit`` is refused."""
    try:
        head = await reader.readexactly(_LEN.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TransportError("stream ended inside a frame header") from exc
        return None
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise TransportError(f"frame of {n} bytes is over the {limit}-byte limit")
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError as exc:
        raise TransportError("stream ended inside a frame") from exc


def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    writer.write(_LEN.pack(len(payload)) + payload)


async def request(
    host: str, port: int, kind: bytes, payload: bytes, timeout: float = 10.0
) -> bytes:
    """Open a connection, send one request, return the reply."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"cannot reach {host}:{port}: {exc}") from exc
    try:
        write_frame(writer, kind + payload)
        await writer.drain()
        reply = await asyncio.wait_for(read_frame(reader), timeout)
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"{host}:{port} did not answer: {exc}") from exc
    finally:
        writer.close()
    if reply is None:
        raise TransportError(f"{host}:{port} closed without a reply")
    return reply
