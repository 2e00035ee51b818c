"""Any single edit, deletion, insertion, reordering or truncation of the audit log is found,
and the first bad entry is reported."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ParseError
from kizuna.gateway import (
    AuditEntry,
    AuditLog,
    AuditRow,
    Checkpoint,
    GatewayDb,
    KeyRing,
    Signer,
    countersign,
    verify_consistency,
    verify_inclusion,
    verify_log,
)
from kizuna.gateway._audit import chain_hash
from kizuna.gateway._merkle import leaf_hash

USA, JPN = Signer.generate("USA"), Signer.generate("JPN")
RING = KeyRing.of(USA, JPN)
OUTCOMES = st.sampled_from(["RELEASE", "DENY", "HOLD", "SANITISE"])


def _log(n: int, outcomes: list[str] | None = None) -> AuditLog:
    log = AuditLog("USA")
    for i in range(n):
        out = outcomes[i] if outcomes else "RELEASE"
        log.append(f"2026-01-01T00:00:{i % 60:02d}+00:00", "outbound", "JPN", f"uid-{i}", out)
    return log


def _sealed(log: AuditLog) -> Checkpoint:
    """A checkpoint at the current size, signed by USA and countersigned by JPN."""
    return log.checkpoint(USA, "2026-01-01T01:00:00+00:00").countersigned(JPN)


def _verify(rows: list[AuditRow], cps: list[Checkpoint]) -> tuple[bool, int | None]:
    report = verify_log("USA", rows, cps, RING)
    return report.ok, report.first_bad


def _rechain(rows: list[AuditRow]) -> list[AuditRow]:
    """What a careful forger does: recompute every chain hash after the change."""
    out, prev = [], bytes(32)
    for r in rows:
        prev = chain_hash(prev, leaf_hash(r.data))
        out.append(AuditRow(r.data, prev))
    return out


def _edit(row: AuditRow) -> AuditRow:
    e = AuditEntry.decode(row.data)
    forged = msgspec.structs.replace(e, outcome="DENY" if e.outcome != "DENY" else "RELEASE")
    return AuditRow(forged.encode(), row.chain)


logs = st.lists(OUTCOMES, min_size=2, max_size=40)


@given(logs)
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_an_untouched_log_verifies(outcomes: list[str]) -> None:
    log = _log(len(outcomes), outcomes)
    mid = _sealed(log)
    log.append("2026-01-01T02:00:00+00:00", "tier", "JPN", "", "T2")
    assert _verify(list(log.rows), [mid, _sealed(log)]) == (True, None)


@given(logs, st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_an_edit_is_found_at_the_edited_entry(outcomes: list[str], data: st.DataObject) -> None:
    log = _log(len(outcomes), outcomes)
    cp = _sealed(log)
    i = data.draw(st.integers(0, len(outcomes) - 1))
    rows = list(log.rows)
    rows[i] = _edit(rows[i])
    assert _verify(rows, [cp]) == (False, i)


@given(logs, st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_a_deletion_is_found_where_it_happened(outcomes: list[str], data: st.DataObject) -> None:
    log = _log(len(outcomes), outcomes)
    cp = _sealed(log)
    i = data.draw(st.integers(0, len(outcomes) - 1))
    rows = list(log.rows)
    del rows[i]
    assert _verify(rows, [cp]) == (False, i)


@given(logs, st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_an_insertion_is_found(outcomes: list[str], data: st.DataObject) -> None:
    log = _log(len(outcomes), outcomes)
    cp = _sealed(log)
    i = data.draw(st.integers(0, len(outcomes)))
    j = data.draw(st.integers(0, len(outcomes) - 1))
    rows = list(log.rows)
    rows.insert(i, rows[j])
    ok, bad = _verify(rows, [cp])
    assert not ok and bad is not None and i <= bad <= i + 1


@given(logs, st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_a_reordering_is_found_at_the_first_moved_entry(
    outcomes: list[str], data: st.DataObject
) -> None:
    log = _log(len(outcomes), outcomes)
    cp = _sealed(log)
    i = data.draw(st.integers(0, len(outcomes) - 2))
    j = data.draw(st.integers(i + 1, len(outcomes) - 1))
    rows = list(log.rows)
    rows[i], rows[j] = rows[j], rows[i]
    assert _verify(rows, [cp]) == (False, i)


@given(logs, st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_a_truncated_tail_is_found_at_the_cut(outcomes: list[str], data: st.DataObject) -> None:
    log = _log(len(outcomes), outcomes)
    cp = _sealed(log)
    k = data.draw(st.integers(0, len(outcomes) - 1))
    assert _verify(list(log.rows)[:k], [cp]) == (False, k)


@given(logs, st.data())
@settings(max_examples=60, deadline=None)
def test_a_rewrite_with_a_recomputed_chain_is_caught_by_the_checkpoints(
    outcomes: list[str], data: st.DataObject
) -> None:
    n = len(outcomes)
    log = _log(n, outcomes)
    half = data.draw(st.integers(1, n))
    early = _log(half, outcomes[:half])
    cps = [_sealed(early), _sealed(log)]
    i = data.draw(st.integers(0, n - 1))
    rows = list(log.rows)
    rows[i] = _edit(rows[i])
    rows = _rechain(rows)
    ok, bad = _verify(rows, cps)
    assert not ok and bad is not None and bad <= i
    assert bad == (0 if i < half else half)


def test_checkpoints_must_be_signed_and_countersigned() -> None:
    log = _log(5)
    cp = log.checkpoint(USA, "t")
    assert verify_log("USA", list(log.rows), [cp], RING).problem.endswith("not countersigned")
    forged = replace(cp.countersigned(JPN), root=bytes(32))
    assert "bad signature" in verify_log("USA", list(log.rows), [forged], RING).problem
    stranger = Signer.generate("USA")  # right name, wrong key
    fake = log.checkpoint(stranger, "t").countersigned(JPN)
    assert not verify_log("USA", list(log.rows), [fake], RING).ok
    assert verify_log("USA", list(log.rows), [cp], RING, require_cosign=False).ok


def test_malformed_entry_is_reported_as_the_first_bad_one() -> None:
    log = _log(3)
    rows = list(log.rows)
    rows[1] = AuditRow(b"{not json", rows[1].chain)
    report = verify_log("USA", rows, [], RING)
    assert (report.ok, report.first_bad) == (False, 1)
    assert "not well-formed" in report.problem
    with pytest.raises(ParseError):
        AuditEntry.decode(b'[1, "t"]')


def test_partner_countersigns_only_a_log_that_grew() -> None:
    log = _log(6)
    first = log.checkpoint(USA, "t1")
    held = countersign(first, [], None, RING, JPN)
    for i in range(4):
        log.append("t", "outbound", "JPN", f"late-{i}", "RELEASE")
    second = log.checkpoint(USA, "t2")
    proof = log.consistency_proof(6, 10)
    assert countersign(second, proof, held, RING, JPN).cosignature_ok(RING)
    rewritten = _log(10, ["DENY"] * 10)  # a different history
    rewritten.append("t", "outbound", "JPN", "x", "DENY")
    other = rewritten.checkpoint(USA, "t3")
    with pytest.raises(ParseError, match="rewritten"):
        countersign(other, rewritten.consistency_proof(6, 11), held, RING, JPN)
    with pytest.raises(ParseError, match="signature"):
        countersign(replace(second, size=11), proof, held, RING, JPN)


def test_entry_inclusion_can_be_checked_without_the_log() -> None:
    log = _log(13)
    cp = _sealed(log)
    for seq in (0, 6, 12):
        proof = log.inclusion_proof(seq, cp.size)
        assert verify_inclusion(seq, cp.size, log.leaf(seq), proof, cp.root)
    older = _log(5).root()
    assert verify_consistency(5, 13, older, cp.root, log.consistency_proof(5))


def test_the_log_survives_a_restart_and_tampering_on_disk_is_found(tmp_path: Path) -> None:
    path = tmp_path / "gw.db"
    db = GatewayDb(path)
    log = AuditLog("USA", db, db.rows())
    for i in range(8):
        log.append("t", "outbound", "JPN", f"u{i}", "RELEASE")
    db.save_checkpoint(_sealed(log))
    db.close()

    db = GatewayDb(path)
    log = AuditLog("USA", db, db.rows())
    assert len(log) == 8
    log.append("t", "outbound", "JPN", "u8", "DENY")
    log.flush()
    assert verify_log("USA", db.rows(), db.checkpoints("USA"), RING).ok
    forged = AuditEntry.decode(db.rows()[3].data)
    db._db.execute(
        "UPDATE audit SET data = ? WHERE seq = 3",
        (msgspec.structs.replace(forged, outcome="DENY").encode(),),
    )
    report = verify_log("USA", db.rows(), db.checkpoints("USA"), RING)
    assert (report.ok, report.first_bad) == (False, 3)
    db.close()
