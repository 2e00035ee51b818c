"""Every kind of bad input: refused with a reason, counted, and everyone else still served."""

from __future__ import annotations

import asyncio
import itertools
import os
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from kizuna.cot import encode_message, event_to_xml, frame
from kizuna.node import Drop, NodeServer

from ._support import Conn, make_event, open_tcp, open_tls
from .conftest import MakeNode

pytestmark = pytest.mark.integration
_ids = itertools.count()


class Bystander:
    """A well-behaved client connected through the attack; it must keep being served."""

    def __init__(self, node: NodeServer, sub: Conn) -> None:
        self.node, self.sub = node, sub

    async def still_served(self) -> None:
        assert self.node.tcp_port is not None
        pub = await open_tcp(self.node.tcp_port)
        uid = f"ok-{next(_ids)}"
        await pub.send(event_to_xml(make_event(uid)))
        got = await self.sub.events(1, timeout=5)
        await pub.close()
        assert [e.uid for e in got] == [uid], "a bystander stopped being served"


@pytest.fixture
async def guard(make_node: MakeNode, pki: Path) -> AsyncIterator[Bystander]:
    node = await make_node(read_timeout_s=0.5, idle_timeout_s=20, max_connections=40)
    assert node.tls_port is not None
    sub = await open_tls(node.tls_port, pki, "usa-secret")
    await asyncio.sleep(0.05)
    yield Bystander(node, sub)
    await sub.close()


async def attacker(b: Bystander) -> Conn:
    assert b.node.tcp_port is not None
    return await open_tcp(b.node.tcp_port)


async def dropped_event(b: Bystander, data: bytes, reason: Drop) -> None:
    """Send one bad event followed by a good one on the same connection."""
    conn = await attacker(b)
    good = f"after-{next(_ids)}"
    await conn.send(data + event_to_xml(make_event(good)))
    got = await b.sub.events(1, timeout=5)
    assert [e.uid for e in got] == [good]  # the bad one was dropped, the connection lives
    assert b.node.stats.dropped[reason] == 1
    await conn.close()
    await b.still_served()


async def closed_connection(b: Bystander, data: bytes, reason: Drop) -> None:
    conn = await attacker(b)
    await conn.send(data)
    assert await conn.closed_by_peer(timeout=5)
    assert b.node.stats.dropped[reason] == 1
    await conn.close()
    await b.still_served()


def xml(**attrs: str) -> bytes:
    base = make_event(f"bad-{next(_ids)}")
    data = event_to_xml(base).decode()
    for k, v in attrs.items():
        head, _, rest = data.partition(f' {k}="')
        _, _, tail = rest.partition('"')
        data = f'{head} {k}="{v}"{tail}'
    return data.encode()


async def test_dtd_billion_laughs(guard: Bystander) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    ) + xml(uid="&lol2;")
    await dropped_event(guard, bomb, Drop.MALFORMED)


async def test_external_entity_never_reads_a_file(guard: Bystander, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    attack = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        + xml().replace(b'<contact callsign="', b'<remarks>&x;</remarks><contact callsign="')
    )
    await dropped_event(guard, attack, Drop.MALFORMED)
    everything = await guard.node.store.replay(
        make_event("t", offset_s=-600).time, make_event("t", offset_s=600).time
    )
    assert all(b"TOP-SECRET" not in event_to_xml(r.event) for r in everything)


async def test_nesting_deeper_than_the_limit(guard: Bystander) -> None:
    deep = xml().replace(b"<detail>", b"<detail>" + b"<remarks>" * 40, 1)
    deep = deep.replace(b"</detail>", b"</remarks>" * 40 + b"</detail>", 1)
    await dropped_event(guard, deep, Drop.MALFORMED)


async def test_event_larger_than_64_kib(guard: Bystander) -> None:
    big = xml().replace(b"<detail>", b"<detail><remarks>" + b"x" * 70_000 + b"</remarks>", 1)
    await closed_connection(guard, big, Drop.FRAMING)


async def test_unterminated_event(guard: Bystander) -> None:
    await closed_connection(guard, xml()[:-20], Drop.PARTIAL_TIMEOUT)


async def test_invalid_utf8(guard: Bystander) -> None:
    await dropped_event(
        guard, xml(uid="caf\xe9").replace(b"caf\xc3\xa9", b"caf\xe9"), Drop.MALFORMED
    )


async def test_nul_bytes(guard: Bystander) -> None:
    await dropped_event(guard, xml().replace(b'how="', b'how="\x00'), Drop.MALFORMED)


async def test_random_garbage(guard: Bystander) -> None:
    await closed_connection(
        guard, os.urandom(4096).replace(b"<", b"?").replace(b"\xbf", b"?"), Drop.FRAMING
    )


async def test_tak_frame_with_absurd_varint_length(guard: Bystander) -> None:
    await closed_connection(guard, b"\xbf\xff\xff\xff\xff\xff\xff\xff\x7f", Drop.FRAMING)


async def test_protobuf_frame_with_broken_payload(guard: Bystander) -> None:
    await dropped_event(guard, frame(b"\x12\x50\x2a"), Drop.MALFORMED)


@pytest.mark.parametrize(
    "attrs",
    [{"lat": "91.0"}, {"lon": "-181"}, {"lat": "NaN"}, {"lon": "inf"}],
)
async def test_out_of_range_position(guard: Bystander, attrs: dict[str, str]) -> None:
    await dropped_event(guard, xml(**attrs), Drop.INVALID)


async def test_time_far_in_the_future(guard: Bystander) -> None:
    future = make_event(f"future-{next(_ids)}", offset_s=86_400)
    await dropped_event(guard, event_to_xml(future), Drop.FUTURE_TIME)


async def test_stale_before_start(guard: Bystander) -> None:
    await dropped_event(guard, xml(stale="2000-01-01T00:00:00.000Z"), Drop.INVALID)


async def test_uid_owned_by_another_identity(guard: Bystander, pki: Path) -> None:
    assert guard.node.tls_port is not None
    owner = await open_tls(guard.node.tls_port, pki, "usa-secret")
    await owner.send(event_to_xml(make_event("taken")))
    assert [e.uid for e in await guard.sub.events(1)] == ["taken"]
    await dropped_event(guard, event_to_xml(make_event("taken", offset_s=1)), Drop.UID_OWNED)
    await owner.close()


async def test_publishing_above_clearance(guard: Bystander, pki: Path) -> None:
    assert guard.node.tls_port is not None
    hi = await open_tls(guard.node.tls_port, pki, "jpn-hi")
    await hi.send(event_to_xml(make_event("too-high", "JPN GOKUHI//REL TO JPN, USA")))
    await asyncio.sleep(0.3)
    assert guard.node.stats.dropped[Drop.NOT_PERMITTED] == 1
    assert await guard.sub.events(1, timeout=0.3) == []
    await hi.close()
    await guard.still_served()


async def test_publishing_outside_releasability(guard: Bystander, pki: Path) -> None:
    assert guard.node.tls_port is not None
    jpn = await open_tls(guard.node.tls_port, pki, "jpn-gokuhi")
    await jpn.send(event_to_xml(make_event("not-ours", "SECRET//REL TO USA")))
    await asyncio.sleep(0.3)
    assert guard.node.stats.dropped[Drop.NOT_PERMITTED] == 1
    await jpn.close()
    await guard.still_served()


async def test_slowloris_partial_read_times_out(guard: Bystander) -> None:
    conn = await attacker(guard)
    data = xml()
    sent = 0
    for i in range(15):  # a byte every 0.2 s: alive, but never finishing the event
        try:
            await conn.send(data[i : i + 1])
        except ConnectionError:
            break
        sent += 1
        await asyncio.sleep(0.2)
    assert sent < 15, "the trickle was never cut off"
    assert await conn.closed_by_peer(timeout=3)
    assert guard.node.stats.dropped[Drop.PARTIAL_TIMEOUT] == 1
    await conn.close()
    await guard.still_served()


async def test_idle_connection_times_out(make_node: MakeNode) -> None:
    node = await make_node(idle_timeout_s=0.5)
    assert node.tcp_port is not None
    conn = await open_tcp(node.tcp_port)
    assert await conn.closed_by_peer(timeout=5)
    assert node.stats.dropped[Drop.IDLE_TIMEOUT] == 1
    await conn.close()


async def test_thousands_of_idle_connections_are_bounded(guard: Bystander) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    conns = await asyncio.gather(*(attacker(guard) for _ in range(2000)))
    await asyncio.sleep(0.5)
    assert len(guard.node.clients) <= guard.node.config.limits.max_connections
    assert guard.node.stats.dropped[Drop.CONNECTION_LIMIT] >= 2000 - 40
    await asyncio.gather(*(c.close() for c in conns))
    await asyncio.sleep(0.3)
    await guard.still_served()


async def test_burst_flood_sheds_slow_readers_and_loses_nothing(make_node: MakeNode) -> None:
    node = await make_node(client_buffer_bytes=256 * 1024)
    assert node.tcp_port is not None
    reader, sleeper, pub = [await open_tcp(node.tcp_port) for _ in range(3)]
    await asyncio.sleep(0.1)
    n = 5000
    pad = "<remarks>" + "x" * 4000 + "</remarks>"  # 20 MB in all: more than sockets hold
    flood = b"".join(
        event_to_xml(msgspec.structs.replace(make_event(f"f{i}"), detail=pad)) for i in range(n)
    )
    receiving = asyncio.create_task(reader.events(n, timeout=30))
    await pub.send(flood)  # the sleeper never reads
    got = await receiving
    assert len(got) == n  # the reading client lost nothing
    assert node.stats.dropped[Drop.SLOW_CONSUMER] == 1  # the sleeper was shed, not buffered
    assert all(c.queued <= 256 * 1024 for c in node.clients.values())
    assert node.stats.accepted == n
    for c in (reader, sleeper, pub):
        await c.close()


async def test_protobuf_flood_is_accepted_like_xml(make_node: MakeNode) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    sub, pub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    await pub.send(b"".join(frame(encode_message(make_event(f"p{i}"))) for i in range(500)))
    assert len(await sub.events(500, timeout=10)) == 500
    await sub.close()
    await pub.close()
