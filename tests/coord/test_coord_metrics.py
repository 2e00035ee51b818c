from __future__ import annotations

import json
import math

import pytest

from kizuna.coord import Architecture, Stage, Target, TargetCycle, run_metrics
from tests.coord.helpers import run_cell

S = Stage


def _rec(tid: str, window: float | None, steps: list[tuple[Stage, float, str, str | None]]
         ) -> TargetCycle:  # fmt: skip
    rec = TargetCycle(Target(tid, "c2_node", 900.0, 0.0, "us_mq9", "USA", "SECRET", 3, 0.0,
                             window))  # fmt: skip
    for stage, t, nation, shooter in steps:
        if stage is S.ALLOCATED:
            rec.attempt += 1
            rec.shooter = shooter
        rec.move(stage, t, "x", nation, "test")
    return rec


def _chain(t0: float, shooter: str, nation: str, times: list[float]
           ) -> list[tuple[Stage, float, str, str | None]]:  # fmt: skip
    stages = [S.ALLOCATED, S.APPROVED, S.TASKED, S.EXECUTED, S.ASSESSED]
    return [(s, t0 + t, nation, shooter) for s, t in zip(stages, times, strict=True)]


def test_metrics_from_a_known_history(shipped: dict[str, Architecture]) -> None:
    arch = shipped["integrated"]
    start = [(S.NOMINATED, 0.0, "USA", None), (S.VETTED, 600.0, "USA", None),
             (S.PRIORITISED, 600.0, "USA", None)]  # fmt: skip
    t1 = _rec("T1", None, [*start, *_chain(0, "us_ddg_1", "USA", [720, 1320, 1400, 4000, 11200]),
                           (S.DONE, 11200.0, "USA", None)])  # fmt: skip
    t2 = _rec("T2", 3000.0, [*start, *_chain(0, "jgsdf_ssm_1", "JPN", [700, 2760, 2800, 2900,
                                                                      10100]),
                             (S.EXPIRED, 10100.0, "USA", None)])  # fmt: skip
    t3 = _rec("T3", 1000.0, [*start[:2], (S.EXPIRED, 1000.0, "USA", None)])
    t4 = _rec("T4", None, [*start, *_chain(0, "us_mdtf", "USA", [700, 800, 900, 1000, 2000]),
                           (S.PRIORITISED, 2000.0, "USA", None),
                           *_chain(0, "us_mdtf", "USA", [2100, 2200, 2300, 2400, 3000]),
                           (S.DONE, 3000.0, "USA", None)])  # fmt: skip
    m = run_metrics(arch, {r.target.id: r for r in (t1, t2, t3, t4)}, horizon_s=10_000.0)
    assert m.targets == 4 and m.outcome == {"done": 2, "expired": 2}
    assert m.kill_chain.n == 3 and m.kill_chain.p50 == 2900.0
    assert m.kill_chain_by_target == {"T1": 4000.0, "T2": 2900.0, "T4": 1000.0}
    assert m.to_json(per_target=True)["kill_chain_by_target"] == m.kill_chain_by_target
    assert "kill_chain_by_target" not in m.to_json()
    assert m.tst_vetted == 2 and m.tst_in_window == 1 and m.tst_share == 0.5
    assert m.reattack_rate == pytest.approx(1 / 3)
    assert m.bda_cycle.n == 4 and m.bda_cycle.p50 == pytest.approx((1000 + 7200) / 2)
    assert set(m.bda_by_nation) == {"USA"} and m.bda_by_nation["USA"].n == 4
    assert m.approval["JPN"].p50 == 2060.0 and m.approval["USA"].n == 3
    assert m.utilisation["us_ddg_1"] == pytest.approx(3280 / 40_000)
    assert m.utilisation["us_mdtf"] == pytest.approx((300 + 300) / 20_000)
    assert m.critical_path["JPN"].approvals == 1 and m.critical_path["JPN"].longest_step == 1
    assert m.critical_path["USA"].approvals == 2 and m.critical_path["USA"].longest_step == 0
    assert m.critical_path["JPN"].share_of_kill_chain == pytest.approx(2060 / 2900)
    assert m.steps["tasked->executed"].n == 4


def test_metrics_serialise_without_nan(shipped: dict[str, Architecture]) -> None:
    m = run_metrics(shipped["parallel"], {})
    out = json.dumps(m.to_json(), allow_nan=False)
    assert json.loads(out)["kill_chain"] == {"n": 0, "p50_s": None, "p90_s": None}
    assert math.isnan(m.tst_share)


def test_the_integrated_cell_shortens_the_kill_chain(shipped: dict[str, Architecture]) -> None:
    """The study's headline, as a regression check on the shipped data."""
    par = run_metrics(shipped["parallel"], run_cell(shipped["parallel"], targets=150).records)
    integ = run_metrics(shipped["integrated"],
                        run_cell(shipped["integrated"], targets=150).records)  # fmt: skip
    assert integ.kill_chain.p50 < par.kill_chain.p50
    assert integ.approval["USA"].p50 < par.approval["USA"].p50
    # Japan's damage assessment leans on US ISR: a shared picture shortens it most
    assert integ.bda_by_nation["JPN"].p50 < par.bda_by_nation["JPN"].p50
