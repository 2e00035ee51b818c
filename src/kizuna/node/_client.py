"""One connected client's outbound side, bounded in bytes.

Messages go straight to the transport, which sends what the socket takes at once and buffers
the rest. That buffer is the client's queue: when it would pass ``max_buffer`` bytes the
client is not keeping up, and the caller sheds it rather than let it hold memory or stall
the fan-out to everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib

from kizuna.identity import Principal
from kizuna.labels import Viewer

__all__ = ["Client"]


class Client:
    def __init__(
        self, cid: int, principal: Principal, writer: asyncio.StreamWriter, max_buffer: int
    ) -> None:
        self.cid = cid
        self.principal = principal
        self.viewer: Viewer = principal.viewer
        self.writer = writer
        self.proto = False  # speaks TAK protocol v1 frames after negotiation
        self.closed = False
        self._transport = writer.transport
        self._max = max_buffer
        peer = writer.get_extra_info("peername")
        self.name = f"{principal.id}#{cid}@{peer[0] if peer else '?'}"

    @property
    def queued(self) -> int:
        """Bytes written but not yet taken by the socket."""
        return self._transport.get_write_buffer_size()

    def offer(self, data: bytes) -> bool:
        """Send or buffer a message; False when the buffer is full (shed the client)."""
        if self.closed or self._transport.is_closing():
            return True
        if self._transport.get_write_buffer_size() + len(data) > self._max:
            return False
        self._transport.write(data)
        return True

    async def flush(self, timeout: float) -> None:
        """Give the socket ``timeout`` seconds to take what is buffered, then close."""
        self.closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._transport.is_closing() and self.queued:
                    await asyncio.sleep(0.01)
        if not self._transport.is_closing():
            self._transport.close()

    def abort(self) -> None:
        self.closed = True
        if not self._transport.is_closing():
            self._transport.abort()
