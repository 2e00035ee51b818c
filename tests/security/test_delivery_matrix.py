"""The delivery matrix (issue 13, "done when"): nation × clearance × status × label × tier ×
category × hostile detail, through both real gateways over CoT (the sender's outbound guard,
audit, bus and signed envelope; the receiver's inbound guard and store), then the receiving
node's per-viewer decision. The oracle is written from ``labels.decide`` and the tier table
alone: zero leaks, zero over-denials. A client's reserved detail (``__kizuna``) changes
nothing: a hostile copy of an item arrives exactly as its clean twin, or not at all.
"""

from __future__ import annotations

from datetime import date, timedelta

from kizuna.cot import category_of, parse_event
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
from tests.security._guards import CATALOGUE, T0, Link, cot

LABELS = {
    "USA": [
        "UNCLASSIFIED", "UNCLASSIFIED//NOFORN", "UNCLASSIFIED//REL TO USA, JPN",
        "CONFIDENTIAL//REL TO USA, JPN", "SECRET", "SECRET//NOFORN", "SECRET//REL TO USA, JPN",
        "SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, JPN//NOFORN", "SECRET//REL TO JPN",
        "TOP SECRET//REL TO USA, JPN", "JPN GOKUHI//REL TO USA, JPN", "SECRET//BOGUS",
    ],
    "JPN": [
        "UNCLASSIFIED", "UNCLASSIFIED//NOFORN", "UNCLASSIFIED//REL TO USA, JPN", "JPN HI",
        "JPN HI//REL TO JPN, USA", "JPN GOKUHI//NOFORN", "JPN GOKUHI//REL TO JPN, USA",
        "JPN GOKUHI//REL TO JPN, FVEY", "JPN KIMITSU//REL TO JPN, USA",
        "SECRET//REL TO USA, JPN", "JPN ULTRA",
    ],
}  # fmt: skip
TYPES = ["a-h-S", "a-f-G-U-C", "b-d-r", "b-m-p", "b-t-f", "t-x-c"]  # every category
# detail variants: what a client adds, and the variant it must arrive exactly as
HOSTILE = {
    "clean": ("", None),
    "claims": ('<__kizuna category="liaison" origin="{partner}"/>', "clean"),
    "x": ('<contact callsign="X"/>', None),
    "attrs": ('<contact callsign="X" __kizuna_category="liaison" __kizuna_origin="{p}"/>', "x"),
}
LEVELS = {"USA": ["NONE", "CONFIDENTIAL", "SECRET", "TOP SECRET"],
          "JPN": ["NONE", "HI", "GOKUHI", "KIMITSU"]}  # fmt: skip
STATUSES = [ClearanceStatus.ACTIVE, ClearanceStatus.SUSPENDED, ClearanceStatus.REVOKED, "expired"]


def viewers(nation: str) -> list[Viewer]:
    out = []
    for level in LEVELS[nation]:
        for status in STATUSES:
            expired = status == "expired"
            st = ClearanceStatus.ACTIVE if expired else ClearanceStatus(status)
            until = T0.date() - timedelta(days=1) if expired else date(2027, 3, 31)
            out.append(Viewer(nation, Clearance(nation, level, st, until)))
    return out


def oracle(origin: str, label: str, type_: str, tier: Tier, defaulted: bool, v: Viewer) -> bool:
    """Written from the rules, not from the guard: may this partner viewer see the item?"""
    table = default_table()
    try:
        parsed = parse_banner(label, table)
    except Exception:
        return False
    category = category_of(type_)
    if releasable_to(parsed, table) == frozenset() or category == "plan" or defaulted:
        return False  # unsatisfiable never leaves; plans and defaulted labels wait for a human
    if parsed.policy not in (None, origin) or parsed.noforn:
        return False  # originator control: only the originator's own marking; NOFORN stays
    if not CATALOGUE.tiers[tier].allows(rank(parsed, table), category):
        return False
    return Decider(table).decide(parsed, v, T0).permit


async def test_every_item_reaches_exactly_the_viewers_it_should() -> None:
    decider = Decider()
    leaks: list[str] = []
    blocked: list[str] = []
    cases = seen = 0
    for origin, partner in (("USA", "JPN"), ("JPN", "USA")):
        for tier in Tier:
            lk = Link(origin, partner, tier=tier)
            try:
                offered: dict[str, tuple[str, str, bool, str]] = {}
                raws, flags = [], []
                for li, label in enumerate(LABELS[origin]):
                    for type_ in TYPES:
                        for h, (extra, _) in HOSTILE.items():
                            for defaulted in (False, True) if h == "clean" else (False,):
                                uid = f"{li}.{type_}.{h}.{int(defaulted)}"
                                offered[uid] = (label, type_, defaulted, h)
                                hostile = extra.format(partner=partner, p=partner)
                                raws.append(cot(uid, type_, label, hostile))
                                flags.append(defaulted)
                await lk.send(origin, partner, raws, defaulted=flags)
                got = {r.uid: r for r in lk[partner].gw.received()}
                for uid, r in got.items():  # what arrived is what the gateways derived
                    assert r.origin == origin and b"__kizuna" not in r.data, uid
                    label, type_, defaulted, h = offered[uid]
                    clean = HOSTILE[h][1]
                    if clean is not None:  # a hostile copy arrives exactly as its clean twin
                        twin = got.get(uid.replace(f".{h}.", f".{clean}."))
                        assert twin is not None, uid
                        a, b = parse_event(r.data), parse_event(twin.data)
                        assert (a.point, a.detail, a.label) == (b.point, b.detail, b.label), uid
                for uid, (label, type_, defaulted, h) in offered.items():
                    stored = got.get(uid)
                    for v in viewers(partner):
                        cases += 1
                        want = oracle(origin, label, type_, tier, defaulted, v)
                        sees = stored is not None and decider.decide(stored.label, v, T0).permit
                        seen += sees
                        case = f"{origin}->{partner} {tier.name} {label!r} {type_} {h} {v}"
                        if sees and not want:
                            leaks.append(case)
                        if want and not sees:
                            blocked.append(case)
            finally:
                await lk.close()
    assert cases > 40_000 and seen > 1_000  # the matrix exercises release, not only denial
    assert leaks == [], f"{len(leaks)} leaks, first: {leaks[:3]}"
    assert blocked == [], f"{len(blocked)} over-denied, first: {blocked[:3]}"
