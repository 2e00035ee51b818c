"""The partner link: items/s and p99 latency (offer to acceptance at the partner) through two
in-process GatewayServer objects over real TLS 1.3 on loopback, pipelined (batches of 100,
a window of 8) against the old behaviour (one envelope per round trip: batch 1, window 1).
Prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import platform
import socket
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, Item, JsonItemCodec, generate_keys, load_gateway_file
from kizuna.identity import init_pki, registry_from_mapping

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
N = 3000
CLEARANCE = {"USA": "USA:TOP SECRET", "JPN": "JPN:KIMITSU"}
PARTNER = {"USA": "JPN", "JPN": "USA"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _files(d: Path) -> dict[str, Path]:
    ports = {n: _port() for n in PARTNER}
    for n in PARTNER:
        reg = (f'[[principal]]\nid = "gw-{n}"\nnation = "{n}"\nclearance = "{CLEARANCE[n]}"\n'
               f'expires = "2099-12-31"\nkind = "gateway"\n')  # fmt: skip
        init_pki(d / f"{n}-pki", registry_from_mapping(tomllib.loads(reg)),
                 datetime.now(UTC) - timedelta(minutes=1))  # fmt: skip
        generate_keys(n, d / "keys")
    out = {}
    for n, p in PARTNER.items():
        cfg = d / f"{n}.toml"
        cfg.write_text(
            f'nation = "{n}"\nlisten = "127.0.0.1:{ports[n]}"\ndata_dir = "{n}"\n'
            f'key = "keys/{n}.key"\nkeys_dir = "keys"\n'
            f'[tls]\ncert = "{n}-pki/clients/gw-{n}.pem"\nkey = "{n}-pki/clients/gw-{n}.key"\n'
            f'[partners.{p}]\naddress = "127.0.0.1:{ports[p]}"\nca = "{p}-pki/ca.pem"\n'
            f'tier = "T2"\n'
        )
        out[n] = cfg
    return out


def _items(run: str) -> list[bytes]:
    codec = JsonItemCodec()
    return [
        codec.encode(
            Item(
                uid=f"{run}-{i:05d}",
                type="a-h-S",
                origin="USA",
                time=T,
                lat=26.2,
                lon=127.7,
                label="SECRET//REL TO USA, JPN",
                category="track",
                callsign=f"HAWK {i}",
            )
        )
        for i in range(N)
    ]


async def _run(d: Path, batch: int, window: int) -> dict[str, float]:
    files = _files(d)
    clock = ManualClock(T)
    usa = GatewayServer(load_gateway_file(files["USA"]), clock, checkpoint_every=3600,
                        batch=batch, window=window)  # fmt: skip
    jpn = GatewayServer(load_gateway_file(files["JPN"]), clock, checkpoint_every=3600)
    got: dict[str, float] = {}

    def accepted(data: bytes) -> None:
        got[json.loads(data)["uid"]] = time.perf_counter()

    jpn._accepted = accepted  # type: ignore[method-assign]
    await jpn.start()
    await usa.start()
    raws = _items(f"b{batch}w{window}")
    offered: dict[str, float] = {}
    t0 = time.perf_counter()
    for k in range(0, N, 100):  # the producer offers as fast as the guard allows
        chunk = raws[k : k + 100]
        await usa.gw.offer(chunk, "JPN")
        now = time.perf_counter()
        for raw in chunk:
            offered[json.loads(raw)["uid"]] = now
        await asyncio.sleep(0)
    while len(got) < N:
        await asyncio.sleep(0.005)
    t1 = max(got.values())
    await usa.stop()
    await jpn.stop()
    lat = np.array([got[u] - offered[u] for u in offered])
    return {"items_per_s": N / (t1 - t0), "p99_ms": float(np.percentile(lat, 99) * 1000)}


def main() -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        new = asyncio.run(_run(Path(a), batch=100, window=8))
        old = asyncio.run(_run(Path(b), batch=1, window=1))
    print(json.dumps({
        "bench": "link", "items": N, "tls": "1.3", "python": platform.python_version(),
        "pipelined": {"batch": 100, "window": 8, **{k: round(v, 1) for k, v in new.items()}},
        "one_per_round_trip": {"batch": 1, "window": 1,
                               **{k: round(v, 1) for k, v in old.items()}},
        "ratio_items_per_s": round(new["items_per_s"] / old["items_per_s"], 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
