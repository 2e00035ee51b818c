"""Helpers for tests against a real node on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kizuna.cot import Event, Point, StreamDecoder, WireFormat, decode_message, parse_event
from kizuna.labels import default_table, parse_banner

REGISTRY = """
[[principal]]
id = "usa-secret"
nation = "USA"
clearance = "USA:SECRET"
expires = "2099-12-31"

[[principal]]
id = "jpn-gokuhi"
nation = "JPN"
clearance = "JPN:GOKUHI"
expires = "2099-12-31"

[[principal]]
id = "jpn-hi"
nation = "JPN"
clearance = "JPN:HI"
expires = "2099-12-31"

[[principal]]
id = "jpn-expired"
nation = "JPN"
clearance = "JPN:GOKUHI"
expires = "2025-01-01"

[[principal]]
id = "tools-usa"
kind = "device"
nation = "USA"
clearance = "USA:TOP SECRET"
expires = "2099-12-31"
"""

STRANGER = """
[[principal]]
id = "stranger"
nation = "USA"
"""


def now_ms() -> datetime:
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def make_event(
    uid: str, label: str | None = None, *, offset_s: float = 0.0, lat: float = 35.0
) -> Event:
    t = now_ms() + timedelta(seconds=offset_s)
    return Event(
        uid=uid,
        type="a-f-G-U-C",
        time=t,
        start=t,
        stale=t + timedelta(minutes=10),
        point=Point(lat, 139.0, 10.0, 5.0, 5.0),
        detail=f'<contact callsign="{uid}"/>',
        label=None if label is None else parse_banner(label, default_table()),
    )


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def events(self, count: int, timeout: float = 5.0) -> list[Event]:
        """Read until ``count`` non-control events arrived or the timeout passed."""
        decoder = StreamDecoder()
        out: list[Event] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while len(out) < count:
                    data = await self.reader.read(65536)
                    if not data:
                        break
                    for m in decoder.feed(data):
                        e = (
                            parse_event(m.data)
                            if m.format is WireFormat.XML
                            else decode_message(m.data).event
                        )
                        if e is not None and not e.type.startswith("t-x-"):
                            out.append(e)
        return out

    async def closed_by_peer(self, timeout: float = 5.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except (ConnectionError, OSError):
            return True
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
            await self.writer.wait_closed()


async def open_tcp(port: int) -> Conn:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return Conn(reader, writer)


def client_context(pki: Path, principal: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(pki / "clients" / f"{principal}.pem", pki / "clients" / f"{principal}.key")
    return ctx


async def open_tls(port: int, pki: Path, principal: str) -> Conn:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context(pki, principal), server_hostname="localhost"
    )
    return Conn(reader, writer)
