"""The two national gateways of the exercise, wired back to back through their buses.

Every item a nation's picture offers its partner goes through the real outbound guard (with
audit), is sealed and published on the bus, carried across, and judged again by the partner's
inbound guard; only what the partner accepted enters its picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from kizuna.bus import SqliteBus, Subscription, subject
from kizuna.clock import Clock
from kizuna.cot import Event, event_to_xml
from kizuna.gateway import (
    CotItemCodec,
    Gateway,
    GatewayConfig,
    GatewayDb,
    KeyRing,
    Signer,
    load_rules,
)
from kizuna.labels import Decider
from kizuna.roadmap import Tier, load_catalogue

__all__ = ["GatewayCrossing"]

_BATCH = 512


class _Side:
    def __init__(self, gw: Gateway, db: GatewayDb, bus: SqliteBus, codec: CotItemCodec) -> None:
        self.gw, self.db, self.bus, self.codec = gw, db, bus, codec
        self.link: Subscription | None = None  # the durable consumer toward the partner


class GatewayCrossing:
    """Both gateways hold each other at ``tier``; state lives in memory for the run."""

    def __init__(
        self, nations: tuple[str, str], tier: Tier, clock: Clock, rules: Path | None = None
    ) -> None:
        self._loop = asyncio.new_event_loop()
        signers = {n: Signer.generate(n) for n in nations}
        ring = KeyRing.of(*signers.values())
        catalogue = load_catalogue()
        ruleset = load_rules(rules)
        decider = Decider()
        self._sides: dict[str, _Side] = {}
        for nation in nations:
            partner = next(n for n in nations if n != nation)
            db = GatewayDb(":memory:")
            bus = SqliteBus(":memory:", clock=clock)
            codec = CotItemCodec(nation)
            gw = Gateway(
                GatewayConfig(nation, {partner: tier}),
                signer=signers[nation],
                ring=ring,
                db=db,
                bus=bus,
                codec=codec,
                tier_rules=catalogue.tiers,
                rules=ruleset,
                clock=clock,
                decider=decider,
            )
            self._sides[nation] = _Side(gw, db, bus, codec)

    def send(self, origin: str, partner: str, events: Sequence[Event]) -> list[Event]:
        if not events:
            return []
        return self._loop.run_until_complete(self._send(origin, partner, events))

    async def _send(self, origin: str, partner: str, events: Sequence[Event]) -> list[Event]:
        src, dst = self._sides[origin], self._sides[partner]
        await src.gw.offer([event_to_xml(e) for e in events], partner)
        sub = src.link
        if sub is None:
            sub = src.link = await src.bus.subscribe(
                subject("out", partner), durable=f"link-{partner}"
            )
        accepted: list[Event] = []
        while True:
            msgs = await sub.fetch(_BATCH)
            for verdict in dst.gw.receive_batch([m.data for m in msgs], origin):
                if verdict.released and verdict.work.item is not None:
                    # the item the guard judged, as the event its canonical bytes carry
                    accepted.append(dst.codec.event_of(verdict.work.item))
            await sub.ack_many(msgs)
            if len(msgs) < _BATCH:  # nothing else is on the bus: the offer was all published
                return accepted

    def figures(self) -> dict[str, float]:
        """Released share each way and the reciprocity ratio, from the ledgers."""
        out: dict[str, float] = {}
        released: dict[str, int] = {}
        for nation, side in self._sides.items():
            for partner in side.gw.ledger.partners():
                tally = side.gw.ledger.total("out", partner)
                key = f"{nation}->{partner}"
                released[key] = tally.released
                out[f"releasable_share.{key}"] = (
                    tally.released / tally.offered if tally.offered else 0.0
                )
                out[f"sanitised_share.{key}"] = (
                    tally.sanitised / tally.offered if tally.offered else 0.0
                )
        usa_jpn, jpn_usa = released.get("USA->JPN", 0), released.get("JPN->USA", 0)
        out["reciprocity_ratio"] = jpn_usa / usa_jpn if usa_jpn else 0.0
        return out

    def close(self) -> None:
        async def _close() -> None:
            for side in self._sides.values():
                await side.bus.close()
                side.db.close()

        self._loop.run_until_complete(_close())
        self._loop.close()
