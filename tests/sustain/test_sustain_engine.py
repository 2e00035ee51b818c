"""Days to exhaustion and the day loop, checked against hand calculations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sustain_helpers import one_per_day_line

from kizuna.sustain import (
    apply_excursion,
    build_schedule,
    default_campaign,
    default_model,
    run_campaign,
    what_if,
)
from kizuna.sustain._schedule import integerize, line_stall_day


def fire(munition: str, depot: str, per_day: float, **kw: Any) -> dict[str, Any]:
    return {"munition": munition, "depot": depot, "per_day": per_day, "source": "test", **kw}


def test_ten_rounds_at_three_a_day_last_three_days(doc, build) -> None:
    model, camp = build(doc, consumption=[fire("M1", "front", 3)])
    r = run_campaign(model, camp)
    front = r.depots.index("front")
    assert r.days_to_exhaustion()["M1"] == 3  # 10 // 3
    assert r.depot_days_to_exhaustion()["front", "M1"] == 3
    assert r.on_hand[1:5, front, 0].tolist() == [7, 4, 1, 0]
    assert r.shortfall[4, front, 0] == 2  # day 4 wants 3, finds 1
    assert r.days_to_exhaustion()["M2"] is None  # never asked for


def test_production_stretches_the_stock_by_hand(doc, build) -> None:
    # 10 rounds, +1 a day, -3 a day: 10 + d >= 3d holds for d <= 5
    doc["lines"] = [one_per_day_line()]
    model, camp = build(doc, consumption=[fire("M1", "front", 3)])
    r = run_campaign(model, camp)
    assert r.days_to_exhaustion()["M1"] == 5
    assert r.produced[10, 0] == 10


def test_fractional_rates_become_whole_rounds_without_drift() -> None:
    out = integerize(np.array([0.0] + [0.5] * 6))
    assert out.tolist() == [0, 0, 1, 0, 1, 0, 1]
    out = integerize(np.array([0.0] + [1 / 3] * 9))
    assert out.sum() == 3


def test_transport_fills_a_forward_depot_after_the_delay(doc, build) -> None:
    doc["depots"][0]["stock"] = {"M1": 100}
    doc["depots"][1]["stock"] = {}
    doc["links"] = [{"origin": "rear", "dest": "front", "lift_per_day": 100,
                     "delay_days": 2, "source": "test"}]  # fmt: skip
    model, camp = build(doc, consumption=[fire("M1", "front", 5)])
    r = run_campaign(model, camp)
    front = r.depots.index("front")
    # day 1 ships 3 days' cover (15), it lands on day 3; days 1-2 go unmet
    assert r.shortfall[1:, front, 0].tolist() == [5, 5] + [0] * 8
    assert r.in_transit[1, 0] == 15
    assert r.depot_days_to_exhaustion()["front", "M1"] == 0
    assert r.days_to_exhaustion()["M1"] == 0


def test_lift_is_shared_greedily_in_catalogue_order(doc, build) -> None:
    doc["depots"][0]["stock"] = {"M1": 100, "M2": 100}
    doc["depots"][1]["stock"] = {}
    doc["links"] = [{"origin": "rear", "dest": "front", "lift_per_day": 20,
                     "delay_days": 1, "source": "test"}]  # fmt: skip
    fires = [fire("M1", "front", 5), fire("M2", "front", 5)]
    model, camp = build(doc, consumption=fires)
    r = run_campaign(model, camp)
    assert r.in_transit[1].tolist() == [15, 5]  # M1 takes its 15, M2 what is left


def test_losing_a_depot_destroys_its_stock_and_leaves_its_demand_unmet(doc, build) -> None:
    events = [{"kind": "depot_lost", "target": "front", "day": 2}]
    model, camp = build(doc, consumption=[fire("M1", "front", 1)], events=events)
    r = run_campaign(model, camp)
    assert r.destroyed[2, 0] == 9  # 10 - 1 fired on day 1
    assert r.days_to_exhaustion()["M1"] == 1
    assert r.unmet()["M1"] == 9


def test_single_source_supplier_stalls_a_line_after_its_buffer(doc, build) -> None:
    doc["lines"] = [one_per_day_line(components=["seeker"], component_buffer_days=2)]
    events = [{"kind": "supplier_lost", "target": "s1", "day": 5}]
    model, camp = build(doc, events=events)
    sched = build_schedule(model, camp)
    assert sched.production[1:, 0].tolist() == [1] * 6 + [0] * 4  # stalls from day 7
    assert model.single_source_components(model.lines[0]) == ("seeker",)


def test_a_second_source_keeps_a_component_but_its_own_inputs_do_not(doc, build) -> None:
    line = one_per_day_line(components=["motor"])
    doc["lines"] = [line]
    model, _ = build(doc)
    assert line_stall_day(model, model.lines[0], {"s1": 3}) == math.inf  # s2 still makes it
    assert line_stall_day(model, model.lines[0], {"s1": 3, "s2": 4}) == 4
    assert line_stall_day(model, model.lines[0], {"s3": 2}) == 2  # chem is single-source
    assert model.single_source_components(model.lines[0]) == ("chem",)


def test_ramp_and_surge_shape_the_daily_rate(doc, build) -> None:
    doc["lines"] = [
        one_per_day_line(
            id="ramped", start_day=0, ramp=[[0, 0.0], [1, 1.0]],
            surge_rate_per_month=2 * (365.25 / 12), surge_lead_days=40,
        )
    ]  # fmt: skip
    model, camp = build(doc, days=60, surge=True)
    made = build_schedule(model, camp).production[:, 0]
    assert made[1:31].sum() == pytest.approx(15, abs=1)  # linear ramp over a month: half
    assert made[32:41].tolist() == [1] * 9  # full rate, no surge yet
    assert made[41:61].tolist() == [2] * 20  # surge doubles after 40 days


def test_production_stops_at_depot_capacity(doc, build) -> None:
    doc["depots"][1]["capacity"] = 12
    doc["lines"] = [one_per_day_line()]
    model, camp = build(doc)
    r = run_campaign(model, camp)
    assert r.on_hand[-1, 1, 0] == 12
    assert r.produced[-1, 0] == 2


def test_disabled_lines_make_nothing_until_an_excursion_enables_them(doc, build) -> None:
    doc["lines"] = [one_per_day_line(enabled=False, licensed_from="JPN")]
    model, camp = build(doc, excursions=[{"name": "on", "enable_lines": ["L1"]}])
    assert model.lines[0].coproduction
    base, on = what_if(model, camp)
    assert base.produced[-1, 0] == 0
    assert on.produced[-1, 0] == 10


def test_attacks_are_reproducible_from_the_seed(doc, build) -> None:
    for d in doc["depots"]:
        d["vulnerability"] = 0.3
    model, camp = build(doc, days=20, attacks=True, seed=5)
    a, b = run_campaign(model, camp), run_campaign(model, camp)
    assert np.array_equal(a.destroyed, b.destroyed)
    assert a.destroyed[-1].sum() > 0


# -- the shipped campaign: the questions the issue asks -------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    model = default_model()
    camp = default_campaign(model)
    return {r.name: r for r in what_if(model, camp)} | {"_base": run_campaign(model, camp)}


def test_long_range_strike_weapons_run_out_within_a_week(shipped) -> None:
    days = shipped["_base"].days_to_exhaustion()
    for mid in ("TOMAHAWK", "JASSM-ER", "LRASM"):
        assert days[mid] is not None and days[mid] < 7  # CSIS 2023: under a week


def test_pre_positioning_lengthens_supply_and_losing_a_depot_shortens_it(shipped) -> None:
    base = shipped["_base"]
    pre = shipped["Pre-positioned stocks in the southwest"]
    lost = shipped["Okinawa depot lost on day 3"]
    b, p, o = base.days_to_exhaustion(), pre.days_to_exhaustion(), lost.days_to_exhaustion()
    assert p["TYPE-12-UPG"] > b["TYPE-12-UPG"]
    assert o["PAC-3-MSE"] < b["PAC-3-MSE"]
    assert lost.fill_rate()["AMRAAM"] < base.fill_rate()["AMRAAM"]


def test_co_production_adds_rounds_and_its_loss_removes_them(shipped) -> None:
    base = shipped["_base"]
    m = base.munitions.index("PAC-3-MSE")
    without = shipped["No co-production in Japan"]
    more = shipped["PAC-3 co-production to ~60/yr"]
    assert without.produced[-1, m] < base.produced[-1, m] < more.produced[-1, m]
    amraam = base.munitions.index("AMRAAM")
    assert shipped["AMRAAM co-production in Japan"].produced[-1, amraam] > base.produced[-1, amraam]


def test_losing_the_energetics_plant_stalls_every_motor_line(shipped) -> None:
    base, lost = shipped["_base"], shipped["Energetics supplier lost on day 1"]
    for mid in ("PAC-3-MSE", "SM-6", "AMRAAM", "JASSM-ER"):
        m = base.munitions.index(mid)
        assert lost.produced[-1, m] < base.produced[-1, m]


def test_excursions_leave_the_baseline_values_untouched() -> None:
    model = default_model()
    camp = default_campaign(model)
    before = (model.depots, model.lines, camp.events)
    for ex in camp.excursions:
        apply_excursion(model, camp, ex)
    assert (model.depots, model.lines, camp.events) == before
