"""The link between gateways: TLS 1.3 with client certificates on both sides, then
length-prefixed frames (a 4-byte big-endian length, then a one-byte kind and its body).

The dialler opens with a signed hello (``H``, three steps: ``dial``, ``answer``, ``confirm``),
each Ed25519-signed over the names, a fresh nonce, the other side's nonce and a time, so each
side proves it holds its signing key now and learns whether the other could verify it. Then
the dialler sends requests without waiting for replies (``B`` a batch of signed envelopes,
reply: one result per envelope; ``C`` a checkpoint to countersign, reply: the countersigned
checkpoint or an error); the listener answers each in the order it came.

The admin socket (``_admin``) uses the same framing for its own kinds; it is not on this
link.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import msgspec

from kizuna.errors import ParseError, TransportError
from kizuna.gateway._audit import Checkpoint
from kizuna.gateway._keys import KeyRing, Signer

__all__ = [
    "HELLO_SKEW",
    "MAX_BATCH_ITEMS",
    "MAX_FRAME",
    "BatchReply",
    "Budget",
    "CheckpointWire",
    "Hello",
    "Result",
    "TlsChannel",
    "batch_frame",
    "check_hello",
    "checkpoint_from_wire",
    "checkpoint_to_wire",
    "decode_batch",
    "decode_hello",
    "decode_reply",
    "make_hello",
    "read_frame",
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


# -- the partner link's messages ------------------------------------------------------------

MAX_BATCH_ITEMS = 1024  # envelopes in one ``B`` frame
HELLO_SKEW = timedelta(minutes=5)  # how far a hello's time may be from ours
NONCE = 32


class Hello(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One step of the hello. ``ok``/``why``: whether this side could verify the other's
    previous step (``dial`` has none, so always ok)."""

    step: str  # dial | answer | confirm
    sender: str
    receiver: str
    nonce: bytes  # this side's, fresh for this connection
    echo: bytes  # the other side's nonce (empty in ``dial``)
    at: str
    ok: bool = True
    why: str = ""
    signature: bytes = b""

    def body(self) -> bytes:
        """What the signature covers: every field but the signature."""
        return (
            f"kizuna-hello/v1\n{self.step}\n{self.sender}\n{self.receiver}\n"
            f"{self.nonce.hex()}\n{self.echo.hex()}\n{self.at}\n{int(self.ok)}\n{self.why}\n"
        ).encode()

    def encode(self) -> bytes:
        """The wire form: a JSON object (bytes fields in base64)."""
        return msgspec.json.encode(self)


def make_hello(
    signer: Signer, step: str, receiver: str, *, nonce: bytes, echo: bytes, at: str,
    ok: bool = True, why: str = "",
) -> Hello:  # fmt: skip
    """A hello step from ``signer`` to ``receiver``, signed."""
    h = Hello(step, signer.name, receiver, nonce, echo, at, ok, why[:200])
    return msgspec.structs.replace(h, signature=signer.sign(h.body()))


def decode_hello(data: bytes) -> Hello:
    """Parse (not yet trust) a hello step."""
    try:
        return msgspec.json.decode(data, type=Hello)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"hello: {exc}") from exc


def check_hello(
    h: Hello, *, step: str, sender: str, receiver: str, echo: bytes, ring: KeyRing,
    now: datetime,
) -> str:  # fmt: skip
    """Why this hello is not the one expected ("" when it is)."""
    if h.step != step or h.sender != sender or h.receiver != receiver:
        return f"expected the {step} step from {sender} to {receiver}"
    if len(h.nonce) != NONCE or h.echo != echo:
        return "not a fresh hello for this connection"
    try:
        at = datetime.fromisoformat(h.at)
        skew = abs(now - at)
    except (ValueError, TypeError):
        return "the hello's time is not a UTC time"
    if skew > HELLO_SKEW:
        return f"the hello's time is {skew} from ours"
    if sender not in ring.names:
        return f"no public key for {sender}"
    if not ring.verify(sender, h.signature, h.body()):
        return f"the hello does not verify under our public key for {sender}"
    return ""


def batch_frame(envelopes: Sequence[bytes]) -> bytes:
    """A ``B`` frame: the envelopes' own JSON, in a JSON array."""
    return b"B[" + b",".join(envelopes) + b"]"


_RAWS = msgspec.json.Decoder(list[msgspec.Raw])


def decode_batch(body: bytes) -> list[bytes]:
    """The envelopes of a ``B`` frame's body, each as the bytes it was sent as."""
    try:
        raws = _RAWS.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"batch: {exc}") from exc
    if not 1 <= len(raws) <= MAX_BATCH_ITEMS:
        raise ParseError(f"batch: 1..{MAX_BATCH_ITEMS} envelopes")
    return [bytes(r) for r in raws]


class Result(msgspec.Struct, frozen=True):
    """The receiver's verdict on one envelope. ``status``: ``delivered`` (accepted now or
    before: a resend), ``refused`` (a policy denial: final) or ``retry`` (a key, signature or
    store failure: the sender keeps it and sends it again, from here on, in order)."""

    msg_id: str
    uid: str | None
    outcome: str
    reasons: list[str]
    stage: str
    status: str


class BatchReply(msgspec.Struct, frozen=True):
    """The reply to a ``B`` frame: one result per envelope, in order (fewer, with ``error``,
    when the batch could not be read: the sender treats the rest as to retry)."""

    results: list[Result]
    error: str = ""


_REPLY = msgspec.json.Decoder(BatchReply)


def decode_reply(data: bytes) -> BatchReply:
    """Parse a ``B`` frame's reply."""
    try:
        return _REPLY.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"batch reply: {exc}") from exc


# -- TLS over a memory BIO ------------------------------------------------------------------


class Budget:
    """Bytes held in buffers over every connection of a listener."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def over(self) -> bool:
        """More held than the limit allows."""
        return self.held > self.limit


def _not_a_client_hello(head: bytes, limit: int) -> str:
    """Why the first bytes a client sent are not the start of a TLS ClientHello it may
    send ("" when they are): a handshake record, a ClientHello, a length within ``limit``."""
    if head[0] != 0x16 or head[1] != 0x03:
        return "not a TLS handshake"
    if head[5] != 0x01:
        return "a TLS handshake that does not open with a ClientHello"
    length = int.from_bytes(head[6:9], "big")
    if length > limit:
        return f"a ClientHello of {length} bytes, over the {limit}-byte limit"
    return ""


def _retrieved(f: asyncio.Future[None]) -> None:
    """A failed handshake is the owner's to report: never asyncio's 'exception never
    retrieved'."""
    if not f.cancelled():
        f.exception()


class TlsChannel(asyncio.Protocol):
    """One TLS connection, run over memory BIOs so that every byte a peer sends is counted
    from the first byte of its handshake, and frames are cut here, under a limit.

    Before ``authenticated`` is set, a peer may send at most ``unauth_limit`` raw bytes
    (handshake and hello together) and no frame longer than that; afterwards frames up to
    ``max_frame``. Reading pauses while frames wait unread, so a fast sender holds at most a
    few frames here. The owner enforces time: ``deadline`` says when this connection has
    waited too long for what it is doing."""

    def __init__(
        self,
        ctx: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        max_frame: int = MAX_FRAME,
        unauth_limit: int | None = None,
        budget: Budget | None = None,
        on_open: Callable[[TlsChannel], None] | None = None,
        on_close: Callable[[TlsChannel], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._ssl = ctx.wrap_bio(
            self._in, self._out, server_side=server_side, server_hostname=server_hostname
        )
        self._transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = self._loop.create_future()
        self._frames: deque[bytes] = deque()
        self._queued = 0  # bytes in _frames
        self._buf = bytearray()
        self._wait: asyncio.Future[None] | None = None
        self._eof = False
        self._closed = False
        self.error: TransportError | None = None
        self.failure = ""  # a short word for why this connection was failed
        self._max_frame = max_frame
        self._unauth_limit = unauth_limit
        self.authenticated = unauth_limit is None
        self._budget, self._held = budget, 0
        self._on_open, self._on_close = on_open, on_close
        self.opened = self.active = self._loop.time()
        self.first_byte: float | None = None
        self.frame_since: float | None = None
        self.raw_in = 0
        self.peer = "?"
        self._paused = False
        # A listener reads the first record and handshake headers itself: a peer that is not
        # opening TLS, or claims a hello longer than it may send, costs OpenSSL nothing.
        self._probe: bytearray | None = bytearray() if server_side else None
        self._writable = asyncio.Event()
        self._writable.set()
        self.handshake.add_done_callback(_retrieved)

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        if self._on_open is not None:
            self._on_open(self)
        if not self._ssl.server_side and not self._closed:
            self._handshake()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        now = self._loop.time()
        self.active = now
        if self.first_byte is None:
            self.first_byte = now
        self.raw_in += len(data)
        limit = self._unauth_limit
        if not self.authenticated and limit is not None and self.raw_in > limit:
            self.fail(
                f"{self.raw_in} bytes before authentication, over the {limit}-byte limit",
                "unauth-bytes",
            )
            return
        if self._probe is not None:
            self._probe += data
            if len(self._probe) < 9:
                return
            data, self._probe = bytes(self._probe), None
            why = _not_a_client_hello(data, self._unauth_limit or MAX_FRAME)
            if why:
                self.fail(why, "handshake")
                return
        self._in.write(data)
        if not self.handshake.done():
            self._handshake()
        if self.handshake.done() and not self._closed:
            self._read_plain()
        self._flush()
        self._account()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        self._closed = True
        if not self.handshake.done():
            self.handshake.set_exception(
                self.error or TransportError("the connection closed during the TLS handshake")
            )
        self._frames.clear()
        self._queued = 0
        self._buf.clear()
        self._account()
        self._writable.set()
        self._wake()
        if self._on_close is not None:
            self._on_close(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- inside --------------------------------------------------------------------------

    def _handshake(self) -> None:
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush()  # the alert, if OpenSSL wrote one
            self.fail(f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}", "handshake")
            return
        self._flush()
        if not self.handshake.done():
            self.handshake.set_result(None)

    def _read_plain(self) -> None:
        while True:
            try:
                chunk = self._ssl.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self._eof = True
                break
            except (ssl.SSLError, OSError) as exc:
                self.fail(f"TLS failed: {getattr(exc, 'reason', None) or exc}", "tls")
                return
            if not chunk:
                break
            self._buf += chunk
        self._split()

    def _split(self) -> None:
        buf, at, got = self._buf, 0, False
        limit = self._max_frame
        if not self.authenticated and self._unauth_limit is not None:
            limit = min(limit, self._unauth_limit)
        while len(buf) - at >= _LEN.size:
            (n,) = _LEN.unpack_from(buf, at)
            if n > limit:
                self.fail(f"frame of {n} bytes is over the {limit}-byte limit", "too-large")
                return
            if len(buf) - at - _LEN.size < n:
                break
            start = at + _LEN.size
            self._frames.append(bytes(buf[start : start + n]))
            self._queued += n
            at = start + n
            got = True
        if at:
            del buf[:at]
        if not buf:
            self.frame_since = None
        elif self.frame_since is None or got:
            self.frame_since = self._loop.time()
        if got:
            self._wake()
        if len(self._frames) >= 8 and not self._paused and self._transport is not None:
            self._transport.pause_reading()  # the reader is behind: let TCP hold the rest
            self._paused = True

    def _flush(self) -> None:
        data = self._out.read()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _account(self) -> None:
        # Before authentication every byte received counts as held: OpenSSL keeps what it
        # has read of a handshake message out of sight, and the peer is nobody yet.
        held = self._in.pending + len(self._buf) + self._queued
        if not self.authenticated:
            held = max(held, self.raw_in)
        if self._closed:
            held = 0
        if self._budget is not None:
            self._budget.held += held - self._held
            self._held = held
            if self._budget.over() and not self.authenticated and not self._closed:
                self.fail("the listener's buffers are full", "buffers")

    def _wake(self) -> None:
        if self._wait is not None and not self._wait.done():
            self._wait.set_result(None)

    # -- for the owner -------------------------------------------------------------------

    @property
    def ssl_object(self) -> ssl.SSLObject:
        """The TLS session (its context tells which partner's CA the listener chose)."""
        return self._ssl

    def peer_certificate(self) -> bytes | None:
        """The peer's certificate (DER); None if it showed none or the connection failed."""
        if self.error is not None:
            return None
        try:
            return self._ssl.getpeercert(binary_form=True)
        except ValueError:  # the TLS session broke after the handshake (an alert)
            return None

    def deadline(self, idle: float, read: float) -> float:
        """When this connection will have waited too long: a handshake and hello, or a
        frame, must finish within ``read`` of its first byte; nothing at all may last
        ``idle``."""
        if not self.authenticated:
            return self.opened + idle if self.first_byte is None else self.first_byte + read
        if self.frame_since is not None:
            return self.frame_since + read
        return self.active + idle

    def authenticate(self) -> None:
        """The peer is known (certificate and hello): frames up to ``max_frame`` from now."""
        self.authenticated = True
        self._account()

    def fail(self, why: str, kind: str) -> None:
        """Give up on this connection at once, for ``why``."""
        if self.error is None:
            self.error = TransportError(why)
            self.failure = kind
        if not self.handshake.done():
            self.handshake.set_exception(self.error)
        self._closed = True
        self._wake()
        if self._transport is not None:
            self._transport.abort()

    async def read_frame(self) -> bytes | None:
        """The next frame; None at a clean end of the stream."""
        while not self._frames:
            if self.error is not None:
                raise self.error
            if self._eof or self._closed:
                if self._buf:
                    raise TransportError("stream ended inside a frame")
                return None
            self._wait = self._loop.create_future()
            await self._wait
        frame = self._frames.popleft()
        self._queued -= len(frame)
        if self._paused and len(self._frames) < 2 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        self._account()
        return frame

    def write_frame(self, payload: bytes) -> None:
        self.write(_LEN.pack(len(payload)) + payload)

    def write(self, data: bytes) -> None:
        """Bytes into the TLS stream as they are (``write_frame`` frames them)."""
        if self._closed or self._transport is None or self._transport.is_closing():
            raise TransportError("the connection is closed")
        try:
            self._ssl.write(data)
        except (ssl.SSLError, OSError) as exc:
            raise TransportError(f"TLS write failed: {exc}") from exc
        self._flush()

    async def drain(self) -> None:
        """Wait while the transport's write buffer is full."""
        await self._writable.wait()
        if self._closed:
            raise TransportError("the connection is closed")

    @property
    def closed(self) -> bool:
        """The connection has ended, or the peer has finished sending."""
        return self._closed or self._eof

    def close(self) -> None:
        """Say goodbye (a TLS close_notify) and close once what is written has gone."""
        if self._transport is None or self._transport.is_closing():
            return
        with contextlib.suppress(ssl.SSLError, OSError):  # the peer's close_notify: not awaited
            self._ssl.unwrap()
        self._flush()
        self._transport.close()
