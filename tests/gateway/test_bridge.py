"""The bridge between a gateway and a real national node (in process, TCP on loopback): the
node's own items are offered to partners, partner items reach the node, and what was accepted
while the node was away is handed over when it returns, once."""

from __future__ import annotations

import asyncio
import tomllib
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
from kizuna.identity import registry_from_mapping
from kizuna.labels import default_table, parse_banner
from kizuna.node import NodeConfig, NodeServer, TcpConfig
from kizuna.roadmap import Tier
from kizuna.store import SqliteStore
from tests.gateway.conftest import CATALOGUE, RING, SIGNERS
from tests.node._support import now_ms, open_tcp

REGISTRY = '[[principal]]\nid = "gateway-usa"\nnation = "USA"\nclearance = "USA:TOP SECRET"\n'
REGISTRY += 'expires = "2099-12-31"\n'


def _event(uid: str, label: str) -> Event:
    t = now_ms()
    return Event(uid=uid, type="a-h-S", time=t, start=t, stale=t + timedelta(minutes=30),
                 point=Point(26.2, 127.7, 0.0, 10.0, 10.0),
                 label=parse_banner(label, default_table()))  # fmt: skip


async def _node(tmp_path: Path) -> NodeServer:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    config = NodeConfig(
        nation="USA",
        store_path=tmp_path / "node" / "events.db",
        registry=tmp_path / "registry.toml",
        default_label=parse_banner("UNCLASSIFIED", default_table()),
        tcp=TcpConfig("gateway-usa", 0),
    )
    reg = registry_from_mapping(tomllib.loads(REGISTRY))
    node = NodeServer(config, reg, SqliteStore(config.store_path))
    await node.start()
    return node


async def _wait(cond: object, timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond() and asyncio.get_running_loop().time() < end:  # type: ignore[operator]
        await asyncio.sleep(0.02)


async def test_the_bridge_carries_both_ways_and_hands_over_after_an_outage(
    tmp_path: Path,
) -> None:
    clock = RealClock()
    db, bus = GatewayDb(), SqliteBus(clock=clock)
    codec = CotItemCodec("USA")
    gw = Gateway(GatewayConfig("USA", {"JPN": Tier.T2}), signer=SIGNERS["USA"], ring=RING,
                 db=db, bus=bus, codec=codec, tier_rules=CATALOGUE.tiers, rules=load_rules(),
                 clock=clock)  # fmt: skip
    # a JPN item accepted while the node is down
    jpn_item = CotItemCodec("JPN").decode(
        event_to_xml(_event("j-1", "JPN GOKUHI//REL TO JPN, USA"))
    )
    env = seal(SIGNERS["JPN"], msg_id="j-1", receiver="USA", sent_at=clock.now().isoformat(),
               audit_seq=0, item=CotItemCodec("JPN").encode(jpn_item),
               meta=Meta("JPN", jpn_item.category))  # fmt: skip
    assert gw.receive(env.encode(), "JPN").released

    node = await _node(tmp_path)
    assert node.tcp_port is not None

    async def offer(raws: object) -> None:
        await gw.offer(list(raws), "JPN")  # type: ignore[call-overload]

    bridge = NodeBridge("127.0.0.1", node.tcp_port, nation="USA", codec=codec, offer=offer,
                        backlog=lambda: [r.data for r in gw.received()], retry=0.05)  # fmt: skip
    task = asyncio.create_task(bridge.run())
    watcher = await open_tcp(node.tcp_port)  # another client of the node
    try:
        seen = await watcher.events(1, timeout=5.0)
        assert [e.uid for e in seen] == ["j-1"]  # handed over on connect
        await watcher.send(event_to_xml(_event("u-1", "SECRET//REL TO USA, JPN")))
        await watcher.send(event_to_xml(_event("u-2", "SECRET//NOFORN")))
        await _wait(lambda: bridge.offered >= 2)
        sub = await bus.subscribe(subject("out", "JPN"), durable="probe")
        out = [codec.decode(env_item(m.data)).uid for m in await sub.fetch(10)]
        assert out == ["u-1"]  # the NOFORN one was judged and held back
        assert bridge.offered == 2  # j-1 came back in the greeting and was not offered

        await node.stop()  # the node goes away and returns
        node2 = await _node_again(tmp_path, node)
        bridge.port = node2.tcp_port or 0
        await _wait(lambda: bridge.published >= 2)
        assert await node2.store.count() == 3  # j-1 handed over again, stored once
        await node2.stop()
    finally:
        task.cancel()
        await watcher.close()
        await bus.close()
        db.close()


def env_item(data: bytes) -> bytes:
    return open_envelope(data).item


async def _node_again(tmp_path: Path, old: NodeServer) -> NodeServer:
    reg = registry_from_mapping(tomllib.loads(REGISTRY))
    node = NodeServer(old.config, reg, SqliteStore(old.config.store_path))
    await node.start()
    return node
