"""Two real national nodes (USA, JPN) and their gateways, four processes on loopback.

TAK clients publish on their own node over TLS; each gateway takes its node's items, guards
them under the partner's tier and sends them across; the partner node then serves them. Each
viewer, connected over TLS with its own certificate, must hold exactly the items an oracle
written from the rules allows: its own node's by label, the partner's by label and tier.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kizuna.cot import Event, Point, event_to_xml
from kizuna.gateway import generate_keys
from kizuna.identity import init_pki, registry_from_mapping
from kizuna.labels import (
    Clearance,
    ClearanceStatus,
    Decider,
    Viewer,
    default_table,
    parse_banner,
    rank,
)
from kizuna.roadmap import Tier, load_catalogue
from tests.gateway._procs import Gateway, NodeProc, free_port
from tests.node._support import now_ms, open_tls

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PEOPLE = {
    "USA": [("usa-secret", "USA:SECRET"), ("usa-conf", "USA:CONFIDENTIAL")],
    "JPN": [("jpn-gokuhi", "JPN:GOKUHI"), ("jpn-hi", "JPN:HI"), ("jpn-none", "JPN:NONE")],
}
GATEWAY_CLEARANCE = {"USA": "USA:TOP SECRET", "JPN": "JPN:KIMITSU"}
TIERS = {"USA": Tier.T2, "JPN": Tier.T3}
DEFAULT_LABEL = {
    "USA": "SECRET//NOFORN",
    "JPN": "JPN GOKUHI//NOFORN",
}  # the tier each side grants its partner
ITEMS = {
    "USA": [
        ("u-rel", "SECRET//REL TO USA, JPN"),
        ("u-noforn", "SECRET//NOFORN"),
        ("u-conf", "CONFIDENTIAL//REL TO USA, JPN"),
        ("u-open", "UNCLASSIFIED"),
        ("u-fvey", "SECRET//REL TO USA, FVEY"),
    ],
    "JPN": [
        ("j-rel", "JPN GOKUHI//REL TO JPN, USA"),
        ("j-hi", "JPN HI//REL TO JPN, USA"),
        ("j-noforn", "JPN GOKUHI//NOFORN"),
    ],
}
PUBLISHER = {"USA": "usa-secret", "JPN": "jpn-gokuhi"}
PARTNER = {"USA": "JPN", "JPN": "USA"}


def _registry(nation: str) -> str:
    rows = [(pid, cl, "person") for pid, cl in PEOPLE[nation]]
    rows.append((f"gateway-{nation.lower()}", GATEWAY_CLEARANCE[nation], "gateway"))
    return "".join(
        f'[[principal]]\nid = "{pid}"\nnation = "{nation}"\nclearance = "{cl}"\n'
        f'expires = "2099-12-31"\nkind = "{kind}"\n\n'
        for pid, cl, kind in rows
    )


def _node_config(d: Path, nation: str) -> Path:
    n = nation.lower()
    (d / f"{n}-registry.toml").write_text(_registry(nation))
    reg = registry_from_mapping(tomllib.loads(_registry(nation)))
    init_pki(d / f"{n}-pki", reg, now_ms() - timedelta(minutes=1))
    cfg = d / f"{n}-node.toml"
    cfg.write_text(
        f'[node]\nnation = "{nation}"\ndata_dir = "{n}-node"\nregistry = "{n}-registry.toml"\n'
        f'default_label = "{DEFAULT_LABEL[nation]}"\n'
        f'[tls]\ncert = "{n}-pki/server.pem"\nkey = "{n}-pki/server.key"\n'
        f'ca = "{n}-pki/ca.pem"\nhost = "127.0.0.1"\nport = 0\n'
        f'[feed]\nhost = "127.0.0.1"\nport = 0\n'
    )
    return cfg


def _gateway_config(d: Path, nation: str, port: int, pport: int, node_port: int) -> Path:
    """The partner link is TLS with the gateway principal's certificate from the nation's own
    PKI, the partner's CA pinned; the same certificate reads the node's feed."""
    n, p = nation.lower(), PARTNER[nation]
    cfg = d / f"{n}-gw.toml"
    cfg.write_text(
        f'nation = "{nation}"\nlisten = "127.0.0.1:{port}"\n'
        f'data_dir = "{n}-gw"\nkey = "keys/{nation}.key"\nkeys_dir = "keys"\n'
        f'[tls]\ncert = "{n}-pki/clients/gateway-{n}.pem"\n'
        f'key = "{n}-pki/clients/gateway-{n}.key"\n'
        f'[node]\naddress = "127.0.0.1:{node_port}"\nca = "{n}-pki/ca.pem"\n'
        f'[partners.{p}]\naddress = "127.0.0.1:{pport}"\nca = "{p.lower()}-pki/ca.pem"\n'
        f'tier = "{TIERS[nation].name}"\n'
    )
    return cfg


def _event(uid: str, label: str) -> bytes:
    t = now_ms()
    e = Event(uid=uid, type="a-h-S", time=t, start=t, stale=t + timedelta(minutes=30),
              point=Point(26.2, 127.7, 0.0, 10.0, 10.0), detail=f'<contact callsign="{uid}"/>',
              label=parse_banner(label, default_table()))  # fmt: skip
    return event_to_xml(e)


def _oracle(viewer_nation: str, clearance: str, origin: str, label: str) -> bool:
    table = default_table()
    policy, _, level = clearance.partition(":")
    v = Viewer(viewer_nation, Clearance(policy, level, ClearanceStatus.ACTIVE, date(2099, 12, 31)))
    parsed = parse_banner(label, table)
    if not Decider(table).decide(parsed, v, datetime.now().astimezone()).permit:
        return False
    if viewer_nation == origin:
        return True
    rule = load_catalogue().tiers[TIERS[origin]]
    return rule.allows(rank(parsed, table), "track")


def _own(who: str) -> set[str]:
    """A node does not send publishers their own items back: leave those out of the count."""
    return {uid for n, items in ITEMS.items() if PUBLISHER[n] == who for uid, _ in items}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[dict[str, NodeProc], dict[str, Gateway], Path]]:
    generate_keys("USA", tmp_path / "keys")
    generate_keys("JPN", tmp_path / "keys")
    nodes = {n: NodeProc(_node_config(tmp_path, n)) for n in ("USA", "JPN")}
    gws: dict[str, Gateway] = {}
    try:
        ports = {n: p.start() for n, p in nodes.items()}
        gw_ports = {"USA": free_port(), "JPN": free_port()}
        for n in ("USA", "JPN"):
            cfg = _gateway_config(
                tmp_path, n, gw_ports[n], gw_ports[PARTNER[n]], int(str(ports[n]["feed_port"]))
            )
            gws[n] = Gateway(cfg)
            gws[n].start()
        yield nodes, gws, tmp_path
    finally:
        for g in gws.values():
            g.stop()
        for p in nodes.values():
            p.stop()


async def _picture(port: int, pki: Path, who: str) -> set[str]:
    conn = await open_tls(port, pki, who)
    try:
        return {e.uid for e in await conn.events(100, timeout=1.5)}
    finally:
        await conn.close()


async def test_two_nodes_and_two_gateways_deliver_exactly_what_each_viewer_may_see(
    world: tuple[dict[str, NodeProc], dict[str, Gateway], Path],
) -> None:
    nodes, _, d = world
    tls = {n: int(str(p.ready["tls_port"])) for n, p in nodes.items()}
    pki = {n: d / f"{n.lower()}-pki" for n in nodes}
    for nation, items in ITEMS.items():
        pub = await open_tls(tls[nation], pki[nation], PUBLISHER[nation])
        for uid, label in items:
            await pub.send(_event(uid, label))
        await asyncio.sleep(0.3)
        await pub.close()
    expected: dict[str, set[str]] = {}
    for nation, people in PEOPLE.items():
        for who, clearance in people:
            expected[who] = {
                uid
                for origin, items in ITEMS.items()
                for uid, label in items
                if _oracle(nation, clearance, origin, label)
            } - _own(who)
    got: dict[str, set[str]] = {}
    for _ in range(40):  # the link settles within seconds
        for nation, people in PEOPLE.items():
            for who, _cl in people:
                seen = await _picture(tls[nation], pki[nation], who)
                got[who] = seen - (
                    {u for u, _ in ITEMS[nation]} if who == PUBLISHER[nation] else set()
                )
        if got == expected:
            break
        await asyncio.sleep(0.5)
    assert got == expected
    assert "u-rel" in got["jpn-gokuhi"] and "j-rel" in got["usa-secret"]
    assert "u-noforn" not in got["jpn-gokuhi"] and "j-noforn" not in got["usa-secret"]
    assert got["jpn-none"] == {"u-open"} and "u-conf" in got["jpn-hi"]
