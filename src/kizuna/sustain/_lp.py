"""The HNS budget planner: a linear program solved with scipy's HiGHS.

Variables are yen (in ¥ bn, for conditioning) spent in each segment of each category; the
segments' falling benefits make the objective concave, so the LP fills them in order. Shadow
prices come from HiGHS's dual values; an infeasible set of constraints is cut down to a minimal
conflicting subset (a deletion filter) and explained in words.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from kizuna.errors import ValidationError
from kizuna.sustain._hns import HnsModel, Objective, Sense

__all__ = [
    "Allocation",
    "ConstraintReport",
    "HnsPlan",
    "InfeasiblePlanError",
    "conflict_set",
    "plan",
]

BN = 1e9
BUDGET = "budget"
_TOL = 1e-7

FloatArray = npt.NDArray[np.float64]


class InfeasiblePlanError(ValidationError):
    """No allocation meets every constraint; ``conflict`` is a minimal set that clashes."""

    def __init__(
        self, explanation: str, *, field: str, conflict: tuple[str, ...], floor_yen: float | None
    ) -> None:
        super().__init__(explanation, field=field)
        self.explanation = explanation
        self.conflict = conflict
        self.floor_yen = floor_yen


@dataclass(frozen=True, slots=True)
class Allocation:
    category: str
    name: str
    current_yen: float
    planned_yen: float
    marginal_per_bn: float  # objective points the next ¥1 bn here would add
    buys_per_bn: str | None  # e.g. "1.7 PAC-3 MSE interceptors"


@dataclass(frozen=True, slots=True)
class ConstraintReport:
    id: str
    description: str
    lhs_yen: float
    rhs_yen: float
    slack_yen: float
    binding: bool
    shadow_per_bn: float  # objective change per ¥1 bn more on the right-hand side
    source: str


@dataclass(frozen=True, slots=True)
class HnsPlan:
    objective: Objective
    budget_yen: float
    value: float
    scores: dict[str, float]  # the plan's stocks and training scores, whatever the objective
    allocations: tuple[Allocation, ...]
    constraints: tuple[ConstraintReport, ...]

    @property
    def binding(self) -> tuple[ConstraintReport, ...]:
        return tuple(c for c in self.constraints if c.binding)

    def constraint(self, cid: str) -> ConstraintReport:
        return next(c for c in self.constraints if c.id == cid)

    def to_json(self) -> dict[str, object]:
        return {
            "status": "optimal",
            "objective": self.objective.value,
            "budget_yen": self.budget_yen,
            "value": self.value,
            "scores": self.scores,
            "allocations": [
                {
                    "category": a.category,
                    "name": a.name,
                    "current_yen": a.current_yen,
                    "planned_yen": a.planned_yen,
                    "change_yen": a.planned_yen - a.current_yen,
                    "marginal_per_bn": a.marginal_per_bn,
                    "buys_per_bn": a.buys_per_bn,
                }
                for a in self.allocations
            ],
            "constraints": [
                {
                    "id": c.id,
                    "description": c.description,
                    "lhs_yen": c.lhs_yen,
                    "rhs_yen": c.rhs_yen,
                    "slack_yen": c.slack_yen,
                    "binding": c.binding,
                    "shadow_per_bn": c.shadow_per_bn,
                    "source": c.source,
                }
                for c in self.constraints
            ],
        }


@dataclass(frozen=True, slots=True)
class _Rows:
    """Named ``A x <= b`` rows over segment variables, in ¥ bn."""

    ids: tuple[str, ...]
    a: FloatArray
    b: FloatArray
    sign: tuple[float, ...]  # +1 for <=, -1 for >= (stored negated)


def _layout(model: HnsModel) -> tuple[list[int], list[tuple[float, float | None]]]:
    owner: list[int] = []
    bounds: list[tuple[float, float | None]] = []
    for i, cat in enumerate(model.categories):
        for seg in cat.segments:
            owner.append(i)
            bounds.append((0.0, None if seg.width_yen is None else seg.width_yen / BN))
    return owner, bounds


def _rows(model: HnsModel, owner: list[int], budget_yen: float) -> _Rows:
    n = len(owner)
    ids, rows, rhs, sign = [BUDGET], [np.ones(n)], [budget_yen / BN], [1.0]
    for con in model.constraints:
        members = {model.index(c) for c in con.categories}
        s = 1.0 if con.sense is Sense.LE else -1.0
        rows.append(np.array([s if o in members else 0.0 for o in owner]))
        rhs.append(s * con.rhs(budget_yen) / BN)
        ids.append(con.id)
        sign.append(s)
    return _Rows(tuple(ids), np.vstack(rows), np.array(rhs), tuple(sign))


def _coefficients(model: HnsModel, objective: Objective) -> FloatArray:
    return np.array(
        [seg.benefit(objective) for cat in model.categories for seg in cat.segments],
        dtype=np.float64,
    )


def _maximise(
    c: FloatArray, rows: _Rows, bounds: list[tuple[float, float | None]]
) -> tuple[bool, FloatArray, FloatArray, float]:
    """(feasible, x, row duals as d(max)/d(b), objective); HiGHS minimises, so negate."""
    res = linprog(-c, A_ub=rows.a, b_ub=rows.b, bounds=bounds, method="highs")
    if res.status == 2:
        return False, np.zeros(len(c)), np.zeros(len(rows.b)), math.nan
    if res.status != 0:
        raise ValidationError(f"the solver stopped: {res.message}", field="objective")
    return True, np.asarray(res.x), -np.asarray(res.ineqlin.marginals), float(-res.fun)


def _objective_vector(
    model: HnsModel, objective: Objective, rows: _Rows, bounds: list[tuple[float, float | None]]
) -> FloatArray:
    if objective is not Objective.WEIGHTED:
        return _coefficients(model, objective)
    # each score is scaled by the best this budget can reach on it, so the weights mean shares
    total = np.zeros(len(bounds))
    for score in (Objective.STOCKS, Objective.TRAINING):
        weight = model.weights[score.value]
        c = _coefficients(model, score)
        ok, _, _, best = _maximise(c, rows, bounds)
        if weight > 0 and ok and best > 0:
            total += weight * c / best
    return total


def plan(model: HnsModel, objective: Objective, budget_yen: float | None = None) -> HnsPlan:
    """The allocation that maximises ``objective`` within the budget and every constraint."""
    budget = model.budget_yen if budget_yen is None else budget_yen
    if not math.isfinite(budget) or budget <= 0:
        raise ValidationError(
            f"must be a positive amount of yen, got {budget!r}", field="budget_yen"
        )
    owner, bounds = _layout(model)
    rows = _rows(model, owner, budget)
    c = _objective_vector(model, objective, rows, bounds)
    ok, x, duals, value = _maximise(c, rows, bounds)
    if not ok:
        raise _explain(model, budget)
    spent = np.bincount(owner, weights=x, minlength=len(model.categories))
    allocations = tuple(
        _allocation(model, i, float(spent[i]), (x, owner, c)) for i in range(len(model.categories))
    )
    lhs = rows.a @ x
    reports = []
    for r, rid in enumerate(rows.ids):
        slack = float(rows.b[r] - lhs[r])
        con = next((k for k in model.constraints if k.id == rid), None)
        reports.append(
            ConstraintReport(
                id=rid,
                description=con.describe(budget) if con else f"total <= ¥{budget / BN:,.1f} bn",
                lhs_yen=float(rows.sign[r] * lhs[r] * BN),
                rhs_yen=float(rows.sign[r] * rows.b[r] * BN),
                slack_yen=slack * BN,
                binding=abs(slack) <= _TOL * max(1.0, abs(float(rows.b[r]))),
                shadow_per_bn=float(rows.sign[r] * duals[r]),
                source=con.source if con else model.source,
            )
        )
    scores = {
        s.value: float(_coefficients(model, s) @ x) for s in (Objective.STOCKS, Objective.TRAINING)
    }
    return HnsPlan(objective, budget, value, scores, allocations, _budget_total(model, reports))


def _budget_total(model: HnsModel, reports: list[ConstraintReport]) -> tuple[ConstraintReport, ...]:
    """A yen more of budget also lifts every cap set as a share of the budget: its shadow
    price is the budget row's dual plus each share times that constraint's shadow price."""
    shares = {c.id: c.share_of_budget for c in model.constraints if c.yen is None}
    extra = sum((shares[r.id] or 0.0) * r.shadow_per_bn for r in reports if r.id in shares)
    return tuple(
        dataclasses.replace(r, shadow_per_bn=r.shadow_per_bn + extra) if r.id == BUDGET else r
        for r in reports
    )


def _allocation(
    model: HnsModel, i: int, spent: float, solution: tuple[FloatArray, list[int], FloatArray]
) -> Allocation:
    x, owner, c = solution
    cat = model.categories[i]
    marginal = 0.0
    for v in (v for v, o in enumerate(owner) if o == i):
        width = cat.segments[v - owner.index(i)].width_yen
        if width is None or x[v] < width / BN - _TOL:
            marginal = float(c[v])
            break
    buys = None
    if cat.buys is not None:
        per_bn = BN / (cat.buys.unit_cost_usd * model.yen_per_usd)
        buys = f"{per_bn:,.2f} {cat.buys.unit}"
    return Allocation(cat.id, cat.name, cat.current_yen, float(spent) * BN, marginal, buys)


@dataclass(frozen=True, slots=True)
class _Requirement:
    """One named row over category totals, for finding and explaining conflicts."""

    id: str
    coef: FloatArray
    rhs: float  # in ¥ bn, of the <= form
    text: str


def _requirements(model: HnsModel, budget: float) -> list[_Requirement]:
    n = len(model.categories)
    reqs = [_Requirement(BUDGET, np.ones(n), budget / BN, f"everything <= ¥{budget / BN:,.1f} bn")]
    for con in model.constraints:
        s = 1.0 if con.sense is Sense.LE else -1.0
        members = {model.index(c) for c in con.categories}
        coef = np.array([s if i in members else 0.0 for i in range(n)])
        reqs.append(_Requirement(con.id, coef, s * con.rhs(budget) / BN, con.describe(budget)))
    for i, cat in enumerate(model.categories):
        cap = cat.capacity_yen
        if cap is not None:
            coef = np.zeros(n)
            coef[i] = 1.0
            text = f"{cat.id} can absorb at most ¥{cap / BN:,.1f} bn (its segments' widths)"
            reqs.append(_Requirement(f"{cat.id}.capacity", coef, cap / BN, text))
    return reqs


def _feasible(reqs: list[_Requirement], n: int) -> bool:
    if not reqs:
        return True
    res = linprog(
        np.zeros(n),
        A_ub=np.vstack([r.coef for r in reqs]),
        b_ub=np.array([r.rhs for r in reqs]),
        bounds=[(0.0, None)] * n,
        method="highs",
    )
    return bool(res.status == 0)


def _floor(reqs: list[_Requirement], n: int) -> tuple[float, list[_Requirement]] | None:
    """The least total spending the non-budget requirements allow (¥ bn) and the ones that
    set it (non-zero duals); None if they cannot hold together at all."""
    others = [r for r in reqs if r.id != BUDGET]
    if not others:
        return 0.0, []
    res = linprog(
        np.ones(n),
        A_ub=np.vstack([r.coef for r in others]),
        b_ub=np.array([r.rhs for r in others]),
        bounds=[(0.0, None)] * n,
        method="highs",
    )
    if res.status != 0:
        return None
    setters = [r for r, dual in zip(others, res.ineqlin.marginals, strict=True) if abs(dual) > 1e-9]
    return float(res.fun), setters


def conflict_set(model: HnsModel, budget: float) -> list[str]:
    """A minimal set of requirements that cannot hold together (empty if they all can)."""
    n = len(model.categories)
    kept = _requirements(model, budget)
    if _feasible(kept, n):
        return []
    for req in list(kept):
        trial = [r for r in kept if r is not req]
        if not _feasible(trial, n):
            kept = trial
    return [r.id for r in kept]


def _explain(model: HnsModel, budget: float) -> InfeasiblePlanError:
    n = len(model.categories)
    reqs = _requirements(model, budget)
    ids = conflict_set(model, budget)
    floor = _floor(reqs, n)
    if BUDGET in ids and floor is not None:
        least, setters = floor
        listing = " + ".join(f"{r.id} ({r.text})" for r in setters)
        return InfeasiblePlanError(
            f"¥{budget / BN:,.1f} bn is below the mandatory floor of ¥{least:,.1f} bn set by "
            f"{listing}. Raise the budget to at least ¥{least:,.1f} bn or relax one of them.",
            field="budget_yen",
            conflict=(BUDGET, *(r.id for r in setters)),
            floor_yen=least * BN,
        )
    chosen = [r for r in reqs if r.id in ids]
    listing = "; ".join(f"{r.id}: {r.text}" for r in chosen)
    return InfeasiblePlanError(
        f"these {len(chosen)} constraints cannot all hold together: {listing}. "
        "Relax or remove any one of them.",
        field=f"constraints.{ids[0]}" if ids else "constraints",
        conflict=tuple(ids),
        floor_yen=None,
    )
