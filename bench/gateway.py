"""Gateway throughput: items/s through the full guard with audit, audit appends/s beside
pymerkle's in the same run, and the added latency per item. Prints one JSON line."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

import numpy as np
from pymerkle import InmemoryTree

from kizuna.cot import Event, Point, event_to_xml
from kizuna.gateway import (
    AuditLog,
    CotItemCodec,
    GatewayDb,
    Item,
    JsonItemCodec,
    Work,
    load_rules,
    outbound_guard,
)
from kizuna.labels import Decider, default_table, parse_banner
from kizuna.roadmap import Tier, load_catalogue

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LABELS = [
    "SECRET//REL TO USA, JPN",  # released
    "SECRET//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, JPN",
    "UNCLASSIFIED",
    "SECRET//NOFORN",  # denied
    "TOP SECRET//REL TO USA, JPN",  # denied by the tier's clearance
]
CATEGORIES = ["track", "track", "track", "sensor", "unit", "picture"]  # sensor: sanitised
# the guard takes an item's category from its CoT type: a type of each category
TYPE_OF = {"track": "a-h-S", "sensor": "b-d-r", "unit": "a-f-G-U-C", "picture": "b-m-p"}


def json_items(n: int, rng: np.random.Generator) -> list[bytes]:
    codec = JsonItemCodec()
    out = []
    for i in range(n):
        it = Item(
            uid=f"trk-{i}", type=TYPE_OF[CATEGORIES[i % len(CATEGORIES)]], origin="USA", time=T,
            lat=float(rng.uniform(20, 40)), lon=float(rng.uniform(120, 145)),
            label=LABELS[i % len(LABELS)], category=CATEGORIES[i % len(CATEGORIES)],
            callsign=f"HAWK {i % 50}", detail=(("sensor", "APY-10"), ("source", "SIGINT")),
        )  # fmt: skip
        out.append(codec.encode(it))
    return out


def cot_items(n: int, rng: np.random.Generator) -> list[bytes]:
    table = default_table()
    out = []
    for i in range(n):
        e = Event(
            uid=f"trk-{i}", type="a-h-S", time=T, start=T, stale=T,
            point=Point(float(rng.uniform(20, 40)), float(rng.uniform(120, 145)), 0.0, 10.0, 10.0),
            detail=f'<contact callsign="HAWK {i % 50}"/><sensor model="APY-10"/>',
            label=parse_banner(LABELS[i % len(LABELS)], table),
        )  # fmt: skip
        out.append(event_to_xml(e, table))
    return out


def run_guard(raws: list[bytes], codec: object, audit: AuditLog) -> tuple[float, np.ndarray]:
    """Guard and audit each item; the audit is flushed (made durable) every 1,000 items."""
    guard = outbound_guard(
        "USA",
        codec,
        Decider(),
        load_catalogue().tiers,
        load_rules(),  # type: ignore[arg-type]
    )
    lat = np.empty(len(raws), dtype=np.int64)
    clock = time.perf_counter_ns
    start = clock()
    for i, raw in enumerate(raws):
        t0 = clock()
        v = guard.run(Work(raw, "JPN", Tier.T2, T))
        item = v.work.item
        audit.append(
            "2026-06-01T12:00:00+00:00", "outbound", "JPN", item.uid if item else "",
            v.outcome.value, reasons=tuple(r.value for r in v.reasons),
            label=item.label if item else "", category=item.category if item else "",
            digest=sha256(v.work.out or raw).hexdigest(),
        )  # fmt: skip
        if i % 1000 == 999:
            audit.flush()
        lat[i] = clock() - t0
    audit.flush()
    return len(raws) / ((clock() - start) / 1e9), lat


def audit_rates(n: int) -> tuple[float, float, bytes]:
    entries = [f"entry-{i}" for i in range(n)]
    log = AuditLog("USA")
    t0 = time.perf_counter()
    for e in entries:
        log.append("2026-06-01T12:00:00+00:00", "outbound", "JPN", e, "RELEASE")
    ours = n / (time.perf_counter() - t0)
    tree = InmemoryTree(algorithm="sha256")
    data = [r.data for r in log.rows]  # the same bytes as leaves
    t0 = time.perf_counter()
    for d in data:
        tree.append_entry(d)
    peer = n / (time.perf_counter() - t0)
    assert tree.get_root() == log.root(), "roots must agree"
    return ours, peer, log.root()


def main() -> None:
    rng = np.random.default_rng(4)
    n = 30_000
    raws = json_items(n, rng)
    run_guard(raws[:5000], JsonItemCodec(), AuditLog("USA"))  # warm up caches and imports
    mem_rate, mem_lat = run_guard(raws, JsonItemCodec(), AuditLog("USA"))
    with tempfile.TemporaryDirectory() as d:
        db = GatewayDb(Path(d) / "gw.db")
        sql_rate, _ = run_guard(raws, JsonItemCodec(), AuditLog("USA", db))
        db.close()
    cot = cot_items(10_000, rng)
    cot_rate, cot_lat = run_guard(cot, CotItemCodec("USA"), AuditLog("USA"))
    ours, peer, _ = audit_rates(100_000)
    print(
        json.dumps(
            {
                "bench": "gateway",
                "guard_audit_items_per_s": round(mem_rate),
                "guard_audit_sqlite_items_per_s": round(sql_rate),
                "guard_audit_cot_items_per_s": round(cot_rate),
                "added_latency_p50_us": round(float(np.percentile(mem_lat, 50)) / 1e3, 1),
                "added_latency_p99_us": round(float(np.percentile(mem_lat, 99)) / 1e3, 1),
                "added_latency_cot_p99_us": round(float(np.percentile(cot_lat, 99)) / 1e3, 1),
                "audit_appends_per_s": round(ours),
                "pymerkle_appends_per_s": round(peer),
                "audit_vs_pymerkle": round(ours / peer, 2),
                "target_items_per_s": 20_000,
                "target_appends_per_s": 50_000,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
