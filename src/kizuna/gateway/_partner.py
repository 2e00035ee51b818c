"""The partner link, both ends: the listener that judges what partners send, and one forwarder
per partner that drains the durable outbound queue over a long-lived, pipelined connection.

Trust on the link is layered. TLS 1.3 with client certificates on both sides, each partner's
CA pinned from the file, says which partner is at the other end (the certificate must be
issued by exactly one pinned CA and be a gateway's: good for both client and server use). The
signed hello then proves that partner holds its Ed25519 key and that each side can verify
the other's. Only then is anything the peer sends judged; before it, a peer gets a bounded
number of bytes and seconds, and its failures are counted per address per minute, with one
audit entry per window, never one per frame, and never in the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from kizuna.bus import Bus, Message, Subscription, subject
from kizuna.clock import Clock
from kizuna.errors import ConfigError, KizunaError, ParseError, TransportError
from kizuna.gateway._config import GatewayFile, Limits, Partner
from kizuna.gateway._envelope import HeadCheck, open_envelope, peek_msg_id
from kizuna.gateway._gateway import Gateway
from kizuna.gateway._guard import GuardReason, Verdict
from kizuna.gateway._keys import KeyRing, Signer, require_public_keys
from kizuna.gateway._link import (
    MAX_BATCH_ITEMS,
    MAX_FRAME,
    NONCE,
    BatchReply,
    Budget,
    Hello,
    Result,
    TlsChannel,
    batch_frame,
    check_hello,
    checkpoint_from_wire,
    checkpoint_to_wire,
    decode_batch,
    decode_hello,
    decode_reply,
    make_hello,
)

__all__ = [
    "Forwarder",
    "LinkRefusedError",
    "LinkTls",
    "PartnerLink",
    "PartnerListener",
    "Refusals",
    "check_partners",
    "link_tls",
]

log = logging.getLogger("kizuna.gateway.link")
_LABEL = re.compile(r"^[A-Za-z0-9]{1,63}$")
_REPLY_OVERHEAD = 64


# -- TLS contexts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkTls:
    """The contexts of the link: one per partner for dialling; for listening, one trusting
    every partner's CA and one per partner, chosen by the name the dialler sends (SNI), so
    that partners whose CAs bear the same name are each checked against their own."""

    dial: dict[str, ssl.SSLContext]
    listen: ssl.SSLContext
    listen_for: dict[str, ssl.SSLContext]
    cas: dict[str, x509.Certificate]


def _sni(nation: str) -> str | None:
    """The name a dialler sends: its own nation, so the listener picks the right CA."""
    return f"{nation.lower()}.kizuna-link" if _LABEL.match(nation) else None


def _tls13(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.options |= ssl.OP_NO_TICKET  # no resumption: every connection shows its certificate
    if ctx.protocol is ssl.PROTOCOL_TLS_SERVER:
        ctx.num_tickets = 0  # TLS 1.3 would still issue (stateful) tickets without this
    return ctx


def _load(ctx: ssl.SSLContext, cert: Path, key: Path, cas: Sequence[tuple[str, Path]]) -> None:
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the link certificate and key: {exc}", field="tls") from exc
    for where, ca in cas:
        try:
            ctx.load_verify_locations(ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load {ca}: {exc}", field=where) from exc


def link_tls(cfg: GatewayFile) -> LinkTls:
    """Build the link's TLS from the file; a plain link refuses to start."""
    if cfg.tls_cert is None or cfg.tls_key is None:
        raise ConfigError(
            "is required: the partner link is TLS 1.3 with client certificates "
            "(cert and key); a plain link refuses to start",
            field="tls",
        )
    cert, key = cfg.tls_cert, cfg.tls_key
    for path, where in ((cert, "tls.cert"), (key, "tls.key")):
        if not path.is_file():
            raise ConfigError(f"no such file {path}", field=where)
    cas: dict[str, x509.Certificate] = {}
    paths: list[tuple[str, Path]] = []
    for nation, p in sorted(cfg.partners.items()):
        where = f"partners.{nation}.ca"
        if p.ca is None:
            raise ConfigError("is required: the partner's CA, pinned for the link", field=where)
        try:
            cas[nation] = x509.load_pem_x509_certificate(p.ca.read_bytes())
        except (OSError, ValueError) as exc:
            msg = f"cannot read a CA certificate from {p.ca}: {exc}"
            raise ConfigError(msg, field=where) from exc
        for other, ca in cas.items():
            if other != nation and ca == cas[nation]:
                raise ConfigError(
                    f"is {other}'s CA too: a certificate could not name one partner", field=where
                )
        paths.append((where, p.ca))
    dial = {}
    for where, path in paths:
        nation = where.split(".")[1]
        ctx = _tls13(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        # The host is checked against the certificate after the handshake, by us: the name
        # field of the handshake (SNI) carries our nation for the partner's listener.
        ctx.check_hostname = False
        _load(ctx, cert, key, [(where, path)])
        dial[nation] = ctx
    listen_for = {}
    for where, path in paths:
        ctx = _tls13(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        _load(ctx, cert, key, [(where, path)])
        listen_for[where.split(".")[1]] = ctx
    listen = _tls13(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    _load(listen, cert, key, paths)
    by_name = {name: listen_for[n] for n in listen_for if (name := _sni(n))}

    def pick(obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name is not None and name in by_name:
            obj.context = by_name[name]

    listen.sni_callback = pick
    return LinkTls(dial, listen, listen_for, cas)


def check_partners(cfg: GatewayFile) -> None:
    """What a gateway with partners needs before it starts: a public key file for each."""
    require_public_keys(cfg.keys_dir, cfg.partners)


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_gateway(cert: x509.Certificate) -> bool:
    """A gateway principal's certificate is good for both ends of a link; a person's is
    only a client's."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH in eku


def _names_host(cert: x509.Certificate, host: str) -> bool:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        return ipaddress.ip_address(host) in sans.get_values_for_type(x509.IPAddress)
    except ValueError:
        return host.lower() in (n.lower() for n in sans.get_values_for_type(x509.DNSName))


def _now(clock: Clock) -> datetime:
    return clock.now().astimezone(UTC)


# -- refusals before authentication -------------------------------------------------------


class Refusals:
    """Failures before authentication, counted per peer address per window (a minute): one
    audit entry per address and window, written when the window closes (or at stop), with
    the counts by kind. Addresses are bounded per window; the rest are counted as ``*``."""

    def __init__(
        self,
        record: Callable[[str, str, Counter[str]], None],
        clock: Clock,
        *,
        window_s: float = 60.0,
        max_addresses: int = 1024,
    ) -> None:
        self._record, self._clock = record, clock
        self._window_s, self._max = window_s, max_addresses
        self._open: dict[tuple[str, int], Counter[str]] = {}
        self.total = 0

    def _window(self) -> int:
        return int(self._clock.now().timestamp() // self._window_s)

    def add(self, address: str, kind: str, why: str) -> None:
        """Count one failure; the first of its window is also logged (at WARNING)."""
        w = self._window()
        self.flush(before=w)
        key = (address, w)
        if key not in self._open:
            if sum(1 for k in self._open if k[1] == w) >= self._max:
                key = ("*", w)
            if key not in self._open:
                log.warning(
                    "refused %s before authentication (%s): %s; more this minute are counted",
                    address, kind, why,
                )  # fmt: skip
                self._open[key] = Counter()
        self._open[key][kind] += 1
        self.total += 1

    def tick(self) -> None:
        """Write the windows that have closed by now."""
        self.flush(before=self._window())

    def flush(self, before: int | None = None) -> None:
        """Write the windows that have closed (every window when ``before`` is None)."""
        for key in sorted(k for k in self._open if before is None or k[1] < before):
            counts = self._open.pop(key)
            start = datetime.fromtimestamp(key[1] * self._window_s, UTC).isoformat()
            self._record(key[0], start, counts)


# -- the listener -------------------------------------------------------------------------


class _RefusedError(Exception):
    def __init__(self, why: str, kind: str) -> None:
        super().__init__(why)
        self.kind = kind


def _status(v: Verdict) -> str:
    if v.released or GuardReason.DENY_REPLAY in v.reasons:
        return "delivered"  # a replay of an id we accepted: a resend, and it is here
    if GuardReason.DENY_BAD_SIGNATURE in v.reasons:
        return "retry"  # from a peer that proved its key: ours may be out of date
    return "refused"


def _result(data: bytes, v: Verdict, status: str) -> Result:
    item = v.work.item
    uid = item.uid if item else None
    reasons = [r.value for r in v.reasons]
    return Result(peek_msg_id(data), uid, v.outcome.value, reasons, v.stage, status)


def _unjudged(data: bytes) -> Result:
    return Result(peek_msg_id(data), None, "", [], "link", "retry")


class PartnerListener:
    """Serves partners on one port: TLS, the hello, then batches and checkpoints."""

    def __init__(
        self,
        gw: Gateway,
        cfg: GatewayFile,
        tls: LinkTls,
        *,
        signer: Signer,
        ring: KeyRing,
        clock: Clock,
        on_accept: Callable[[bytes], None],
        refusal_window_s: float = 60.0,
    ) -> None:
        self._gw, self._cfg, self._tls = gw, cfg, tls
        self._signer, self._ring, self._clock = signer, ring, clock
        self._limits: Limits = cfg.limits
        self._on_accept = on_accept
        self._budget = Budget(cfg.limits.max_buffered_bytes)
        self._heads = HeadCheck(ring.verify)
        self._max_envelope = cfg.max_bytes * 3 // 2
        self.refusals = Refusals(self._audit_refusals, clock, window_s=refusal_window_s)
        self.connections: set[TlsChannel] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._reloaded = 0.0
        # Message ids already negative-acknowledged for a bad signature (bounded): a resend
        # of one is answered "retry" again without a second audit entry each round.
        self._nakd: dict[str, None] = {}
        self.port = 0
        self.dropped_frames = 0
        self.naks = 0

    @property
    def buffered(self) -> int:
        """Bytes held for all connections now (before authentication: all they sent)."""
        return self._budget.held

    async def start(self, host: str, port: int) -> int:
        """Listen; the port listened on."""
        loop = asyncio.get_running_loop()
        lim = self._limits

        def channel() -> TlsChannel:
            return TlsChannel(
                self._tls.listen, server_side=True, max_frame=MAX_FRAME,
                unauth_limit=lim.max_unauth_bytes, budget=self._budget,
                on_open=self._opened, on_close=self.connections.discard,
            )  # fmt: skip

        try:
            self._server = await loop.create_server(
                channel, host, port, backlog=max(128, min(lim.max_connections, 4096))
            )
        except OSError as exc:
            raise TransportError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        self._sweeper = asyncio.create_task(self._sweep())
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Close every connection and write the open refusal windows to the audit."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for chan in list(self.connections):
            chan.fail("the gateway is stopping", "stop")
        if self._server is not None:
            await self._server.wait_closed()
        self.refusals.flush()

    def _audit_refusals(self, address: str, start: str, counts: Counter[str]) -> None:
        n = sum(counts.values())
        kinds = ", ".join(f"{k} {c}" for k, c in sorted(counts.items()))
        self._gw.audit.append(
            start, "unauthenticated", "", address, "DENY", reasons=tuple(sorted(counts)),
            detail=f"{n} refused before authentication in the window from {start}: {kinds}",
        )  # fmt: skip
        self._gw.audit.flush()

    def _opened(self, chan: TlsChannel) -> None:
        if len(self.connections) >= self._limits.max_connections:
            self.refusals.add(chan.peer, "connections", "over max_connections")
            chan.fail("too many connections", "connections")
            return
        self.connections.add(chan)
        task = asyncio.create_task(self._serve(chan))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self) -> None:
        lim = self._limits
        tick = max(0.02, min(lim.idle_timeout_s, lim.read_timeout_s) / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for chan in list(self.connections):
                if now > chan.deadline(lim.idle_timeout_s, lim.read_timeout_s):
                    idle = chan.frame_since is None and (chan.authenticated or not chan.raw_in)
                    chan.fail("timed out", "idle" if idle else "timeout")
            self.refusals.tick()

    # -- one connection -----------------------------------------------------------------

    async def _serve(self, chan: TlsChannel) -> None:
        try:
            await chan.handshake
            partner = self._identify(chan)
            await self._hello(chan, partner)
        except (TransportError, ParseError, _RefusedError) as exc:
            shook = chan.handshake.done() and chan.handshake.exception() is None
            kind = chan.failure or getattr(exc, "kind", "hello" if shook else "handshake")
            if kind != "stop":
                self.refusals.add(chan.peer, kind, str(exc))
            chan.fail(str(exc), kind)
            return
        chan.authenticate()
        log.info("partner %s connected from %s", partner, chan.peer)
        try:
            while (frame := await chan.read_frame()) is not None:
                reply, halt = self._request(partner, frame)
                chan.write_frame(reply)
                await chan.drain()
                if halt:  # the sender resends from the first retry on, in order
                    break
        except TransportError as exc:
            if chan.failure in ("idle", "stop"):
                log.info("closing %s's idle link", partner)
            else:
                self.dropped_frames += 1
                log.warning("closing %s's link: %s", partner, exc)
                self._gw.refuse_frame(
                    f"{chan.peer}: {exc}", too_large=chan.failure == "too-large", partner=partner
                )
        finally:
            chan.close()

    def _identify(self, chan: TlsChannel) -> str:
        der = chan.peer_certificate()
        if der is None:
            raise _RefusedError("no client certificate", "certificate")
        cert = x509.load_der_x509_certificate(der)
        issuers = [n for n, ca in self._tls.cas.items() if _issued_by(cert, ca)]
        if len(issuers) != 1:
            raise _RefusedError("the certificate is not issued by one partner's CA", "certificate")
        (partner,) = issuers
        chosen = chan.ssl_object.context
        if chosen is not self._tls.listen and chosen is not self._tls.listen_for[partner]:
            why = f"a certificate of {partner} that named another partner"
            raise _RefusedError(why, "certificate")
        if not _is_gateway(cert):
            why = f"a certificate of {partner} that is not a gateway's"
            raise _RefusedError(why, "certificate")
        return partner

    def _reload_keys(self) -> None:
        """A partner that proved itself by TLS but whose hello does not verify: perhaps the
        operator has installed its key since we started. Read the key files again (at most
        once a second)."""
        now = time.monotonic()
        if now - self._reloaded < 1.0:
            return
        self._reloaded = now
        try:
            self._ring.reload(self._cfg.keys_dir)
        except ConfigError as exc:
            log.warning("cannot reload the partners' keys: %s", exc)

    async def _hello(self, chan: TlsChannel, partner: str) -> None:
        us = self._signer.name
        frame = await chan.read_frame()
        if frame is None or frame[:1] != b"H":
            raise _RefusedError("no hello", "hello")
        dial = decode_hello(frame[1:])

        def check(h: Hello, step: str, echo: bytes) -> str:
            now = _now(self._clock)
            return check_hello(
                h, step=step, sender=partner, receiver=us, echo=echo, ring=self._ring, now=now
            )

        why = check(dial, "dial", b"")
        if why and ("verify" in why or "no public key" in why):
            self._reload_keys()
            why = check(dial, "dial", b"")
        nonce = os.urandom(NONCE)
        at = _now(self._clock).isoformat()
        answer = make_hello(
            self._signer, "answer", partner,
            nonce=nonce, echo=dial.nonce, at=at, ok=not why, why=why,
        )  # fmt: skip
        chan.write_frame(b"H" + answer.encode())
        await chan.drain()
        if why:
            log.warning("partner %s: its hello is refused: %s", partner, why)
            raise _RefusedError(why, "hello")
        frame = await chan.read_frame()
        if frame is None or frame[:1] != b"H":
            raise _RefusedError(f"{partner} did not confirm the hello", "hello")
        confirm = decode_hello(frame[1:])
        why = check(confirm, "confirm", nonce)
        if why:
            raise _RefusedError(why, "hello")
        if not confirm.ok:
            log.warning("partner %s cannot verify our signing key: %s", partner, confirm.why)
            raise _RefusedError(f"{partner} cannot verify our key: {confirm.why}", "hello")

    # -- requests -----------------------------------------------------------------------

    def _request(self, partner: str, frame: bytes) -> tuple[bytes, bool]:
        kind, body = frame[:1], frame[1:]
        if kind == b"B":
            try:
                datas = decode_batch(body)
            except ParseError as exc:
                return msgspec.json.encode(BatchReply([], error=str(exc))), True
            results, halt = self._judge(partner, datas)
            return msgspec.json.encode(BatchReply(results)), halt
        if kind == b"C":
            try:
                cp, proof = checkpoint_from_wire(body)
                if cp.log_id != partner or cp.signer != partner:
                    raise KizunaError(f"{partner} sent a checkpoint of {cp.log_id}'s log")
                return checkpoint_to_wire(self._gw.witness(cp, proof)), False
            except KizunaError as exc:
                log.error("refused to countersign %s's checkpoint: %s", partner, exc)
                return msgspec.json.encode({"error": str(exc)}), False
        return msgspec.json.encode({"error": f"unknown request {kind!r}"}), False

    def _suspect(self, datas: Sequence[bytes], partner: str) -> int | None:
        """The first envelope that is well formed, from the partner, to us and signed, but
        whose signature does not verify: a key failure, not a policy one."""
        for i, data in enumerate(datas):
            if len(data) > self._max_envelope:
                continue
            try:
                env = open_envelope(data)
            except ParseError:
                continue
            if env.sender != partner or env.receiver != self._signer.name or not env.signature:
                continue
            if not self._heads(env):
                return i
        return None

    def _judge(self, partner: str, datas: Sequence[bytes]) -> tuple[list[Result], bool]:
        """Judge a batch in order. From the first envelope that must be retried on, nothing
        more is judged: the sender sends it all again, in order."""
        out: list[Result] = []
        rest = list(datas)
        while rest:
            j = self._suspect(rest, partner)
            if j is not None and peek_msg_id(rest[j]) in self._nakd:
                take = rest[:j]  # judged and on the record the first time it came
                if take:
                    out += self._judge(partner, take)[0]
                self.naks += len(rest) - j
                return out + [_unjudged(d) for d in rest[j:]], True
            take = rest if j is None else rest[: j + 1]
            try:
                verdicts = self._gw.receive_batch(take, partner)
            except KizunaError as exc:
                log.error("cannot judge %d items from %s: %s", len(rest), partner, exc)
                self.naks += len(rest)
                return out + [_unjudged(d) for d in rest], True
            for i, (data, v) in enumerate(zip(take, verdicts, strict=True)):
                status = _status(v)
                out.append(_result(data, v, status))
                if v.released:
                    self._on_accept(v.work.out)
                if status == "retry":
                    if len(self._nakd) >= 4096:
                        self._nakd.clear()
                    self._nakd[peek_msg_id(data)] = None
                    after = rest[i + 1 :]
                    self.naks += 1 + len(after)
                    log.warning(
                        "partner %s: an envelope does not verify under its key (%s); "
                        "%d items to be sent again", partner, v.reasons, 1 + len(after),
                    )  # fmt: skip
                    return out + [_unjudged(d) for d in after], True
            rest = rest[len(take) :]
        return out, False


# -- the dialling side --------------------------------------------------------------------


class LinkRefusedError(TransportError):
    """The partner is reachable but the link could not be set up (certificate, hello or
    key): the operator must act."""


class _Session:
    """One authenticated connection to a partner: requests go out at once; replies come
    back in order and complete the requests' futures in order."""

    def __init__(self, chan: TlsChannel, partner: str) -> None:
        self.chan = chan
        self.partner = partner
        self._waiting: deque[asyncio.Future[bytes]] = deque()
        self._reader = asyncio.create_task(self._read())

    @property
    def alive(self) -> bool:
        """Still reading replies."""
        return not self._reader.done() and not self.chan.closed

    def send(self, frame: bytes) -> asyncio.Future[bytes]:
        """Write a request now; its reply completes the future."""
        if not self.alive:
            raise TransportError(f"the link to {self.partner} is closed")
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_quiet)
        self.chan.write_frame(frame)
        self._waiting.append(fut)
        return fut

    async def _read(self) -> None:
        err: TransportError = TransportError(f"the link to {self.partner} is closed")
        try:
            while True:
                reply = await self.chan.read_frame()
                if reply is None:
                    err = TransportError(f"{self.partner} closed the link")
                    return
                if not self._waiting:
                    err = TransportError(f"{self.partner} answered nothing we asked")
                    return
                fut = self._waiting.popleft()
                if not fut.done():
                    fut.set_result(reply)
        except TransportError as exc:
            err = exc
        finally:
            while self._waiting:
                fut = self._waiting.popleft()
                if not fut.done():
                    fut.set_exception(err)
            self.chan.close()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self.chan.close()


def _quiet(f: asyncio.Future[bytes]) -> None:
    if not f.cancelled():
        f.exception()


class PartnerLink:
    """The connection to one partner, opened when needed and kept; shared by the forwarder
    and the checkpoint exchange."""

    def __init__(
        self,
        partner: Partner,
        tls: LinkTls,
        *,
        signer: Signer,
        ring: KeyRing,
        keys_dir: Path,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        self.partner = partner
        self._tls, self._signer, self._ring = tls, signer, ring
        self._keys_dir, self._clock, self._timeout = keys_dir, clock, timeout
        self._session: _Session | None = None
        self._lock = asyncio.Lock()
        self.connects = 0

    async def session(self) -> _Session:
        """The open, authenticated connection, made now if there is none."""
        async with self._lock:
            if self._session is not None and self._session.alive:
                return self._session
            self._session = await self._connect()
            self.connects += 1
            return self._session

    async def call(self, frame: bytes, timeout: float | None = None) -> bytes:
        """One request and its reply (beside whatever else is in flight)."""
        s = await self.session()
        fut = s.send(frame)
        await s.chan.drain()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout or self._timeout)
        except TimeoutError as exc:
            await self.drop()
            raise TransportError(f"{self.partner.nation} did not answer in time") from exc

    async def drop(self) -> None:
        """Close the connection; the next request opens a new one."""
        s, self._session = self._session, None
        if s is not None:
            await s.close()

    async def _connect(self) -> _Session:
        p, us = self.partner, self._signer.name
        loop = asyncio.get_running_loop()
        ctx = self._tls.dial[p.nation]
        try:
            _, chan = await asyncio.wait_for(
                loop.create_connection(
                    lambda: TlsChannel(ctx, server_side=False, server_hostname=_sni(us)),
                    p.host, p.port,
                ),
                self._timeout,
            )  # fmt: skip
            await asyncio.wait_for(chan.handshake, self._timeout)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach {p.host}:{p.port}: {exc}") from exc
        try:
            self._check_server(chan)
            await asyncio.wait_for(self._hello(chan), self._timeout)
        except TimeoutError as exc:
            chan.close()
            raise LinkRefusedError(f"{p.nation} did not finish the hello") from exc
        except (TransportError, ParseError) as exc:
            chan.close()
            if isinstance(exc, LinkRefusedError):
                raise
            raise LinkRefusedError(f"{p.nation} refused the link: {exc}") from exc
        chan.authenticate()
        return _Session(chan, p.nation)

    def _check_server(self, chan: TlsChannel) -> None:
        p = self.partner
        der = chan.peer_certificate()
        if chan.error is not None:
            raise LinkRefusedError(f"{p.nation} refused the link: {chan.error}")
        cert = x509.load_der_x509_certificate(der) if der else None
        if cert is None or not _issued_by(cert, self._tls.cas[p.nation]):
            raise LinkRefusedError(f"{p.nation}'s certificate is not issued by its pinned CA")
        if not _names_host(cert, p.host):
            raise LinkRefusedError(f"{p.nation}'s certificate does not name {p.host}")

    async def _hello(self, chan: TlsChannel) -> None:
        p, us = self.partner.nation, self._signer.name
        nonce = os.urandom(NONCE)
        at = _now(self._clock).isoformat()
        dial = make_hello(self._signer, "dial", p, nonce=nonce, echo=b"", at=at)
        chan.write_frame(b"H" + dial.encode())
        await chan.drain()
        frame = await chan.read_frame()
        if frame is None or frame[:1] != b"H":
            why = f"{p} closed the link during the hello (was our certificate refused?)"
            raise LinkRefusedError(why)
        answer = decode_hello(frame[1:])

        def check() -> str:
            now = _now(self._clock)
            return check_hello(
                answer, step="answer", sender=p, receiver=us, echo=nonce, ring=self._ring, now=now
            )

        why = check()
        if why and ("verify" in why or "no public key" in why):
            with contextlib.suppress(ConfigError):
                self._ring.reload(self._keys_dir)
            why = check()
        if not why and not answer.ok:
            raise LinkRefusedError(f"{p} cannot verify our signing key: {answer.why}")
        at = _now(self._clock).isoformat()
        confirm = make_hello(
            self._signer, "confirm", p, nonce=nonce, echo=answer.nonce, at=at, ok=not why, why=why
        )
        chan.write_frame(b"H" + confirm.encode())
        await chan.drain()
        if why:
            raise LinkRefusedError(f"cannot verify {p}'s hello: {why}")


# -- the forwarder ------------------------------------------------------------------------


class _StallError(Exception):
    """The link stopped short: what was not answered is due again."""


class Forwarder:
    """Drains ``out.<partner>`` over the partner's link: up to ``window`` batch frames of up
    to ``batch`` envelopes in flight, each acknowledged on the bus, in order, as its reply
    arrives. A result to retry, or a link that breaks, makes everything not yet answered
    due again, in order; the next attempt waits longer each time (up to ``max_backoff``).

    A fetch and its acknowledgement are each one durable bus commit, run on the event loop,
    so ``batch`` sets how many commits a backlog costs: at 100 they were a fifth of the
    gateway's time under load. A fetch takes only what waits, so a quiet link still sends
    single items at once."""

    def __init__(
        self,
        link: PartnerLink,
        bus: Bus,
        *,
        batch: int = 500,
        window: int = 8,
        retry: float = 0.5,
        max_backoff: float = 5.0,
        reply_timeout: float = 30.0,
    ) -> None:
        self.link = link
        self._bus = bus
        self.batch = max(1, min(batch, MAX_BATCH_ITEMS))
        self.window = max(1, window)
        self._retry, self._max_backoff = retry, max_backoff
        self._reply_timeout = reply_timeout
        self.frames = 0  # batch frames sent (resends too)
        self.stalls = 0  # times the link stopped short and what was unanswered went again
        self.max_inflight = 0

    async def run(self) -> None:
        """Forward until cancelled."""
        nation = self.link.partner.nation
        sub = await self._bus.subscribe(subject("out", nation), durable=f"link-{nation}")
        delay = self._retry
        while True:
            msgs = await sub.fetch(self.batch, timeout=1.0)
            if not msgs:
                continue
            try:
                await self._pump(sub, msgs)
                delay = self._retry
            except (_StallError, TransportError) as exc:
                self.stalls += 1
                level = logging.INFO
                if isinstance(exc, (_StallError, LinkRefusedError)):
                    level = logging.WARNING  # the operator must act: a key or a certificate
                log.log(
                    level, "partner %s: %d items pending; retrying in %.1fs: %s",
                    nation, sub.pending(), delay, exc,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)

    def _frames(self, msgs: Sequence[Message]) -> list[list[Message]]:
        """Cut a fetch into batch frames that fit under the frame limit."""
        out: list[list[Message]] = [[]]
        size = _REPLY_OVERHEAD
        for m in msgs:
            if out[-1] and size + len(m.data) + 1 > MAX_FRAME:
                out.append([])
                size = _REPLY_OVERHEAD
            out[-1].append(m)
            size += len(m.data) + 1
        return out

    async def _pump(self, sub: Subscription, first: list[Message]) -> None:
        inflight: deque[tuple[list[Message], asyncio.Future[bytes]]] = deque()
        todo = first
        try:
            while True:
                if todo:
                    s = await self.link.session()
                    for chunk in self._frames(todo):
                        inflight.append((chunk, s.send(batch_frame([m.data for m in chunk]))))
                        self.frames += 1
                    self.max_inflight = max(self.max_inflight, len(inflight))
                    todo = []
                    await s.chan.drain()
                while inflight and (inflight[0][1].done() or len(inflight) >= self.window):
                    await self._settle(sub, inflight)
                if len(inflight) < self.window:
                    todo = await sub.fetch(self.batch, timeout=0 if inflight else 1.0)
                    if todo:
                        continue
                    if not inflight:
                        return  # nothing to send: the connection stays open for the next
                    await asyncio.wait([inflight[0][1]], timeout=self._reply_timeout)
                    if not inflight[0][1].done():
                        raise TransportError(f"{self.link.partner.nation} did not answer in time")
        except BaseException:
            left = [m for chunk, _ in inflight for m in chunk] + list(todo)
            for m in sorted(left, key=lambda m: m.seq):
                await m.nak()
            if inflight or todo:
                with contextlib.suppress(Exception):
                    await self.link.drop()
            raise

    async def _settle(
        self, sub: Subscription, inflight: deque[tuple[list[Message], asyncio.Future[bytes]]]
    ) -> None:
        msgs, fut = inflight[0]
        reply_bytes = await asyncio.wait_for(asyncio.shield(fut), self._reply_timeout)
        try:
            reply = decode_reply(reply_bytes)
        except ParseError as exc:
            raise _StallError(f"an unreadable reply: {exc}") from exc
        results = reply.results
        done = 0
        for r in results[: len(msgs)]:
            if r.status not in ("delivered", "refused"):
                break
            if r.status == "refused":
                log.info("partner %s refused %s: %s", self.link.partner.nation, r.uid, r.reasons)
            done += 1
        await sub.ack_many(msgs[:done])
        inflight[0] = (msgs[done:], fut)
        if done < len(msgs):
            why = reply.error or (results[done].reasons if done < len(results) else "no result")
            raise _StallError(f"{len(msgs) - done} items to send again ({why})")
        inflight.popleft()
