"""A serving gateway: the partner listener, one forwarder per partner draining the durable
outbound queue in order, checkpoint exchange (every N entries or T seconds, and at a clean
stop), and the admin socket (:mod:`kizuna.gateway._admin`)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from kizuna.bus import SqliteBus, subject
from kizuna.clock import Clock
from kizuna.errors import KizunaError, ParseError, TransportError
from kizuna.gateway._admin import AdminServer, admin_socket, verdict_json
from kizuna.gateway._bridge import NodeBridge
from kizuna.gateway._config import GatewayFile, Partner, build_gateway
from kizuna.gateway._db import GatewayDb
from kizuna.gateway._envelope import open_envelope
from kizuna.gateway._gateway import Gateway
from kizuna.gateway._link import (
    MAX_FRAME,
    checkpoint_from_wire,
    checkpoint_to_wire,
    read_frame,
    request,
    write_frame,
)

__all__ = ["GatewayServer", "admin_socket", "serve_forever", "verdict_json"]

log = logging.getLogger("kizuna.gateway")
Handler = Callable[[bytes], Coroutine[Any, Any, bytes]]


class GatewayServer:
    def __init__(
        self,
        cfg: GatewayFile,
        clock: Clock,
        *,
        checkpoint_every: float | None = None,
        retry: float = 0.5,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._every = cfg.checkpoint_every_s if checkpoint_every is None else checkpoint_every
        self._retry = retry
        self.gw: Gateway
        self._db: GatewayDb
        self._bus: SqliteBus
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: Any = None
        self.bridge: NodeBridge | None = None
        self.admin: AdminServer | None = None
        self.port = 0
        self.dropped_frames = 0

    async def start(self) -> None:
        self.cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = (self.cfg.data_dir / "gateway.lock").open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            self._lock = None
            raise KizunaError(f"a gateway already serves from {self.cfg.data_dir}") from exc
        try:
            self.gw, self._db, self._bus = build_gateway(self.cfg, self._clock)
        except BaseException:
            self._lock.close()
            self._lock = None
            raise
        try:
            partner = await asyncio.start_server(
                self._serving(self._on_partner, audited=True), self.cfg.host, self.cfg.port
            )
            self._servers = [partner]
            self.admin = AdminServer(
                self.cfg.admin_path, self.gw, self.exchange_checkpoints,
                idle_timeout=self.cfg.idle_timeout_s,
            )  # fmt: skip
            await self.admin.start()
        except (OSError, KizunaError) as exc:
            await self._close()
            where = f"{self.cfg.host}:{self.cfg.port}"
            what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TransportError(f"cannot serve on {where}: {what}") from exc
        self.port = partner.sockets[0].getsockname()[1]
        for p in self.cfg.partners.values():
            self._tasks.append(asyncio.create_task(self._forward(p)))
        if self.cfg.node is not None:
            self.bridge = NodeBridge(
                *self.cfg.node, nation=self.cfg.nation, codec=self.gw.codec,
                offer=self._offer_all, backlog=lambda: [r.data for r in self.gw.received()],
                retry=self._retry,
            )  # fmt: skip
            self._tasks.append(asyncio.create_task(self.bridge.run()))
        self._tasks.append(asyncio.create_task(self._checkpoints()))
        log.info("gateway %s serving on %s:%s", self.cfg.nation, self.cfg.host, self.port)

    async def stop(self) -> None:
        # Python 3.11's wait_for can swallow a cancellation that meets a wake-up (the bus's
        # fetch waits that way), so a task is cancelled again until it has ended.
        while pending := [t for t in self._tasks if not t.done()]:
            for t in pending:
                t.cancel()
            await asyncio.wait(pending, timeout=0.1)
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        for s in self._servers:
            s.close()
            await s.wait_closed()
        self._servers = []
        # A clean stop leaves no entry outside a checkpoint: signed here, countersigned if a
        # partner answers in time (else `audit verify` reports the tail as unprotected).
        with contextlib.suppress(KizunaError):
            await self.exchange_checkpoints(timeout=2.0)
        await self._close()

    async def _close(self) -> None:
        if self.admin is not None:
            await self.admin.stop()
        for s in self._servers:
            s.close()
            await s.wait_closed()
        await self._bus.close()
        self._db.close()
        if self._lock is not None:
            self._lock.close()

    # -- serving ---------------------------------------------------------------------------

    def _serving(
        self, handle: Handler, *, audited: bool = False
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while (frame := await read_frame(reader, MAX_FRAME)) is not None:
                    write_frame(writer, await handle(frame))
                    await writer.drain()
            except (TransportError, OSError) as exc:
                self.dropped_frames += 1
                log.warning("closing a connection: %s", exc)
                if audited and isinstance(exc, TransportError):
                    peer = writer.get_extra_info("peername")
                    too_large = "limit" in str(exc)
                    self.gw.refuse_frame(f"{peer[0] if peer else '?'}: {exc}", too_large=too_large)
            finally:
                writer.close()

        return serve

    async def _on_partner(self, frame: bytes) -> bytes:
        kind, body = frame[:1], frame[1:]
        if kind == b"E":
            try:
                sender = open_envelope(body).sender
            except ParseError:
                sender = ""
            partner = sender if sender in self.cfg.partners else "?"
            v = self.gw.receive(body, partner)
            if v.released and self.bridge is not None:
                self.bridge.publish(v.work.out)
            if not v.released:
                log.warning("refused from %s: %s", partner, [r.value for r in v.reasons])
            return json.dumps(verdict_json(v)).encode()
        if kind == b"C":
            try:
                cp, proof = checkpoint_from_wire(body)
                return checkpoint_to_wire(self.gw.witness(cp, proof))
            except KizunaError as exc:
                log.error("refused to countersign a checkpoint: %s", exc)
                return json.dumps({"error": str(exc)}).encode()
        return json.dumps({"error": f"unknown request {kind!r}"}).encode()

    # -- forwarding ------------------------------------------------------------------------

    async def _offer_all(self, raws: Sequence[bytes]) -> None:
        for p in self.cfg.partners:
            await self.gw.offer(raws, p)

    async def _forward(self, p: Partner) -> None:
        sub = await self._bus.subscribe(subject("out", p.nation), durable=f"link-{p.nation}")
        while True:
            msgs = await sub.fetch(64, timeout=1.0)
            if not msgs:
                continue
            try:
                reader, writer = await asyncio.open_connection(p.host, p.port)
            except OSError as exc:
                log.info("partner %s unreachable (%s): %d queued", p.nation, exc, sub.pending())
                for m in msgs:
                    await m.nak()
                await asyncio.sleep(self._retry)
                continue
            try:
                for i, m in enumerate(msgs):
                    try:
                        write_frame(writer, b"E" + m.data)
                        await writer.drain()
                        reply = await asyncio.wait_for(read_frame(reader), 10.0)
                    except (OSError, TransportError, TimeoutError) as exc:
                        log.info("link to %s broke: %s", p.nation, exc)
                        reply = None
                    if reply is None:  # not known to have arrived: all from here go again
                        for rest in msgs[i:]:
                            await rest.nak()
                        await asyncio.sleep(self._retry)
                        break
                    await m.ack()  # the partner decided; a refusal is final, and audited there
            finally:
                writer.close()

    async def exchange_checkpoints(self, timeout: float = 10.0) -> int:
        """Sign a checkpoint of the log as it is and have each partner countersign it; the
        number that did. A partner's refusal is an error (our log, or its record of it, is
        not what it was); an unreachable partner is only news."""
        cp, proof, _ = self.gw.checkpoint()
        done = 0
        for p in self.cfg.partners.values():
            try:
                reply = await request(p.host, p.port, b"C", checkpoint_to_wire(cp, proof), timeout)
            except TransportError as exc:
                log.info("checkpoint %d not countersigned by %s: %s", cp.size, p.nation, exc)
                continue
            try:
                signed, _ = checkpoint_from_wire(reply)
                self.gw.keep(signed)
                done += 1
            except KizunaError as exc:
                refusal = reply.decode(errors="replace")[:500]
                log.error(
                    "%s refused to countersign checkpoint %d: %s (%s)",
                    p.nation, cp.size, refusal, exc,
                )  # fmt: skip
        return done

    async def _checkpoints(self) -> None:
        """Every ``checkpoint_every_entries`` new entries or ``checkpoint_every_s`` seconds
        with any new entry, whichever comes first."""
        held = self._db.checkpoints(self.cfg.nation)
        size, since = (held[-1].size if held else 0), time.monotonic()
        while True:
            await asyncio.sleep(min(self._every, 0.25))
            grown = len(self.gw.audit) - size
            due = time.monotonic() - since >= self._every
            if grown >= self.cfg.checkpoint_every_entries or (grown > 0 and due):
                size, since = len(self.gw.audit), time.monotonic()
                await self.exchange_checkpoints()


async def serve_forever(cfg: GatewayFile, clock: Clock) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    server = GatewayServer(cfg, clock)
    await server.start()
    ready = {"ready": True, "port": server.port, "admin": str(cfg.admin_path)}
    print(json.dumps(ready), flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
