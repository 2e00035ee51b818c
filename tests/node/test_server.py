"""The node over real sockets: relay, TLS identity, labels, negotiation, shutdown."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from kizuna.cot import (
    StreamDecoder,
    WireFormat,
    decode_message,
    encode_message,
    event_to_xml,
    frame,
    parse_event,
)
from kizuna.node import Drop
from kizuna.store import Record, SqliteStore

from ._support import client_context, make_event, open_tcp, open_tls
from .conftest import MakeNode

pytestmark = pytest.mark.integration

REQUEST = (
    b'<event version="2.0" uid="protouid" type="t-x-takp-q" time="2026-01-01T00:00:00Z" '
    b'start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z" how="m-g">'
    b'<point lat="0" lon="0"/><detail><TakControl><TakRequest version="1"/></TakControl>'
    b"</detail></event>"
)


async def test_tcp_relays_after_commit_and_not_back_to_sender(make_node: MakeNode) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    pub, sub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    sent = make_event("alpha")
    await pub.send(event_to_xml(sent))
    got = await sub.events(1)
    assert [e.uid for e in got] == ["alpha"]
    assert got[0].label is not None and got[0].label.level == "UNCLASSIFIED"  # default label
    assert await pub.events(1, timeout=0.5) == []
    stored = await node.store.replay(sent.time, sent.stale)
    assert [r.origin for r in stored] == ["tools-usa"]
    await pub.close()
    await sub.close()


async def test_tls_identity_comes_from_the_certificate(make_node: MakeNode, pki: Path) -> None:
    node = await make_node()
    assert node.tls_port is not None
    pub = await open_tls(node.tls_port, pki, "usa-secret")
    sub = await open_tls(node.tls_port, pki, "jpn-gokuhi")
    await asyncio.sleep(0.1)
    await pub.send(event_to_xml(make_event("bravo", "SECRET//REL TO USA, JPN")))
    assert [e.uid for e in await sub.events(1)] == ["bravo"]
    records = await node.store.replay(make_event("x", offset_s=-60).time, make_event("x").stale)
    assert [r.origin for r in records] == ["usa-secret"]
    await pub.close()
    await sub.close()


async def test_unregistered_certificate_is_refused(make_node: MakeNode, pki: Path) -> None:
    node = await make_node()
    assert node.tls_port is not None
    conn = await open_tls(node.tls_port, pki, "stranger")
    assert await conn.closed_by_peer()
    assert node.stats.dropped[Drop.UNKNOWN_CERTIFICATE] == 1
    await conn.close()


async def test_tls_without_client_certificate_fails_handshake(
    make_node: MakeNode, pki: Path
) -> None:
    node = await make_node()
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", node.tls_port, ssl=ctx, server_hostname="localhost"
        )
        try:
            assert await reader.read(1) == b""  # TLS 1.3 reports it on the first read
        finally:
            writer.close()
    except (ssl.SSLError, ConnectionError):
        pass
    assert len(node.clients) == 0


async def test_the_client_label_default_applies(make_node: MakeNode, pki: Path) -> None:
    node = await make_node(tcp_label="SECRET//REL TO USA, JPN")
    assert node.tcp_port is not None and node.tls_port is not None
    hi = await open_tls(node.tls_port, pki, "jpn-hi")
    gokuhi = await open_tls(node.tls_port, pki, "jpn-gokuhi")
    pub = await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    await pub.send(event_to_xml(make_event("charlie")))  # no label: the listener's default
    got = await gokuhi.events(1)
    assert got and got[0].label is not None and got[0].label.level == "SECRET"
    assert await hi.events(1, timeout=0.5) == []
    for c in (hi, gokuhi, pub):
        await c.close()


async def test_protocol_negotiation_switches_to_protobuf(make_node: MakeNode) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    sub, pub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await sub.send(REQUEST)
    decoder = StreamDecoder()
    seen: list[tuple[WireFormat, str]] = []
    async with asyncio.timeout(5):
        while not any(t == "t-x-takp-r" for _, t in seen):
            for m in decoder.feed(await sub.reader.read(65536)):
                seen.append((m.format, parse_event(m.data).type))
    assert seen[0] == (WireFormat.XML, "t-x-takp-v")
    assert (WireFormat.XML, "t-x-takp-r") in seen
    await pub.send(frame(encode_message(make_event("delta"))))  # publisher speaks protobuf
    async with asyncio.timeout(5):
        msgs = decoder.feed(await sub.reader.read(65536))
    assert msgs[0].format is WireFormat.PROTO
    event = decode_message(msgs[0].data).event
    assert event is not None and event.uid == "delta"
    await sub.close()
    await pub.close()


async def test_late_joiner_gets_the_current_picture(make_node: MakeNode, pki: Path) -> None:
    node = await make_node()
    assert node.tcp_port is not None and node.tls_port is not None
    pub = await open_tcp(node.tcp_port)
    await pub.send(event_to_xml(make_event("open-1")))
    await pub.send(event_to_xml(make_event("secret-1", "SECRET//NOFORN")))
    await asyncio.sleep(0.3)
    late = await open_tls(node.tls_port, pki, "jpn-gokuhi")
    assert [e.uid for e in await late.events(2, timeout=1)] == ["open-1"]
    await pub.close()
    await late.close()


async def test_resent_events_are_not_relayed_twice(make_node: MakeNode) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    pub, sub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    data = event_to_xml(make_event("echo"))
    await pub.send(data + data)
    assert len(await sub.events(2, timeout=1)) == 1
    assert node.stats.duplicates == 1
    await pub.close()
    await sub.close()


async def test_graceful_stop_commits_and_relays_what_was_read(make_node: MakeNode) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    pub, sub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    events = [make_event(f"s{i}") for i in range(200)]
    await pub.send(b"".join(event_to_xml(e) for e in events))
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(node.stop())
    got = await sub.events(200, timeout=5)
    await stopping
    # everything relayed was committed first
    again = SqliteStore(node.config.store_path)
    stored = {r.event.uid for r in await again.replay(events[0].time, events[0].stale)}
    await again.close()
    assert {e.uid for e in got} <= stored
    assert len(stored) == node.stats.accepted
    await pub.close()
    await sub.close()
    assert isinstance(Record, type)


def test_client_context_loads(pki: Path) -> None:
    assert client_context(pki, "usa-secret").verify_mode is ssl.CERT_REQUIRED
