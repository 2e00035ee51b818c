"""Issue 13, item 4: the partner link is TLS 1.3 with client certificates on both sides, each
partner's CA pinned; a plain link refuses to start. Real GatewayServer objects on loopback,
certificates from ``kizuna.identity.init_pki`` (one PKI per nation)."""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path

import pytest

from kizuna.clock import ManualClock
from kizuna.errors import ConfigError, TransportError
from kizuna.gateway import (
    GatewayServer,
    KeyRing,
    Meta,
    Signer,
    generate_keys,
    load_gateway_file,
    seal,
)
from kizuna.gateway._link import batch_frame, decode_reply
from kizuna.gateway._partner import PartnerLink, link_tls
from tests.gateway._procs import free_port, gateway_pki, kizuna, link_toml
from tests.gateway.conftest import T0, item, raw
from tests.security._link import Proxy, make_world, route, server, usa_items, wait_for

pytestmark = pytest.mark.integration

SECRET_CALLSIGN = "HAWK 1"


async def test_items_cross_over_tls_and_a_sniffer_sees_no_plaintext(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    proxy = Proxy(jpn.port)
    route(w, "USA", await proxy.start())
    usa = server(w, "USA", clock)
    await usa.start()
    try:
        uids = [f"secret-track-{i}" for i in range(20)]
        await usa.gw.offer(usa_items(uids), "JPN")
        assert await wait_for(lambda: len(jpn.gw.received()) == 20)
        assert [r.uid for r in jpn.gw.received()] == uids
        assert await usa.exchange_checkpoints() == 1  # the checkpoint goes over the same link
    finally:
        await usa.stop()
        await jpn.stop()
        await proxy.stop()
    wire = bytes(proxy.sent + proxy.back)
    assert len(proxy.sent) > 20 * 200  # the items did pass through the proxy
    one = raw(item(uids[0]))
    needles = (b"secret-track", SECRET_CALLSIGN.encode(), b"SECRET//REL", b"kizuna-hello",
               b"sender", base64.b64encode(one)[:40], b'"msg_id"', b"USA-JPN-")  # fmt: skip
    for needle in needles:
        assert needle not in wire, needle
    assert wire[:1] == b"\x16" and proxy.back[:1] == b"\x16"  # TLS handshake records


async def test_a_plain_tcp_client_gets_nothing(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    try:
        env = seal(Signer.load("USA", tmp_path / "usa-keys" / "USA.key"), msg_id="m1",
                   receiver="JPN", sent_at=T0.isoformat(), audit_seq=0,
                   item=raw(item("u1")), meta=Meta("USA", "track"))  # fmt: skip
        frame = batch_frame([env.encode()])
        reader, writer = await asyncio.open_connection("127.0.0.1", jpn.port)
        writer.write(len(frame).to_bytes(4, "big") + frame)
        await writer.drain()
        try:
            got = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            got = b""
        writer.close()
        assert got == b""
        assert jpn.gw.received() == []
    finally:
        await jpn.stop()
    entries = [jpn.gw.audit.entry(i) for i in range(len(jpn.gw.audit))]
    assert [e.event for e in entries if e.event != "tier"] == ["unauthenticated"]
    assert jpn.gw.ledger.partners() == []  # a forged USA envelope is no USA denial


def _client_link(cfg_path: Path, port: int, clock: ManualClock) -> PartnerLink:
    cfg = load_gateway_file(cfg_path)
    (p,) = cfg.partners.values()
    p = type(p)(p.nation, "127.0.0.1", port, p.tier, p.ca)
    return PartnerLink(p, link_tls(cfg), signer=Signer.load(cfg.nation, cfg.key),
                       ring=KeyRing.load_dir(cfg.keys_dir), keys_dir=cfg.keys_dir,
                       clock=clock, timeout=3.0)  # fmt: skip


async def test_a_certificate_from_the_wrong_ca_fails_the_handshake(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    # a rogue CA issuing a gateway certificate in USA's name, with USA's real signing key
    rogue = gateway_pki(tmp_path, "USA", directory="rogue")
    text = w.configs["USA"].read_text()
    tls = link_toml(tmp_path, rogue, {})
    start = text.index("[tls]")
    end = text.index("[partners.")
    cfg = tmp_path / "rogue.toml"
    cfg.write_text(text[:start] + tls + text[end:])
    try:
        link = _client_link(cfg, jpn.port, clock)
        with pytest.raises(TransportError):
            await link.session()
        # and straight at the TLS layer: the listener refuses the certificate
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(w.pki["JPN"].ca)
        ctx.load_cert_chain(rogue.cert, rogue.key)
        reader, writer = await asyncio.open_connection("127.0.0.1", jpn.port, ssl=ctx)
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            data = await asyncio.wait_for(reader.read(), 5)
            assert data == b""
            raise ConnectionResetError("closed")
        writer.close()
        # the genuine USA certificate works
        good = _client_link(w.configs["USA"], jpn.port, clock)
        await good.session()
        await good.drop()
        assert jpn.gw.received() == []
    finally:
        await jpn.stop()
    refused = [jpn.gw.audit.entry(i) for i in range(len(jpn.gw.audit))]
    assert [e.event for e in refused if e.event != "tier"] == ["unauthenticated"]


async def test_a_person_certificate_of_the_partner_pki_is_not_a_gateway(tmp_path: Path) -> None:
    extra = ('[[principal]]\nid = "usa-user"\nnation = "USA"\nclearance = "USA:SECRET"\n'
             'expires = "2099-12-31"\n')  # fmt: skip
    w = make_world(tmp_path)
    other = gateway_pki(tmp_path, "USA", directory="usa2", extra=extra)
    # JPN pins the CA that issued both the USA gateway and a USA user
    text = w.configs["JPN"].read_text().replace("usa-pki/ca.pem", "usa2-pki/ca.pem")
    w.configs["JPN"].write_text(text)
    clock = ManualClock(T0)
    jpn = server(w, "JPN", clock)
    await jpn.start()
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(w.pki["JPN"].ca)
        user = other.pki / "clients"
        ctx.load_cert_chain(user / "usa-user.pem", user / "usa-user.key")
        reader, writer = await asyncio.open_connection("127.0.0.1", jpn.port, ssl=ctx)
        with pytest.raises((ssl.SSLError, ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 5)
        writer.close()
    finally:
        await jpn.stop()
    (e,) = [jpn.gw.audit.entry(i) for i in range(len(jpn.gw.audit)) if i and
            jpn.gw.audit.entry(i).event == "unauthenticated"]  # fmt: skip
    assert e.reasons == ("certificate",)


def _without(path: Path, start: str, end: str | None) -> None:
    text = path.read_text()
    a = text.index(start)
    b = text.index(end, a + 1) if end else len(text)
    path.write_text(text[:a] + text[b:])


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda p: _without(p, "[tls]", "[partners."), "tls"),
        (lambda p: _without(p, "ca = ", "tier"), "partners.JPN.ca"),
    ],
)
async def test_a_plain_link_refuses_to_start(tmp_path: Path, edit: object, field: str) -> None:
    w = make_world(tmp_path)
    edit(w.configs["USA"])  # type: ignore[operator]
    srv = GatewayServer(load_gateway_file(w.configs["USA"]), ManualClock(T0))
    with pytest.raises(ConfigError) as err:
        await srv.start()
    assert err.value.field == field
    assert "\n" not in str(err.value)
    assert not (tmp_path / "usa" / "gateway.db").exists()  # refused before anything opened


def test_the_command_refuses_a_plain_link_in_one_line(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    _without(w.configs["USA"], "[tls]", "[partners.")
    out = kizuna("gateway", "serve", "-c", str(w.configs["USA"]), check=False)
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "tls" in out.stderr and "Traceback" not in out.stderr


async def test_each_of_several_partners_is_known_by_its_own_ca_and_speaks_only_for_itself(
    tmp_path: Path,
) -> None:
    """USA serves JPN and KOR, whose CAs (each from its own ``pki init``) bear the same name.
    Each is identified by the CA that issued its certificate; KOR sending an envelope that
    JPN signed is refused as from an unknown sender, and counted as KOR's, not JPN's."""
    nations = ("USA", "JPN", "KOR")
    pki = {n: gateway_pki(tmp_path, n) for n in nations}
    for n in nations:
        generate_keys(n, tmp_path / "keys")
    port = free_port()
    cfg = tmp_path / "usa.toml"
    cfg.write_text(
        f'nation = "USA"\nlisten = "127.0.0.1:{port}"\ndata_dir = "usa"\n'
        'key = "keys/USA.key"\nkeys_dir = "keys"\n'
        + link_toml(tmp_path, pki["USA"], {n: ("127.0.0.1:1", pki[n]) for n in ("JPN", "KOR")})
    )
    for n in ("JPN", "KOR"):
        (tmp_path / f"{n}.toml").write_text(
            f'nation = "{n}"\nlisten = "127.0.0.1:0"\ndata_dir = "{n}"\n'
            f'key = "keys/{n}.key"\nkeys_dir = "keys"\n'
            + link_toml(tmp_path, pki[n], {"USA": (f"127.0.0.1:{port}", pki["USA"])})
            + 'tier = "T2"\n'
        )
    clock = ManualClock(T0)
    usa = GatewayServer(load_gateway_file(cfg), clock, checkpoint_every=3600)
    await usa.start()
    links = {n: _client_link(tmp_path / f"{n}.toml", port, clock) for n in ("JPN", "KOR")}
    try:
        jpn_key = Signer.load("JPN", tmp_path / "keys" / "JPN.key")
        body = raw(item("j1", origin="JPN", label="JPN HI//REL TO JPN, USA"))
        env = seal(jpn_key, msg_id="JPN-j1", receiver="USA", sent_at=T0.isoformat(),
                   audit_seq=0, item=body, meta=Meta("JPN", "track"))  # fmt: skip
        kor = decode_reply(await links["KOR"].call(batch_frame([env.encode()])))
        assert [(r.reasons, r.status) for r in kor.results] == [
            (["DENY_UNKNOWN_SENDER"], "refused")
        ]
        jpn = decode_reply(await links["JPN"].call(batch_frame([env.encode()])))
        assert [(r.outcome, r.status) for r in jpn.results] == [("ACCEPT", "delivered")]
        assert usa.gw.ledger.total("in", "KOR").denied == 1
        assert usa.gw.ledger.total("in", "JPN").denied == 0
        assert [(r.origin, r.uid) for r in usa.gw.received()] == [("JPN", "j1")]
    finally:
        for link in links.values():
            await link.drop()
        await usa.stop()
