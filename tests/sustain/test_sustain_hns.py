"""The HNS planner: feasible, optimal against a brute-force grid, honest shadow prices, and
infeasibility explained by the constraints that clash."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ConfigError, ValidationError
from kizuna.sustain import (
    HnsConstraint,
    HnsModel,
    HnsPlan,
    InfeasiblePlanError,
    Objective,
    Sense,
    conflict_set,
    default_hns,
    parse_hns,
    plan,
)

BN = 1e9


def score(model: HnsModel, objective: Objective, spend_bn: dict[str, float]) -> float:
    """The piecewise-linear benefit of a spending vector, straight from the segments."""
    total = 0.0
    for cat in model.categories:
        left = spend_bn[cat.id]
        for seg in cat.segments:
            width = np.inf if seg.width_yen is None else seg.width_yen / BN
            used = min(left, width)
            total += seg.benefit(objective) * used
            left -= used
        if left > 1e-9:
            return -np.inf  # beyond what the category can absorb
    return total


def feasible(model: HnsModel, spend_bn: dict[str, float], budget: float, tol: float = 1e-6) -> bool:
    if sum(spend_bn.values()) > budget / BN + tol:
        return False
    for con in model.constraints:
        lhs = sum(spend_bn[c] for c in con.categories)
        rhs = con.rhs(budget) / BN
        if (con.sense is Sense.LE and lhs > rhs + tol) or (
            con.sense is Sense.GE and lhs < rhs - tol
        ):
            return False
    return all(v >= -tol for v in spend_bn.values())


def spend(result: HnsPlan) -> dict[str, float]:
    return {a.category: a.planned_yen / BN for a in result.allocations}


@pytest.mark.parametrize("objective", list(Objective))
def test_the_shipped_plan_meets_every_constraint(objective: Objective) -> None:
    model = default_hns()
    result = plan(model, objective, 211e9)
    assert feasible(model, spend(result), 211e9)
    for c in result.constraints:
        assert c.slack_yen >= -1e-3
    assert result.constraint("budget").binding  # the money is all spent: more always helps


def test_the_shipped_figures_trace_to_the_sma() -> None:
    model = default_hns()
    assert model.budget_yen == pytest.approx(1.055e12 / 5)
    assert sum(c.current_yen for c in model.categories) == pytest.approx(211e9)
    assert all(c.source for c in model.categories + model.constraints)  # type: ignore[operator]


def small_model(**over: Any) -> HnsModel:
    doc: dict[str, Any] = {
        "source": "test", "budget_yen": 12e9, "yen_per_usd": 150,
        "categories": [
            {"id": "a", "current_yen": 6e9, "source": "t", "segments": [
                {"width_yen": 4e9, "stocks": 3, "training": 1}, {"stocks": 1, "training": 0.5}]},
            {"id": "b", "current_yen": 6e9, "source": "t", "segments": [
                {"width_yen": 6e9, "stocks": 2, "training": 2},
                {"width_yen": 4e9, "stocks": 0.5, "training": 1}]},
            {"id": "c", "current_yen": 0, "source": "t", "segments": [
                {"stocks": 1.5, "training": 0}]},
        ],
        "constraints": [
            {"id": "a_floor", "sense": ">=", "categories": ["a"], "yen": 2e9, "source": "t"},
            {"id": "bc_cap", "sense": "<=", "categories": ["b", "c"], "yen": 8e9, "source": "t"},
            {"id": "c_cap", "sense": "<=", "categories": ["c"], "share_of_budget": 0.25,
             "source": "t"},
        ],
    }  # fmt: skip
    doc.update(over)
    return parse_hns(doc)


def grid_best(model: HnsModel, objective: Objective, budget: float, step: float) -> float:
    ids = [c.id for c in model.categories]
    top = budget / BN
    axis = np.arange(0.0, top + 1e-9, step)
    best = -np.inf
    for combo in itertools.product(axis, repeat=len(ids)):
        if sum(combo) > top + 1e-9:
            continue
        s = dict(zip(ids, combo, strict=True))
        if feasible(model, s, budget):
            best = max(best, score(model, objective, s))
    return best


@pytest.mark.parametrize("objective", [Objective.STOCKS, Objective.TRAINING])
def test_lp_is_no_worse_than_a_brute_force_grid(objective: Objective) -> None:
    model = small_model()
    result = plan(model, objective, 12e9)
    best = grid_best(model, objective, 12e9, 0.5)
    assert feasible(model, spend(result), 12e9)
    assert result.value >= best - 1e-9
    assert result.value == pytest.approx(best)  # breakpoints lie on the grid
    assert result.value == pytest.approx(score(model, objective, spend(result)))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4), st.integers(0, 4)),
             min_size=2, max_size=3),
    st.integers(2, 8),
    st.integers(0, 3),
)  # fmt: skip
def test_random_small_plans_beat_every_grid_point(
    cats: list[tuple[int, int, int]], budget_bn: int, floor_bn: int
) -> None:
    categories = [
        {"id": f"k{i}", "current_yen": 0, "source": "t", "segments": [
            {"width_yen": w * BN, "stocks": hi + lo, "training": 1},
            {"stocks": lo, "training": 0}]}
        for i, (hi, w, lo) in enumerate(cats)
    ]  # fmt: skip
    constraints = [{"id": "floor", "sense": ">=", "categories": ["k0"], "yen": floor_bn * BN,
                    "source": "t"}]  # fmt: skip
    model = small_model(categories=categories, constraints=constraints, budget_yen=budget_bn * BN)
    best = grid_best(model, Objective.STOCKS, budget_bn * BN, 1.0)
    try:
        result = plan(model, Objective.STOCKS, budget_bn * BN)
    except InfeasiblePlanError as err:
        assert best == -np.inf  # no grid point is feasible either
        assert err.field == "budget_yen" and floor_bn > budget_bn
        return
    assert feasible(model, spend(result), budget_bn * BN)
    assert result.value >= best - 1e-7


def _perturbed(model: HnsModel, cid: str, delta_bn: float) -> tuple[HnsModel, float]:
    if cid == "budget":
        return model, model.budget_yen + delta_bn * BN
    cons = []
    for c in model.constraints:
        moved = c
        if c.id == cid and c.yen is not None:
            moved = dataclasses.replace(c, yen=c.yen + delta_bn * BN)
        elif c.id == cid:
            share = (c.share_of_budget or 0.0) + delta_bn * BN / model.budget_yen
            moved = dataclasses.replace(c, share_of_budget=share)
        cons.append(moved)
    return dataclasses.replace(model, constraints=tuple(cons)), model.budget_yen


@pytest.mark.parametrize("objective", [Objective.STOCKS, Objective.TRAINING])
@pytest.mark.parametrize("which", ["shipped", "small", "share_cap_binds"])
def test_shadow_prices_match_a_perturbation(objective: Objective, which: str) -> None:
    model = {
        "shipped": default_hns,
        "small": small_model,
        "share_cap_binds": lambda: _with_share(small_model(), "c_cap", 0.1),
    }[which]()
    base = plan(model, objective, model.budget_yen)
    delta = 0.01
    assert base.binding
    for con in base.constraints:
        up_model, up_budget = _perturbed(model, con.id, +delta)
        down_model, down_budget = _perturbed(model, con.id, -delta)
        up = plan(up_model, objective, up_budget)
        down = plan(down_model, objective, down_budget)
        right = (up.value - base.value) / delta
        left = (base.value - down.value) / delta
        lo, hi = min(left, right), max(left, right)
        assert lo - 1e-6 <= con.shadow_per_bn <= hi + 1e-6, (con.id, left, right)
        if not con.binding:
            assert con.shadow_per_bn == pytest.approx(0.0, abs=1e-9)


def _with_share(model: HnsModel, cid: str, share: float) -> HnsModel:
    cons = tuple(
        dataclasses.replace(c, share_of_budget=share) if c.id == cid else c
        for c in model.constraints
    )
    return dataclasses.replace(model, constraints=cons)


def test_a_yen_of_budget_also_lifts_caps_set_as_shares() -> None:
    # c is capped at 10% of the budget and worth 1.5 a ¥bn; the rest goes to a at 1.0
    result = plan(_with_share(small_model(), "c_cap", 0.1), Objective.STOCKS, 12e9)
    assert result.constraint("c_cap").binding
    assert result.constraint("budget").shadow_per_bn == pytest.approx(1.0 + 0.1 * 0.5)


def test_weighted_mixes_the_normalised_scores() -> None:
    model = default_hns()
    best_s = plan(model, Objective.STOCKS).value
    best_t = plan(model, Objective.TRAINING).value
    mixed = plan(model, Objective.WEIGHTED)
    w = model.weights
    expected = w["stocks"] * mixed.scores["stocks"] / best_s
    expected += w["training"] * mixed.scores["training"] / best_t
    assert mixed.value == pytest.approx(expected)
    assert mixed.value <= w["stocks"] + w["training"] + 1e-9


def test_what_a_yen_buys_is_priced_from_the_unit_cost() -> None:
    result = plan(default_hns(), Objective.STOCKS)
    stock = next(a for a in result.allocations if a.category == "stockpile")
    assert stock.buys_per_bn == "1.67 PAC-3 MSE interceptors"  # ¥1 bn / ($4 M × ¥150)
    assert stock.marginal_per_bn == pytest.approx(0.06)


# -- infeasible and bad input ---------------------------------------------------------------


def test_a_budget_below_the_mandatory_floor_names_the_floors() -> None:
    with pytest.raises(InfeasiblePlanError) as info:
        plan(default_hns(), Objective.STOCKS, 150e9)
    err = info.value
    assert err.field == "budget_yen"
    assert set(err.conflict) == {"budget", "labour_floor", "utilities_min", "facilities_min"}
    assert err.floor_yen == pytest.approx(175e9)
    assert "below the mandatory floor of ¥175.0 bn" in str(err)
    assert "HiGHS" not in str(err) and "status" not in str(err)


def test_clashing_constraints_are_cut_to_a_minimal_set() -> None:
    model = default_hns()
    cut = HnsConstraint("facilities_cut", Sense.LE, ("facilities",), 10e9, None, "t")
    clash = dataclasses.replace(model, constraints=(*model.constraints, cut))
    with pytest.raises(InfeasiblePlanError) as info:
        plan(clash, Objective.TRAINING, 211e9)
    err = info.value
    assert set(err.conflict) == {"facilities_min", "facilities_cut"}
    assert err.field == "constraints.facilities_min"
    assert "cannot all hold together" in err.explanation
    assert "facilities >= ¥15.0 bn" in err.explanation
    assert "facilities <= ¥10.0 bn" in err.explanation


def test_every_member_of_a_conflict_is_needed() -> None:
    model = default_hns()
    push = HnsConstraint("depot_push", Sense.GE, ("depots_hardening", "stockpile"), 60e9, None, "t")
    clash = dataclasses.replace(model, constraints=(*model.constraints, push))
    ids = conflict_set(clash, 211e9)
    assert "depot_push" in ids
    kept = [c for c in clash.constraints if c.id in ids]
    budget = 211e9 if "budget" in ids else 1e15
    for member in ids:
        rest = tuple(c for c in kept if c.id != member)
        sub = dataclasses.replace(clash, constraints=rest)
        assert conflict_set(sub, 1e15 if member == "budget" else budget) == [], member


def test_a_floor_above_a_category_capacity_names_the_capacity() -> None:
    model = small_model(
        constraints=[{"id": "b_min", "sense": ">=", "categories": ["b"], "yen": 11e9,
                      "source": "t"}]
    )  # fmt: skip
    with pytest.raises(InfeasiblePlanError) as info:
        plan(model, Objective.STOCKS, 50e9)
    assert set(info.value.conflict) == {"b_min", "b.capacity"}


@pytest.mark.parametrize("budget", [0.0, -5e9, float("nan"), float("inf")])
def test_nonsense_budgets_are_refused(budget: float) -> None:
    with pytest.raises(ValidationError) as info:
        plan(default_hns(), Objective.STOCKS, budget)
    assert info.value.field == "budget_yen"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"categories": [{"id": "x", "current_yen": 0, "source": "t", "segments": [
            {"width_yen": 1e9, "stocks": 1, "training": 0}, {"stocks": 2, "training": 0}]}]},
         "categories[0].segments[1].stocks"),
        ({"categories": [{"id": "x", "current_yen": -1, "source": "t", "segments": [
            {"stocks": 1, "training": 0}]}]}, "categories[0].current_yen"),
        ({"categories": [{"id": "x", "current_yen": 0, "source": "t", "segments": [
            {"stocks": 1, "training": 0}, {"stocks": 0, "training": 0}]}]},
         "categories[0].segments[1]"),
        ({"constraints": [{"id": "q", "sense": "<=", "categories": ["zz"], "yen": 1,
                           "source": "t"}]}, "constraints[0].categories[0]"),
        ({"constraints": [{"id": "q", "sense": "<=", "categories": ["a"], "yen": 1,
                           "share_of_budget": 0.1, "source": "t"}]}, "constraints[0].yen"),
        ({"constraints": [{"id": "q", "sense": "==", "categories": ["a"], "yen": 1,
                           "source": "t"}]}, "constraints[0].sense"),
        ({"budget_yen": -1}, "budget_yen"),
    ],
)  # fmt: skip
def test_bad_hns_data_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        small_model(**change)
    assert info.value.field == field
