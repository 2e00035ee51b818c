"""A serving gateway in process, attacked on its partner port by an authenticated partner
(its TLS certificate and signing key): every refusal is on the record, as that partner's,
and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, KeyRing, Meta, Signer, load_gateway_file, seal
from kizuna.gateway._link import batch_frame, decode_reply, read_frame, write_frame
from kizuna.gateway._partner import PartnerLink, link_tls
from tests.gateway.conftest import SIGNERS, T0, item, raw
from tests.security._link import make_world, server


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[GatewayServer, PartnerLink]]:
    """USA serving; a link from JPN's side to it (JPN's files, but no JPN server)."""
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    srv = server(w, "USA", clock)
    await srv.start()
    jpn = load_gateway_file(w.configs["JPN"])
    link = PartnerLink(
        jpn.partners["USA"], link_tls(jpn), signer=Signer.load("JPN", jpn.key),
        ring=KeyRing.load_dir(jpn.keys_dir), keys_dir=jpn.keys_dir, clock=clock,
    )  # fmt: skip
    yield srv, link
    await link.drop()
    await srv.stop()


async def _closed(link: PartnerLink) -> None:
    s = await link.session()
    for _ in range(100):
        if not s.alive:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the server kept the connection")


async def test_a_frame_over_the_limit_is_refused_and_audited(
    pair: tuple[GatewayServer, PartnerLink],
) -> None:
    srv, link = pair
    s = await link.session()
    s.chan.write(struct.pack(">I", 2 << 20))  # claims 2 MiB
    await _closed(link)
    await asyncio.sleep(0.05)
    last = srv.gw.audit.entry(len(srv.gw.audit) - 1)
    assert (last.event, last.partner, last.outcome) == ("inbound", "JPN", "DENY")
    assert last.reasons == ("DENY_TOO_LARGE",)
    assert srv.dropped_frames == 1


async def test_a_cut_frame_is_refused_as_malformed(
    pair: tuple[GatewayServer, PartnerLink],
) -> None:
    srv, link = pair
    s = await link.session()
    s.chan.write(struct.pack(">I", 100) + b"B[")
    s.chan.close()
    await asyncio.sleep(0.2)
    last = srv.gw.audit.entry(len(srv.gw.audit) - 1)
    assert last.reasons == ("DENY_PARSE",) and "inside a frame" in last.detail
    assert last.partner == "JPN"


async def test_bad_envelopes_get_reasons_and_the_server_keeps_serving(
    pair: tuple[GatewayServer, PartnerLink],
) -> None:
    srv, link = pair
    jpn_item = raw(item("j", origin="JPN", label="JPN HI//REL TO JPN, USA"))
    other_key = seal(SIGNERS["JPN"], msg_id="x1", receiver="USA", sent_at=T0.isoformat(),
                     audit_seq=0, item=jpn_item, meta=Meta("JPN", "track"))  # fmt: skip
    posing = seal(Signer.generate("KOR"), msg_id="x2", receiver="USA", sent_at=T0.isoformat(),
                  audit_seq=0, item=jpn_item, meta=Meta("JPN", "track"))  # fmt: skip
    reply = decode_reply(await link.call(batch_frame([b'"not an envelope"', posing.encode()])))
    assert [r.reasons for r in reply.results] == [["DENY_PARSE"], ["DENY_UNKNOWN_SENDER"]]
    assert [r.status for r in reply.results] == ["refused", "refused"]
    # signed by a key that is not JPN's: not final, the sender is to send it again
    reply = decode_reply(await link.call(batch_frame([other_key.encode()])))
    assert [(r.reasons, r.status) for r in reply.results] == [(["DENY_BAD_SIGNATURE"], "retry")]
    unknown = json.loads(await link.call(b"Zwhat"))
    assert "unknown request" in str(unknown["error"])
    cp = json.loads(await link.call(b"C{}"))
    assert "checkpoint" in str(cp["error"])
    assert srv.gw.received() == []
    stats = srv.gw.ledger.total("in", "JPN")  # an authenticated partner's denials are its own
    assert stats.denied == 3 and stats.released == 0
    assert srv.gw.ledger.partners() == ["JPN"]


async def test_the_admin_port_answers_and_refuses_nonsense(
    pair: tuple[GatewayServer, PartnerLink],
) -> None:
    srv, _ = pair
    reader, writer = await asyncio.open_unix_connection(srv.cfg.admin_path)
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
