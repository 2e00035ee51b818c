from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.clock import ManualClock
from kizuna.coord import (
    Architecture,
    CoordinationCell,
    FixedStock,
    GateDecision,
    Nomination,
    Stage,
    Target,
    TargetType,
    default_gates,
    synthetic_nominations,
)
from kizuna.errors import ConfigError, ValidationError
from tests.coord.helpers import NAMES, run_cell


def _stingy(arch: Architecture, p_jpn: float) -> Architecture:
    approvals = dict(arch.approvals)
    approvals["JPN"] = replace(approvals["JPN"], p_approve=p_jpn)
    return replace(arch, approvals=approvals)


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 10_000), st.sampled_from([1.0, 0.5]))
def test_nothing_is_executed_without_every_gate_and_its_own_nations_approval(
    shipped: dict[str, Architecture], name: str, seed: int, p_jpn: float
) -> None:
    arch = _stingy(shipped[name], p_jpn)
    cell = run_cell(arch, seed=seed, targets=40)
    executed = 0
    for rec in cell.records.values():
        for i, ev in enumerate(rec.history):
            if ev.to is not Stage.EXECUTED:
                continue
            executed += 1
            assert [g[0] for g in rec.gates] == list(arch.gate_latency)
            assert all(g[1] for g in rec.gates)
            nation = arch.shooters[ev.shooter or ""].nation
            same = [e for e in rec.history[:i] if e.attempt == ev.attempt]
            approved = [e for e in same if e.to is Stage.APPROVED]
            assert len(approved) == 1
            assert approved[0].nation == nation
            assert approved[0].actor == arch.approvals[nation].authority
            assert approved[0].shooter == ev.shooter
    assert executed > 0


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 10_000))
def test_no_unit_receives_a_task_from_a_foreign_chain(
    shipped: dict[str, Architecture], name: str, seed: int
) -> None:
    arch = shipped[name]
    cell = run_cell(arch, seed=seed, targets=40)
    assert cell.orders
    for order in cell.orders:
        assert order.nation == arch.shooters[order.shooter].nation
        assert {arch.nodes[n].nation for n in order.path} == {order.nation}
        assert order.path[0] == arch.approvals[order.nation].authority
        assert order.path[-1] == order.shooter
        assert arch.tasking[order.nation] in order.path  # the JJOC for every Japanese tasking
    for rec in cell.records.values():
        for ev in rec.history:
            if ev.to is Stage.TASKED:
                assert ev.nation == arch.shooters[ev.shooter or ""].nation


def _outcome(cell: CoordinationCell) -> list[tuple[str, str, float, str | None, int]]:
    return [(e.target, e.to.value, round(e.t, 6), e.shooter, e.attempt) for e in cell.history]


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10_000))
def test_with_zero_hop_latency_the_architectures_give_identical_outcomes(
    shipped: dict[str, Architecture], seed: int
) -> None:
    runs = [_outcome(run_cell(shipped[n].zero_hops(), seed=seed, targets=50)) for n in NAMES]
    assert runs[0] == runs[1] == runs[2]
    # and with real hops they do differ: the structure is what the comparison measures
    assert _outcome(run_cell(shipped["parallel"], seed=seed, targets=50)) != runs[0]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["c2_node", "airfield", "radar", "sam_site"]))
def test_the_cfc_link_never_slows_a_korean_nomination(
    shipped: dict[str, Architecture], seed: int, kind: str
) -> None:
    """integrated+cfc is integrated plus edges: every step of the cycle is no later."""
    nom = Nomination("K1", kind, 1000.0, 100.0, "rok_isr", 0.0)
    times = []
    for name in ("integrated", "integrated+cfc"):
        cell = CoordinationCell(shipped[name], rng=np.random.default_rng(seed),
                                stock=FixedStock({}, default=9))  # fmt: skip
        cell.run([nom])
        times.append([(e.to, e.t) for e in cell.history])
    slow, fast = times
    assert [s for s, _ in slow] == [s for s, _ in fast]
    assert all(f <= s + 1e-9 for (_, s), (_, f) in zip(slow, fast, strict=True))


def test_same_seed_same_history_and_another_seed_another(shipped: dict[str, Architecture]) -> None:
    a = run_cell(shipped["integrated"], seed=3)
    b = run_cell(shipped["integrated"], seed=3)
    c = run_cell(shipped["integrated"], seed=4)
    assert [e.to_json() for e in a.history] == [e.to_json() for e in b.history]
    assert [e.to_json() for e in a.history] != [e.to_json() for e in c.history]


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(1.0, 4000.0), min_size=1, max_size=40))
def test_history_does_not_depend_on_how_the_driver_slices_time(
    shipped: dict[str, Architecture], steps: list[float]
) -> None:
    arch = shipped["parallel"]
    reference = run_cell(arch, seed=9, targets=25, hours=2)
    noms = synthetic_nominations(arch, 25, np.random.default_rng([9, 1]), horizon_s=7200)
    cell = CoordinationCell(arch, rng=np.random.default_rng([9, 2]),
                            stock=FixedStock({}, default=50))  # fmt: skip
    clock = ManualClock()
    pending = list(noms)
    i = 0
    while pending or cell.next_due() is not None:
        clock.advance(steps[i % len(steps)])
        i += 1
        now = clock.monotonic()
        while pending and pending[0].at <= now:
            cell.step(pending[0].at)
            cell.nominate(pending.pop(0))
        cell.step(now)
    assert _outcome(cell) == _outcome(reference)


def test_step_reports_what_it_did_and_next_due_what_comes(shipped: dict[str, Architecture]) -> None:
    cell = CoordinationCell(shipped["integrated"], rng=np.random.default_rng(1),
                            stock=FixedStock({}, default=5))  # fmt: skip
    assert cell.next_due() is None
    ev = cell.nominate(Nomination("A", "c2_node", 900.0, 50.0, "jasdf_e2d", 100.0))
    assert ev.to is Stage.NOMINATED and ev.actor == "jasdf_e2d" and ev.nation == "JPN"
    due = cell.next_due()
    assert due is not None and due > 100.0
    assert cell.step(due - 1e-6) == []
    done = cell.step(due)
    assert [e.to for e in done] == [Stage.VETTED, Stage.PRIORITISED]
    assert done[0].actor == "bcc" and "no_strike, cde, legal" in done[0].reason
    cell.step(math.inf)
    assert cell.records["A"].terminal


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "submarine"}, "type"),
        ({"sensor": "jjoc"}, "sensor"),
        ({"sensor": "nobody"}, "sensor"),
        ({"target_id": "A"}, "target_id"),
        ({"label": "SECRET//REL TO ATLANTIS"}, "label"),
        ({"at": 5.0}, "at"),
        ({"x_km": math.nan}, "x_km"),
        ({"at": math.inf}, "at"),
        ({"cde_tier": 7}, "cde_tier"),
    ],
)
def test_bad_nominations_are_refused_with_the_field_named(
    shipped: dict[str, Architecture], change: dict[str, object], field: str
) -> None:
    cell = CoordinationCell(shipped["integrated"], rng=np.random.default_rng(1),
                            stock=FixedStock({}, default=5))  # fmt: skip
    cell.nominate(Nomination("A", "c2_node", 900.0, 50.0, "jasdf_e2d", 10.0))
    cell.step(10.0)
    before = len(cell.history)
    base = {"target_id": "B", "type": "radar", "x_km": 900.0, "y_km": 0.0,
            "sensor": "us_mq9", "at": 20.0}  # fmt: skip
    with pytest.raises(ValidationError) as info:
        cell.nominate(Nomination(**{**base, **change}))  # type: ignore[arg-type]
    assert info.value.field == field
    assert len(cell.history) == before and set(cell.records) == {"A"}
    assert [r[1] for r in cell.refused] == [info.value]  # counted, not lost


def test_releasability_limits_who_may_strike(shipped: dict[str, Architecture]) -> None:
    cell = run_cell(shipped["integrated"], seed=2, targets=120)
    by_sensor: dict[str, set[str]] = {}
    for rec in cell.records.values():
        for ev in rec.history:
            if ev.to is Stage.ALLOCATED and ev.shooter:
                nation = shipped["integrated"].shooters[ev.shooter].nation
                by_sensor.setdefault(rec.target.nominated_by, set()).add(nation)
    assert by_sensor["us_sigint"] == {"USA"}  # SECRET//NOFORN
    assert "JPN" not in by_sensor.get("rok_isr", set())  # REL TO USA, KOR
    assert by_sensor["jasdf_e2d"] == {"JPN", "USA"}


def test_munitions_on_hand_bound_the_strikes(shipped: dict[str, Architecture]) -> None:
    arch = shipped["integrated"]
    stock = FixedStock({("us_ddg_1", "TOMAHAWK"): 3, ("jmsdf_ddg", "TOMAHAWK"): 1}, default=0)
    noms = synthetic_nominations(arch, 80, np.random.default_rng(4))
    cell = CoordinationCell(arch, rng=np.random.default_rng(5), stock=stock)
    cell.run(noms)
    fired = [e for e in cell.history if e.to is Stage.EXECUTED]
    assert {e.shooter for e in fired} <= {"us_ddg_1", "jmsdf_ddg"}
    assert sum(e.shooter == "us_ddg_1" for e in fired) == 3
    assert sum(e.shooter == "jmsdf_ddg" for e in fired) == 1
    assert sum(n for *_, n in stock.expended) == len(fired)
    assert stock.on_hand("us_ddg_1", "TOMAHAWK") == 0


def test_a_nation_that_never_approves_hands_its_targets_to_the_other(
    shipped: dict[str, Architecture],
) -> None:
    arch = _stingy(shipped["integrated"], 1e-9)
    cell = run_cell(arch, seed=6, targets=80)
    denied = [e for e in cell.history if e.to is Stage.PRIORITISED and "denied" in e.reason]
    assert denied and all(e.nation == "JPN" and e.actor == "jpn_cabinet" for e in denied)
    fired = {arch.shooters[e.shooter or ""].nation for e in cell.history
             if e.to is Stage.EXECUTED}  # fmt: skip
    assert fired == {"USA"}
    for e in denied:
        rec = cell.records[e.target]
        later = [x for x in rec.history if x.t >= e.t and x.to is Stage.ALLOCATED]
        assert all(arch.shooters[x.shooter or ""].nation == "USA" for x in later)


def test_time_sensitive_targets_expire_when_their_window_closes(
    shipped: dict[str, Architecture],
) -> None:
    cell = run_cell(shipped["parallel"], seed=8, targets=80)
    tsts = [r for r in cell.records.values() if r.target.window_end is not None]
    assert tsts
    for rec in tsts:
        end = rec.target.window_end or 0.0
        assert end - rec.target.nominated_at <= 3600.0 + 1e-6
        for ev in rec.history:
            if ev.to is Stage.EXECUTED:
                assert ev.t <= end
            if ev.to is Stage.EXPIRED:
                assert ev.t >= end or "aborted" in ev.reason


@dataclass(frozen=True)
class _NoSigint:
    """A national caveat plugged in as a gate: nothing nominated on SIGINT alone."""

    name: str = "sigint_caveat"

    def check(self, target: Target, kind: TargetType) -> GateDecision:
        if target.nominated_by == "us_sigint":
            return GateDecision.deny("SIGINT-only nomination needs corroboration")
        return GateDecision.allow()


def test_gates_are_pluggable(shipped: dict[str, Architecture]) -> None:
    base = shipped["integrated"]
    gates = (*default_gates(base), _NoSigint())
    arch = replace(base, gate_latency={**base.gate_latency, "sigint_caveat": base.bda})
    noms = synthetic_nominations(arch, 60, np.random.default_rng(1))
    cell = CoordinationCell(arch, rng=np.random.default_rng(2),
                            stock=FixedStock({}, default=50), gates=gates)  # fmt: skip
    cell.run(noms)
    sig = [r for r in cell.records.values() if r.target.nominated_by == "us_sigint"]
    assert sig
    for rec in sig:
        assert rec.stage is Stage.REJECTED
        if rec.gates[-1][0] == "sigint_caveat":
            assert "needs corroboration" in rec.history[-1].reason
    with pytest.raises(ConfigError, match="sigint_caveat"):
        CoordinationCell(shipped["integrated"], rng=np.random.default_rng(0),
                         stock=FixedStock({}), gates=[_NoSigint()])  # fmt: skip
