"""Two real gateways (USA and JPN) with their own databases, keys and bus, wired back to back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kizuna.bus import SqliteBus, subject
from kizuna.clock import ManualClock
from kizuna.cot import category_of
from kizuna.gateway import (
    Gateway,
    GatewayConfig,
    GatewayDb,
    Item,
    JsonItemCodec,
    KeyRing,
    Meta,
    Signer,
    Verdict,
    load_rules,
)
from kizuna.roadmap import Tier, load_catalogue

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CODEC = JsonItemCodec()
SIGNERS = {"USA": Signer.generate("USA"), "JPN": Signer.generate("JPN")}
RING = KeyRing.of(*SIGNERS.values())
CATALOGUE = load_catalogue()
# a CoT type of each category (the guard derives an item's category from its type alone)
TYPE_OF = {
    "track": "a-h-S",
    "unit": "a-f-G-U-C",
    "sensor": "b-d-r",
    "picture": "b-m-p",
    "liaison": "b-t-f",
    "plan": "t-x-c",
}


def item(
    uid: str,
    origin: str = "USA",
    label: str = "SECRET//REL TO USA, JPN",
    category: str = "track",
    **extra: object,
) -> Item:
    fields: dict[str, object] = {
        "uid": uid,
        "type": TYPE_OF[category],
        "origin": origin,
        "time": T0,
        "lat": 26.2123456,
        "lon": 127.6789012,
        "label": label,
        "category": category,
        "callsign": "HAWK 1",
        "detail": (("platform", "P-8A"), ("sensor", "APY-10"), ("source", "SIGINT")),
    }
    fields.update(extra)
    return Item(**fields)  # type: ignore[arg-type]


def raw(i: Item) -> bytes:
    return CODEC.encode(i)


def meta(i: Item, label_source: str = "publisher") -> Meta:
    """What a sending gateway signs about ``i``: its origin and the category of its type."""
    return Meta(i.origin, category_of(i.type), label_source)


@dataclass
class Side:
    gw: Gateway
    db: GatewayDb
    bus: SqliteBus


def make_side(
    nation: str,
    partner: str,
    tier: Tier,
    clock: ManualClock,
    path: Path | str = ":memory:",
    bus_path: Path | str = ":memory:",
    partner_max_rank: int = 3,
) -> Side:
    db = GatewayDb(path)
    bus = SqliteBus(bus_path, clock=clock)
    gw = Gateway(
        GatewayConfig(nation, {partner: tier}, partner_max_rank=partner_max_rank),
        signer=SIGNERS[nation],
        ring=RING,
        db=db,
        bus=bus,
        codec=CODEC,
        tier_rules=CATALOGUE.tiers,
        rules=load_rules(),
        clock=clock,
    )
    return Side(gw, db, bus)


async def deliver(src: Side, dst: Side, partner: str) -> list[Verdict]:
    """Carry everything queued for ``partner`` across, in order, acking each after receipt."""
    sub = await src.bus.subscribe(subject("out", partner), durable=f"link-{partner}")
    out = []
    while msgs := await sub.fetch(256):
        for m in msgs:
            out.append(dst.gw.receive(m.data, src.gw.nation))
            await m.ack()
    return out


@dataclass
class Pair:
    usa: Side
    jpn: Side
    clock: ManualClock


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    clock = ManualClock(T0)
    usa = make_side("USA", "JPN", Tier.T2, clock)
    jpn = make_side("JPN", "USA", Tier.T3, clock)
    yield Pair(usa, jpn, clock)
    for s in (usa, jpn):
        await s.bus.close()
        s.db.close()
