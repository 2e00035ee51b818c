"""The node feed: the gateway reads its node's committed events by sequence number from a
durable cursor, over mutual TLS, and is never a TAK client the node could shed (issue 13
item 3, node and bridge side; issue 18).

A real NodeServer, a real Gateway with its gateway.db and bus on disk, and the NodeBridge,
in process over real TLS sockets on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from kizuna.bus import SqliteBus
from kizuna.clock import RealClock
from kizuna.cot import Event, Point, event_to_xml
from kizuna.errors import TransportError
from kizuna.gateway import (
    CotItemCodec,
    Gateway,
    GatewayConfig,
    GatewayDb,
    GatewayFileError,
    Meta,
    generate_keys,
    load_gateway_file,
    load_rules,
    seal,
)
from kizuna.gateway._bridge import NodeBridge
from kizuna.labels import default_table, parse_banner
from kizuna.node import Drop, NodeServer
from kizuna.roadmap import Tier
from kizuna.store import FeedClient, Read, encode_frame, feed_client_context
from tests.gateway.conftest import CATALOGUE, RING, SIGNERS
from tests.node._support import now_ms, open_tcp, open_tls
from tests.security._nodes import make_pki, node_config, start_node


def _xml(uid: str, label: str | None, detail: str = "") -> bytes:
    t = now_ms()
    parsed = None if label is None else parse_banner(label, default_table())
    return event_to_xml(
        Event(uid=uid, type="a-h-S", time=t, start=t, stale=t + timedelta(minutes=30),
              point=Point(26.2, 127.7, 0.0, 10.0, 10.0), detail=detail, label=parsed)
    )  # fmt: skip


async def _until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.02)
    return True


def _feed(pki: Path, who: str) -> tuple[Path, Path, Path]:
    return pki / "clients" / f"{who}.pem", pki / "clients" / f"{who}.key", pki / "ca.pem"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[NodeServer]:
    make_pki(tmp_path)
    n = await start_node(node_config(tmp_path, feed=True))
    try:
        yield n
    finally:
        await n.stop()


async def test_only_our_nations_gateway_can_open_the_feed(node: NodeServer, tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert node.feed_port is not None
    for who in ("usa-ts", "tools-open", "gw-jpn"):  # a person, a device, another's gateway
        client = await FeedClient.connect(
            "127.0.0.1", node.feed_port, feed_client_context(*_feed(pki, who))
        )
        with pytest.raises(TransportError):
            await client.read(0, 10)
        await client.close()
    assert node.feed.refused == 3 and node.stats.dropped[Drop.FEED_REFUSED] == 3
    bare = ssl.create_default_context(cafile=str(pki / "ca.pem"))  # no client certificate
    try:
        r, w = await asyncio.open_connection(
            "127.0.0.1", node.feed_port, ssl=bare, server_hostname="127.0.0.1"
        )
        w.write(encode_frame(Read(0, 1)))
        assert await asyncio.wait_for(r.read(100), 5.0) == b""
        w.close()
    except (ssl.SSLError, ConnectionError):
        pass  # refused in the handshake
    ok = await FeedClient.connect(
        "127.0.0.1", node.feed_port, feed_client_context(*_feed(pki, "gw-usa"))
    )
    try:
        assert (await ok.read(0, 10)).records == ()
    finally:
        await ok.close()


async def test_records_flow_in_order_with_origin_and_label_source(
    node: NodeServer, tmp_path: Path
) -> None:
    pki = tmp_path / "pki"
    assert node.tls_port is not None and node.feed_port is not None
    usa, jpn = (
        await open_tls(node.tls_port, pki, "usa-secret"),
        await open_tls(node.tls_port, pki, "jpn-gokuhi"),
    )
    watcher = await open_tls(node.tls_port, pki, "usa-ts")
    feed = await FeedClient.connect(
        "127.0.0.1", node.feed_port, feed_client_context(*_feed(pki, "gw-usa"))
    )
    try:
        waiting = asyncio.ensure_future(feed.read(0, 100))  # a long-poll, answered on commit
        await asyncio.sleep(0.2)
        await usa.send(_xml("u-1", "SECRET//REL TO USA, JPN"))
        first = await asyncio.wait_for(waiting, 5.0)
        assert [r.seq for r in first.records] == [1]
        await usa.send(_xml("u-2", None))
        await jpn.send(_xml("j-own", "JPN GOKUHI//REL TO JPN, USA", '<__kizuna origin="USA"/>'))
        assert await _until(lambda: node.stats.accepted == 3)
        got = (await feed.read(0, 100)).records
        assert [(r.seq, r.nation, r.publisher, r.label_source) for r in got] == [
            (1, "USA", "usa-secret", "publisher"),
            (2, "USA", "usa-secret", "default"),
            (3, "JPN", "jpn-gokuhi", "publisher"),
        ]
        assert b"kizuna" not in got[2].xml
        # publishing: acknowledged once committed, with the origin the gateway states
        partner = _xml("p-1", "JPN GOKUHI//REL TO JPN, USA")
        results = await asyncio.gather(
            feed.publish([("JPN", partner), ("JPN", partner)]),  # pipelined: in order
            feed.publish([("USA", _xml("p-2", "SECRET//REL TO USA, JPN"))]),
            feed.publish([("JPN", _xml("p-3", "JPN GOKUHI//NOFORN"))]),
            feed.publish([("JPN", b"<event>")]),
        )
        assert [r.status for r in results[0]] == ["new", "duplicate"]
        assert results[1][0].status == "refused" and "own nation" in results[1][0].reason
        assert results[2][0].status == "refused" and "not permitted" in results[2][0].reason
        assert results[3][0].status == "refused"
        after = (await feed.read(3, 100)).records
        assert [(r.nation, r.publisher, r.label_source) for r in after] == [
            ("JPN", "gw-usa", "publisher")
        ]
        seen = {e.uid for e in await watcher.events(4, timeout=3.0)}
        assert "p-1" in seen  # relayed to TAK clients like any committed event
    finally:
        await feed.close()
        for c in (usa, jpn, watcher):
            await c.close()


@dataclass
class _Gw:
    gw: Gateway
    db: GatewayDb
    bus: SqliteBus
    bridge: NodeBridge
    task: asyncio.Task[None]

    def judged(self) -> Counter[tuple[str, str]]:
        entries = [self.gw.audit.entry(i) for i in range(len(self.gw.audit))]
        return Counter((e.partner, e.item) for e in entries if e.event == "outbound")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.bus.close()
        self.db.close()


async def _gateway(d: Path, node: NodeServer, partners: tuple[str, ...] = ("JPN",)) -> _Gw:
    clock = RealClock()
    (d / "gw").mkdir(exist_ok=True)
    db, bus = GatewayDb(d / "gw" / "gateway.db"), SqliteBus(d / "gw" / "bus.db", clock=clock)
    gw = Gateway(
        GatewayConfig("USA", dict.fromkeys(partners, Tier.T2)), signer=SIGNERS["USA"],
        ring=RING, db=db, bus=bus, codec=CotItemCodec("USA"), tier_rules=CATALOGUE.tiers,
        rules=load_rules(), clock=clock,
    )  # fmt: skip
    assert node.feed_port is not None
    bridge = NodeBridge(
        "127.0.0.1", node.feed_port, nation="USA", gateway=gw, db=db, partners=partners,
        context=feed_client_context(*_feed(d / "pki", "gw-usa")), retry=0.05,
    )  # fmt: skip
    return _Gw(gw, db, bus, bridge, asyncio.create_task(bridge.run()))


def _envelope(uid: str) -> bytes:
    item = CotItemCodec("JPN").decode(_xml(uid, "JPN GOKUHI//REL TO JPN, USA"))
    env = seal(SIGNERS["JPN"], msg_id=f"JPN-{uid}", receiver="USA",
               sent_at=RealClock().now().isoformat(), audit_seq=0,
               item=CotItemCodec("JPN").encode(item),
               meta=Meta(item.origin, item.category, item.label_source))  # fmt: skip
    return env.encode()


async def test_a_restarted_gateway_resumes_from_its_cursors_and_judges_nothing_twice(
    node: NodeServer, tmp_path: Path
) -> None:
    assert node.tls_port is not None
    pub = await open_tls(node.tls_port, tmp_path / "pki", "usa-secret")
    jpn_user = await open_tls(node.tls_port, tmp_path / "pki", "jpn-gokuhi")
    try:
        first = await _gateway(tmp_path, node)
        assert first.gw.receive(_envelope("j-1"), "JPN").released
        first.bridge.wake()
        # a JPN user on the USA node claiming to be USA: its item is JPN's, never offered
        await jpn_user.send(
            _xml("j-user", "JPN GOKUHI//REL TO JPN, USA", '<__kizuna origin="USA"/>')
        )
        for i in range(5):
            await pub.send(_xml(f"u-{i}", "SECRET//REL TO USA, JPN"))
        assert await _until(lambda: sum(first.judged().values()) == 5)
        assert await _until(lambda: first.bridge.published == 1)
        await first.stop()
        for i in range(5, 8):  # committed while the gateway is down
            await pub.send(_xml(f"u-{i}", "SECRET//REL TO USA, JPN"))
        assert await _until(lambda: node.stats.accepted == 10)  # 8 ours, j-user, j-1

        again = await _gateway(tmp_path, node)
        try:
            assert await _until(lambda: sum(again.judged().values()) == 8)
            await asyncio.sleep(1.2)  # a long-poll round: nothing more is offered
            judged = again.judged()
            assert judged == Counter({("JPN", f"u-{i}"): 1 for i in range(8)})  # no j-user
            assert again.bridge.offered == 3  # only what came after the cursor
            assert again.bridge.published == 0 and node.stats.duplicates == 0  # no re-publish
            stored = {r.event.uid: r for _, r in await node.store.since(0, 100)}
            assert stored["j-1"].nation == "JPN" and stored["j-1"].origin == "gw-usa"
            assert again.gw.cursor("JPN") == await node.store.last_seq()
        finally:
            await again.stop()
    finally:
        await pub.close()
        await jpn_user.close()


@pytest.mark.integration
@pytest.mark.slow
async def test_a_flood_reaches_the_gateway_exactly_once_without_shedding(
    node: NodeServer, tmp_path: Path
) -> None:
    n = 20_000
    assert node.tcp_port is not None
    gw = await _gateway(tmp_path, node)
    tool = await open_tcp(node.tcp_port)
    try:
        data = b"".join(_xml(f"f-{i}", "UNCLASSIFIED") for i in range(n))
        tool.writer.write(data)
        await tool.writer.drain()
        assert await _until(lambda: sum(gw.judged().values()) >= n, timeout=120.0), sum(
            gw.judged().values()
        )
        judged = gw.judged()
        assert len(judged) == n and set(judged.values()) == {1}
        assert node.stats.dropped[Drop.SLOW_CONSUMER] == 0
    finally:
        await tool.close()
        await gw.stop()


def test_a_gateway_file_with_a_node_but_no_certificate_is_refused(tmp_path: Path) -> None:
    # The strict loader refuses the file itself, every problem at once: only the feed's
    # missing TLS is wrong here (our signing key and keys directory exist).
    generate_keys("USA", tmp_path / "keys")
    cfg = tmp_path / "usa-gw.toml"
    cfg.write_text('nation = "USA"\n[node]\naddress = "127.0.0.1:8087"\n')  # the old shape
    with pytest.raises(GatewayFileError) as err:
        load_gateway_file(cfg)
    assert err.value.problems == (
        f"{cfg}: tls: is required beside [node]: the node feed is mutual TLS",
        f"{cfg}:2: node.ca: is required beside [node]: the node feed is mutual TLS",
    )
    for f in ("gw.pem", "gw.key"):
        (tmp_path / f).write_text("")
    (tmp_path / "gw.key").chmod(0o600)
    cfg.write_text(
        'nation = "USA"\n[tls]\ncert = "gw.pem"\nkey = "gw.key"\n'
        '[node]\naddress = "127.0.0.1:8090"\n'
    )
    with pytest.raises(GatewayFileError) as err:
        load_gateway_file(cfg)
    assert err.value.problems == (
        f"{cfg}:5: node.ca: is required beside [node]: the node feed is mutual TLS",
    )
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.pem").write_text("")
    cfg.write_text(
        'nation = "USA"\n[tls]\ncert = "gw.pem"\nkey = "gw.key"\n'
        '[node]\naddress = "127.0.0.1:8090"\nca = "pki/ca.pem"\n'
    )
    got = load_gateway_file(cfg)
    assert (got.tls_cert, got.tls_key, got.node_ca) == (
        tmp_path / "gw.pem",
        tmp_path / "gw.key",
        tmp_path / "pki" / "ca.pem",
    )
