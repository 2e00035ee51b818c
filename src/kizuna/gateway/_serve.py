"""A serving gateway, wired: the partner listener and one forwarder per partner (the link, in
``_partner``), checkpoint exchange over that link (every N entries or T seconds, and at a
clean stop), the node bridge (``_bridge``) and the admin socket (``_admin``)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import ssl
import time
from typing import Any

from kizuna.bus import SqliteBus
from kizuna.clock import Clock
from kizuna.errors import ConfigError, KizunaError, TransportError
from kizuna.gateway._admin import AdminServer, admin_socket, verdict_json
from kizuna.gateway._bridge import NodeBridge
from kizuna.gateway._config import GatewayFile, build_gateway
from kizuna.gateway._db import GatewayDb
from kizuna.gateway._gateway import Gateway
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._link import checkpoint_from_wire, checkpoint_to_wire
from kizuna.gateway._partner import (
    Forwarder,
    PartnerLink,
    PartnerListener,
    check_partners,
    link_tls,
)
from kizuna.store import feed_client_context

__all__ = ["GatewayServer", "admin_socket", "serve_forever", "verdict_json"]

log = logging.getLogger("kizuna.gateway")


class GatewayServer:
    """``window``/``batch``: how many batch frames of how many envelopes a forwarder keeps in
    flight; ``refusal_window_s``: the window over which failures before authentication are
    counted into one audit entry per address; ``checkpoint_every``: seconds between
    checkpoints (default: the file's ``[audit] checkpoint_every_s``)."""

    def __init__(
        self,
        cfg: GatewayFile,
        clock: Clock,
        *,
        checkpoint_every: float | None = None,
        retry: float = 0.5,
        window: int = 8,
        batch: int = 500,
        refusal_window_s: float = 60.0,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._every = cfg.checkpoint_every_s if checkpoint_every is None else checkpoint_every
        self._retry = retry
        self._window, self._batch = window, batch
        self._refusal_window_s = refusal_window_s
        self.gw: Gateway
        self._db: GatewayDb
        self._bus: SqliteBus
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: Any = None
        self.bridge: NodeBridge | None = None
        self.listener: PartnerListener | None = None
        self.links: dict[str, PartnerLink] = {}
        self.forwarders: dict[str, Forwarder] = {}
        self.admin: AdminServer | None = None
        self.ring: KeyRing
        self.port = 0

    @property
    def dropped_frames(self) -> int:
        return self.listener.dropped_frames if self.listener is not None else 0

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
            await self._start()
        except BaseException:
            if self._lock is not None:
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
        if waiting := await self.gw.drain_outbox():  # released before a crash, not yet sent
            log.warning("%d released envelopes a stop left behind are queued now", waiting)
        try:
            if tls is not None:
                self.listener = PartnerListener(
                    self.gw, cfg, tls, signer=signer, ring=self.ring, clock=self._clock,
                    on_accept=self._accepted, refusal_window_s=self._refusal_window_s,
                )  # fmt: skip
                self.port = await self.listener.start(cfg.host, cfg.port)
            self.admin = AdminServer(
                cfg.admin_path, self.gw, self.exchange_checkpoints,
                idle_timeout=cfg.idle_timeout_s,
            )  # fmt: skip
            await self.admin.start()
        except (OSError, KizunaError) as exc:
            await self._close()
            where = f"{cfg.host}:{cfg.port}"
            what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TransportError(f"cannot serve on {where}: {what}") from exc
        if tls is not None:
            for p in cfg.partners.values():
                link = PartnerLink(
                    p, tls, signer=signer, ring=self.ring, keys_dir=cfg.keys_dir,
                    clock=self._clock,
                )  # fmt: skip
                self.links[p.nation] = link
                self.forwarders[p.nation] = Forwarder(
                    link, self._bus, batch=self._batch, window=self._window, retry=self._retry
                )
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
        # A clean stop leaves no entry outside a checkpoint: signed here, countersigned if a
        # partner answers in time (else `audit verify` reports the tail as unprotected).
        with contextlib.suppress(KizunaError):
            await self.exchange_checkpoints(timeout=2.0)
        for link in self.links.values():
            await link.drop()
        await self._close()

    async def _close(self) -> None:
        if self.admin is not None:
            await self.admin.stop()
        if self.listener is not None:
            await self.listener.stop()
        await self._bus.close()
        self._db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- checkpoints -----------------------------------------------------------------------

    async def exchange_checkpoints(self, timeout: float = 10.0) -> int:
        """Sign a checkpoint of the log as it is and have each partner countersign it, over
        the link; the number that did. A partner's refusal is an error (our log, or its
        record of it, is not what it was); an unreachable partner is only news."""
        cp, proof, _ = self.gw.checkpoint()
        done = 0
        for nation, link in self.links.items():
            try:
                reply = await link.call(b"C" + checkpoint_to_wire(cp, proof), timeout)
            except (TransportError, TimeoutError) as exc:
                log.info("checkpoint %d not countersigned by %s: %s", cp.size, nation, exc)
                continue
            refusal = _error_of(reply)
            if refusal is not None:
                log.error("%s refused to countersign checkpoint %d: %s", nation, cp.size, refusal)
                continue
            try:
                signed, _ = checkpoint_from_wire(reply)
                self.gw.keep(signed)
                done += 1
            except KizunaError as exc:
                log.error("%s's countersignature of checkpoint %d: %s", nation, cp.size, exc)
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


def _error_of(reply: bytes) -> str | None:
    """The partner's refusal, when its reply is one (``{"error": ...}``)."""
    try:
        got = json.loads(reply)
    except ValueError:
        return None
    return str(got["error"])[:500] if isinstance(got, dict) and "error" in got else None


async def serve_forever(cfg: GatewayFile, clock: Clock) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()  # taken first: a signal while starting stops it cleanly too
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = GatewayServer(cfg, clock)
    await server.start()
    ready = {"ready": True, "port": server.port, "admin": str(cfg.admin_path)}
    print(json.dumps(ready), flush=True)  # noqa: T201
    await stop.wait()
    await server.stop()
