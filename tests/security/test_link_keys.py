"""Issue 13, item 6: a refusal for a fixable reason is not final. The link opens with a
signed hello both ways; a receiver that cannot verify the sender (or the reverse) refuses
the link, and the sender keeps every item pending, retries with backoff and alerts the
operator; a bad signature on a well-formed envelope from an authenticated peer is
negative-acknowledged, not acked as a loss. Once the key is right, the items arrive exactly
once, in order."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayFileError, GatewayServer, generate_keys, load_gateway_file
from tests.gateway.conftest import T0
from tests.security._link import World, make_world, server, usa_items, wait_for

pytestmark = pytest.mark.integration


def _wrong_key(w: World, holder: str, of: str) -> bytes:
    """Give ``holder`` a public key for ``of`` that is not ``of``'s; return the right one."""
    path = w.d / f"{holder.lower()}-keys" / f"{of}.pub"
    right = path.read_bytes()
    _, pub = generate_keys(of, w.d / "elsewhere" / holder)
    path.write_bytes(pub.read_bytes())
    return right


def _inbound(srv: GatewayServer) -> list[tuple[str, tuple[str, ...]]]:
    entries = (srv.gw.audit.entry(i) for i in range(len(srv.gw.audit)))
    return [(e.outcome, e.reasons) for e in entries if e.event == "inbound"]


async def test_a_partner_without_a_public_key_file_does_not_start(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    missing = tmp_path / "usa-keys" / "JPN.pub"
    missing.unlink()
    with pytest.raises(GatewayFileError) as err:  # refused with the file, before a start
        load_gateway_file(w.configs["USA"])
    (problem,) = err.value.problems
    assert f": partners.JPN: file {missing} does not exist" in problem
    assert "\n" not in str(err.value)
    assert not (tmp_path / "usa").exists()  # nothing was started, nothing made


@pytest.mark.parametrize(
    ("holder", "fix"), [("JPN", "reload"), ("JPN", "restart"), ("USA", "reload")]
)
async def test_items_offered_while_a_key_is_wrong_arrive_once_in_order_once_it_is_right(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, holder: str, fix: str
) -> None:
    """``holder`` believes a wrong key for its partner: JPN cannot verify USA's hello, or
    USA cannot verify JPN's answer. Either way nothing is judged and nothing is lost."""
    w = make_world(tmp_path)
    of = "USA" if holder == "JPN" else "JPN"
    right = _wrong_key(w, holder, of)
    clock = ManualClock(T0)
    usa, jpn = server(w, "USA", clock), server(w, "JPN", clock)
    await usa.start()
    await jpn.start()
    try:
        uids = [f"k{i:02d}" for i in range(30)]
        with caplog.at_level(logging.WARNING, logger="kizuna.gateway.link"):
            await usa.gw.offer(usa_items(uids[:20]), "JPN")
            await usa.gw.offer(usa_items(uids[20:]), "JPN")
            assert await wait_for(lambda: "30 items pending" in caplog.text)
        assert "cannot verify" in caplog.text
        assert jpn.gw.received() == [] and _inbound(jpn) == []  # nothing judged, nothing lost
        (w.d / f"{holder.lower()}-keys" / f"{of}.pub").write_bytes(right)  # the operator fixes it
        if fix == "restart":
            await jpn.stop()
            jpn = server(w, "JPN", clock)
            await jpn.start()
        assert await wait_for(lambda: len(jpn.gw.received()) >= 30, timeout=15)
        assert [r.uid for r in jpn.gw.received()] == uids  # once each, in order
        assert _inbound(jpn) == [("ACCEPT", ())] * 30
        sub = await usa._bus.subscribe("kizuna.gw.out.JPN", durable="link-JPN")
        assert await wait_for(lambda: sub.pending() == 0)
    finally:
        await usa.stop()
        await jpn.stop()


async def test_a_bad_signature_from_an_authenticated_partner_is_retried_not_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """USA seals items, then its key is replaced (and JPN told the new one): the hello
    verifies, the queued envelopes do not. They stay pending, negative-acknowledged; when the
    old key is back, they arrive once, in order."""
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    keys = tmp_path / "usa-keys"
    shutil.copy(keys / "USA.key", tmp_path / "old.key")
    old_pub = (keys / "USA.pub").read_bytes()
    usa = server(w, "USA", clock)
    await usa.start()
    uids = [f"r{i:02d}" for i in range(12)]
    await usa.gw.offer(usa_items(uids), "JPN")  # sealed under the old key; JPN is not up
    await usa.stop()
    (keys / "USA.key").unlink()
    (keys / "USA.pub").unlink()
    generate_keys("USA", keys)  # the new key, known to both sides
    shutil.copy(keys / "USA.pub", tmp_path / "jpn-keys" / "USA.pub")
    usa, jpn = server(w, "USA", clock), server(w, "JPN", clock)
    await jpn.start()
    with caplog.at_level(logging.WARNING, logger="kizuna.gateway.link"):
        await usa.start()
        try:
            assert await wait_for(lambda: "12 items pending" in caplog.text)
            assert jpn.gw.received() == []
            assert jpn.listener is not None and jpn.listener.naks >= 12
            assert await wait_for(lambda: usa.forwarders["JPN"].stalls >= 3)
            # on the record once, not once per round of retries
            assert _inbound(jpn) == [("DENY", ("DENY_BAD_SIGNATURE",))]
            # the operator puts the old key back on both sides
            await usa.stop()
            shutil.copy(tmp_path / "old.key", keys / "USA.key")
            (tmp_path / "jpn-keys" / "USA.pub").write_bytes(old_pub)
            usa = server(w, "USA", clock)
            await usa.start()
            assert await wait_for(lambda: len(jpn.gw.received()) >= 12, timeout=15)
            assert [r.uid for r in jpn.gw.received()] == uids
        finally:
            await usa.stop()
            await jpn.stop()
