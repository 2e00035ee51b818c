"""The national node's stream server: TLS with client certificates, optional loopback TCP,
and the committed-event feed for the node's own gateway (``_feed``).

Every event goes: frame -> parse -> validate -> reserved detail stripped -> label (default
if none) -> may the publisher publish it -> does it own the uid -> commit to the store, with
the publisher's nation as its origin -> only then relay to every other client whose viewer
the label permits. Bad input costs the sender its event or its
connection, never anyone else's service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from datetime import timedelta
from functools import partial

import msgspec

from kizuna.clock import Clock, RealClock
from kizuna.cop import DetectionTracking, Picture
from kizuna.cot import (
    PROTOCOL_REQUEST,
    SUPPORTED_VERSIONS,
    CotPolicy,
    Event,
    FramingError,
    Message,
    StreamDecoder,
    WireFormat,
    check_times,
    decode_message,
    encode_message,
    event_to_xml,
    frame,
    parse_event,
    protocol_response,
    protocol_support,
    requested_version,
    strip_reserved,
)
from kizuna.errors import ConfigError, KizunaError, ParseError, StoreError, ValidationError
from kizuna.fusion import LocalPlane
from kizuna.identity import Principal, Registry, principal_for_cert
from kizuna.labels import Decider, Label, PolicyTable, Viewer, default_table
from kizuna.node._client import Client
from kizuna.node._config import NodeConfig
from kizuna.node._feed import FeedService
from kizuna.node._stats import Drop, Stats
from kizuna.store import DEFAULT, PUBLISHER, Record, Store

__all__ = ["NodeServer"]

_READ_CHUNK = 64 * 1024
_PINGS = ("t-x-c-t",)


class NodeServer:
    def __init__(
        self,
        config: NodeConfig,
        registry: Registry,
        store: Store,
        clock: Clock | None = None,
        *,
        table: PolicyTable | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.store = store
        self.clock = clock or RealClock()
        self.table = table or default_table()
        self.decider = Decider(self.table)
        self.picture = Picture(self.clock, self.decider)
        self.tracking: DetectionTracking | None = None
        if config.tracking is not None:
            tr = config.tracking
            self.tracking = DetectionTracking(
                self.picture, LocalPlane(*tr.origin), self.clock,
                detection_type=tr.detection_type, origin=f"{config.nation}-tracker",
                stale_s=tr.stale_s,
            )  # fmt: skip
        self._tracking_task: asyncio.Task[None] | None = None
        self.stats = Stats(logger or logging.getLogger("kizuna.node"))
        self.policy = CotPolicy(
            max_event_bytes=config.limits.max_event_bytes,
            keep_unknown=config.keep_unknown_detail,
        )
        self.clients: dict[int, Client] = {}
        self.owners: dict[str, str] = {}
        self._viewers: dict[Viewer, Viewer] = {}  # one object per distinct viewer
        self.tls_port: int | None = None
        self.tcp_port: int | None = None
        self._servers: list[asyncio.Server] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._readers: dict[int, asyncio.Task[None]] = {}
        self._next_cid = 0
        self._tcp_principal: Principal | None = None
        self._stopping = False
        self._housekeeping: asyncio.Task[None] | None = None
        self._max_skew = timedelta(seconds=config.limits.max_skew_s)
        self.feed = FeedService(self)
        self.feed_port: int | None = None
        self._tick = asyncio.Event()  # set (and replaced) whenever a commit adds records

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.owners = await self.store.owners()
        # the picture survives a restart: every client that connects is greeted with it
        for record in await self.store.current(self.clock.now()):
            self.picture.update(record)
        cfg, lim = self.config, self.config.limits
        if cfg.tcp is not None:
            self._tcp_principal = self.registry.get(cfg.tcp.identity)
            if self._tcp_principal is None:
                raise ConfigError(
                    f"{cfg.tcp.identity!r} is not in the registry", field="tcp.identity"
                )
            self._check_tcp_identity(self._tcp_principal, cfg.tcp.allow_cleared)
            srv = await asyncio.start_server(
                self._on_tcp, "127.0.0.1", cfg.tcp.port, limit=_READ_CHUNK, backlog=1024
            )
            self.tcp_port = srv.sockets[0].getsockname()[1]
            self._servers.append(srv)
        if cfg.tls is not None:
            srv = await asyncio.start_server(
                self._on_tls,
                cfg.tls.host,
                cfg.tls.port,
                ssl=self._ssl_context(),
                ssl_handshake_timeout=lim.read_timeout_s,
                limit=_READ_CHUNK,
                backlog=1024,
            )
            self.tls_port = srv.sockets[0].getsockname()[1]
            self._servers.append(srv)
        if cfg.feed is not None:
            srv = await asyncio.start_server(
                self.feed.serve,
                cfg.feed.host,
                cfg.feed.port,
                ssl=self._ssl_context(),
                ssl_handshake_timeout=lim.read_timeout_s,
                limit=_READ_CHUNK,
            )
            self.feed_port = srv.sockets[0].getsockname()[1]
            self._servers.append(srv)
        self._housekeeping = asyncio.create_task(self._expire_loop())
        if self.tracking is not None and self.config.tracking is not None:
            self._tracking_task = asyncio.create_task(
                self._track_loop(self.tracking, self.config.tracking.scan_s)
            )
        self.stats.log.info(
            "node listening: tls=%s tcp=%s feed=%s", self.tls_port, self.tcp_port, self.feed_port
        )

    def _check_tcp_identity(self, principal: Principal, allow_cleared: bool) -> None:
        """Whoever opens the plain port acts as its identity with no credentials: it may
        hold nothing above UNCLASSIFIED unless the file says the operator means it."""
        c = principal.clearance
        try:
            cleared = c is not None and self.table.rank(c.policy, c.level) > 0
        except (KeyError, ValueError):  # a level the table does not know: not UNCLASSIFIED
            cleared = True
        if not cleared:
            return
        assert c is not None
        if not allow_cleared:
            raise ConfigError(
                f"{principal.id!r} holds {c.code}: a plain-TCP identity may hold no clearance "
                "above UNCLASSIFIED (set [tcp] allow_cleared_tcp = true to accept the risk)",
                field="tcp.identity",
            )
        self.stats.log.warning(
            "plain TCP on 127.0.0.1 acts as %s (%s) for anyone who connects, without "
            "credentials: allow_cleared_tcp is set",
            principal.id, c.code,
        )  # fmt: skip

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.picture.expire()

    async def _track_loop(self, tracking: DetectionTracking, every: float) -> None:
        """Tracks made from detections are committed like any event, then relayed."""
        while True:
            await asyncio.sleep(every)
            # a track's label is the node's own work, not a publisher's release decision
            records = [
                Record(f"{self.config.nation}-tracker", e, self.config.nation, DEFAULT)
                for e in tracking.scan()
            ]
            if not records:
                continue
            try:
                fresh = await self.store.append(records)
            except KizunaError as exc:
                self.stats.log.error("tracks not stored: %s", exc)
                continue
            for record, new in zip(records, fresh, strict=True):
                if new:
                    self._publish(record, None)
            self._ticked()

    # ---- for the feed ------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def max_skew(self) -> timedelta:
        return self._max_skew

    @property
    def commit_tick(self) -> asyncio.Event:
        """Set once the next commit that adds records has landed (take it, then look)."""
        return self._tick

    def _ticked(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def commit(self, records: list[Record]) -> tuple[bool, ...]:
        """Commit records as the read loop does (relays are pushed after the commit)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[bool, ...]] = loop.create_future()

        def done(result: tuple[bool, ...] | StoreError) -> None:
            if fut.done():
                return
            if isinstance(result, StoreError):
                fut.set_exception(result)
            else:
                fut.set_result(result)

        self.store.submit(records, done, after=self._push_all)
        fresh = await fut
        if any(fresh):
            self._ticked()
        return fresh

    def relay(self, record: Record) -> None:
        """Serve a committed record to every client its label permits."""
        self._publish(record, None)

    def _ssl_context(self) -> ssl.SSLContext:
        tls = self.config.tls
        assert tls is not None
        try:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tls.ca))
            ctx.load_cert_chain(tls.cert, tls.key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load TLS material: {exc}", field="tls") from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    async def stop(self) -> None:
        """Graceful: stop accepting and reading, commit and relay what was read, flush, close."""
        if self._stopping:
            return
        self._stopping = True
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        if self._tracking_task is not None:
            self._tracking_task.cancel()
        for srv in self._servers:
            srv.close()
        await self.feed.stop()
        for task in list(self._readers.values()):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        for srv in self._servers:
            await srv.wait_closed()
        await self.store.close()
        self.stats.log.info("node stopped: %s", self.stats.as_dict())

    # ---- connections -----------------------------------------------------------------
    async def _on_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        principal = principal_for_cert(writer.get_extra_info("peercert"), self.registry)
        if principal is None:
            peer = writer.get_extra_info("peername")
            self.stats.drop(Drop.UNKNOWN_CERTIFICATE, str(peer), "no registry entry")
            writer.transport.abort()
            return
        tls = self.config.tls
        default = tls.default_label if tls and tls.default_label else self.config.default_label
        await self._serve(reader, writer, principal, default)

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._tcp_principal is not None and self.config.tcp is not None
        default = self.config.tcp.default_label or self.config.default_label
        await self._serve(reader, writer, self._tcp_principal, default)

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        principal: Principal,
        default: Label,
    ) -> None:
        lim = self.config.limits
        if self._stopping:
            writer.transport.abort()
            return
        if len(self.clients) >= lim.max_connections:
            self.stats.drop(Drop.CONNECTION_LIMIT, principal.id, f"{len(self.clients)} open")
            writer.transport.abort()
            return
        self._next_cid += 1
        client = Client(self._next_cid, principal, writer, lim.client_buffer_bytes)
        client.viewer = self._viewers.setdefault(client.viewer, client.viewer)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self.clients[client.cid] = client
        self.stats.connections += 1
        try:
            self._greet(client)
            read = asyncio.create_task(self._read_loop(reader, client, default))
            self._readers[client.cid] = read
            with contextlib.suppress(asyncio.CancelledError):
                await read
            await client.settled()
            del self.clients[client.cid]
            await client.flush(lim.drain_timeout_s)
        finally:
            self.clients.pop(client.cid, None)
            self._readers.pop(client.cid, None)
            client.abort()
            self._handlers.discard(handler)

    def _greet(self, client: Client) -> None:
        if self.config.announce_protocol:
            client.offer(event_to_xml(protocol_support(self.clock.now()), self.table))
        for record in self.picture.view(client.viewer):  # the current picture, first
            client.offer(self._encode(record.event, client, {}))

    async def _read_loop(
        self, reader: asyncio.StreamReader, client: Client, default: Label
    ) -> None:
        lim = self.config.limits
        loop = asyncio.get_running_loop()
        decoder = StreamDecoder(lim.max_event_bytes)
        slots = asyncio.Semaphore(lim.pending_commits)
        partial_since: float | None = None
        while not client.closed:
            if partial_since is None:
                timeout, reason, limit = lim.idle_timeout_s, Drop.IDLE_TIMEOUT, lim.idle_timeout_s
            else:
                timeout = partial_since + lim.read_timeout_s - loop.time()
                reason, limit = Drop.PARTIAL_TIMEOUT, lim.read_timeout_s
            try:
                async with asyncio.timeout(max(timeout, 0.0)):
                    data = await reader.read(_READ_CHUNK)
            except TimeoutError:
                self.stats.drop(reason, client.name, f"no complete message in {limit:g} s")
                client.abort()
                return
            except (ConnectionError, OSError):
                return
            if not data:
                return
            try:
                messages = decoder.feed(data)
            except FramingError as exc:
                self.stats.drop(Drop.FRAMING, client.name, str(exc))
                client.abort()
                return
            if not decoder.pending:
                partial_since = None
            elif messages or partial_since is None:
                partial_since = loop.time()
            records = [r for m in messages if (r := self._accept(m, client, default))]
            if records:
                try:
                    await slots.acquire()
                except asyncio.CancelledError:  # shutting down: what was read still commits
                    self._commit(records, client, None)
                    raise
                self._commit(records, client, slots)

    # ---- events ------------------------------------------------------------------------
    def _decode(self, message: Message, client: Client) -> Event | None:
        try:
            if message.format is WireFormat.XML:
                return parse_event(message.data, self.policy, self.table)
            return decode_message(message.data, self.policy, self.table).event
        except ValidationError as exc:
            self.stats.drop(Drop.INVALID, client.name, str(exc))
        except ParseError as exc:
            self.stats.drop(Drop.MALFORMED, client.name, str(exc))
        return None

    def _accept(self, message: Message, client: Client, default: Label) -> Record | None:
        event = self._decode(message, client)
        if event is None:
            return None
        if event.type.startswith("t-x-takp") or event.type.startswith(_PINGS):
            self._control(event, client)
            return None
        now = self.clock.now()
        try:
            check_times(event, now, max_skew=self._max_skew)
        except ValidationError as exc:
            self.stats.drop(Drop.FUTURE_TIME, client.name, f"{event.uid}: {exc}")
            return None
        event = self._without_reserved(event, client)
        if event is None:
            return None
        source = PUBLISHER
        if event.label is None:
            event = msgspec.structs.replace(event, label=default)
            source = DEFAULT
        decision = self.decider.decide(event.label, client.viewer, now)
        if not decision.permit:
            why = ", ".join(r.value for r in decision.reasons)
            self.stats.drop(Drop.NOT_PERMITTED, client.name, f"{event.uid}: {why}")
            return None
        owner = self.owners.setdefault(event.uid, client.principal.id)
        if owner != client.principal.id:
            self.stats.drop(Drop.UID_OWNED, client.name, f"{event.uid} belongs to {owner}")
            return None
        return Record(client.principal.id, event, client.principal.nation, source)

    def _without_reserved(self, event: Event, client: Client) -> Event | None:
        """What a TAK client writes never speaks for the node or gateway: reserved detail
        is taken out here, at the edge, and the sender is on the record for it. (A gateway
        publishes partners' items through the feed, never through this listener.)"""
        try:
            detail, removed = strip_reserved(event.detail)
        except ParseError as exc:  # cannot happen for a detail we parsed; refuse, never keep
            self.stats.drop(Drop.MALFORMED, client.name, f"{event.uid}: {exc}")
            return None
        if not removed:
            return event
        self.stats.drop(
            Drop.RESERVED_STRIPPED, client.name,
            f"{event.uid}: {removed} reserved element(s) or attribute(s) removed",
        )  # fmt: skip
        return msgspec.structs.replace(event, detail=detail)

    def _control(self, event: Event, client: Client) -> None:
        if event.type != PROTOCOL_REQUEST:
            return
        version = requested_version(event)
        accepted = version in SUPPORTED_VERSIONS
        client.offer(event_to_xml(protocol_response(accepted, self.clock.now()), self.table))
        if accepted:
            client.proto = True

    def _commit(
        self, records: list[Record], client: Client, slots: asyncio.Semaphore | None
    ) -> None:
        done = partial(self._committed, records, client, slots)
        client.committing()
        try:
            self.store.submit(records, done, after=self._push_all)
        except StoreError as exc:
            done(exc)

    def _committed(
        self,
        records: list[Record],
        client: Client,
        slots: asyncio.Semaphore | None,
        result: tuple[bool, ...] | StoreError,
    ) -> None:
        """Called from the store's commit wake-up: relay (``_push_all`` follows)."""
        if slots is not None:
            slots.release()
        client.committed()
        if isinstance(result, StoreError):
            for r in records:
                self.stats.drop(Drop.STORE_FAILED, client.name, f"{r.event.uid}: {result}")
            return
        fresh = False
        for record, new in zip(records, result, strict=True):
            if new:
                fresh = True
                self.stats.accepted += 1
                self._publish(record, client)
            else:
                self.stats.duplicates += 1
        if fresh:
            self._ticked()

    def _push_all(self) -> None:
        """Once per commit, after all it relayed was offered: one send per client for the
        whole batch, now rather than a loop turn later behind whatever that turn reads."""
        for client in self.clients.values():
            client.push()

    def _encode(self, event: Event, client: Client, cache: dict[bool, bytes]) -> bytes:
        data = cache.get(client.proto)
        if data is None:
            if client.proto:
                data = frame(encode_message(event, self.table))
            else:
                data = event_to_xml(event, self.table)
            cache[client.proto] = data
        return data

    def _publish(self, record: Record, sender: Client | None) -> None:
        """Relay a committed record to every other client its label permits."""
        self.picture.update(record)
        tracking = self.tracking
        if sender is not None and tracking is not None and tracking.is_detection(record.event):
            tracking.add(sender.name, record.event)
        event, now = record.event, self.clock.now()
        cache: dict[bool, bytes] = {}
        permits: dict[int, bool] = {}  # by viewer object: clients share interned viewers
        for client in list(self.clients.values()):
            if client is sender or client.closed:
                continue
            permit = permits.get(id(client.viewer))
            if permit is None:
                permit = self.decider.decide(event.label, client.viewer, now).permit
                permits[id(client.viewer)] = permit
            if not permit:
                self.stats.withheld += 1
                continue
            if client.offer(self._encode(event, client, cache)):
                self.stats.delivered += 1
            else:
                self.stats.drop(Drop.SLOW_CONSUMER, client.name, f"{client.queued} bytes waiting")
                client.abort()
