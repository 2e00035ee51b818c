"""The end-to-end delivery matrix: origin × label × category × partner tier × viewer, through
both real gateways (guard, audit, bus, signed envelope, inbound checks), in both directions.
Each item must reach exactly the partner viewers an independent oracle allows: zero leaks,
zero over-blocks. (The origin's own viewers are served by its node, which the gateway does
not touch.)
"""

from __future__ import annotations

from datetime import date

from kizuna.gateway import Item
from kizuna.labels import (
    Clearance,
    ClearanceStatus,
    Decider,
    Viewer,
    default_table,
    parse_banner,
    rank,
    releasable_to,
)
from kizuna.roadmap import Tier
from tests.gateway.conftest import CATALOGUE, CODEC, Pair, deliver, item, raw

LABELS = {
    "USA": [
        "UNCLASSIFIED",
        "UNCLASSIFIED//NOFORN",
        "UNCLASSIFIED//REL TO USA, JPN",
        "UNCLASSIFIED//REL TO USA, FVEY",
        "CONFIDENTIAL",
        "CONFIDENTIAL//REL TO USA, JPN",
        "SECRET",
        "SECRET//NOFORN",
        "SECRET//REL TO USA, JPN",
        "SECRET//REL TO USA, FVEY",
        "SECRET//REL TO USA, JPN, FVEY",
        "SECRET//REL TO USA, KOR",
        "SECRET//REL TO JPN",  # home nation missing: releasable to no one
        "SECRET//REL TO USA, JPN//NOFORN",
        "TOP SECRET",
        "TOP SECRET//REL TO USA, JPN",
        "TOP SECRET//REL TO USA, FVEY",
        "JPN GOKUHI//REL TO JPN, USA",  # a JPN marking on a USA item: over-labelled
        "",
        "SECRET//REL TO USA, XYZ",
        "SECRET//BOGUS",
    ],
    "JPN": [
        "UNCLASSIFIED",
        "UNCLASSIFIED//REL TO USA, JPN",
        "JPN HI",
        "JPN HI//REL TO JPN, USA",
        "JPN GOKUHI",
        "JPN GOKUHI//NOFORN",
        "JPN GOKUHI//REL TO JPN, USA",
        "JPN GOKUHI//REL TO JPN, FVEY",
        "JPN KIMITSU//REL TO JPN, USA",
        "JPN KIMITSU",
        "SECRET//REL TO USA, JPN",  # a USA marking on a JPN item: over-labelled
        "",
        "JPN ULTRA",
    ],
}
CATEGORIES = ["track", "sensor", "unit", "picture", "liaison", "plan"]
EXPIRES = date(2027, 3, 31)


def _v(nation: str, level: str, status: ClearanceStatus = ClearanceStatus.ACTIVE) -> Viewer:
    expires = EXPIRES if status is not ClearanceStatus.REVOKED else date(2026, 1, 1)
    return Viewer(nation, Clearance(nation, level, status, expires))


VIEWERS = {
    "USA": [
        _v("USA", "NONE"),
        _v("USA", "CONFIDENTIAL"),
        _v("USA", "SECRET"),
        _v("USA", "TOP SECRET"),
        _v("USA", "TOP SECRET", ClearanceStatus.SUSPENDED),
        _v("USA", "SECRET", ClearanceStatus.REVOKED),
    ],
    "JPN": [
        _v("JPN", "NONE"),
        _v("JPN", "HI"),
        _v("JPN", "GOKUHI"),
        _v("JPN", "KIMITSU"),
        _v("JPN", "GOKUHI", ClearanceStatus.SUSPENDED),
        _v("JPN", "KIMITSU", ClearanceStatus.REVOKED),
    ],
}


def _oracle(origin: str, label: str, category: str, tier: Tier, viewer: Viewer) -> bool:
    """Written from the rules, not from the guard: may this partner viewer see the item?"""
    table = default_table()
    try:
        parsed = parse_banner(label, table)
    except Exception:
        return False
    if releasable_to(parsed, table) == frozenset() or category == "plan":
        return False  # unsatisfiable labels never leave; plans wait for a human
    if parsed.policy not in (None, origin):
        return False  # the receiving side refuses what the origin may not mark
    if not CATALOGUE.tiers[tier].allows(rank(parsed, table), category):
        return False
    return Decider(table).decide(parsed, viewer, item("x").time).permit


async def test_every_item_reaches_exactly_the_viewers_it_should(pair: Pair) -> None:
    sides = {"USA": pair.usa, "JPN": pair.jpn}
    decider = Decider()
    leaks: list[str] = []
    blocked: list[str] = []
    cases = seen = 0
    for origin, partner in (("USA", "JPN"), ("JPN", "USA")):
        src, dst = sides[origin], sides[partner]
        for tier in Tier:
            src.gw.set_tier(partner, tier, "matrix")
            offered: dict[str, Item] = {}
            for li, label in enumerate(LABELS[origin]):
                for category in CATEGORIES:
                    it = item(f"{origin}-{tier.name}-{li}-{category}", origin, label, category)
                    offered[it.uid] = it
            await src.gw.offer([raw(i) for i in offered.values()], partner)
            await deliver(src, dst, partner)
            got = {r.uid: r for r in dst.gw.received() if r.uid in offered}
            for uid, it in offered.items():
                for v in VIEWERS[partner]:
                    cases += 1
                    want = _oracle(origin, it.label, it.category, tier, v)
                    r = got.get(uid)
                    sees = r is not None and decider.decide(r.label, v, it.time).permit
                    seen += sees
                    case = f"{origin}->{partner} {tier.name} {it.label!r} {it.category} {v}"
                    if sees and not want:
                        leaks.append(case)
                    if want and not sees:
                        blocked.append(case)
    assert cases > 3000 and seen > 300  # the matrix exercises release, not only denial
    assert leaks == [], f"{len(leaks)} leaks, first: {leaks[:3]}"
    assert blocked == [], f"{len(blocked)} over-blocked, first: {blocked[:3]}"


async def test_a_sanitised_item_arrives_coarsened_and_stripped(pair: Pair) -> None:
    it = item("sensor-1", category="sensor")
    (v,) = await pair.usa.gw.offer([raw(it)], "JPN")
    assert v.outcome.value == "SANITISE"
    await deliver(pair.usa, pair.jpn, "JPN")
    (r,) = pair.jpn.gw.received()
    got = CODEC.decode(r.data)
    assert got.callsign == "" and dict(got.detail) == {}
    assert abs(got.lat - it.lat) > 1e-4 and got.ce >= 5000.0
    assert got.origin == "USA" and got.label == it.label
