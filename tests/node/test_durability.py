"""SIGKILL during a sustained publish: whatever anyone received was committed, and
re-sending everything afterwards creates no duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from kizuna.cot import StreamDecoder, event_to_xml, parse_event

from ._support import REGISTRY, make_event, open_tcp

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = """
[node]
nation = "USA"
data_dir = "data"
registry = "registry.toml"
default_label = "UNCLASSIFIED"

[tcp]
enabled = true
port = 0
identity = "tools-usa"
allow_cleared_tcp = true
"""


async def start_node(config: Path) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kizuna.cli", "node", "serve", "--config", str(config),
        "--log-level", "ERROR",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        line = await proc.stdout.readline()
    return proc, int(json.loads(line)["tcp_port"])


async def collect(port: int, sink: set[str]) -> None:
    conn = await open_tcp(port)
    decoder = StreamDecoder()
    try:
        while data := await conn.reader.read(65536):
            for m in decoder.feed(data):
                e = parse_event(m.data)
                if not e.type.startswith("t-x-"):
                    sink.add(e.uid)
    except (ConnectionError, OSError):
        pass
    finally:
        await conn.close()


def stored(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("SELECT uid FROM events")]
    finally:
        conn.close()


async def test_sigkill_loses_nothing_relayed_and_resend_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    config = tmp_path / "node.toml"
    config.write_text(CONFIG)
    proc, port = await start_node(config)
    received: set[str] = set()
    subscriber = asyncio.create_task(collect(port, received))
    await asyncio.sleep(0.3)
    pub = await open_tcp(port)
    sent = []
    with contextlib.suppress(ConnectionError, OSError):
        for batch in range(10_000):
            events = [make_event(f"d-{batch}-{i}") for i in range(20)]
            sent.extend(events)
            await pub.send(b"".join(event_to_xml(e) for e in events))
            await asyncio.sleep(0.005)
            if batch == 100:
                os.kill(proc.pid, signal.SIGKILL)  # mid-stream, no warning
    await proc.wait()
    await asyncio.wait_for(subscriber, 10)
    await pub.close()
    db = tmp_path / "data" / "events.db"
    after_kill = stored(db)
    assert received, "the subscriber saw nothing before the kill"
    assert received <= set(after_kill), "an event was relayed but not committed"
    assert len(after_kill) == len(set(after_kill))

    proc2, port2 = await start_node(config)
    # the picture survives the kill: a fresh subscriber is greeted with every stored item
    greeted: set[str] = set()
    greeting = asyncio.create_task(collect(port2, greeted))
    for _ in range(100):
        if greeted >= set(after_kill):
            break
        await asyncio.sleep(0.05)
    greeting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await greeting
    assert greeted >= set(after_kill), "a restarted node lost its picture"
    pub2 = await open_tcp(port2)
    await pub2.send(b"".join(event_to_xml(e) for e in sent))  # every event again
    await asyncio.sleep(0.5)
    for _ in range(100):
        if len(stored(db)) == len(sent):
            break
        await asyncio.sleep(0.1)
    await pub2.close()
    proc2.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc2.wait(), 30) == 0  # graceful shutdown
    final = stored(db)
    assert len(final) == len(set(final)) == len({e.uid for e in sent})
    assert set(after_kill) <= set(final)
    _, err = await proc2.communicate()
    assert b'"stopped"' in err
