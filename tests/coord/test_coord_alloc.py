from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kizuna.coord import (
    AllocationProblem,
    Assignment,
    FixedStock,
    assign_greedy,
    assign_hungarian,
    assign_milp,
    assign_optimal,
    objective,
)
from kizuna.errors import KizunaError, ValidationError


@st.composite
def problems(draw: st.DrawFn, max_t: int = 7, max_s: int = 4) -> AllocationProblem:
    n_t, n_s = draw(st.integers(0, max_t)), draw(st.integers(1, max_s))
    scores = draw(hnp.arrays(np.float64, (n_t, n_s), elements=st.floats(0.01, 100.0)))
    holes = draw(hnp.arrays(np.bool_, (n_t, n_s)))
    cap = draw(hnp.arrays(np.int64, (n_s,), elements=st.integers(0, 3)))
    return AllocationProblem(np.where(holes, math.nan, scores), cap)


def _valid(problem: AllocationProblem, a: Assignment) -> None:
    targets = [t for t, _ in a]
    assert len(targets) == len(set(targets))
    for t, s in a:
        assert not math.isnan(problem.scores[t, s])
    counts = np.bincount([s for _, s in a], minlength=problem.capacity.size)
    assert (counts <= problem.capacity).all()


def _brute_force(problem: AllocationProblem) -> float:
    """Every way to give each target a shooter or nothing: the reference optimum."""
    n_t, n_s = problem.scores.shape
    best = 0.0
    for choice in itertools.product(range(-1, n_s), repeat=n_t):
        counts = np.bincount([c for c in choice if c >= 0], minlength=n_s)
        if (counts > problem.capacity).any():
            continue
        vals = [problem.scores[t, c] for t, c in enumerate(choice) if c >= 0]
        if not any(math.isnan(v) for v in vals):
            best = max(best, sum(vals))
    return best


@settings(max_examples=80, deadline=None)
@given(problems(max_t=5, max_s=3))
def test_optimal_methods_match_exhaustive_search(problem: AllocationProblem) -> None:
    ref = _brute_force(problem)
    for method in (assign_hungarian, assign_milp, assign_optimal):
        a = method(problem)
        _valid(problem, a)
        assert objective(problem, a) == pytest.approx(ref, rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(problems(max_t=12, max_s=5))
def test_greedy_is_valid_and_never_beats_the_optimum(problem: AllocationProblem) -> None:
    g, h, m = assign_greedy(problem), assign_hungarian(problem), assign_milp(problem)
    for a in (g, h, m):
        _valid(problem, a)
    assert objective(problem, h) == pytest.approx(objective(problem, m), rel=1e-9, abs=1e-9)
    assert objective(problem, g) <= objective(problem, h) + 1e-9
    # greedy is a 1/2-approximation for b-matching
    assert objective(problem, g) >= objective(problem, h) / 2 - 1e-9


def test_greedy_loses_where_the_optimum_does_not() -> None:
    # shooter 0 is the best for both targets, but only shooter 0 can reach target 1
    scores = np.array([[10.0, 9.0], [8.0, math.nan]])
    problem = AllocationProblem(scores, np.array([1, 1]))
    assert assign_greedy(problem) == ((0, 0),)
    assert assign_hungarian(problem) == ((0, 1), (1, 0))
    assert assign_milp(problem) == ((0, 1), (1, 0))


def test_bad_problems_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        AllocationProblem(np.array([[0.0]]), np.array([1]))
    with pytest.raises(ValueError, match="targets x shooters"):
        AllocationProblem(np.ones((2, 2)), np.array([1]))


def test_fixed_stock_counts_down_and_refuses_to_go_negative() -> None:
    stock = FixedStock({("us_ddg_1", "tomahawk"): 2})
    stock.expend("us_ddg_1", "tomahawk", 2, 10.0)
    assert stock.on_hand("us_ddg_1", "tomahawk") == 0
    assert stock.expended == [(10.0, "us_ddg_1", "tomahawk", 2)]
    with pytest.raises(KizunaError, match="0 on hand"):
        stock.expend("us_ddg_1", "tomahawk", 1, 11.0)
    with pytest.raises(ValidationError, match=r"us_ddg_1\.tomahawk"):
        FixedStock({("us_ddg_1", "tomahawk"): -1})
