"""Issue 13, item 8: unauthenticated load on the partner listener is bounded. Failures before
authentication are counted per address per minute into one audit entry (not one per frame)
and never reach the ledger; bytes before authentication are bounded per connection and in
total; connections are limited in number and timed out when silent or slow."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, Meta, Signer, load_gateway_file, seal
from kizuna.gateway._link import batch_frame
from tests.gateway._procs import gateway_pki
from tests.gateway.conftest import T0, item, raw
from tests.security._link import make_world, wait_for

pytestmark = pytest.mark.integration

LIMITS = ("[limits]\nmax_connections = {conns}\nidle_timeout_s = {idle}\n"
          "read_timeout_s = {read}\nmax_unauth_bytes = 65536\n")  # fmt: skip


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
async def jpn(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[GatewayServer]:
    conns, idle, read, budget = getattr(request, "param", (64, 30.0, 5.0, 16 << 20))
    w = make_world(tmp_path, LIMITS.format(conns=conns, idle=idle, read=read))
    cfg = load_gateway_file(w.configs["JPN"])
    cfg = dataclasses.replace(cfg, max_buffered_bytes=budget)
    assert cfg.limits.max_buffered_bytes == budget  # what the listener is granted
    srv = GatewayServer(cfg, ManualClock(T0), checkpoint_every=3600)
    await srv.start()
    yield srv
    await srv.stop()


def _unauthenticated(srv: GatewayServer) -> list[object]:
    entries = (srv.gw.audit.entry(i) for i in range(len(srv.gw.audit)))
    return [e for e in entries if e.event == "unauthenticated"]


async def _poke(port: int, data: bytes) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 5)
        writer.close()
    except (ConnectionResetError, BrokenPipeError):
        pass


async def test_two_thousand_failures_are_a_handful_of_audit_entries(
    jpn: GatewayServer, tmp_path: Path
) -> None:
    assert jpn.listener is not None
    forged = seal(Signer.load("USA", tmp_path / "usa-keys" / "USA.key"), msg_id="f1",
                  receiver="JPN", sent_at=T0.isoformat(), audit_seq=0,
                  item=raw(item("u1")), meta=Meta("USA", "track"))  # fmt: skip
    frame = batch_frame([forged.encode()])
    garbage = [len(frame).to_bytes(4, "big") + frame, os.urandom(64), b"\x00\x00\x00\x05Bjunk"]
    for k in range(0, 1900, 50):  # garbage frames, envelopes forged in USA's name
        await asyncio.gather(*(_poke(jpn.port, garbage[i % 3]) for i in range(k, k + 50)))
    rogue = gateway_pki(tmp_path, "USA", directory="rogue")  # failed TLS handshakes
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(rogue.cert, rogue.key)

    async def handshake() -> None:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", jpn.port, ssl=ctx)
            await asyncio.wait_for(r.read(), 5)
            w.close()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass

    for _ in range(0, 100, 25):
        await asyncio.gather(*(handshake() for _ in range(25)))
    assert await wait_for(lambda: jpn.listener is not None and jpn.listener.refusals.total >= 2000)
    await jpn.stop()  # closes the window: its entry is written
    got = _unauthenticated(jpn)
    assert 1 <= len(got) <= 3
    assert "2000 refused" in got[0].detail  # type: ignore[attr-defined]
    assert jpn.gw.ledger.partners() == []  # no '?' row, and the forgeries are no USA denial
    assert len(jpn.gw.audit) <= 5
    await jpn.start()  # the fixture stops it again


@pytest.mark.parametrize("jpn", [(64, 30.0, 0.5, 16 << 20)], indirect=True)
async def test_connections_holding_nearly_complete_messages_are_bounded_and_timed_out(
    jpn: GatewayServer,
) -> None:
    """200 connections each start a TLS ClientHello of 60 KB (the most a peer may send
    before it is authenticated is 64 KiB) and leave it nearly complete; every other one then
    tries to go on to 1 MiB, as the old listener let frames be held."""
    assert jpn.listener is not None
    gc.collect()
    before = _rss()
    hello = b"\x01" + (60000).to_bytes(3, "big")
    records = [b"\x16\x03\x01\x40\x00" + (hello + bytes(16380) if i == 0 else bytes(16384))
               for i in range(64)]  # fmt: skip
    writers: list[asyncio.StreamWriter] = []

    async def hold(n: int) -> None:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", jpn.port)
            writers.append(w)
            for rec in records[:n]:
                w.write(rec)
                await w.drain()
            w.write(b"\x16\x03\x01\x40\x00" + bytes(10000))  # a record, not finished
            await w.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass

    await asyncio.gather(*(hold(64 if i % 2 else 3) for i in range(200)))
    await asyncio.sleep(0.1)
    peak = jpn.listener.buffered
    grown = _rss() - before
    assert len(jpn.listener.connections) <= 64
    assert peak <= 64 * 65536
    assert grown < 24 << 20, grown  # the old listener grew by 240 MiB
    assert await wait_for(lambda: not jpn.listener.connections, timeout=5)  # timed out
    assert jpn.listener.buffered == 0
    for w in writers:
        w.transport.abort()
    await jpn.stop()
    (e,) = _unauthenticated(jpn)
    assert {"timeout", "unauth-bytes", "connections"} <= set(e.reasons)  # type: ignore[attr-defined]
    await jpn.start()


@pytest.mark.parametrize("jpn", [(300, 30.0, 5.0, 1 << 20)], indirect=True)
async def test_bytes_before_authentication_are_bounded_in_total(jpn: GatewayServer) -> None:
    assert jpn.listener is not None
    writers: list[asyncio.StreamWriter] = []
    peak = 0

    async def hold() -> None:
        nonlocal peak
        hello = b"\x16\x03\x01\x40\x00\x01" + (60000).to_bytes(3, "big")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", jpn.port)
            writers.append(w)
            w.write(hello + bytes(16000))
            await w.drain()
            w.write(b"\x16\x03\x01\x40\x00" + bytes(16000))
            await w.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        await asyncio.sleep(0.05)
        peak = max(peak, jpn.listener.buffered if jpn.listener else 0)

    await asyncio.gather(*(hold() for _ in range(200)))
    assert peak <= (1 << 20) + 65536
    assert jpn.listener.refusals.total > 100  # refused once the listener's buffers were full
    for w in writers:
        w.transport.abort()


@pytest.mark.parametrize("jpn", [(1100, 0.5, 0.5, 16 << 20)], indirect=True)
async def test_a_thousand_silent_connections_are_closed_by_the_idle_timeout(
    jpn: GatewayServer,
) -> None:
    assert jpn.listener is not None
    opened = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", jpn.port) for _ in range(1000))
    )
    assert await wait_for(lambda: len(jpn.listener.connections) >= 990, timeout=5)  # type: ignore[union-attr]
    ends = await asyncio.gather(*(asyncio.wait_for(r.read(), 5) for r, _ in opened))
    assert ends == [b""] * 1000  # every one closed by the listener, none left open
    assert not jpn.listener.connections
    for _, w in opened:
        w.close()


@pytest.mark.parametrize("jpn", [(50, 30.0, 5.0, 16 << 20)], indirect=True)
async def test_connections_over_the_limit_are_closed_at_once(jpn: GatewayServer) -> None:
    assert jpn.listener is not None
    opened = [await asyncio.open_connection("127.0.0.1", jpn.port) for _ in range(80)]
    assert await wait_for(lambda: jpn.listener is not None and
                          jpn.listener.refusals.total >= 30)  # fmt: skip
    assert len(jpn.listener.connections) == 50
    for _, w in opened:
        w.transport.abort()
