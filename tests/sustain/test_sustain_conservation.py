"""Laws of the day loop: every round is accounted for at every step, and the array engine
agrees exactly with the plain reference loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.sustain import (
    Stockpile,
    build_schedule,
    default_campaign,
    default_model,
    parse_campaign,
    parse_model,
    run_schedule,
    what_if,
)
from kizuna.sustain._reference import reference_run

MUNITIONS = ["A", "B", "C"]
SUPPLIERS = ["s0", "s1", "s2"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    n_mun = draw(st.integers(1, 3))
    n_dep = draw(st.integers(2, 4))
    mun = MUNITIONS[:n_mun]
    depots = []
    for i in range(n_dep):
        stock = {m: draw(st.integers(0, 40)) for m in mun}
        cap = draw(st.one_of(st.none(), st.integers(0, 80)))
        cap = None if cap is None else cap + sum(stock.values())
        depots.append({
            "id": f"d{i}", "nation": draw(st.sampled_from(["USA", "JPN"])), "lat": 0, "lon": 0,
            "capacity": cap, "vulnerability": draw(st.sampled_from([0.0, 0.05, 0.2])),
            "stock": stock, "source": "test",
        })  # fmt: skip
    pairs = [(a, b) for a in range(n_dep) for b in range(n_dep) if a != b]
    links = [
        {"origin": f"d{a}", "dest": f"d{b}", "lift_per_day": draw(st.integers(0, 30)),
         "delay_days": draw(st.integers(1, 4)), "source": "test"}
        for a, b in draw(st.lists(st.sampled_from(pairs), max_size=5))
    ]  # fmt: skip
    lines = [
        {"id": f"L{j}", "nation": "USA", "munition": draw(st.sampled_from(mun)),
         "depot": f"d{draw(st.integers(0, n_dep - 1))}",
         "rate_per_month": draw(st.floats(0, 90)), "surge_lead_days": draw(st.integers(0, 20)),
         "start_day": draw(st.integers(-30, 10)), "ramp": [[0, 0.2], [1, 1.0]],
         "components": draw(st.lists(st.sampled_from(["c0", "c1"]), unique=True)),
         "component_buffer_days": draw(st.integers(0, 5)), "source": "test"}
        for j in range(draw(st.integers(0, 3)))
    ]  # fmt: skip
    model = {
        "munitions": [{"id": m, "owner": "USA", "unit_cost_usd": 1, "source": "t"} for m in mun],
        "depots": depots, "links": links, "lines": lines,
        "suppliers": [{"id": s, "nation": "USA", "source": "t"} for s in SUPPLIERS],
        "components": [
            {"id": "c0", "suppliers": ["s0"], "source": "t"},
            {"id": "c1", "suppliers": ["s1", "s2"], "inputs": ["c0"], "source": "t"},
        ],
    }  # fmt: skip
    days = draw(st.integers(1, 30))
    consumption = [
        {"munition": draw(st.sampled_from(mun)), "depot": f"d{draw(st.integers(0, n_dep - 1))}",
         "per_day": draw(st.floats(0, 12)), "from_day": 1, "to_day": days, "source": "t"}
        for _ in range(draw(st.integers(0, 5)))
    ]  # fmt: skip
    events = [
        {"kind": "depot_lost", "target": f"d{draw(st.integers(0, n_dep - 1))}",
         "day": draw(st.integers(1, days))}
        for _ in range(draw(st.integers(0, 1)))
    ] + [
        {"kind": "supplier_lost", "target": draw(st.sampled_from(SUPPLIERS)),
         "day": draw(st.integers(1, days))}
        for _ in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    campaign = {
        "name": "law", "days": days, "cover_days": draw(st.integers(0, 5)),
        "surge": draw(st.booleans()), "attacks": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)), "consumption": consumption, "events": events,
    }  # fmt: skip
    return model, campaign


LAW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _balanced(r: Any) -> None:
    on_hand = r.on_hand.sum(axis=1)
    lhs = r.initial[None, :] + r.produced
    rhs = r.consumed + on_hand + r.in_transit + r.destroyed
    assert np.array_equal(lhs, rhs), "initial + produced != consumed + on hand + transit + lost"
    assert (r.on_hand >= 0).all() and (r.in_transit >= 0).all()


@LAW
@given(scenarios())
def test_every_round_is_accounted_for_on_every_day(sc: tuple[dict[str, Any], ...]) -> None:
    model = parse_model(sc[0])
    camp = parse_campaign(sc[1], model)
    rng = np.random.default_rng(camp.seed) if camp.attacks else None
    r = run_schedule(model, build_schedule(model, camp), "law", rng)
    _balanced(r)
    if not camp.attacks and not camp.events:
        assert r.destroyed[-1].sum() == 0  # the form: nothing lost, nothing to add


@LAW
@given(scenarios())
def test_array_engine_matches_the_plain_reference_loop(sc: tuple[dict[str, Any], ...]) -> None:
    model = parse_model(sc[0])
    camp = parse_campaign(sc[1], model)
    sched = build_schedule(model, camp)

    def rng() -> np.random.Generator | None:
        return np.random.default_rng(camp.seed) if camp.attacks else None

    fast = run_schedule(model, sched, "law", rng())
    slow = reference_run(sched, rng())
    assert fast.on_hand.tolist() == slow.on_hand
    assert fast.in_transit.tolist() == slow.in_transit
    assert fast.produced.tolist() == slow.produced
    assert fast.consumed.tolist() == slow.consumed
    assert fast.destroyed.tolist() == slow.destroyed
    assert fast.shortfall.tolist() == slow.shortfall


@LAW
@given(scenarios(), st.lists(st.tuples(st.sampled_from(["USA", "JPN", "KOR"]),
                                       st.integers(1, 6)), max_size=40))  # fmt: skip
def test_shots_fired_between_days_keep_the_books_balanced(
    sc: tuple[dict[str, Any], ...], shots: list[tuple[str, int]]
) -> None:
    model = parse_model(sc[0])
    camp = parse_campaign(sc[1], model)
    rng = np.random.default_rng(camp.seed) if camp.attacks else None
    pile = Stockpile(model, build_schedule(model, camp), rng)
    mids = [m.id for m in model.munitions]
    for k, (nation, qty) in enumerate(shots):
        mid = mids[k % len(mids)]
        before = pile.on_hand(nation, mid)
        ok = pile.consume(nation, mid, qty)
        assert ok == (before >= qty)
        assert pile.on_hand(nation, mid) == (before - qty if ok else before)
        assert all(pile.ledger(m).balanced for m in mids)
        if k % 3 == 2 and pile.day < camp.days:
            pile.step()
            assert all(pile.ledger(m).balanced for m in mids)


def test_the_shipped_campaign_and_every_excursion_balance() -> None:
    model = default_model()
    for r in what_if(model, default_campaign(model)):
        _balanced(r)
