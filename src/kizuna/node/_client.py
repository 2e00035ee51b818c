"""One connected client's outbound side, bounded in bytes.

Messages offered during one turn of the event loop are joined and handed to the transport
once at its end (one send instead of one per message), or at once by ``push`` when the
caller has finished a batch, and the transport sends what the socket takes and buffers the
rest. Those bytes are the client's queue: when they would pass ``max_buffer`` the client is
not keeping up, and the caller sheds it rather than let it hold memory or stall the fan-out
to everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib

from kizuna.identity import Principal
from kizuna.labels import Viewer

__all__ = ["Client"]

_EAGER = 64 * 1024


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
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._in_flight = 0  # batches read from this client and not yet committed
        self._settled: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()
        peer = writer.get_extra_info("peername")
        self.name = f"{principal.id}#{cid}@{peer[0] if peer else '?'}"

    @property
    def queued(self) -> int:
        """Bytes offered but not yet taken by the socket."""
        return self._transport.get_write_buffer_size() + self._pending_bytes

    def offer(self, data: bytes) -> bool:
        """Send or buffer a message; False when the buffer is full (shed the client)."""
        if self.closed or self._transport.is_closing():
            return True
        if self.queued + len(data) > self._max:
            return False
        if not self._pending:
            self._loop.call_soon(self.push)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= _EAGER:  # a big burst goes to the socket now
            self.push()
        return True

    def push(self) -> None:
        """Hand what was offered to the transport now."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if data and not self._transport.is_closing():
            self._transport.write(data)

    def committing(self) -> None:
        self._in_flight += 1

    def committed(self) -> None:
        self._in_flight -= 1
        if not self._in_flight and self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    async def settled(self) -> None:
        """Wait until everything read from this client has been committed (or failed)."""
        if self._in_flight:
            self._settled = self._loop.create_future()
            await self._settled

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
        self._pending.clear()
        self._pending_bytes = 0
        if not self._transport.is_closing():
            self._transport.abort()
