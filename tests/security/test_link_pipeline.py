"""Issue 18 (with 13): the link is pipelined. One long-lived connection per partner, batch
frames in windowed flight, replies in order, bus messages acked in order as replies arrive;
whatever is unanswered when the connection breaks goes again, and a resent item the
receiver already accepted is answered as delivered, never as a final DENY_REPLAY loss."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import KeyRing, Signer, load_gateway_file
from kizuna.gateway._link import batch_frame, decode_reply
from kizuna.gateway._partner import PartnerLink, link_tls
from tests.gateway.conftest import T0
from tests.security._link import Proxy, make_world, route, server, usa_items, wait_for

pytestmark = pytest.mark.integration


async def test_a_thousand_items_go_in_a_few_batches_over_one_connection(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    usa = server(w, "USA", clock)
    await usa.start()
    try:
        uids = [f"p{i:04d}" for i in range(1000)]
        await usa.gw.offer(usa_items(uids), "JPN")
        assert await wait_for(lambda: len(jpn.gw.received()) >= 1000, timeout=20)
        assert [r.uid for r in jpn.gw.received()] == uids
        fwd = usa.forwarders["JPN"]
        assert fwd.frames <= 12 and fwd.stalls == 0  # ~100 envelopes a frame, not one each
        assert usa.links["JPN"].connects == 1
    finally:
        await usa.stop()
        await jpn.stop()


async def test_a_broken_connection_resends_the_unanswered_and_loses_nothing(
    tmp_path: Path,
) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    # the first connection is cut in the middle of the replies: the handshake and hello
    # come back (~3 KB), then part of the first batch's reply
    proxy = Proxy(jpn.port, cut_after=6000)
    route(w, "USA", await proxy.start())
    usa = server(w, "USA", clock)
    await usa.start()
    try:
        uids = [f"b{i:04d}" for i in range(800)]
        await usa.gw.offer(usa_items(uids), "JPN")
        assert await wait_for(lambda: len(jpn.gw.received()) >= 800, timeout=20)
        sub = await usa._bus.subscribe("kizuna.gw.out.JPN", durable="link-JPN")
        assert await wait_for(lambda: sub.pending() == 0)
        assert [r.uid for r in jpn.gw.received()] == uids  # once each, in order
        fwd = usa.forwarders["JPN"]
        assert fwd.stalls >= 1 and usa.links["JPN"].connects >= 2
        assert fwd.max_inflight > 1  # several frames were outstanding at once
        entries = [jpn.gw.audit.entry(i) for i in range(len(jpn.gw.audit))]
        replays = [e for e in entries if e.reasons == ("DENY_REPLAY",)]
        assert replays  # JPN had accepted what it could not answer: it came again
        accepted = [e.item for e in entries if e.outcome == "ACCEPT"]
        assert accepted == uids
    finally:
        await usa.stop()
        await jpn.stop()
        await proxy.stop()


async def test_a_resent_accepted_batch_is_answered_as_delivered(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    usa = server(w, "USA", clock)
    await usa.start()
    await usa.gw.offer(usa_items([f"d{i}" for i in range(5)]), "JPN")
    sub = await usa._bus.subscribe("kizuna.gw.out.JPN", durable="resend-test")
    envelopes = [m.data for m in await sub.fetch(5)]
    await usa.stop()
    jpn = server(w, "JPN", clock)
    await jpn.start()
    cfg = load_gateway_file(w.configs["USA"])
    link = PartnerLink(cfg.partners["JPN"], link_tls(cfg), signer=Signer.load("USA", cfg.key),
                       ring=KeyRing.load_dir(cfg.keys_dir), keys_dir=cfg.keys_dir,
                       clock=clock)  # fmt: skip
    try:
        first = decode_reply(await link.call(batch_frame(envelopes)))
        again = decode_reply(await link.call(batch_frame(envelopes)))
        assert [r.status for r in first.results] == ["delivered"] * 5
        assert [r.outcome for r in first.results] == ["ACCEPT"] * 5
        assert [r.status for r in again.results] == ["delivered"] * 5  # not a final loss
        assert [r.reasons for r in again.results] == [["DENY_REPLAY"]] * 5
        assert [r.uid for r in jpn.gw.received()] == [f"d{i}" for i in range(5)]
    finally:
        await link.drop()
        await jpn.stop()
