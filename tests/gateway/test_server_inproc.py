"""A serving gateway in process, attacked on its partner port: every refusal is on the record,
and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, generate_keys, load_gateway_file, seal
from kizuna.gateway._link import read_frame, request, write_frame
from tests.gateway._procs import free_port
from tests.gateway.conftest import SIGNERS, T0, item, raw


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[GatewayServer]:
    generate_keys("USA", tmp_path / "keys")
    generate_keys("JPN", tmp_path / "keys")
    cfg = tmp_path / "usa.toml"
    cfg.write_text(
        'nation = "USA"\nlisten = "127.0.0.1:0"\n'
        f'[partners.JPN]\naddress = "127.0.0.1:{free_port()}"\ntier = "T2"\n'
    )
    srv = GatewayServer(load_gateway_file(cfg), ManualClock(T0), checkpoint_every=3600)
    await srv.start()
    yield srv
    await srv.stop()


async def _send(port: int, payload: bytes) -> dict[str, object]:
    return dict(json.loads(await request("127.0.0.1", port, payload[:1], payload[1:])))


async def test_a_frame_over_the_limit_is_refused_and_audited(server: GatewayServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(struct.pack(">I", 2 << 20))  # claims 2 MiB
    await writer.drain()
    assert await reader.read() == b""  # closed on us
    writer.close()
    await asyncio.sleep(0.05)
    last = server.gw.audit.entry(len(server.gw.audit) - 1)
    assert (last.event, last.outcome, last.reasons) == ("inbound", "DENY", ("DENY_TOO_LARGE",))
    assert server.dropped_frames == 1


async def test_a_cut_frame_is_refused_as_malformed(server: GatewayServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(struct.pack(">I", 100) + b"E{")
    writer.write_eof()
    assert await reader.read() == b""
    writer.close()
    await asyncio.sleep(0.05)
    last = server.gw.audit.entry(len(server.gw.audit) - 1)
    assert last.reasons == ("DENY_PARSE",) and "inside a frame" in last.detail


async def test_bad_envelopes_get_reasons_and_the_server_keeps_serving(
    server: GatewayServer,
) -> None:
    junk = await _send(server.port, b"Enot an envelope")
    assert junk["outcome"] == "DENY" and junk["reasons"] == ["DENY_PARSE"]
    jpn_item = raw(item("j", origin="JPN", label="JPN HI//REL TO JPN, USA"))
    good_env = seal(SIGNERS["JPN"], msg_id="x1", receiver="USA", sent_at=T0.isoformat(),
                    audit_seq=0, item=jpn_item)  # fmt: skip
    # the test's keys are not this server's: the signature does not verify
    forged = await _send(server.port, b"E" + good_env.encode())
    assert forged["reasons"] == ["DENY_BAD_SIGNATURE"]
    unknown = await _send(server.port, b"Zwhat")
    assert "unknown request" in str(unknown["error"])
    cp = await _send(server.port, b"C{}")
    assert "checkpoint" in str(cp["error"])
    assert server.gw.received() == []
    stats = server.gw.ledger.total("in")
    assert stats.denied == 2 and stats.released == 0


async def test_the_admin_port_answers_and_refuses_nonsense(server: GatewayServer) -> None:
    reader, writer = await asyncio.open_unix_connection(server.cfg.admin_path)
    write_frame(writer, b"O" + json.dumps({"partner": "JPN", "items": [{"uid": 1}]}).encode())
    await writer.drain()
    reply = json.loads(await read_frame(reader) or b"null")
    assert reply[0]["reasons"] == ["DENY_PARSE"]
    write_frame(writer, b"Anot json")
    await writer.drain()
    assert "error" in json.loads(await read_frame(reader) or b"{}")
    write_frame(writer, b"T" + json.dumps({"partner": "JPN", "tier": "T9", "why": "x"}).encode())
    await writer.drain()
    assert "error" in json.loads(await read_frame(reader) or b"{}")
    writer.close()
