"""The node's edge: what a TAK client writes never speaks for the node or the gateway.

Real NodeServer objects on loopback, TLS clients with their own certificates and the plain
TCP listener (issue 13 items 1, 3 and 11, node side).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from kizuna.cot import Event, Point, event_to_xml
from kizuna.errors import ConfigError
from kizuna.labels import default_table, parse_banner
from kizuna.node import Drop, build_node, load_config
from tests.node._support import now_ms, open_tcp, open_tls
from tests.security._nodes import make_pki, node_config, start_node


def _event(uid: str, label: str | None, detail: str) -> bytes:
    t = now_ms()
    parsed = None if label is None else parse_banner(label, default_table())
    e = Event(uid=uid, type="a-f-G-U-C", time=t, start=t,
              stale=t + timedelta(minutes=10), point=Point(35.0, 139.0, 1.0, 5.0, 5.0),
              detail=detail, label=parsed)  # fmt: skip
    return event_to_xml(e)


async def test_reserved_detail_from_clients_is_stripped_counted_and_origin_is_the_principal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pki = make_pki(tmp_path)
    node = await start_node(node_config(tmp_path))
    assert node.tls_port is not None and node.tcp_port is not None
    watcher = await open_tls(node.tls_port, pki, "usa-ts")
    usa = await open_tls(node.tls_port, pki, "usa-secret")
    jpn = await open_tls(node.tls_port, pki, "jpn-gokuhi")
    tool = await open_tcp(node.tcp_port)
    try:
        caplog.set_level(logging.WARNING, "kizuna.node")
        await usa.send(
            _event(
                "plan-1",
                "SECRET//REL TO USA, JPN",
                '<contact callsign="a"/><__kizuna category="track" origin="USA"/>',
            )
        )
        await tool.send(
            _event(
                "tool-1",
                "UNCLASSIFIED",
                '<contact __kizuna_origin="JPN" callsign="b"/>'
                '<remarks>r<__KIZUNA category="liaison"/></remarks>',
            )
        )
        await jpn.send(
            _event(
                "jpn-1",
                "JPN GOKUHI//REL TO JPN, USA",
                '<__kizuna origin="USA" category="track"/><contact callsign="c"/>',
            )
        )
        got = {e.uid: e for e in await watcher.events(3, timeout=5.0)}
        assert set(got) == {"plan-1", "tool-1", "jpn-1"}
        for e in got.values():  # relayed without it, the rest kept
            assert "kizuna" not in e.detail.casefold()
            assert "<contact" in e.detail
        assert "<remarks>r</remarks>" in got["tool-1"].detail
        stored = {r.event.uid: r for _, r in await node.store.since(0, 100)}
        for r in stored.values():
            assert "kizuna" not in r.event.detail.casefold()
            assert "kizuna" not in event_to_xml(r.event).decode().casefold()
        # origin is the authenticated principal's nation, never what the item claims
        assert stored["jpn-1"].nation == "JPN"
        assert stored["plan-1"].nation == "USA" and stored["tool-1"].nation == "USA"
        assert node.stats.dropped[Drop.RESERVED_STRIPPED] == 3
        logged = [r.getMessage() for r in caplog.records if "reserved_stripped" in r.getMessage()]
        assert any("jpn-gokuhi" in m for m in logged) and any("tools-open" in m for m in logged)
    finally:
        for c in (watcher, usa, jpn, tool):
            await c.close()
        await node.stop()


async def test_an_unlabelled_event_is_stored_as_labelled_by_default(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    node = await start_node(node_config(tmp_path, default_label="SECRET//NOFORN"))
    assert node.tls_port is not None
    usa = await open_tls(node.tls_port, pki, "usa-secret")
    try:
        await usa.send(_event("bare", None, '<contact callsign="x"/>'))
        await usa.send(_event("marked", "SECRET//REL TO USA, JPN", ""))
        for _ in range(100):
            if await node.store.count() == 2:
                break
            await asyncio.sleep(0.02)
        stored = {r.event.uid: r for _, r in await node.store.since(0, 10)}
        assert stored["bare"].label_source == "default"
        assert stored["bare"].event.label == parse_banner("SECRET//NOFORN", default_table())
        assert stored["marked"].label_source == "publisher"
    finally:
        await usa.close()
        await node.stop()


def test_a_node_file_without_default_label_is_one_line_naming_the_key(tmp_path: Path) -> None:
    make_pki(tmp_path)
    cfg = tmp_path / "node.toml"
    cfg.write_text('[node]\nnation = "USA"\nregistry = "registry.toml"\n'
                   '[tcp]\nenabled = true\nport = 0\n'
                   'identity = "tools-open"\n')  # fmt: skip
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert err.value.field == "node.default_label"
    run = subprocess.run(
        [sys.executable, "-m", "kizuna.cli", "node", "serve", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ},
    )  # fmt: skip
    assert run.returncode != 0
    assert run.stderr.strip().count("\n") == 0 and "node.default_label" in run.stderr
    assert "Traceback" not in run.stderr


def _readme_style(tmp_path: Path, identity: str, extra: str = "") -> Path:
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        '[node]\nnation = "USA"\ndata_dir = "data"\nregistry = "registry.toml"\n'
        'default_label = "SECRET//NOFORN"\n'
        '[tls]\ncert = "pki/server.pem"\nkey = "pki/server.key"\nca = "pki/ca.pem"\n'
        'host = "127.0.0.1"\nport = 0\n'
        f'[tcp]\nenabled = true\nport = 0\nidentity = "{identity}"\n{extra}'
    )
    return cfg


async def test_a_cleared_plain_tcp_identity_refuses_to_start(tmp_path: Path) -> None:
    make_pki(tmp_path)
    node = build_node(load_config(_readme_style(tmp_path, "usa-ts")))
    with pytest.raises(ConfigError) as err:
        await node.start()
    assert err.value.field == "tcp.identity"
    run = subprocess.run(
        [sys.executable, "-m", "kizuna.cli", "node", "serve", "--config",
         str(_readme_style(tmp_path, "gw-usa"))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode != 0 and "tcp.identity" in run.stderr
    assert "Traceback" not in run.stderr


async def test_allow_cleared_tcp_starts_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_pki(tmp_path)
    caplog.set_level(logging.WARNING, "kizuna.node")
    cfg = load_config(_readme_style(tmp_path, "usa-ts", "allow_cleared_tcp = true\n"))
    assert cfg.tcp is not None and cfg.tcp.allow_cleared
    node = build_node(cfg)
    await node.start()
    try:
        assert any("allow_cleared_tcp" in r.getMessage() for r in caplog.records)
    finally:
        await node.stop()


async def test_a_client_on_the_tcp_port_never_receives_top_secret_noforn(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    node = build_node(load_config(_readme_style(tmp_path, "tools-open")))
    await node.start()
    assert node.tls_port is not None and node.tcp_port is not None
    ts = await open_tls(node.tls_port, pki, "usa-ts")
    anyone = await open_tcp(node.tcp_port)
    try:
        await ts.send(_event("ts-1", "TOP SECRET//NOFORN", ""))
        await ts.send(_event("open-1", "UNCLASSIFIED", ""))
        got = await anyone.events(2, timeout=1.5)
        assert [e.uid for e in got] == ["open-1"]
        late = await open_tcp(node.tcp_port)  # the picture a new connection is greeted with
        assert [e.uid for e in await late.events(2, timeout=1.0)] == ["open-1"]
        await late.close()
    finally:
        await ts.close()
        await anyone.close()
        await node.stop()
