"""The gateway's connection to its national node: the node's committed-event feed, over mutual
TLS with the gateway's own certificate (a registry principal of kind ``gateway``).

Outbound, the bridge reads committed records by sequence number and offers our nation's
(the node says which: the origin nation it derived, never the item's own claim) to every
partner. How far each partner has been offered is a cursor kept in gateway.db in the same
commit as that batch's audit rows, so a restart resumes after it and no item is judged twice
for a partner; and since the bridge reads at its own pace the node never sheds it.

Inbound, what partners sent and the inbound guard accepted is handed to the node through the
feed in the order it was accepted; the node answers once it has committed, and only then
does the hand-over cursor move. Nothing is handed over twice on a reconnect, and nothing is
lost while the node is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence

from kizuna.errors import KizunaError, TransportError
from kizuna.gateway._db import GatewayDb, Received
from kizuna.gateway._gateway import Gateway
from kizuna.store import (
    DEFAULT,
    FEED_MAX_PUBLISH,
    FEED_MAX_READ,
    FEED_REPLY_BYTES,
    FeedClient,
    Records,
)

__all__ = ["HANDED_OVER", "NodeBridge"]

log = logging.getLogger("kizuna.gateway.bridge")

HANDED_OVER = "in"
"""The cursor over ``received``: accepted partner items the node has committed."""


class NodeBridge:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        nation: str,
        gateway: Gateway,
        db: GatewayDb,
        partners: Sequence[str],
        context: ssl.SSLContext,
        server_hostname: str | None = None,
        retry: float = 0.5,
        batch: int = FEED_MAX_READ,
    ) -> None:
        self.host, self.port = host, port
        self.nation = nation
        self._gw, self._db = gateway, db
        self._partners = tuple(partners)
        self._context = context
        self._server_hostname = server_hostname
        self._retry = retry
        self._batch = batch
        self._wake = asyncio.Event()
        self.offered = 0  # our records offered (once each, to every partner)
        self.published = 0  # partner items the node committed (new or already held)
        self.refused = 0  # partner items the node refused

    def wake(self) -> None:
        """Partner items were accepted: hand them to the node now rather than at the next
        look."""
        self._wake.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._keep(self._offer_loop, "offer"))
            group.create_task(self._keep(self._hand_over_loop, "hand-over"))

    async def _connect(self) -> FeedClient:
        return await FeedClient.connect(
            self.host, self.port, self._context, server_hostname=self._server_hostname
        )

    async def _keep(self, loop: Callable[[FeedClient], Awaitable[None]], what: str) -> None:
        """Run one direction for ever: a lost or refused feed is opened again after a pause,
        and the cursors say where to go on."""
        while True:
            try:
                client = await self._connect()
            except TransportError as exc:
                log.info("node feed (%s) unreachable: %s", what, exc)
                await asyncio.sleep(self._retry)
                continue
            try:
                await loop(client)
            except TransportError as exc:
                log.info("node feed (%s) lost: %s", what, exc)
            except KizunaError as exc:  # our own store failed: the cursors did not move
                log.error("node feed (%s) stopped: %s; retrying", what, exc)
            finally:
                await client.close()
            await asyncio.sleep(self._retry)

    # -- our nation's records, to every partner ------------------------------------------

    async def _offer_loop(self, client: FeedClient) -> None:
        cursors = {p: self._gw.cursor(p) for p in self._partners}
        if not cursors:
            await asyncio.Event().wait()  # no partner to offer to: hold the feed open
        after = min(cursors.values())
        ahead = asyncio.ensure_future(client.read(after, self._batch))
        warned = False
        try:
            while True:
                reply: Records = await ahead
                if not reply.records:
                    if reply.last_seq < after and not warned:
                        warned = True
                        log.warning(
                            "the node's feed ends at %d, before our cursor %d: was its store "
                            "replaced? Nothing is offered until it passes the cursor",
                            reply.last_seq, after,
                        )  # fmt: skip
                    ahead = asyncio.ensure_future(client.read(after, self._batch))
                    continue
                after = reply.records[-1].seq
                ahead = asyncio.ensure_future(client.read(after, self._batch))  # in flight
                await self._offer(reply, cursors)
        finally:
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransportError):
                await ahead

    async def _offer(self, reply: Records, cursors: dict[str, int]) -> None:
        last = reply.records[-1].seq
        ours = [r for r in reply.records if r.nation == self.nation]  # not partners' items
        for partner in self._partners:
            if last <= cursors[partner]:
                continue
            todo = [r for r in ours if r.seq > cursors[partner]]
            await self._gw.offer(
                [r.xml for r in todo], partner,
                defaulted=[r.label_source == DEFAULT for r in todo], cursor=last,
            )  # fmt: skip
            cursors[partner] = last
        self.offered += len(ours)

    # -- partners' items, to the node ----------------------------------------------------

    async def _hand_over_loop(self, client: FeedClient) -> None:
        while True:
            self._wake.clear()
            rows = self._db.received_since(self._db.cursor(HANDED_OVER), FEED_MAX_PUBLISH)
            if not rows:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                continue
            chunk = _fit(rows)
            results = await client.publish([(r.origin, r.data) for _, r in chunk])
            for (_, r), result in zip(chunk, results, strict=True):
                if result.status == "refused":
                    self.refused += 1
                    log.warning("the node refused %s from %s: %s", r.uid, r.origin, result.reason)
                else:
                    self.published += 1
            self._db.save_cursor(HANDED_OVER, chunk[-1][0])


def _fit(rows: list[tuple[int, Received]]) -> list[tuple[int, Received]]:
    """As many rows as one publish frame holds comfortably (at least one)."""
    out: list[tuple[int, Received]] = []
    size = 0
    for row in rows:
        size += len(row[1].data) + 16
        if out and size > FEED_REPLY_BYTES:
            break
        out.append(row)
    return out
