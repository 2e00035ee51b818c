"""A flood through the four real processes (issue 18, "The federation must keep up").

README's federation, set up by ``bench/federation.py`` (registries, ``kizuna pki init``,
``kizuna gateway keygen``, the key and CA exchange, node.toml, gateway.toml): a USA SECRET
publisher floods its node with releasable and NOFORN track events as fast as TLS takes them,
and the USA gateway is killed (SIGKILL) and started again in the middle. Every releasable
item the USA node committed must reach the JPN GOKUHI subscriber exactly once, and no NOFORN
one at all: the gateway reads the node by a durable cursor, never as a client it could shed,
and resumes after a crash with nothing judged, sent or delivered twice.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 4000  # releasable items; one in eight more is NOFORN


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "federation.py"
    spec = importlib.util.spec_from_file_location("bench_federation", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _committed(db: Path) -> dict[str, int]:
    """uid -> how many times the USA node committed it (read beside the running node)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT uid, COUNT(*) FROM events GROUP BY uid").fetchall()
    finally:
        con.close()
    return {str(u): int(c) for u, c in rows}


async def _flood(fed: ModuleType, tmp: Path) -> None:
    with fed.federation(tmp) as (files, servers):
        bench = fed.Bench(files, servers)
        await bench.connect()
        warm = await bench.phase(20, 0.5, drain_s=20.0, name="warmup")
        assert warm["lost"] == 0, warm
        releasable, noforn = [], []
        chunk: list[bytes] = []
        for i in range(N + N // 8):
            now = datetime.now(UTC)
            if i % 9 == 8:
                noforn.append(f"nf-{i}")
                chunk.append(
                    fed.event_xml(f"nf-{i}", now, "NF").replace(
                        fed.LABEL.encode(), b"SECRET//NOFORN"
                    )
                )
            else:
                uid = f"fb-9f-{i}"
                releasable.append(uid)
                chunk.append(fed.event_xml(uid, now, f"TRACK {i % 100}"))
            if len(chunk) == 200:
                bench.pub.write(b"".join(chunk))
                await bench.pub.drain()
                chunk = []
            if i == N // 2:  # mid-flood: the bridge dies without a word, then comes back
                servers["gw-USA"].kill()
                servers["gw-USA"].start()
        bench.pub.write(b"".join(chunk))
        await bench.pub.drain()
        usa_db = Path(files["USA"]["dir"]) / "node-data" / "events.db"
        deadline = time.monotonic() + 25
        committed: dict[str, int] = {}
        while time.monotonic() < deadline:
            committed = _committed(usa_db)
            want = [u for u in releasable if u in committed]
            if len(want) == len(releasable) and all(u in bench.sub.got for u in want):
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # room for a late duplicate to show
        assert all(committed.get(u) == 1 for u in releasable)  # the node took the lot, once
        missing = [u for u in releasable if u not in bench.sub.got]
        assert not missing, f"{len(missing)} committed releasable items never crossed"
        assert bench.sub.duplicates == 0
        jpn_db = Path(files["JPN"]["dir"]) / "node-data" / "events.db"
        jpn = _committed(jpn_db)
        assert all(jpn.get(u) == 1 for u in releasable)  # the partner node stored each once
        assert not any(u in jpn for u in noforn)  # and nothing that may not leave
        await bench.close()


def test_every_committed_releasable_item_crosses_once_through_a_flood_and_a_crash(
    tmp_path: Path,
) -> None:
    asyncio.run(_flood(_bench(), tmp_path))
