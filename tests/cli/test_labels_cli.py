from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from kizuna.cli._batch import run_batch
from kizuna.labels import Decider

JPN = {"nation": "JPN", "clearance": "JPN:GOKUHI", "expires": "2027-03-31", "status": "active"}


def kizuna(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_version_and_help() -> None:
    assert kizuna("--version").stdout.decode().startswith("kizuna ")
    assert b"labels" in kizuna("--help").stdout


def test_single_decision() -> None:
    out = kizuna(
        "labels",
        "decide",
        "--label",
        "SECRET//REL TO USA, JPN",
        "--viewer",
        json.dumps(JPN),
        "--at",
        "2026-06-01T00:00:00+09:00",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"decision": "PERMIT", "reasons": []}
    out = kizuna(
        "labels",
        "decide",
        "--label",
        "SECRET//NOFORN",
        "--viewer",
        "{not json",
        "--at",
        "2026-06-01",
    )
    assert json.loads(out.stdout) == {"decision": "DENY", "reasons": ["DENY_MALFORMED_REQUEST"]}


def test_bad_at_is_a_usage_error() -> None:
    out = kizuna("labels", "decide", "--label", "SECRET", "--viewer", "{}", "--at", "tomorrow")
    assert out.returncode == 2
    assert b"ISO 8601" in out.stderr


def test_batch_answers_every_line_in_order_and_never_crashes(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": 1, "label": "SECRET//REL TO USA, JPN", "viewer": JPN}),
        json.dumps({"id": "two", "label": "SECRET//NOFORN", "viewer": JPN}),
        "this is not json",
        json.dumps({"id": 4, "label": None, "viewer": JPN}),
        json.dumps({"id": 5, "label": 17, "viewer": JPN}),
        json.dumps({"id": 6, "label": "UNCLASSIFIED", "viewer": {"nation": "JPN"}}),
        json.dumps({"id": 7, "label": "SECRET//REL TO USA, JPN", "viewer": {"nation": "JPN"}}),
        json.dumps([1, 2, 3]),
        "",
        json.dumps(
            {
                "id": {"deep": [1]},
                "label": "SECRET//REL TO USA, JPN",
                "viewer": {**JPN, "categories": {"SIGINT": ["A"]}},
            }
        ),
        '{"id": 11, "label": "SECRET", "viewer": \xff}',
        json.dumps(
            {
                "id": 12,
                "label": "JPN HI//REL TO JPN, USA",
                "viewer": {**JPN, "expires": "2026-05-31"},
            }
        ),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    out = kizuna("labels", "decide", "--batch", str(path), "--at", "2026-06-01T00:00:00Z")
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert [g["id"] for g in got] == [
        1,
        "two",
        None,
        4,
        5,
        6,
        7,
        None,
        None,
        {"deep": [1]},
        None,
        12,
    ]
    assert [g["decision"] for g in got] == [
        "PERMIT",
        "DENY",
        "DENY",
        "DENY",
        "DENY",
        "PERMIT",
        "DENY",
        "DENY",
        "DENY",
        "PERMIT",
        "DENY",
        "DENY",
    ]
    assert got[1]["reasons"] == ["DENY_NOT_RELEASABLE"]
    assert got[2]["reasons"] == ["DENY_MALFORMED_REQUEST"]
    assert got[3]["reasons"] == ["DENY_MISSING_LABEL"]
    assert got[4]["reasons"] == ["DENY_MALFORMED_LABEL"]
    assert got[6]["reasons"] == ["DENY_MALFORMED_REQUEST"]
    assert got[11]["reasons"] == ["DENY_CLEARANCE_EXPIRED"]


def test_batch_reads_stdin() -> None:
    line = json.dumps({"id": 1, "label": "UNCLASSIFIED", "viewer": JPN}).encode()
    out = kizuna("labels", "decide", "--batch", "-", "--at", "2026-06-01", stdin=line)
    assert json.loads(out.stdout)["decision"] == "PERMIT"


class _Lines(io.RawIOBase):
    """An endless-looking input produced on demand, so nothing is held in memory up front."""

    def __init__(self, count: int) -> None:
        self._it: Iterator[bytes] = (
            json.dumps({"id": i, "label": "SECRET//REL TO USA, JPN", "viewer": JPN}).encode()
            + b"\n"
            for i in range(count)
        )
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while len(self._buf) < len(b):
            nxt = next(self._it, None)
            if nxt is None:
                break
            self._buf += nxt
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _Counter(io.RawIOBase):
    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.lines += bytes(b).count(b"\n")
        return len(b)


def test_batch_streams_in_constant_memory() -> None:
    sink = _Counter()
    tracemalloc.start()
    try:
        count = run_batch(
            io.BufferedReader(_Lines(100_000)),
            sink,
            Decider(),  # type: ignore[arg-type]
            datetime(2026, 6, 1, tzinfo=UTC),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == sink.lines == 100_000
    assert peak < 8 * 1024 * 1024  # the input alone would be ~14 MB if it were held


def test_label_commands_do_not_load_the_heavy_groups() -> None:
    # the streaming batch is measured end to end, start-up included
    probe = (
        "import sys; from kizuna.cli._app import build_app; build_app('labels'); "
        "print(sorted(m for m in ('scipy', 'matplotlib', 'plotly', 'simpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
