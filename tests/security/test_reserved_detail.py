"""Issue 13, item 1: nothing a client writes in its event steers the guard.

Each leak the issue reproduced runs here through two real gateways (guard, audit, store,
bus, signed envelope, the partner's inbound guard) over CoT: a ``<__kizuna .../>`` element
or ``__kizuna*`` attribute in a client's detail changes neither the verdict nor one byte of
what is released, and the metadata the receiver stores is what the gateways derived.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.cot import category_of, parse_event
from kizuna.cot._canon import canonical
from kizuna.gateway import (
    CotItemCodec,
    GuardReason,
    Outcome,
    Signer,
    Verdict,
    Work,
    inbound_guard,
    load_rules,
    outbound_guard,
    seal,
)
from kizuna.gateway import Meta as EnvMeta
from kizuna.labels import Decider
from kizuna.roadmap import Tier
from tests.security._guards import CATALOGUE, T0, Link, cot

G = GuardReason


@pytest.fixture
async def link() -> AsyncIterator[Link]:
    lk = Link("USA", "JPN")
    yield lk
    await lk.close()


def _same(a: Verdict, b: Verdict) -> None:
    assert (a.outcome, a.reasons, a.stage, a.work.out) == (
        b.outcome,
        b.reasons,
        b.stage,
        b.work.out,
    )


async def _crossing(
    origin: str, partner: str, data: bytes, tier: Tier
) -> tuple[Verdict, list[Verdict]]:
    """One item through a fresh pair of real gateways: the sender's verdict, the receiver's."""
    lk = Link(origin, partner, tier=tier)
    try:
        (v,), got = await lk.send(origin, partner, [data])
        return v, got
    finally:
        await lk.close()


async def test_a_plan_marked_track_is_still_a_plan_at_t2() -> None:
    marked = cot("p-1", "t-x-c", extra='<__kizuna category="track" origin="USA"/>')
    m, got = await _crossing("USA", "JPN", marked, Tier.T2)
    c, _ = await _crossing("USA", "JPN", cot("p-1", "t-x-c"), Tier.T2)
    assert m.outcome is Outcome.DENY and G.DENY_CATEGORY_NOT_IN_TIER in m.reasons
    _same(m, c)
    assert got == []
    assert m.work.item is not None and m.work.item.category == "plan"


async def test_a_track_marked_liaison_is_coarsened_and_stripped_at_t1() -> None:
    c, _ = await _crossing("USA", "JPN", cot("t-1", "a-h-S", "UNCLASSIFIED"), Tier.T1)
    for attack in (
        '<__kizuna category="liaison"/>',
        '<__kizuna category="liaison" origin="USA"/>',
        '<__kizunaMeta category="liaison"/>',
        '<__kizuna category="liaison"/><contact callsign="X" __kizuna_category="liaison"/>',
    ):
        marked = cot("t-1", "a-h-S", "UNCLASSIFIED", attack)
        m, (r,) = await _crossing("USA", "JPN", marked, Tier.T1)
        assert m.outcome is Outcome.SANITISE and m.work.rule is not None
        assert m.work.rule.id == "USA-TRACK-T1"
        _same(m, c)
        out = parse_event(m.work.out)
        assert out.point.lat != 26.2123456 and out.point.ce >= 1000.0
        assert "HAWK" not in out.detail and "remarks" not in out.detail
        assert "sensor" not in out.detail and b"__kizuna" not in m.work.out
        assert r.outcome is Outcome.ACCEPT and r.work.out == m.work.out


async def test_a_jpn_event_claiming_usa_origin_stays_jpn(link: Link) -> None:
    forged = cot("j-1", "a-h-S", "JPN GOKUHI//REL TO JPN, USA",
                 '<__kizuna origin="USA" category="liaison"/>')  # fmt: skip
    (s,), (r,) = await link.send("JPN", "USA", [forged])
    assert s.released and s.work.item is not None and s.work.item.origin == "JPN"
    assert r.outcome is Outcome.ACCEPT and r.work.envelope is not None
    assert r.work.envelope.origin == "JPN" and r.work.envelope.category == "track"
    (stored,) = link["USA"].gw.received()
    assert stored.origin == "JPN" and b"__kizuna" not in stored.data
    # and the same bytes under a USA marking are JPN's too: refused as over-labelled
    usa_marked = cot("j-2", "a-h-S", "SECRET//REL TO USA, JPN", '<__kizuna origin="USA"/>')
    (s2,), _ = await link.send("JPN", "USA", [usa_marked])
    assert s2.reasons == (G.DENY_OVER_LABEL,)


async def test_a_partner_gateway_cannot_name_another_origin_in_the_bytes(link: Link) -> None:
    """A partner that sends reserved elements inside the item (a hostile or old gateway):
    the receiver strips them and takes the origin from the signed sender."""
    jpn_signer = link["JPN"].gw._signer
    data = cot("j-3", "a-h-S", "JPN GOKUHI//REL TO JPN, USA", '<__kizuna origin="USA"/>')
    env = seal(jpn_signer, msg_id="x", receiver="USA", sent_at=T0.isoformat(), audit_seq=0,
               item=data, meta=EnvMeta("JPN", "track"))  # fmt: skip
    v = link["USA"].gw.receive(env.encode(), "JPN")
    assert v.outcome is Outcome.ACCEPT and b"__kizuna" not in v.work.out
    (stored,) = link["USA"].gw.received()
    assert stored.origin == "JPN"
    # the envelope's metadata is checked against what the receiver derives
    for meta, reason in [(EnvMeta("USA", "track"), G.DENY_NOT_ORIGINATOR),
                         (EnvMeta("JPN", "liaison"), G.DENY_ENVELOPE_MISMATCH)]:  # fmt: skip
        env = seal(jpn_signer, msg_id=f"y-{meta.category}-{meta.origin}", receiver="USA",
                   sent_at=T0.isoformat(), audit_seq=0, item=data, meta=meta)  # fmt: skip
        assert link["USA"].gw.receive(env.encode(), "JPN").reasons == (reason,)


# -- the property: any client-controlled detail ---------------------------------------------

RESERVED_TAGS = st.sampled_from(["__kizuna", "__kizunaX", "__kizuna_meta", "__kizuna-1"])
RESERVED_ATTRS = st.sampled_from(["__kizuna", "__kizuna_origin", "__kizunacategory"])
VALUES = st.sampled_from(["USA", "JPN", "KOR", "track", "liaison", "plan", "sensor", "", "*"])
TAGS = st.sampled_from(["contact", "remarks", "sensor", "source", "track", "x-ext", "uid"])
ATTRS = st.sampled_from(["callsign", "model", "speed", "v", "category", "origin"])


@st.composite
def hostile(draw: st.DrawFn, depth: int = 0) -> tuple[ET.Element | None, ET.Element]:
    """One detail child as a client may write it, and the same child with every reserved
    element and attribute removed (None: the child itself is reserved)."""
    if draw(st.booleans()) and depth < 2 and draw(st.integers(0, 3)) == 0:
        attrs = draw(st.dictionaries(st.sampled_from(["origin", "category", "x"]), VALUES,
                                     max_size=3))  # fmt: skip
        return None, ET.Element(draw(RESERVED_TAGS), attrs)
    tag = draw(TAGS)
    attrs = draw(st.dictionaries(ATTRS, VALUES, max_size=2))
    bad = draw(st.dictionaries(RESERVED_ATTRS, VALUES, max_size=2))
    clean, dirty = ET.Element(tag, attrs), ET.Element(tag, {**attrs, **bad})
    if depth < 1:
        for c, d in draw(st.lists(hostile(depth + 1), max_size=2)):
            dirty.append(d)
            if c is not None:
                clean.append(c)
    return clean, dirty


TYPES = st.sampled_from(["a-h-S", "a-f-G-U-C", "b-d-r", "b-m-p", "b-t-f", "t-x-c", "u-d-r"])
LABELS = st.sampled_from(
    ["UNCLASSIFIED", "SECRET//REL TO USA, JPN", "CONFIDENTIAL//REL TO USA, JPN",
     "SECRET//NOFORN", "JPN GOKUHI//REL TO JPN, USA", "TOP SECRET//REL TO USA, JPN"]
)  # fmt: skip
CODEC = CotItemCodec("USA")
DECIDER = Decider()
OUT = outbound_guard("USA", CODEC, DECIDER, CATALOGUE.tiers, load_rules())
_SIGNER = Signer.generate("USA")
IN = inbound_guard("JPN", CotItemCodec("JPN"), DECIDER, lambda *_: True, lambda _m: False)


@given(st.lists(hostile(), max_size=4), TYPES, LABELS, st.sampled_from(list(Tier)),
       st.booleans())  # fmt: skip
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reserved_names_change_neither_the_verdict_nor_the_bytes(
    children: list[tuple[ET.Element | None, ET.Element]],
    type_: str,
    label: str,
    tier: Tier,
    defaulted: bool,
) -> None:
    dirty = "".join(canonical(d) for _, d in children)
    clean = "".join(canonical(c) for c, _ in children if c is not None)
    source = "default" if defaulted else "publisher"
    verdicts = [
        OUT.run(Work(cot("h-1", type_, label, dirty), "JPN", tier, T0, label_source=source)),
        OUT.run(Work(cot("h-1", type_, label, clean), "JPN", tier, T0, label_source=source)),
    ]
    _same(*verdicts)
    assert b"__kizuna" not in verdicts[0].work.out
    # what a partner sends with reserved names in it reads at the receiver as without them
    got = []
    for detail in (dirty, clean):
        env = seal(
            _SIGNER,
            msg_id="m",
            receiver="JPN",
            sent_at=T0.isoformat(),
            audit_seq=0,
            item=cot("h-1", type_, label, detail),
            meta=EnvMeta("USA", category_of(type_)),
        )
        got.append(IN.run(Work(env.encode(), "USA", Tier.T3, T0)))
    _same(*got)
    assert b"__kizuna" not in got[0].work.out
