"""Issue 13 item 2: a tier downgrade survives a restart, and a start never raises a tier.

Before: `gateway tier JPN T1` was undone by SIGTERM and restart (the file's T2 won, audited as
`T1 -> T2: at start`), and the SECRET REL item the downgrade denied was released."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.clock import ManualClock
from kizuna.errors import KizunaError
from kizuna.gateway import AuditEntry, build_gateway, load_gateway_file
from kizuna.roadmap import Tier
from tests.gateway._procs import Gateway as GatewayProc
from tests.gateway._procs import free_port, kizuna
from tests.gateway.conftest import T0
from tests.security._gwfiles import gateway_file, offer_doc

ME = pwd.getpwuid(os.getuid()).pw_name


def _offer(cfg: Path, d: Path, uid: str) -> dict[str, object]:
    src = d / f"{uid}.jsonl"
    src.write_text(json.dumps(offer_doc(uid)) + "\n")
    out = kizuna("gateway", "offer", "-c", str(cfg), "--partner", "JPN", str(src))
    return dict(json.loads(out.stdout))


def _tier_entries(db: Path) -> list[AuditEntry]:
    with sqlite3.connect(db) as c:
        rows = [AuditEntry.decode(d) for (d,) in c.execute("SELECT data FROM audit ORDER BY seq")]
    return [e for e in rows if e.event == "tier"]


@pytest.mark.integration
def test_a_downgrade_survives_sigterm_and_restart(tmp_path: Path) -> None:
    cfg = gateway_file(tmp_path, "USA", {"JPN": (free_port(), "T2")})
    usa = GatewayProc(cfg)
    try:
        usa.start()
        assert _offer(cfg, tmp_path, "u-before")["outcome"] == "RELEASE"  # T2 lets it go
        low = kizuna("gateway", "tier", "-c", str(cfg), "JPN", "T1", "--why", "CYB-2 lapsed")
        assert json.loads(low.stdout)["tier"] == "T1"
        assert _offer(cfg, tmp_path, "u-lowered")["outcome"] == "DENY"
        usa.stop()  # SIGTERM

        # The file still says T2, and now even T3: neither raises the operator's T1.
        cfg.write_text(cfg.read_text().replace('tier = "T2"', 'tier = "T3"'))
        usa.start()
        after = _offer(cfg, tmp_path, "u-after-restart")
        assert after["outcome"] == "DENY"
        assert after["reasons"] == ["DENY_INSUFFICIENT_CLEARANCE"]

        cleared = kizuna("gateway", "tier", "-c", str(cfg), "JPN", "--clear", "--why", "fixed")
        assert json.loads(cleared.stdout) == {
            "changed": True, "tier": "T3", "pinned": False, "operator": ME,
        }  # fmt: skip
        assert _offer(cfg, tmp_path, "u-cleared")["outcome"] == "RELEASE"
    finally:
        usa.stop()
    entries = _tier_entries(tmp_path / "usa" / "gateway.db")
    by_hand = [e for e in entries if e.operator]
    assert [(e.outcome, e.operator) for e in by_hand] == [("T1", ME), ("T3", ME)]
    assert by_hand[0].detail == "T2 -> T1: CYB-2 lapsed"
    assert by_hand[1].detail == "T1 -> T3: cleared: fixed"
    assert not any("T1 -> T2" in e.detail or "T1 -> T3: at start" in e.detail for e in entries)


def _tier_at_start(cfg: Path) -> Tier | None:
    gw, db, bus = build_gateway(load_gateway_file(cfg), ManualClock(T0))
    try:
        return gw.tier("JPN")
    finally:
        asyncio.run(bus.close())
        db.close()


def test_a_start_lowers_a_tier_but_never_raises_it(tmp_path: Path) -> None:
    cfg = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    assert _tier_at_start(cfg) is Tier.T2
    cfg.write_text(cfg.read_text().replace('tier = "T2"', 'tier = "T3"'))
    assert _tier_at_start(cfg) is Tier.T2  # a raise takes an operator
    cfg.write_text(cfg.read_text().replace('tier = "T3"', 'tier = "T1"'))
    assert _tier_at_start(cfg) is Tier.T1  # a lowering is taken at once
    cfg.write_text(cfg.read_text().replace('tier = "T1"', 'tier = "T3"'))
    assert _tier_at_start(cfg) is Tier.T1
    details = [e.detail for e in _tier_entries(tmp_path / "usa" / "gateway.db")]
    assert details == [
        "none -> T2: at start",
        "T2 -> T1: at start",
    ]  # starts that did not change the tier in force left no entry


def test_an_unconfigured_partner_has_no_tier_to_set(tmp_path: Path) -> None:
    cfg = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    out = CliRunner().invoke(app, ["gateway", "tier", "-c", str(cfg), "KOR", "T1", "--why", "x"])
    assert out.exit_code == 2 and "'KOR' is not configured" in out.output
    assert out.output.count("\n") == 1
    gw, db, bus = build_gateway(load_gateway_file(cfg), ManualClock(T0))
    with pytest.raises(KizunaError, match="not configured"):
        gw.set_tier("KOR", Tier.T1, "x", "me")
    asyncio.run(bus.close())
    db.close()
    offline = CliRunner().invoke(
        app, ["gateway", "tier", "-c", str(cfg), "JPN", "T0", "--why", "drill"]
    )
    assert json.loads(offline.output) == {
        "changed": True, "tier": "T0", "pinned": True, "operator": ME,
    }  # fmt: skip
    assert _tier_at_start(cfg) is Tier.T0
