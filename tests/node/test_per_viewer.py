"""Four differently cleared clients at once receive exactly what labels.decide permits."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kizuna.cot import event_to_xml
from kizuna.identity import registry_from_mapping
from kizuna.labels import decide, default_table

from ._support import REGISTRY, make_event, open_tcp, open_tls
from .conftest import MakeNode

pytestmark = pytest.mark.integration

BANNERS = [
    "UNCLASSIFIED",
    "UNCLASSIFIED//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, JPN",
    "SECRET//REL TO USA, JPN",
    "SECRET//REL TO USA, FVEY",
    "SECRET//NOFORN",
    "TOP SECRET//REL TO USA, JPN",
    "JPN HI//REL TO JPN, USA",
    "JPN GOKUHI//REL TO JPN, USA",
    "JPN KIMITSU//REL TO JPN, USA",
    "CONFIDENTIAL",
]
VIEWERS = ["usa-secret", "jpn-gokuhi", "jpn-hi", "jpn-expired"]


async def test_each_viewer_gets_exactly_what_decide_permits(make_node: MakeNode, pki: Path) -> None:
    node = await make_node()
    assert node.tls_port is not None and node.tcp_port is not None
    registry = registry_from_mapping(tomllib.loads(REGISTRY))
    subs = {v: await open_tls(node.tls_port, pki, v) for v in VIEWERS}
    pub = await open_tcp(node.tcp_port)
    await asyncio.sleep(0.2)
    events = [make_event(f"ev-{i}", banner) for i, banner in enumerate(BANNERS)]
    await pub.send(b"".join(event_to_xml(e) for e in events))
    now = datetime.now(UTC)
    for name, conn in subs.items():
        principal = registry.get(name)
        assert principal is not None
        expected = {
            e.uid
            for e, banner in zip(events, BANNERS, strict=True)
            if decide(banner, principal.viewer, now, default_table()).permit
        }
        got = await conn.events(len(BANNERS), timeout=1.5)
        assert {e.uid for e in got} == expected, name
        assert len(got) == len(expected), f"{name} got duplicates"
    # the sets differ the way the clearances do
    assert node.stats.accepted == len(BANNERS)
    assert node.stats.withheld > 0
    for conn in [*subs.values(), pub]:
        await conn.close()


def test_the_four_viewers_really_differ() -> None:
    registry = registry_from_mapping(tomllib.loads(REGISTRY))
    now = datetime.now(UTC)
    seen = set()
    for name in VIEWERS:
        p = registry.get(name)
        assert p is not None
        seen.add(frozenset(b for b in BANNERS if decide(b, p.viewer, now, default_table()).permit))
    assert len(seen) == 4
