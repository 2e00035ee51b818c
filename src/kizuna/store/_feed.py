"""The node feed: how a gateway reads its node's committed events and hands it partners' items.

A gateway reads the store by sequence number from a cursor it keeps itself, at its own pace,
so it is never a TAK client the node could shed when it falls behind. The node serves the
feed over mutual TLS to its own gateway only (a registry principal of kind ``gateway`` of
the node's nation); the wire format lives here, beside the store, because both ends use it
and ``gateway`` may not import ``node``.

Frames are a 4-byte big-endian length and a msgpack body (at most ``FEED_MAX_FRAME``
bytes). Requests and their replies:

- ``Read(after, max)`` -> ``Records``: up to ``max`` records committed after sequence number
  ``after``, in commit order (each: seq, origin nation, publisher id, label source, the
  event as canonical CoT XML), within ``FEED_REPLY_BYTES``. When nothing is new the node
  waits up to ``FEED_LONG_POLL_S`` for a commit before it answers (possibly with none).
- ``Publish(items)`` -> ``Published``: each item (origin nation, CoT XML) is judged and the
  reply is sent only once the store has committed the accepted ones (a durable ack), with
  ``new``, ``duplicate`` or ``refused`` and the reason for each, in order.
- anything the node cannot serve (a malformed or oversized request, a store failure) is
  answered ``Refused(reason)``; after a malformed request the node closes the connection.

A client may send several requests before reading a reply: replies come in request order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from kizuna.errors import ConfigError, ParseError, TransportError

__all__ = [
    "FEED_LONG_POLL_S",
    "FEED_MAX_FRAME",
    "FEED_MAX_ITEM_BYTES",
    "FEED_MAX_PUBLISH",
    "FEED_MAX_READ",
    "FEED_REPLY_BYTES",
    "FeedClient",
    "FeedRecord",
    "FeedReply",
    "FeedRequest",
    "Publish",
    "PublishItem",
    "PublishResult",
    "Published",
    "Read",
    "Records",
    "Refused",
    "decode_reply",
    "decode_request",
    "encode_frame",
    "feed_client_context",
    "read_feed_frame",
]

FEED_MAX_FRAME = 4 * 1024 * 1024
FEED_MAX_READ = 1024  # records one read may ask for
FEED_MAX_PUBLISH = 512  # items one publish may carry (and the frame must still fit)
FEED_MAX_ITEM_BYTES = 64 * 1024
FEED_REPLY_BYTES = 1024 * 1024  # a read's reply stops taking records past this
FEED_LONG_POLL_S = 1.0
_LEN = struct.Struct(">I")

Nation = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Status = Literal["new", "duplicate", "refused"]


class Read(msgspec.Struct, tag="read", frozen=True, forbid_unknown_fields=True):
    """Records committed after sequence number ``after``, at most ``max`` of them."""

    after: Annotated[int, msgspec.Meta(ge=0)]
    max: Annotated[int, msgspec.Meta(ge=1, le=FEED_MAX_READ)]


class PublishItem(msgspec.Struct, frozen=True, array_like=True):
    """A partner's item: the nation it comes from (the signed envelope's sender) and its CoT
    XML as the inbound guard accepted it."""

    origin: Nation
    xml: Annotated[bytes, msgspec.Meta(max_length=FEED_MAX_ITEM_BYTES)]


class Publish(msgspec.Struct, tag="publish", frozen=True, forbid_unknown_fields=True):
    """Items for the node to commit and serve; the reply comes once they are durable."""

    items: Annotated[
        tuple[PublishItem, ...], msgspec.Meta(min_length=1, max_length=FEED_MAX_PUBLISH)
    ]


FeedRequest = Read | Publish


class FeedRecord(msgspec.Struct, frozen=True, array_like=True):
    """One committed record: ``nation`` is the origin nation the node derived (the
    publisher's, or for a partner's item the one its gateway stated), ``label_source``
    ``publisher`` or ``default``."""

    seq: int
    nation: str
    publisher: str
    label_source: str
    xml: bytes


class Records(msgspec.Struct, tag="records", frozen=True):
    """The reply to ``Read``; ``last_seq`` is the store's last sequence number when read."""

    records: tuple[FeedRecord, ...]
    last_seq: int


class PublishResult(msgspec.Struct, frozen=True, array_like=True):
    status: Status
    reason: str = ""


class Published(msgspec.Struct, tag="published", frozen=True):
    """The reply to ``Publish``, one result per item in order, sent after the commit."""

    results: tuple[PublishResult, ...]


class Refused(msgspec.Struct, tag="refused", frozen=True):
    """The node did not serve the request (nothing of it was committed)."""

    reason: str


FeedReply = Records | Published | Refused

_ENCODER = msgspec.msgpack.Encoder()
_REQUESTS = msgspec.msgpack.Decoder(FeedRequest)
_REPLIES = msgspec.msgpack.Decoder(FeedReply)


def encode_frame(message: FeedRequest | FeedReply) -> bytes:
    """A message as one length-prefixed frame."""
    body = _ENCODER.encode(message)
    return _LEN.pack(len(body)) + body


def decode_request(data: bytes) -> FeedRequest:
    try:
        return _REQUESTS.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"feed request: {exc}") from exc


def decode_reply(data: bytes) -> FeedReply:
    try:
        return _REPLIES.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ParseError(f"feed reply: {exc}") from exc


async def read_feed_frame(
    reader: asyncio.StreamReader, limit: int = FEED_MAX_FRAME, *, body_timeout: float | None = None
) -> bytes | None:
    """One frame's body; None at a clean end of stream. A length over ``limit`` is refused
    before a byte of the body is read; ``body_timeout`` bounds the body once begun."""
    try:
        head = await reader.readexactly(_LEN.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TransportError("feed stream ended inside a frame header") from exc
        return None
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise TransportError(f"feed frame of {n} bytes is over the {limit}-byte limit")
    try:
        async with asyncio.timeout(body_timeout):
            return await reader.readexactly(n)
    except asyncio.IncompleteReadError as exc:
        raise TransportError("feed stream ended inside a frame") from exc
    except TimeoutError as exc:
        raise TransportError(f"feed frame not finished in {body_timeout:g} s") from exc


def feed_client_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """The TLS context a gateway opens its node's feed with: its own certificate, and only
    a node certificate from ``ca`` accepted."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the feed's TLS material: {exc}", field="tls") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class FeedClient:
    """One connection to a node's feed. Requests may overlap: each is written at once and
    its reply awaited in order, so a caller can keep several in flight."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._waiting: collections.deque[asyncio.Future[FeedReply]] = collections.deque()
        self._failed: TransportError | None = None
        self._task = asyncio.create_task(self._replies())

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        context: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        timeout: float = 10.0,
    ) -> FeedClient:
        """Open the feed over mutual TLS; TransportError when it cannot be opened."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=server_hostname or host,
                    limit=FEED_MAX_FRAME,
                )  # fmt: skip
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise TransportError(f"cannot open the node feed at {host}:{port}: {exc}") from exc
        return cls(reader, writer)

    async def _replies(self) -> None:
        error: TransportError
        try:
            while True:
                data = await read_feed_frame(self._reader)
                if data is None:
                    error = TransportError("the node closed the feed")
                    break
                reply = decode_reply(data)
                if not self._waiting:
                    error = TransportError("the node sent a reply nobody asked for")
                    break
                fut = self._waiting.popleft()
                if not fut.done():
                    fut.set_result(reply)
        except (TransportError, ParseError) as exc:
            error = TransportError(str(exc))
        except (OSError, ssl.SSLError) as exc:
            error = TransportError(f"feed connection lost: {exc}")
        self._fail(error)

    def _fail(self, error: TransportError) -> None:
        self._failed = error
        while self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                fut.set_exception(error)
        self._writer.close()

    async def _request(self, message: FeedRequest) -> FeedReply:
        if self._failed is not None:
            raise self._failed
        fut: asyncio.Future[FeedReply] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        try:
            self._writer.write(encode_frame(message))
            await self._writer.drain()
        except (OSError, ssl.SSLError) as exc:
            self._fail(TransportError(f"feed connection lost: {exc}"))
        reply = await fut
        if isinstance(reply, Refused):
            raise TransportError(f"the node refused the request: {reply.reason}")
        return reply

    async def read(self, after: int, max_records: int = FEED_MAX_READ) -> Records:
        """Records committed after ``after`` (the node waits up to about a second for one
        when there is none yet)."""
        reply = await self._request(Read(after, max(1, min(max_records, FEED_MAX_READ))))
        if not isinstance(reply, Records):
            raise TransportError(f"the node answered a read with {type(reply).__name__}")
        return reply

    async def publish(self, items: Sequence[tuple[str, bytes]]) -> tuple[PublishResult, ...]:
        """Hand items (origin nation, CoT XML) to the node; returns once it committed them,
        one result per item. TransportError: nothing is known to be committed, send again."""
        request = Publish(tuple(PublishItem(o, x) for o, x in items))
        reply = await self._request(request)
        if not isinstance(reply, Published) or len(reply.results) != len(items):
            raise TransportError("the node's publish reply does not match the request")
        return reply.results

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self._writer.wait_closed()
        if self._failed is None:
            self._fail(TransportError("feed closed"))
