"""The node's feed listener: its own gateway reads committed records by sequence number and
publishes partners' items, over mutual TLS (wire format: ``kizuna.store``).

Only a registry principal of kind ``gateway`` whose nation is the node's may open it; anyone
else is refused at the handshake's end, counted and logged. The feed never sheds its reader:
each reply waits for the socket to take it, and the reader asks again at its own pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import datetime
from typing import TYPE_CHECKING

from kizuna.cot import Event, check_times, event_to_xml, parse_event
from kizuna.errors import ParseError, StoreError, TransportError, ValidationError
from kizuna.identity import Principal, PrincipalKind, principal_for_cert
from kizuna.node._stats import Drop
from kizuna.store import (
    FEED_LONG_POLL_S,
    FEED_REPLY_BYTES,
    PUBLISHER,
    FeedRecord,
    FeedReply,
    Publish,
    Published,
    PublishItem,
    PublishResult,
    Read,
    Record,
    Records,
    Refused,
    decode_request,
    encode_frame,
    read_feed_frame,
)

if TYPE_CHECKING:
    from kizuna.node._server import NodeServer

__all__ = ["FeedService"]

_CONTROL = ("t-x-takp", "t-x-c-t")


class FeedService:
    """Serves the feed for one node; made and started by ``NodeServer.start``."""

    def __init__(self, node: NodeServer) -> None:
        self.node = node
        self.connections = 0
        self.refused = 0
        self.published = 0
        self._open: set[asyncio.Task[None]] = set()

    # ---- connections -----------------------------------------------------------------
    def admit(self, peercert: object, peer: object) -> Principal | None:
        """The principal a connection is, if it may use the feed; else None (counted)."""
        node = self.node
        principal = principal_for_cert(peercert, node.registry)  # type: ignore[arg-type]
        why = ""
        if principal is None:
            why = "no registry entry for the certificate"
        elif principal.kind is not PrincipalKind.GATEWAY:
            why = f"{principal.id} is a {principal.kind.value}, not a gateway"
        elif principal.nation != node.config.nation:
            why = f"{principal.id} is {principal.nation}'s gateway, not {node.config.nation}'s"
        elif len(self._open) >= self._limit():
            why = f"{len(self._open)} feed connections open"
        if why:
            self.refused += 1
            node.stats.drop(Drop.FEED_REFUSED, str(peer), why)
            return None
        return principal

    def _limit(self) -> int:
        feed = self.node.config.feed
        return feed.max_connections if feed is not None else 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        principal = self.admit(writer.get_extra_info("peercert"), peer)
        if principal is None or self.node.stopping:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        self.connections += 1
        name = f"{principal.id}@feed"
        lim = self.node.config.limits
        try:
            while True:
                async with asyncio.timeout(lim.idle_timeout_s):
                    data = await read_feed_frame(reader, body_timeout=lim.read_timeout_s)
                if data is None:
                    return
                try:
                    request = decode_request(data)
                except ParseError as exc:
                    self.node.stats.drop(Drop.MALFORMED, name, str(exc))
                    await self._reply(writer, Refused(str(exc)[:300]))
                    return
                await self._reply(writer, await self._answer(request, principal, name))
        except TimeoutError:
            self.node.stats.drop(Drop.IDLE_TIMEOUT, name, "feed idle")
        except TransportError as exc:
            self.node.stats.drop(Drop.FRAMING, name, str(exc))
        except (OSError, ssl.SSLError):
            pass
        finally:
            self._open.discard(task)
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def _reply(self, writer: asyncio.StreamWriter, reply: FeedReply) -> None:
        writer.write(encode_frame(reply))
        await writer.drain()  # the reader's pace: wait, never shed

    async def _answer(self, request: Read | Publish, principal: Principal, name: str) -> FeedReply:
        try:
            if isinstance(request, Read):
                return await self._read(request)
            return await self._publish(request, principal, name)
        except StoreError as exc:
            self.node.stats.log.error("feed: %s", exc)
            return Refused(f"store: {exc}"[:300])

    async def stop(self) -> None:
        for task in list(self._open):
            task.cancel()
        if self._open:
            await asyncio.wait(list(self._open), timeout=2.0)

    # ---- reading ---------------------------------------------------------------------
    async def _read(self, request: Read) -> Records:
        node = self.node
        tick = node.commit_tick  # taken first: a commit after this wakes the wait below
        rows = await node.store.since(request.after, request.max)
        if not rows:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FEED_LONG_POLL_S):
                    await tick.wait()
            rows = await node.store.since(request.after, request.max)
        out: list[FeedRecord] = []
        size = 0
        for seq, record in rows:
            xml = event_to_xml(record.event, node.table)
            size += len(xml) + 64
            if out and size > FEED_REPLY_BYTES:
                break
            out.append(FeedRecord(seq, record.nation, record.origin, record.label_source, xml))
        last = await node.store.last_seq()
        return Records(tuple(out), max(last, out[-1].seq) if out else last)

    # ---- publishing ------------------------------------------------------------------
    async def _publish(self, request: Publish, principal: Principal, name: str) -> Published:
        node = self.node
        now = node.clock.now()
        results: list[PublishResult] = []
        records: list[tuple[int, Record]] = []
        for item in request.items:
            got = self._judge(item, principal, now)
            if isinstance(got, str):
                node.stats.drop(Drop.NOT_PERMITTED, name, f"feed item from {item.origin}: {got}")
                results.append(PublishResult("refused", got))
            else:
                records.append((len(results), got))
                results.append(PublishResult("new"))
        if records:
            fresh = await node.commit([r for _, r in records])
            for (i, record), new in zip(records, fresh, strict=True):
                if new:
                    self.published += 1
                    node.stats.accepted += 1
                    node.relay(record)
                else:
                    node.stats.duplicates += 1
                    results[i] = PublishResult("duplicate")
        return Published(tuple(results))

    def _judge(self, item: PublishItem, principal: Principal, now: datetime) -> Record | str:
        """The record a partner's item is committed as, or why it is refused."""
        node = self.node
        if item.origin == node.config.nation:
            return f"origin {item.origin} is this node's own nation, not a partner's"
        if item.origin not in node.table.trigraphs:
            return f"origin {item.origin} is not a known nation"
        try:
            event: Event = parse_event(item.xml, node.policy, node.table)
            check_times(event, now, max_skew=node.max_skew)
        except ValidationError as exc:
            return f"invalid: {exc}"[:300]
        except ParseError as exc:
            return f"malformed: {exc}"[:300]
        if event.type.startswith(_CONTROL):
            return "control messages are not items"
        if event.label is None:
            return "an item from a partner must carry its label"
        decision = node.decider.decide(event.label, principal.viewer, now)
        if not decision.permit:
            return "not permitted: " + ", ".join(r.value for r in decision.reasons)
        owner = node.owners.setdefault(event.uid, principal.id)
        if owner != principal.id:
            return f"uid {event.uid} belongs to {owner}"
        return Record(principal.id, event, item.origin, PUBLISHER)
