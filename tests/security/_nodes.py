"""A real node on loopback for the red-team tests: its own registry and PKI, TLS and TCP."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kizuna.identity import init_pki, registry_from_mapping
from kizuna.labels import default_table, parse_banner
from kizuna.node import FeedConfig, Limits, NodeConfig, NodeServer, TcpConfig, TlsConfig
from kizuna.store import SqliteStore

REGISTRY = """
[[principal]]
id = "usa-secret"
nation = "USA"
clearance = "USA:SECRET"
expires = "2099-12-31"

[[principal]]
id = "usa-ts"
nation = "USA"
clearance = "USA:TOP SECRET"
expires = "2099-12-31"

[[principal]]
id = "jpn-gokuhi"
nation = "JPN"
clearance = "JPN:GOKUHI"
expires = "2099-12-31"

[[principal]]
id = "tools-open"
kind = "device"
nation = "USA"
clearance = "USA:NONE"
expires = "2099-12-31"

[[principal]]
id = "gw-usa"
kind = "gateway"
nation = "USA"
clearance = "USA:TOP SECRET"
expires = "2099-12-31"

[[principal]]
id = "gw-jpn"
kind = "gateway"
nation = "JPN"
clearance = "JPN:KIMITSU"
expires = "2099-12-31"
"""


def make_pki(d: Path, registry: str = REGISTRY) -> Path:
    """Registry and PKI (``d/pki``) for every principal in ``registry``."""
    (d / "registry.toml").write_text(registry)
    reg = registry_from_mapping(tomllib.loads(registry))
    init_pki(d / "pki", reg, datetime.now(UTC) - timedelta(minutes=1))
    return d / "pki"


def node_config(
    d: Path,
    *,
    tcp_identity: str | None = "tools-open",
    allow_cleared_tcp: bool = False,
    feed: bool = False,
    default_label: str = "SECRET//NOFORN",
) -> NodeConfig:
    pki = d / "pki"
    return NodeConfig(
        nation="USA",
        store_path=d / "node" / "events.db",
        registry=d / "registry.toml",
        default_label=parse_banner(default_label, default_table()),
        tls=TlsConfig(pki / "server.pem", pki / "server.key", pki / "ca.pem", "127.0.0.1", 0),
        tcp=None
        if tcp_identity is None
        else TcpConfig(tcp_identity, 0, allow_cleared=allow_cleared_tcp),
        feed=FeedConfig("127.0.0.1", 0) if feed else None,
        limits=dataclasses.replace(Limits(idle_timeout_s=30, read_timeout_s=2, drain_timeout_s=1)),
    )


async def start_node(config: NodeConfig, registry: str = REGISTRY) -> NodeServer:
    node = NodeServer(
        config, registry_from_mapping(tomllib.loads(registry)), SqliteStore(config.store_path)
    )
    await node.start()
    return node
