"""One connected client's outbound side: a bounded queue and the task that drains it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from kizuna.identity import Principal
from kizuna.labels import Viewer

__all__ = ["Client"]


class Client:
    """Messages wait here until the socket takes them; a full queue means a slow reader."""

    def __init__(
        self, cid: int, principal: Principal, writer: asyncio.StreamWriter, queue_size: int
    ) -> None:
        self.cid = cid
        self.principal = principal
        self.viewer: Viewer = principal.viewer
        self.writer = writer
        self.proto = False  # speaks TAK protocol v1 frames after negotiation
        self.closed = False
        self._queue: deque[bytes] = deque()
        self._size = queue_size
        self._wake = asyncio.Event()
        peer = writer.get_extra_info("peername")
        self.name = f"{principal.id}#{cid}@{peer[0] if peer else '?'}"

    def offer(self, data: bytes) -> bool:
        """Queue a message; False when the queue is full (the caller sheds the client)."""
        if self.closed:
            return True
        if len(self._queue) >= self._size:
            return False
        self._queue.append(data)
        self._wake.set()
        return True

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run_writer(self) -> None:
        """Write queued messages in batches until closed; drain() is the backpressure."""
        try:
            while not self.closed or self._queue:
                if not self._queue:
                    self._wake.clear()
                    if self.closed:
                        break
                    await self._wake.wait()
                    continue
                batch = b"".join(self._queue)
                self._queue.clear()
                self.writer.write(batch)
                await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed = True
            self._queue.clear()

    async def flush(self, timeout: float) -> None:
        """Give the writer ``timeout`` seconds to send what is queued."""
        self.closed = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._queue:
                    await asyncio.sleep(0.01)

    def abort(self) -> None:
        self.closed = True
        self._queue.clear()
        self._wake.set()
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()
