"""Real gateways (guard, audit, SQLite store, bus, signed envelopes) for the red-team tests:
any pair of nations, either codec, any policy table, carried back to back in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kizuna.bus import SqliteBus, subject
from kizuna.clock import ManualClock
from kizuna.gateway import (
    CotItemCodec,
    Gateway,
    GatewayConfig,
    GatewayDb,
    ItemCodec,
    JsonItemCodec,
    KeyRing,
    RuleSet,
    Signer,
    Verdict,
    load_rules,
)
from kizuna.labels import Decider, PolicyTable, default_table
from kizuna.roadmap import Tier, load_catalogue

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATALOGUE = load_catalogue()


@dataclass
class Side:
    nation: str
    gw: Gateway
    db: GatewayDb
    bus: SqliteBus
    codec: ItemCodec


class Link:
    """Two nations' gateways, each holding the other at a tier it can change."""

    def __init__(
        self,
        a: str,
        b: str,
        *,
        tier: Tier = Tier.T2,
        table: PolicyTable | None = None,
        rules: RuleSet | None = None,
        codec: str = "cot",
    ) -> None:
        self.clock = ManualClock(T0)
        self.table = table or default_table()
        signers = {n: Signer.generate(n) for n in (a, b)}
        ring = KeyRing.of(*signers.values())
        self.sides: dict[str, Side] = {}
        for nation, partner in ((a, b), (b, a)):
            c: ItemCodec
            c = CotItemCodec(nation, table=self.table) if codec == "cot" else JsonItemCodec()
            db, bus = GatewayDb(":memory:"), SqliteBus(":memory:", clock=self.clock)
            gw = Gateway(
                GatewayConfig(nation, {partner: tier}),
                signer=signers[nation], ring=ring, db=db, bus=bus, codec=c,
                tier_rules=CATALOGUE.tiers, rules=rules or load_rules(), clock=self.clock,
                decider=Decider(self.table),
            )  # fmt: skip
            self.sides[nation] = Side(nation, gw, db, bus, c)

    def __getitem__(self, nation: str) -> Side:
        return self.sides[nation]

    async def send(
        self, origin: str, partner: str, raws: Sequence[bytes], defaulted: Sequence[bool] = ()
    ) -> tuple[list[Verdict], list[Verdict]]:
        """Offer at ``origin``'s gateway, carry every envelope across, judge at ``partner``:
        the sender's verdicts and the receiver's."""
        src, dst = self.sides[origin], self.sides[partner]
        out = await src.gw.offer(raws, partner, defaulted=defaulted)
        sub = await src.bus.subscribe(subject("out", partner), durable=f"link-{partner}")
        got: list[Verdict] = []
        while msgs := await sub.fetch(512):
            got.extend(dst.gw.receive_batch([m.data for m in msgs], origin))
            await sub.ack_many(msgs)
        return out, got

    async def close(self) -> None:
        for s in self.sides.values():
            await s.bus.close()
            s.db.close()


def cot(
    uid: str = "trk-1",
    type_: str = "a-h-S",
    label: str | None = "SECRET//REL TO USA, JPN",
    extra: str = "",
    *,
    plain: bool = False,
) -> bytes:
    """A CoT event as a TAK client would publish it; ``extra`` goes into its detail."""
    head = "" if label is None else f'<label banner="{label}"/>'
    detail = (
        extra
        if plain
        else (
            f'{head}<contact callsign="HAWK 1"/><sensor fov="30" model="APY-10"/>'
            f"<remarks>from P-8A</remarks>{extra}"
        )
    )
    return (
        f'<event version="2.0" uid="{uid}" type="{type_}" time="2026-06-01T12:00:00.000Z" '
        f'start="2026-06-01T12:00:00.000Z" stale="2026-06-01T12:05:00.000Z" how="m-g">'
        f'<point lat="26.2123456" lon="127.6789012" hae="10.0" ce="25.0" le="9.0"/>'
        f"<detail>{detail}</detail></event>"
    ).encode()
