"""Issue 13 item 9: the audit's tail is protected.

Checkpoints are signed every N entries or T seconds and at a clean stop, and countersigned by
the partner; `audit verify` reports what no countersigned checkpoint covers as
`unprotected_tail` (and fails on it with --strict), so a cut or an addition is found; a log
rewritten and restarted is refused countersignature, with an error on both sides.

Before: truncating or appending after the last checkpoint verified as `ok`."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.clock import ManualClock
from kizuna.errors import TransportError
from kizuna.gateway import (
    AuditEntry,
    AuditLog,
    AuditRow,
    GatewayServer,
    load_gateway_file,
    local_operator,
)
from kizuna.gateway._audit import GENESIS, chain_hash
from kizuna.gateway._merkle import leaf_hash
from tests.gateway._procs import free_port
from tests.gateway.conftest import T0
from tests.security._gwfiles import gateway_file, offer_doc, offer_frame

pytestmark = pytest.mark.integration
runner = CliRunner()


@dataclass
class Two:
    d: Path
    usa_cfg: Path
    jpn_cfg: Path
    usa: GatewayServer
    jpn: GatewayServer

    async def restart_usa(self) -> None:
        await self.usa.stop()
        self.usa = _server(self.usa_cfg)
        await self.usa.start()

    async def offer(self, *uids: str) -> None:
        assert self.usa.admin is not None
        await self.usa.admin.handle(
            offer_frame("JPN", *(offer_doc(u) for u in uids)), local_operator()
        )


def _server(cfg: Path) -> GatewayServer:
    return GatewayServer(load_gateway_file(cfg), ManualClock(T0))


async def _two(d: Path, usa_audit: str = "") -> Two:
    for _ in range(5):  # a port free a moment ago may be taken by then: try others
        try:
            return await _try_two(d, usa_audit)
        except TransportError as exc:
            if "in use" not in str(exc):
                raise
    return await _try_two(d, usa_audit)


async def _try_two(d: Path, usa_audit: str) -> Two:
    pu, pj = free_port(), free_port()
    usa_cfg = gateway_file(d, "USA", {"JPN": (pj, "T2")}, port=pu, extra=usa_audit)
    jpn_cfg = gateway_file(d, "JPN", {"USA": (pu, "T3")}, port=pj)
    two = Two(d, usa_cfg, jpn_cfg, _server(usa_cfg), _server(jpn_cfg))
    await two.jpn.start()
    try:
        await two.usa.start()
    except TransportError:
        await two.jpn.stop()
        raise
    return two


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[Two]:
    t = await _two(
        tmp_path, "[audit]\ncheckpoint_every_entries = 1000\ncheckpoint_every_s = 3600\n"
    )
    yield t
    await t.usa.stop()
    await t.jpn.stop()


def _verify(t: Two, *extra: str) -> tuple[int, dict[str, object]]:
    args = [
        "audit",
        "verify",
        "-c",
        str(t.usa_cfg),
        "--partner-db",
        str(t.d / "jpn" / "gateway.db"),
    ]
    out = runner.invoke(app, [*args, *extra])
    return out.exit_code, json.loads(out.output)


def _rows(db: Path) -> list[AuditRow]:
    with sqlite3.connect(db) as c:
        return [
            AuditRow(d, ch) for d, ch in c.execute("SELECT data, chain FROM audit ORDER BY seq")
        ]


async def test_a_clean_stop_leaves_no_tail_and_a_cut_or_addition_is_found(two: Two) -> None:
    await two.offer("a", "b", "c")
    await two.usa.stop()  # signs a checkpoint of everything, countersigned by JPN
    code, report = _verify(two, "--strict")
    assert code == 0 and report["ok"] is True and report["unprotected_tail"] == 0

    db = two.d / "usa" / "gateway.db"
    rows = _rows(db)
    log = AuditLog("USA", rows=rows)  # an insider appends one entry, chain and all
    log.append(T0.isoformat(), "outbound", "JPN", "forged", "RELEASE")
    with sqlite3.connect(db) as c:
        c.execute(
            "INSERT INTO audit VALUES (?, ?, ?)", (len(rows), log.rows[-1].data, log.rows[-1].chain)
        )
    code, report = _verify(two)
    assert code == 0 and report["unprotected_tail"] == 1  # reported ...
    code, report = _verify(two, "--strict")
    assert code == 1  # ... and refused with --strict

    with sqlite3.connect(db) as c:  # now the insider cuts the last real entries instead
        c.execute("DELETE FROM audit WHERE seq >= ?", (len(rows) - 2,))
    code, report = _verify(two)
    assert code == 1 and report["ok"] is False and report["first_bad"] == len(rows) - 2
    two.usa = _server(two.usa_cfg)
    await two.usa.start()


def _rewrite(db: Path) -> None:
    """An insider changes one decision and recomputes the whole chain, leaving the rest."""
    rows = _rows(db)
    prev, out = GENESIS, []
    for i, r in enumerate(rows):
        e = AuditEntry.decode(r.data)
        if e.event == "outbound" and e.outcome == "RELEASE":
            e = AuditEntry(e.seq, e.at, e.event, e.partner, e.item, "DENY", ("DENY_X",))
        data = e.encode()
        prev = chain_hash(prev, leaf_hash(data))
        out.append((i, data, prev))
    with sqlite3.connect(db) as c:
        c.executemany(
            "UPDATE audit SET data = ?, chain = ? WHERE seq = ?", [(d, ch, i) for i, d, ch in out]
        )


@pytest.mark.parametrize("how", ["rewritten", "replaced"])
async def test_a_rewritten_log_is_refused_countersignature_on_both_sides(
    two: Two, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    await two.offer("a", "b")
    await two.usa.stop()  # countersigned at the stop
    db = two.d / "usa" / "gateway.db"
    if how == "rewritten":
        _rewrite(db)
    else:  # a fresh log in place of the old one
        for f in db.parent.glob("gateway.db*"):
            f.unlink()
    two.usa = _server(two.usa_cfg)
    await two.usa.start()
    await two.offer("c")
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="kizuna.gateway"):
        assert await two.usa.exchange_checkpoints() == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(m.startswith("refused to countersign USA's checkpoint") for m in errors), errors
    assert any(m.startswith("JPN refused to countersign checkpoint") for m in errors), errors
    jpn = [two.jpn.gw.audit.entry(i) for i in range(len(two.jpn.gw.audit))]
    refused = [e for e in jpn if e.event == "checkpoint"]
    assert refused and refused[-1].outcome == "DENY" and refused[-1].partner == "USA"


async def _countersigned_to_the_end(t: Two) -> None:
    """Wait (up to 4 s) for a checkpoint JPN countersigned; it must cover the whole log."""
    for _ in range(40):
        await asyncio.sleep(0.1)
        if [c for c in t.usa._db.checkpoints("USA") if c.cosigner]:
            break
    cps = [c for c in t.usa._db.checkpoints("USA") if c.cosigner == "JPN"]
    assert cps and cps[-1].size == len(t.usa.gw.audit)


async def test_a_checkpoint_every_n_entries(tmp_path: Path) -> None:
    t = await _two(tmp_path, "[audit]\ncheckpoint_every_entries = 3\ncheckpoint_every_s = 3600\n")
    try:
        assert len(t.usa.gw.audit) == 1  # the tier in force at start
        await t.offer("a")
        await asyncio.sleep(0.6)
        assert not [c for c in t.usa._db.checkpoints("USA") if c.cosigner]  # 2 < 3 entries
        await t.offer("b")
        await _countersigned_to_the_end(t)
    finally:
        await t.usa.stop()
        await t.jpn.stop()


async def test_a_checkpoint_every_t_seconds(tmp_path: Path) -> None:
    t = await _two(tmp_path, "[audit]\ncheckpoint_every_entries = 1000\ncheckpoint_every_s = 0.3\n")
    try:
        await t.offer("a")
        await _countersigned_to_the_end(t)
    finally:
        await t.usa.stop()
        await t.jpn.stop()
