"""A serving gateway, wired: the partner listener and one forwarder per partner (the link, in
``_partner``), periodic checkpoint exchange over that link, the node bridge, and a
loopback-only admin port."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from kizuna.bus import SqliteBus
from kizuna.clock import Clock
from kizuna.errors import ConfigError, KizunaError, TransportError
from kizuna.gateway._bridge import NodeBridge
from kizuna.gateway._config import GatewayFile, build_gateway
from kizuna.gateway._db import GatewayDb
from kizuna.gateway._gateway import Gateway
from kizuna.gateway._guard import Verdict
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._link import (
    MAX_FRAME,
    checkpoint_from_wire,
    checkpoint_to_wire,
    read_frame,
    write_frame,
)
from kizuna.gateway._partner import (
    Forwarder,
    PartnerLink,
    PartnerListener,
    check_partners,
    link_tls,
)
from kizuna.roadmap import Tier
from kizuna.store import feed_client_context

__all__ = ["GatewayServer", "admin_address", "serve_forever", "verdict_json"]

log = logging.getLogger("kizuna.gateway")
Handler = Callable[[bytes], Coroutine[Any, Any, bytes]]


def verdict_json(v: Verdict) -> dict[str, object]:
    item = v.work.item
    return {
        "uid": item.uid if item else None,
        "outcome": v.outcome.value,
        "reasons": [r.value for r in v.reasons],
        "stage": v.stage,
    }


def admin_address(data_dir: Path) -> tuple[str, int] | None:
    """Where a serving gateway's admin port is, if one is serving from ``data_dir``."""
    lock = data_dir / "gateway.lock"
    if not lock.exists():
        return None
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            host, _, port = (data_dir / "admin.addr").read_text().strip().rpartition(":")
            return host, int(port)
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


class GatewayServer:
    """``window``/``batch``: how many batch frames of how many envelopes a forwarder keeps in
    flight; ``refusal_window_s``: the window over which failures before authentication are
    counted into one audit entry per address."""

    def __init__(
        self,
        cfg: GatewayFile,
        clock: Clock,
        *,
        checkpoint_every: float = 5.0,
        retry: float = 0.5,
        window: int = 8,
        batch: int = 100,
        refusal_window_s: float = 60.0,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._every = checkpoint_every
        self._retry = retry
        self._window, self._batch = window, batch
        self._refusal_window_s = refusal_window_s
        self.gw: Gateway
        self._db: GatewayDb
        self._bus: SqliteBus
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: Any = None
        self.bridge: NodeBridge | None = None
        self.listener: PartnerListener | None = None
        self.links: dict[str, PartnerLink] = {}
        self.forwarders: dict[str, Forwarder] = {}
        self.ring: KeyRing
        self.port = 0
        self.admin_port = 0

    @property
    def dropped_frames(self) -> int:
        return self.listener.dropped_frames if self.listener is not None else 0

    async def start(self) -> None:
        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (self.cfg.data_dir / "gateway.lock").open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise KizunaError(f"a gateway already serves from {self.cfg.data_dir}") from exc
        try:
            await self._start()
        except BaseException:
            self._lock.close()
            self._lock = None
            raise

    async def _start(self) -> None:
        cfg = self.cfg
        tls = None
        if cfg.partners:  # a plain link, or a partner we could not verify, does not start
            check_partners(cfg)
            tls = link_tls(cfg)
        feed = self._feed_context()  # bad TLS material stops the start before it serves
        self.ring = KeyRing.load_dir(cfg.keys_dir)
        self.gw, self._db, self._bus = build_gateway(cfg, self._clock, ring=self.ring)
        signer = Signer.load(cfg.nation, cfg.key)
        if tls is not None:
            self.listener = PartnerListener(
                self.gw, cfg, tls, signer=signer, ring=self.ring, clock=self._clock,
                on_accept=self._accepted, refusal_window_s=self._refusal_window_s,
            )  # fmt: skip
            self.port = await self.listener.start(cfg.host, cfg.port)
            for p in cfg.partners.values():
                link = PartnerLink(
                    p, tls, signer=signer, ring=self.ring, keys_dir=cfg.keys_dir,
                    clock=self._clock,
                )  # fmt: skip
                self.links[p.nation] = link
                self.forwarders[p.nation] = Forwarder(
                    link, self._bus, batch=self._batch, window=self._window, retry=self._retry
                )
        admin = await asyncio.start_server(self._serving(self._on_admin), "127.0.0.1", 0)
        self._servers = [admin]
        self.admin_port = admin.sockets[0].getsockname()[1]
        (cfg.data_dir / "admin.addr").write_text(f"127.0.0.1:{self.admin_port}\n")
        for fwd in self.forwarders.values():
            self._tasks.append(asyncio.create_task(fwd.run()))
        if cfg.node is not None:
            assert feed is not None
            self.bridge = NodeBridge(
                *cfg.node, nation=cfg.nation, gateway=self.gw, db=self._db,
                partners=list(cfg.partners), context=feed, retry=self._retry,
            )  # fmt: skip
            self._tasks.append(asyncio.create_task(self.bridge.run()))
        self._tasks.append(asyncio.create_task(self._checkpoints()))
        log.info("gateway %s serving on %s:%s", cfg.nation, cfg.host, self.port)

    def _accepted(self, data: bytes) -> None:
        del data  # stored as received: the bridge hands it to the node from there
        if self.bridge is not None:
            self.bridge.wake()

    def _feed_context(self) -> ssl.SSLContext | None:
        """The node feed's TLS: our own certificate, and only the node's CA trusted."""
        cfg = self.cfg
        if cfg.node is None:
            return None
        if cfg.tls_cert is None or cfg.tls_key is None or cfg.node_ca is None:
            raise ConfigError("the node feed needs [tls] cert and key and [node] ca", field="node")
        return feed_client_context(cfg.tls_cert, cfg.tls_key, cfg.node_ca)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for link in self.links.values():
            await link.drop()
        if self.listener is not None:
            await self.listener.stop()
        for s in self._servers:
            s.close()
            await s.wait_closed()
        await self._bus.close()
        self._db.close()
        with contextlib.suppress(OSError):
            (self.cfg.data_dir / "admin.addr").unlink()
        if self._lock is not None:
            self._lock.close()

    # -- serving ---------------------------------------------------------------------------

    def _serving(
        self, handle: Handler
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while (frame := await read_frame(reader, MAX_FRAME)) is not None:
                    write_frame(writer, await handle(frame))
                    await writer.drain()
            except (TransportError, OSError) as exc:
                log.warning("closing a connection: %s", exc)
            finally:
                writer.close()

        return serve

    async def _on_admin(self, frame: bytes) -> bytes:
        kind, body = frame[:1], frame[1:]
        try:
            args = json.loads(body or b"{}")
            if kind == b"O":
                raws = [json.dumps(i).encode() for i in args.get("items", [])]
                raws += [str(x).encode() for x in args.get("raw", [])]
                verdicts = await self.gw.offer(raws, args["partner"])
                return json.dumps([verdict_json(v) for v in verdicts]).encode()
            if kind == b"H":
                holds = [
                    {"id": h.id, "partner": h.partner, "uid": h.uid, "rule": h.rule, "at": h.at}
                    for h in self.gw.holds()
                ]
                return json.dumps(holds).encode()
            if kind == b"A":
                v = await self.gw.approve(args["id"], args["by"])
                return json.dumps(verdict_json(v)).encode()
            if kind == b"R":
                return json.dumps(verdict_json(self.gw.reject(args["id"], args["by"]))).encode()
            if kind == b"T":
                changed = self.gw.set_tier(args["partner"], Tier[args["tier"]], args["why"])
                return json.dumps({"changed": changed, "tier": args["tier"]}).encode()
            if kind == b"K":
                return json.dumps({"countersigned": await self.exchange_checkpoints()}).encode()
        except (KizunaError, KeyError, TypeError, ValueError) as exc:
            return json.dumps({"error": str(exc)}).encode()
        return json.dumps({"error": f"unknown request {kind!r}"}).encode()

    # -- forwarding ------------------------------------------------------------------------

    async def exchange_checkpoints(self) -> int:
        cp, proof, _ = self.gw.checkpoint()
        done = 0
        for nation, link in self.links.items():
            try:
                reply = await link.call(b"C" + checkpoint_to_wire(cp, proof))
                signed, _ = checkpoint_from_wire(reply)
                self.gw.keep(signed)
                done += 1
            except KizunaError as exc:
                log.info("checkpoint %d not countersigned by %s: %s", cp.size, nation, exc)
        return done

    async def _checkpoints(self) -> None:
        last = -1
        while True:
            await asyncio.sleep(self._every)
            if len(self.gw.audit) != last:
                last = len(self.gw.audit)
                await self.exchange_checkpoints()


async def serve_forever(cfg: GatewayFile, clock: Clock) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    server = GatewayServer(cfg, clock)
    await server.start()
    ready = {"ready": True, "port": server.port, "admin": server.admin_port}
    print(json.dumps(ready), flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
