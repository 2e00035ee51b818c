"""The gateway commands without a serving gateway: they open its database directly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.clock import ManualClock
from kizuna.gateway import build_gateway, generate_keys, load_gateway_file
from tests.gateway.conftest import T0, item, raw

runner = CliRunner()


def _setup(tmp_path: Path) -> Path:
    generate_keys("JPN", tmp_path / "keys")
    generate_keys("USA", tmp_path / "keys")
    generate_keys("KOR", tmp_path / "keys")
    cfg = tmp_path / "jpn.toml"
    cfg.write_text(
        'nation = "JPN"\n[partners.USA]\naddress = "127.0.0.1:1"\ntier = "T3"\n'
        '[partners.KOR]\naddress = "127.0.0.1:2"\n'  # tier from the roadmap assessments
    )
    gw, db, bus = build_gateway(load_gateway_file(cfg), ManualClock(T0))

    async def offer() -> None:
        plans = [raw(item(f"p{i}", origin="JPN", label="JPN HI//REL TO JPN, USA",
                          category="plan")) for i in range(2)]  # fmt: skip
        await gw.offer(plans, "USA")
        await gw.offer([raw(item("s", origin="JPN", label="JPN HI//NOFORN"))], "USA")
        await bus.close()

    assert gw.tier("KOR") is not None  # computed, not configured
    asyncio.run(offer())
    db.close()
    return cfg


def test_holds_are_listed_approved_and_rejected_offline(tmp_path: Path) -> None:
    cfg = str(_setup(tmp_path))
    held = json.loads(runner.invoke(app, ["gateway", "holds", "-c", cfg]).output)
    assert [h["uid"] for h in held] == ["p0", "p1"]
    ok = runner.invoke(app, ["gateway", "approve", "-c", cfg, str(held[0]["id"]), "--note", "x"])
    assert json.loads(ok.output)["outcome"] == "RELEASE"
    again = runner.invoke(app, ["gateway", "approve", "-c", cfg, str(held[0]["id"]), "--note", "x"])
    assert again.exit_code == 1 and "no such item" in again.output
    no = runner.invoke(app, ["gateway", "reject", "-c", cfg, str(held[1]["id"]), "--note", "x"])
    assert json.loads(no.output)["outcome"] == "DENY"
    assert json.loads(runner.invoke(app, ["gateway", "holds", "-c", cfg]).output) == []


def test_ledger_and_audit_commands_read_the_same_database(tmp_path: Path) -> None:
    cfg = str(_setup(tmp_path))
    doc = json.loads(runner.invoke(app, ["ledger", "show", "-c", cfg, "--json"]).output)
    usa = next(p for p in doc["partners"] if p["partner"] == "USA")
    assert usa["out"]["held"] == 2 and usa["out"]["denied"] == 1
    assert usa["out"]["reasons"] == {"DENY_NOT_RELEASABLE": 1}
    table = runner.invoke(app, ["ledger", "show", "-c", cfg])
    assert table.exit_code == 0 and "DENY_NOT_RELEASABLE" in table.output
    v = runner.invoke(app, ["audit", "verify", "-c", cfg])
    assert v.exit_code == 0 and json.loads(v.output)["ok"] is True
    offline = runner.invoke(app, ["audit", "checkpoint", "-c", cfg])
    assert offline.exit_code == 1


def test_bad_configuration_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('nation = "JPN"\nlisten = "nowhere"\n')
    out = runner.invoke(app, ["ledger", "show", "-c", str(cfg)])
    assert out.exit_code == 2 and "listen" in out.output
    cfg.write_text('[partners.USA]\ntier = "T9"\n')
    assert "nation" in runner.invoke(app, ["gateway", "holds", "-c", str(cfg)]).output
    cfg.write_text('nation = "JPN"\n[partners.USA]\ntier = "T9"\n')
    assert "partners.USA.tier" in runner.invoke(app, ["gateway", "holds", "-c", str(cfg)]).output
    keys = runner.invoke(app, ["gateway", "keygen", "KOR", "--dir", str(tmp_path / "k")])
    assert json.loads(keys.output)["public"].endswith("KOR.pub")
    assert (tmp_path / "k" / "KOR.key").stat().st_mode & 0o077 == 0
