"""The gateway's connection to its national node: a CoT client on the node's loopback TCP
listener, acting as the gateway's own identity.

What the node relays to the gateway (our nation's items the gateway identity may see) is
offered to every partner; what partners send and the inbound guard accepts is published to
the node, which then serves it to exactly the viewers its label allows. On every (re)connect
all accepted items are published again: the node's store ignores repeats, so nothing is lost
while the node is away and nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from kizuna.cot import FramingError, StreamDecoder, WireFormat
from kizuna.errors import ParseError
from kizuna.gateway._item import ItemCodec

__all__ = ["NodeBridge"]

log = logging.getLogger("kizuna.gateway.bridge")
_CONTROL = ("t-x-takp", "t-x-c-t")

Offer = Callable[[Sequence[bytes]], Awaitable[object]]


class NodeBridge:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        nation: str,
        codec: ItemCodec,
        offer: Offer,
        backlog: Callable[[], Sequence[bytes]],
        retry: float = 0.5,
    ) -> None:
        self.host, self.port = host, port
        self.nation = nation
        self._codec = codec
        self._offer = offer
        self._backlog = backlog
        self._retry = retry
        self._writer: asyncio.StreamWriter | None = None
        # what partners sent us, by uid: the node relays it back like any item, and the
        # CoT bytes no longer say their origin (the node feed will say which are ours)
        self._foreign: set[str] = set()
        self.offered = 0
        self.published = 0

    def publish(self, data: bytes) -> None:
        """Hand an accepted partner item to the node (or leave it for the next connect)."""
        with contextlib.suppress(ParseError):
            self._foreign.add(self._codec.decode(data).uid)
        w = self._writer
        if w is not None and not w.is_closing():
            w.write(data)
            self.published += 1

    async def run(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                log.info("node %s:%s unreachable: %s", self.host, self.port, exc)
                await asyncio.sleep(self._retry)
                continue
            self._writer = writer
            try:
                for data in self._backlog():
                    self.publish(data)
                await writer.drain()
                await self._read(reader)
            except (OSError, FramingError) as exc:
                log.info("node connection lost: %s", exc)
            finally:
                self._writer = None
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            await asyncio.sleep(self._retry)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        decoder = StreamDecoder()
        while data := await reader.read(65536):
            ours = [m.data for m in decoder.feed(data) if m.format is WireFormat.XML]
            batch = [d for d in ours if self._ours(d)]
            if batch:
                self.offered += len(batch)
                await self._offer(batch)

    def _ours(self, data: bytes) -> bool:
        """Our nation's items only: not control traffic, not what partners sent us."""
        try:
            item = self._codec.decode(data)
        except ParseError:
            return True  # let the guard refuse it on the record
        return (
            item.origin == self.nation
            and item.uid not in self._foreign
            and not item.type.startswith(_CONTROL)
        )
