"""Issue 13 item 3 (gateway side): the admin interface is a 0600 Unix socket and the operator
the audit names is the socket peer's OS user, not text the client sends.

Before: a loopback TCP port took unauthenticated frames (a raw frame set the tier to T3) and
`--by` was free text written to the audit as the operator."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import stat
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, load_gateway_file
from kizuna.gateway._link import MAX_FRAME, read_frame, write_frame
from kizuna.roadmap import Tier
from tests.gateway._procs import free_port
from tests.gateway.conftest import T0
from tests.security._gwfiles import gateway_file, offer_doc, offer_frame

ME = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[GatewayServer]:
    cfg = gateway_file(tmp_path, "USA", {"JPN": (free_port(), "T2")})
    srv = GatewayServer(load_gateway_file(cfg), ManualClock(T0), checkpoint_every=3600)
    await srv.start()
    yield srv
    await srv.stop()


async def _ask(path: Path, *frames: bytes) -> list[object]:
    reader, writer = await asyncio.open_unix_connection(path)
    out = []
    try:
        for f in frames:
            write_frame(writer, f)
            await writer.drain()
            out.append(json.loads(await read_frame(reader) or b"null"))
    finally:
        writer.close()
    return out


async def test_the_socket_is_0600_and_there_is_no_admin_port(server: GatewayServer) -> None:
    path = server.cfg.admin_path
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (server.cfg.data_dir / "admin.addr").exists()
    assert not hasattr(server, "admin_port")


async def test_a_raw_frame_is_audited_with_the_peers_os_user(server: GatewayServer) -> None:
    frame = {"partner": "JPN", "tier": "T1", "why": "drill", "by": "someone-else"}
    (refused,) = await _ask(server.cfg.admin_path, b"T" + json.dumps(frame).encode())
    assert "malformed" in str(refused)  # no field may claim who acts
    assert server.gw.tier("JPN") is Tier.T2
    del frame["by"]
    (reply,) = await _ask(server.cfg.admin_path, b"T" + json.dumps(frame).encode())
    assert reply == {"changed": True, "tier": "T1", "pinned": True, "operator": ME}
    last = server.gw.audit.entry(len(server.gw.audit) - 1)
    assert (last.event, last.outcome, last.operator) == ("tier", "T1", ME)
    assert last.detail == "T2 -> T1: drill"

    (cp,) = await _ask(server.cfg.admin_path, b"K{}")
    assert cp == {"countersigned": 0}  # the partner is away; the request is still on record
    asked = [server.gw.audit.entry(i) for i in range(len(server.gw.audit))]
    assert any(e.event == "checkpoint" and e.operator == ME for e in asked)


async def test_hold_decisions_name_the_operator_and_keep_the_note_apart(
    server: GatewayServer,
) -> None:
    plan = offer_doc("plan-1", type="u-d-r")  # a plan by its CoT type, not by a claim
    up = b'T{"partner": "JPN", "tier": "T3", "why": "plans are held at T3"}'
    (_, verdicts) = await _ask(server.cfg.admin_path, up, offer_frame("JPN", plan))
    assert isinstance(verdicts, list) and verdicts[0]["outcome"] == "HOLD"
    (held,) = await _ask(server.cfg.admin_path, b"H")
    assert isinstance(held, list)
    (rej,) = await _ask(
        server.cfg.admin_path, b"R" + json.dumps({"id": held[0]["id"], "note": "root"}).encode()
    )
    assert isinstance(rej, dict) and rej["reasons"] == ["DENY_REJECTED_BY_ORIGINATOR"]
    last = server.gw.audit.entry(len(server.gw.audit) - 1)
    assert last.operator == ME and last.detail.endswith(": root")


async def test_nonsense_is_answered_with_an_error_and_the_server_keeps_serving(
    server: GatewayServer,
) -> None:
    replies = await _ask(
        server.cfg.admin_path,
        b"Zwhat",  # unknown kind
        b"Tnot json",
        b"T[1, 2]",  # not an object
        b'T{"partner": "JPN", "tier": "T9", "why": "x"}',
        b'T{"partner": "KOR", "tier": "T1", "why": "x"}',  # not configured
        b'T{"partner": "JPN", "tier": "T1", "why": ""}',  # no reason
        b'A{"id": "1"}',
        b'O{"partner": "JPN", "items": "x"}',
        b"",  # empty frame
    )
    assert "unknown request" in str(replies[0])
    assert all(isinstance(r, dict) and "error" in r for r in replies), replies
    assert "not configured" in str(replies[4])
    assert server.gw.tier("JPN") is Tier.T2

    reader, writer = await asyncio.open_unix_connection(server.cfg.admin_path)
    writer.write(struct.pack(">I", MAX_FRAME + 1))  # a frame over the bound
    await writer.drain()
    over = json.loads(await read_frame(reader) or b"{}")
    assert "limit" in over["error"]
    assert await reader.read() == b""  # and the connection is closed
    writer.close()
    (still,) = await _ask(server.cfg.admin_path, b"H")
    assert still == []
