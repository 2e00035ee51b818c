"""Durable ingest: events/s and commit latency on SQLite (WAL, synchronous=FULL).

Group commit against one-commit-per-event, same store, same schema, same run: 64 producers
(as many connections) each append one event at a time in a closed loop and wait for its
commit, as the node does before relaying. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kizuna.cot import Event, Point
from kizuna.labels import default_table, parse_banner
from kizuna.store import Record, SqliteStore

PRODUCERS = 64
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
LABEL = parse_banner("SECRET//REL TO USA, JPN", default_table())
T0 = datetime.now(UTC).replace(microsecond=0)


def event(n: int) -> Event:
    t = T0 + timedelta(milliseconds=n)
    return Event(
        uid=f"track-{n % 5000}",
        type="a-f-G-U-C",
        time=t,
        start=t,
        stale=t + timedelta(minutes=5),
        point=Point(35.0 + n % 100 / 1000, 139.0, 10.0, 5.0, 5.0),
        detail='<contact callsign="ALPHA"/><__group name="Cyan" role="Team Member"/>',
        label=LABEL,
    )


async def run(store: SqliteStore) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(10**9))
    deadline = time.perf_counter() + SECONDS

    async def producer(origin: str) -> None:
        while time.perf_counter() < deadline:
            rec = Record(origin, event(next(counter)))
            t = time.perf_counter()
            await store.append([rec])
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(producer(f"p{i}") for i in range(PRODUCERS)))
    elapsed = time.perf_counter() - start
    count = await store.count()
    commits = store.commits
    await store.close()
    latencies.sort()
    return {
        "events_per_s": count / elapsed,
        "p50_commit_ms": latencies[len(latencies) // 2] * 1000,
        "p99_commit_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "events": count,
        "commits": commits,
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        group = await run(SqliteStore(Path(tmp) / "group.db"))
        single = await run(SqliteStore(Path(tmp) / "single.db", max_batch=1))
    print(
        json.dumps(
            {
                "bench": "ingest",
                "producers": PRODUCERS,
                "seconds": SECONDS,
                "group_commit": {k: round(v, 2) for k, v in group.items()},
                "commit_per_event": {k: round(v, 2) for k, v in single.items()},
                "ratio_events_per_s": round(group["events_per_s"] / single["events_per_s"], 2),
                "target_met": group["events_per_s"] >= 3000 and group["p99_commit_ms"] < 50,
                "sqlite": "WAL, synchronous=FULL",
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
