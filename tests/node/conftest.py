from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kizuna.identity import init_pki, registry_from_mapping
from kizuna.labels import default_table, parse_banner
from kizuna.node import Limits, NodeConfig, NodeServer, TcpConfig, TlsConfig
from kizuna.store import SqliteStore

from ._support import REGISTRY, STRANGER

MakeNode = Callable[..., Awaitable[NodeServer]]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PKI for the session: the registry's principals plus a stranger it does not list."""
    root = tmp_path_factory.mktemp("pki")
    reg = registry_from_mapping(tomllib.loads(REGISTRY + STRANGER))
    init_pki(root / "pki", reg, datetime.now(UTC))
    (root / "registry.toml").write_text(REGISTRY)
    return root / "pki"


@pytest.fixture
async def make_node(tmp_path: Path, pki: Path) -> AsyncIterator[MakeNode]:
    nodes: list[NodeServer] = []

    async def make(tcp_label: str | None = None, **limits: float) -> NodeServer:
        config = NodeConfig(
            nation="USA",
            store_path=tmp_path / f"node{len(nodes)}" / "events.db",
            registry=pki.parent / "registry.toml",
            default_label=parse_banner("UNCLASSIFIED", default_table()),
            tls=TlsConfig(pki / "server.pem", pki / "server.key", pki / "ca.pem", "127.0.0.1", 0),
            tcp=TcpConfig(
                "tools-usa",
                0,
                None if tcp_label is None else parse_banner(tcp_label, default_table()),
                allow_cleared=True,  # these tests publish as a cleared tool over TCP
            ),
            limits=dataclasses.replace(
                Limits(idle_timeout_s=30, read_timeout_s=2, drain_timeout_s=1), **limits
            ),
        )
        reg = registry_from_mapping(tomllib.loads(REGISTRY))
        node = NodeServer(config, reg, SqliteStore(config.store_path))
        await node.start()
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        await node.stop()
