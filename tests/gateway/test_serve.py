"""Two real gateway processes on loopback: items queue durably while the partner is away and
flow in order, once, when it returns; holds are worked from the command line; both sides'
checkpoints verify the log, and tampering on disk is found."""

from __future__ import annotations

import json
import os
import pwd
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kizuna.gateway import AuditEntry, generate_keys
from tests.gateway._procs import Gateway as Node
from tests.gateway._procs import free_port as _free_port
from tests.gateway._procs import kizuna as _kizuna
from tests.gateway._procs import write_config as _write_config
from tests.gateway.conftest import TYPE_OF

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _received(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        try:
            return [u for (u,) in c.execute("SELECT uid FROM received ORDER BY rowid")]
        except sqlite3.OperationalError:
            return []


def _wait_for(db: Path, n: int, timeout: float = 30.0) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = _received(db)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    return _received(db)


def _items(path: Path, origin: str, uids: list[str], category: str = "track") -> Path:
    label = "SECRET//REL TO USA, JPN" if origin == "USA" else "JPN GOKUHI//REL TO JPN, USA"
    with path.open("w") as f:
        for uid in uids:
            doc = {"uid": uid, "type": TYPE_OF[category], "origin": origin,
                   "time": "2026-06-01T00:00Z", "lat": 26.2, "lon": 127.7, "label": label,
                   "category": category}  # fmt: skip
            f.write(json.dumps(doc) + "\n")
    return path


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node, Path]]:
    generate_keys("USA", tmp_path / "keys")
    generate_keys("JPN", tmp_path / "keys")
    pu, pj = _free_port(), _free_port()
    usa = Node(_write_config(tmp_path, "USA", pu, "JPN", pj, "T2"))
    jpn = Node(_write_config(tmp_path, "JPN", pj, "USA", pu, "T3"))
    yield usa, jpn, tmp_path
    usa.stop()
    jpn.stop()


def test_two_gateways_on_loopback(nodes: tuple[Node, Node, Path]) -> None:
    usa, jpn, d = nodes
    assert usa.start()["ready"]
    first = [f"u{i:02d}" for i in range(10)]
    out = _kizuna("gateway", "offer", "-c", str(usa.config), "--partner", "JPN",
                  str(_items(d / "a.jsonl", "USA", first)))  # fmt: skip
    assert [json.loads(x)["outcome"] for x in out.stdout.splitlines()] == ["RELEASE"] * 10
    time.sleep(0.5)
    assert _received(d / "jpn" / "gateway.db") == []  # JPN is not there: queued at USA

    jpn.start()
    assert _wait_for(d / "jpn" / "gateway.db", 10) == first
    jpn.stop(signal.SIGKILL)  # gone without warning
    second = [f"u{i:02d}" for i in range(10, 25)]
    _kizuna("gateway", "offer", "-c", str(usa.config), "--partner", "JPN",
            str(_items(d / "b.jsonl", "USA", second)))  # fmt: skip
    jpn.start()
    assert _wait_for(d / "jpn" / "gateway.db", 25) == first + second  # in order, once

    plans = _items(d / "p.jsonl", "JPN", ["plan-1", "plan-2"], category="plan")
    out = _kizuna("gateway", "offer", "-c", str(jpn.config), "--partner", "USA", str(plans))
    assert [json.loads(x)["outcome"] for x in out.stdout.splitlines()] == ["HOLD", "HOLD"]
    held = json.loads(_kizuna("gateway", "holds", "-c", str(jpn.config)).stdout)
    assert [h["uid"] for h in held] == ["plan-1", "plan-2"]
    ok = json.loads(_kizuna("gateway", "approve", "-c", str(jpn.config), str(held[0]["id"]),
                            "--note", "jpn-duty-officer").stdout)  # fmt: skip
    assert ok["outcome"] == "RELEASE"
    no = json.loads(_kizuna("gateway", "reject", "-c", str(jpn.config), str(held[1]["id"]),
                            "--note", "jpn-duty-officer").stdout)  # fmt: skip
    assert no["reasons"] == ["DENY_REJECTED_BY_ORIGINATOR"]
    assert _wait_for(d / "usa" / "gateway.db", 1) == ["plan-1"]

    lowered = _kizuna(
        "gateway", "tier", "-c", str(usa.config), "JPN", "T1", "--why", "CYB-2 lapsed"
    )
    me = pwd.getpwuid(os.getuid()).pw_name
    assert json.loads(lowered.stdout) == {
        "changed": True, "tier": "T1", "pinned": True, "operator": me,
    }  # fmt: skip
    late = _items(d / "c.jsonl", "USA", ["u-late"])
    out = _kizuna("gateway", "offer", "-c", str(usa.config), "--partner", "JPN", str(late))
    assert json.loads(out.stdout)["reasons"] == ["DENY_INSUFFICIENT_CLEARANCE"]

    cp = json.loads(_kizuna("audit", "checkpoint", "-c", str(usa.config)).stdout)
    assert cp == {"countersigned": 1}
    ledger = json.loads(_kizuna("ledger", "show", "-c", str(usa.config), "--json").stdout)
    (bal,) = ledger["partners"]
    assert bal["out"]["released"] == 25 and bal["in"]["released"] == 1
    assert bal["ratio_out_to_in"] == 25.0
    usa.stop()
    jpn.stop()

    proof = _kizuna("audit", "prove", "-c", str(usa.config), "3").stdout
    (d / "proof.json").write_text(proof)
    checked = _kizuna("audit", "check", "-c", str(jpn.config), str(d / "proof.json"))
    assert json.loads(checked.stdout) == {"checkpoint_held": True, "included": True}
    doc = json.loads(proof)
    doc["entry"] = doc["entry"].replace("RELEASE", "DENY")
    (d / "forged.json").write_text(json.dumps(doc))
    forged = _kizuna("audit", "check", "-c", str(jpn.config), str(d / "forged.json"), check=False)
    assert forged.returncode == 1 and json.loads(forged.stdout)["included"] is False

    verify = [
        "audit",
        "verify",
        "-c",
        str(usa.config),
        "--partner-db",
        str(d / "jpn" / "gateway.db"),
    ]
    good = _kizuna(*verify)
    assert json.loads(good.stdout)["ok"] is True
    with sqlite3.connect(d / "usa" / "gateway.db") as c:  # an insider edits one decision
        (data,) = c.execute("SELECT data FROM audit WHERE seq = 5").fetchone()
        e = AuditEntry.decode(data)
        forged = AuditEntry(e.seq, e.at, e.event, e.partner, e.item, "DENY", ("X",))
        c.execute("UPDATE audit SET data = ? WHERE seq = 5", (forged.encode(),))
    bad = _kizuna(*verify, check=False)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["first_bad"] == 5
