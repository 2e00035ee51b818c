"""Interop: pytak, the Python TAK client library, publishes to and receives from the node."""

from __future__ import annotations

import asyncio
import contextlib
from configparser import ConfigParser, SectionProxy
from pathlib import Path

import pytak
import pytest

from kizuna.cot import parse_event

from .conftest import MakeNode

pytestmark = pytest.mark.integration


def section(url: str, **extra: str) -> SectionProxy:
    cfg = ConfigParser(interpolation=None)
    cfg["client"] = {"COT_URL": url, **extra}
    return cfg["client"]


def tls_section(port: int, pki: Path, principal: str, **extra: str) -> SectionProxy:
    return section(
        f"tls://127.0.0.1:{port}",
        PYTAK_TLS_CLIENT_CERT=str(pki / "clients" / f"{principal}.pem"),
        PYTAK_TLS_CLIENT_KEY=str(pki / "clients" / f"{principal}.key"),
        PYTAK_TLS_CLIENT_CAFILE=str(pki / "ca.pem"),
        PYTAK_TLS_SERVER_EXPECTED_HOSTNAME="localhost",
        **extra,
    )


class PytakClient:
    """pytak's own connection factory and TX/RX workers, driven by their queues."""

    def __init__(self, config: SectionProxy) -> None:
        self.config = config
        self.tx: asyncio.Queue[bytes] = asyncio.Queue()
        self.rx: asyncio.Queue[bytes] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> PytakClient:
        reader, self.writer = await pytak.protocol_factory(self.config)
        self.tasks = [
            asyncio.create_task(pytak.TXWorker(self.tx, self.config, self.writer).run()),
            asyncio.create_task(pytak.RXWorker(self.rx, self.config, reader).run()),
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        for t in self.tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    async def received(self, count: int, timeout: float = 5.0) -> list[bytes]:
        out: list[bytes] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while len(out) < count:
                    data = await self.rx.get()
                    if b"t-x-takp" not in data:
                        out.append(data)
        return out


def cot(uid: str, lat: float) -> bytes:
    data = pytak.gen_cot(lat=lat, lon=139.7, uid=uid, cot_type="a-f-G-U-C", stale=600)
    assert data is not None
    return data


async def test_pytak_over_tcp(make_node: MakeNode) -> None:
    node = await make_node()
    url = f"tcp://127.0.0.1:{node.tcp_port}"
    async with PytakClient(section(url)) as sub, PytakClient(section(url)) as pub:
        await asyncio.sleep(0.1)
        for i in range(10):
            await pub.tx.put(cot(f"pytak-{i}", 35.0 + i / 100))
        got = [parse_event(d) for d in await sub.received(10)]
    assert [e.uid for e in got] == [f"pytak-{i}" for i in range(10)]
    assert got[3].point.lat == 35.03
    assert node.stats.accepted == 10


# pytak itself sets the deprecated OP_NO_TLSv1* options on its context
@pytest.mark.filterwarnings("ignore:ssl.OP_NO_SSL:DeprecationWarning")
async def test_pytak_over_tls_with_client_certificates(make_node: MakeNode, pki: Path) -> None:
    node = await make_node()
    assert node.tls_port is not None
    pub_cfg = tls_section(node.tls_port, pki, "usa-secret")
    sub_cfg = tls_section(node.tls_port, pki, "jpn-gokuhi")
    async with PytakClient(sub_cfg) as sub, PytakClient(pub_cfg) as pub:
        await asyncio.sleep(0.2)
        await pub.tx.put(cot("tls-1", 36.0))
        got = [parse_event(d) for d in await sub.received(1)]
    assert [e.uid for e in got] == ["tls-1"]
    records = await node.store.replay(got[0].time, got[0].stale)
    assert [r.origin for r in records] == ["usa-secret"]  # from the certificate


async def test_pytak_protobuf_publisher(make_node: MakeNode) -> None:
    node = await make_node()
    url = f"tcp://127.0.0.1:{node.tcp_port}"
    async with (
        PytakClient(section(url)) as sub,
        PytakClient(section(url, TAK_PROTO="1")) as pub,
    ):
        await asyncio.sleep(0.1)
        await pub.tx.put(cot("proto-1", 37.5))
        got = [parse_event(d) for d in await sub.received(1)]
    assert [e.uid for e in got] == ["proto-1"]
    assert got[0].point.lat == 37.5
