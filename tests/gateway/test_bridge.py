"""The bridge between a gateway and a real national node (in process, mutual TLS on
loopback): the node's own items are read from its committed feed and offered to partners,
partner items reach the node, and what was accepted while the node was away is handed over
when it returns, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from kizuna.bus import SqliteBus, subject
from kizuna.clock import RealClock
from kizuna.cot import Event, Point, event_to_xml
from kizuna.gateway import (
    CotItemCodec,
    Gateway,
    GatewayConfig,
    GatewayDb,
    Meta,
    load_rules,
    open_envelope,
    seal,
)
from kizuna.gateway._bridge import NodeBridge
from kizuna.labels import default_table, parse_banner
from kizuna.node import NodeServer
from kizuna.roadmap import Tier
from kizuna.store import feed_client_context
from tests.gateway.conftest import CATALOGUE, RING, SIGNERS
from tests.node._support import now_ms, open_tls
from tests.security._nodes import make_pki, node_config, start_node


def _event(uid: str, label: str) -> Event:
    t = now_ms()
    return Event(uid=uid, type="a-h-S", time=t, start=t, stale=t + timedelta(minutes=30),
                 point=Point(26.2, 127.7, 0.0, 10.0, 10.0),
                 label=parse_banner(label, default_table()))  # fmt: skip


async def _wait(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.02)


def _jpn(uid: str) -> bytes:
    jpn_item = CotItemCodec("JPN").decode(event_to_xml(_event(uid, "JPN GOKUHI//REL TO JPN, USA")))
    env = seal(SIGNERS["JPN"], msg_id=uid, receiver="USA", sent_at=RealClock().now().isoformat(),
               audit_seq=0, item=CotItemCodec("JPN").encode(jpn_item),
               meta=Meta(jpn_item.origin, jpn_item.category, jpn_item.label_source))  # fmt: skip
    return env.encode()


def env_item(data: bytes) -> bytes:
    return open_envelope(data).item


async def test_the_bridge_carries_both_ways_and_hands_over_after_an_outage(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path)
    clock = RealClock()
    db, bus = GatewayDb(), SqliteBus(clock=clock)
    codec = CotItemCodec("USA")
    gw = Gateway(GatewayConfig("USA", {"JPN": Tier.T2}), signer=SIGNERS["USA"], ring=RING,
                 db=db, bus=bus, codec=codec, tier_rules=CATALOGUE.tiers, rules=load_rules(),
                 clock=clock)  # fmt: skip
    assert gw.receive(_jpn("j-1"), "JPN").released  # accepted while the node is down

    config = node_config(tmp_path, feed=True)
    node: NodeServer = await start_node(config)
    assert node.feed_port is not None and node.tls_port is not None
    context = feed_client_context(
        pki / "clients" / "gw-usa.pem", pki / "clients" / "gw-usa.key", pki / "ca.pem"
    )
    bridge = NodeBridge("127.0.0.1", node.feed_port, nation="USA", gateway=gw, db=db,
                        partners=["JPN"], context=context, retry=0.05)  # fmt: skip
    task = asyncio.create_task(bridge.run())
    watcher = await open_tls(node.tls_port, pki, "usa-secret")  # a TAK client of the node
    try:
        seen = await watcher.events(1, timeout=5.0)
        assert [e.uid for e in seen] == ["j-1"]  # handed over on connect
        await watcher.send(event_to_xml(_event("u-1", "SECRET//REL TO USA, JPN")))
        await watcher.send(event_to_xml(_event("u-2", "SECRET//NOFORN")))
        await _wait(lambda: bridge.offered >= 2)
        sub = await bus.subscribe(subject("out", "JPN"), durable="probe")
        out = [codec.decode(env_item(m.data)).uid for m in await sub.fetch(10)]
        assert out == ["u-1"]  # the NOFORN one was judged and held back
        assert bridge.offered == 2  # j-1 is JPN's: read back from the feed, never offered

        await node.stop()  # the node goes away and returns
        assert gw.receive(_jpn("j-2"), "JPN").released
        bridge.wake()
        node2 = await start_node(config)
        bridge.port = node2.feed_port or 0
        await _wait(lambda: bridge.published >= 2)
        assert await node2.store.count() == 4  # j-2 handed over once, j-1 not again
        assert node2.stats.duplicates == 0
        await node2.stop()
    finally:
        task.cancel()
        await watcher.close()
        await bus.close()
        db.close()
