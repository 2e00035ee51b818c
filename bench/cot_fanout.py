"""CoT fan-out: the Kizuna node against taky (a Python TAK server from PyPI), same load.

Both servers run on loopback as their own processes (taky in its own virtual environment,
made here on first use); the load generator speaks plain CoT XML over TCP to each in turn.
Points: closed loop at 1x1, 10x10 and 50x50 publishers x subscribers (each publisher keeps
WINDOW events in flight, released when subscriber 0 receives them); a fixed rate (20x20 at
10 events/s each, every publisher on its own phase); and the max rate (10x10, publishers
write as fast as the server reads). Publishers also read and discard what they are sent,
as TAK clients do. Latency runs from just before a publisher's write to the moment the
subscriber's event loop is handed the bytes, for every subscriber.

Prints one JSON line: per point and server, delivered msgs/s, p50/p99 latency, loss, peak
RSS; and the kizuna/taky ratios. The node commits every event (SQLite, synchronous=FULL)
before relaying it; taky keeps nothing durable, so the fixed-rate point also reports the
disk's fsync latency just before and after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WINDOW = 4
TAKY_VERSION = "0.10"
REGISTRY = """
[[principal]]
id = "bench"
kind = "device"
nation = "USA"
clearance = "USA:TOP SECRET"
expires = "2099-12-31"
"""
NODE = """
[node]
nation = "USA"
data_dir = "data"
registry = "registry.toml"
default_label = "UNCLASSIFIED"
[tcp]
enabled = true
port = {port}
identity = "bench"
allow_cleared_tcp = true
[limits]
idle_timeout_s = 3600
max_connections = 4096
"""
TAKY = """
[taky]
hostname = localhost
node_id = bench
bind_ip = 127.0.0.1
root_dir = {root}
[cot_server]
port = {port}
[ssl]
enabled = false
"""
KEY = re.compile(rb"<remarks>k(\d+)-(\d+)-(\d+)</remarks>")
_RUNS = iter(range(1, 10**6))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def taky_venv(cache: Path) -> Path:
    """taky pins old libraries; it gets a virtual environment of its own."""
    venv = cache / f"taky-{TAKY_VERSION}"
    exe = venv / "bin" / "taky"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"taky=={TAKY_VERSION}"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return exe


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            await w.wait_closed()
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int

    def cpu(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def start_kizuna(work: Path) -> Server:
    root = work / "kizuna"
    root.mkdir()
    port = free_port()
    (root / "registry.toml").write_text(REGISTRY)
    (root / "node.toml").write_text(NODE.format(port=port))
    cmd = [sys.executable, "-m", "kizuna.cli", "node", "serve", "--config", "node.toml"]
    proc = subprocess.Popen(
        [*cmd, "--log-level", "ERROR"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await wait_port(port)
    return Server("kizuna", proc, port)


async def start_taky(work: Path, exe: Path) -> Server:
    root = work / "taky"
    root.mkdir()
    port = free_port()
    (root / "taky.conf").write_text(TAKY.format(root=root, port=port))
    proc = subprocess.Popen(
        [str(exe), "-c", "taky.conf", "-l", "error"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await wait_port(port)
    return Server("taky", proc, port)


def fsync_probe(directory: Path, n: int = 200) -> dict[str, float]:
    """The disk as it is right now: a node's latency cannot be below its commit's fsync, and
    on a shared machine that varies from run to run, so each fixed-rate point reports it."""
    took = []
    path = directory / "fsync-probe"
    with path.open("wb") as f:
        for _ in range(n):
            f.write(b"x" * 4096)
            f.flush()
            t = time.perf_counter()
            os.fsync(f.fileno())
            took.append(time.perf_counter() - t)
            time.sleep(0.002)
    path.unlink()
    took.sort()
    return {"p50_ms": round(took[n // 2] * 1000, 2), "p99_ms": round(took[int(n * 0.99)] * 1000, 2)}


def cot_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class Run:
    pubs: int
    subs: int
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    sent_at: list[list[float]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    per_second: list[int] = field(default_factory=list)
    t0: float = 0.0
    closed_subs: int = 0
    windows: list[asyncio.Semaphore] = field(default_factory=list)
    inbox: list[tuple[Sink, float, bytes]] = field(default_factory=list)
    rid: int = field(default_factory=lambda: next(_RUNS))

    def event(self, j: int, seq: int) -> bytes:
        t = self.start + timedelta(milliseconds=seq)  # distinct per event and publisher
        ts, stale = cot_time(t), cot_time(t + timedelta(minutes=10))
        return (
            f'<event version="2.0" uid="bench-p{j}" type="a-f-G-U-C" time="{ts}" '
            f'start="{ts}" stale="{stale}" how="m-g"><point lat="35.0" lon="139.0" '
            f'hae="10.0" ce="5.0" le="5.0"/><detail><contact callsign="P{j}"/>'
            f"<remarks>k{self.rid}-{j}-{seq}</remarks></detail></event>"
        ).encode()


class Sink(asyncio.Protocol):
    """A subscriber's socket. Bytes are stamped the moment the loop hands them over and
    parsed later in the same turn, after every socket that turn has been stamped: otherwise
    the twentieth subscriber's clock would include parsing the other nineteen's messages,
    which is the load generator's time, not the server's."""

    def __init__(self, run: Run, first: bool, lost: asyncio.Future[None]) -> None:
        self.run, self.first, self.lost, self.tail = run, first, lost, b""

    def data_received(self, data: bytes) -> None:
        run = self.run
        if not run.inbox:
            asyncio.get_running_loop().call_soon(parse_inbox, run)
        run.inbox.append((self, time.perf_counter(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


def parse_inbox(run: Run) -> None:
    inbox, run.inbox = run.inbox, []
    for sink, now, chunk in inbox:
        data = sink.tail + chunk
        cut = data.rfind(b"</event>") + 8
        sink.tail = data[cut:] if cut >= 8 else data
        second = int(now - run.t0) if run.t0 else -1
        for rid, j, seq in KEY.findall(data[:cut] if cut >= 8 else b""):
            if int(rid) != run.rid:
                continue  # the picture of an earlier point, sent to late joiners
            pj, sq = int(j), int(seq)
            run.received += 1
            if 0 <= second < len(run.per_second):
                run.per_second[second] += 1
            run.latencies.append(now - run.sent_at[pj][sq])
            if sink.first:
                run.windows[pj].release()


async def subscriber(run: Run, port: int, first: bool, ready: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    lost: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: Sink(run, first, lost), "127.0.0.1", port)
    ready.set()
    try:
        await lost
        run.closed_subs += 1  # the server closed it: shed as a slow reader
    finally:
        transport.close()


class Discard(asyncio.StreamReader):
    """What a publisher is sent, dropped as it arrives: no task wakes up to read it, so the
    publishers' copies do not queue in the generator ahead of the subscribers' reads."""

    def feed_data(self, data: bytes) -> None:
        pass


async def open_publisher(port: int) -> asyncio.StreamWriter:
    loop = asyncio.get_running_loop()
    reader = Discard()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port)
    return asyncio.StreamWriter(transport, protocol, reader, loop)


async def publisher(run: Run, port: int, j: int, mode: str, rate: float, until: float) -> None:
    writer = await open_publisher(port)
    sent = run.sent_at[j]
    seq = 0
    t_start = until - SECONDS
    if mode == "rate":  # independent clients: phases spread over one period
        t_start += j / (run.pubs * rate)
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
    try:
        while time.perf_counter() < until:
            if mode == "closed":
                try:
                    async with asyncio.timeout(2):
                        await run.windows[j].acquire()
                except TimeoutError:
                    pass  # a lost event must not stall the loop
            data = run.event(j, seq)
            sent.append(time.perf_counter())
            writer.write(data)
            seq += 1
            if mode == "rate":
                # each publisher keeps its own phase: the next send is due at t_start + seq/rate
                await asyncio.sleep(max(0.0, t_start + seq / rate - time.perf_counter()))
            elif mode == "max":
                # drain() returns without yielding until the socket pushes back, so without
                # this the publishers would hold the generator's loop and its subscribers
                # would read nothing for seconds: the generator's stall, not the server's
                await asyncio.sleep(0)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        await asyncio.sleep(1.5)  # let the last events arrive before leaving
        writer.close()


async def point(
    server: Server, pubs: int, subs: int, mode: str, rate: float = 0
) -> dict[str, float]:
    run = Run(pubs, subs)
    run.sent_at = [[] for _ in range(pubs)]
    run.windows = [asyncio.Semaphore(WINDOW) for _ in range(pubs)]
    readies = [asyncio.Event() for _ in range(subs)]
    sub_tasks = [
        asyncio.create_task(subscriber(run, server.port, i == 0, readies[i])) for i in range(subs)
    ]
    for r in readies:
        await r.wait()
    await asyncio.sleep(0.5)
    rss = [server.rss()]
    cpu0, gen0 = server.cpu(), time.process_time()
    until = time.perf_counter() + SECONDS
    t0 = run.t0 = time.perf_counter()
    run.per_second = [0] * int(SECONDS + 8)
    pub_tasks = [
        asyncio.create_task(publisher(run, server.port, j, mode, rate, until)) for j in range(pubs)
    ]
    while not all(t.done() for t in pub_tasks):
        if time.perf_counter() > until + 5:  # a swamped server must not hold the run
            for t in pub_tasks:
                t.cancel()
            await asyncio.gather(*pub_tasks, return_exceptions=True)
            break
        rss.append(server.rss())
        await asyncio.sleep(0.2)
    received_in_time = run.received
    elapsed = time.perf_counter() - t0
    cpu, gen = server.cpu() - cpu0, time.process_time() - gen0
    shed = run.closed_subs
    for t in sub_tasks:
        t.cancel()
    await asyncio.gather(*sub_tasks, return_exceptions=True)
    sent = sum(len(s) for s in run.sent_at)
    lat = sorted(run.latencies) or [float("nan")]
    return {
        "sent": sent,
        "delivered_per_s": round(received_in_time / elapsed, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
        "loss": round(1 - run.received / max(1, sent * subs), 4),
        "rss_mb": round(max(rss) / 2**20, 1),
        "server_cpu": round(cpu / elapsed, 2),  # cores busy, on average
        "loadgen_cpu": round(gen / elapsed, 2),
        "subscribers_shed": shed,
        "delivered_each_second": run.per_second,
    }


POINTS = [
    ("closed_1x1", 1, 1, "closed", 0),
    ("closed_10x10", 10, 10, "closed", 0),
    ("closed_50x50", 50, 50, "closed", 0),
    ("rate_20x20_10hz", 20, 20, "rate", 10),
    ("max_10x10", 10, 10, "max", 0),
]


async def main() -> None:
    cache = Path(tempfile.gettempdir()) / "kizuna-bench"
    exe = taky_venv(cache)
    out: dict[str, object] = {"bench": "cot_fanout", "seconds_per_point": SECONDS}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kizuna, taky = await start_kizuna(work), await start_taky(work, exe)
        try:
            only = os.environ.get("BENCH_POINTS")
            for name, pubs, subs, mode, rate in POINTS:
                if only and name not in only.split(","):
                    continue
                disk = fsync_probe(work) if mode == "rate" else None
                k = await point(kizuna, pubs, subs, mode, rate)
                t = await point(taky, pubs, subs, mode, rate)
                out[name] = {
                    "kizuna": k,
                    "taky": t,
                    "ratio_delivered": round(
                        k["delivered_per_s"] / max(t["delivered_per_s"], 1e-9), 2
                    ),
                }
                if disk is not None:  # the disk before and after, as the point had it
                    out[name]["disk_fsync"] = {"before": disk, "after": fsync_probe(work)}
        finally:
            kizuna.stop()
            taky.stop()
    out["python"] = platform.python_version()
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
