"""Association gives exactly what its list route gives, ties included, whichever route
finds the clusters; and a group's rows and newborns are woven by one index as slices
would weave them."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from kizuna.fusion._assoc import _clusters, _solve, assign_edges
from kizuna.fusion._together import _weave_order

MISS = 10.0


def _edges(
    seed: int, ties: bool, wide: bool
) -> tuple[int, int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Random edges under ``MISS``; ``ties`` draws costs from a few values so that rows see
    equal costs, ``wide`` gives many columns so that many rows have columns to themselves."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 14))
    m = int(rng.integers(1, 60 if wide else 14))
    table = rng.random((n, m)) < rng.uniform(0.05, 0.6)
    rows, cols = table.nonzero()
    if ties:
        cost = rng.choice(np.array([0.0, 1.0, 2.5, 2.5000000001, 7.0]), rows.size)
    else:
        cost = rng.uniform(0.0, MISS, rows.size)
    order = rng.permutation(rows.size)  # edges come in any order
    return n, m, (rows[order].astype(np.int64), cols[order].astype(np.int64), cost[order])


def _old_route(
    n: int, m: int, edges: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Lone pairs directly, every other edge's cluster found in Python and solved by
    ``_solve`` from lists."""
    rows, cols, cost = edges
    row_deg = np.bincount(rows, minlength=n)
    col_deg = np.bincount(cols, minlength=m)
    lone = (row_deg[rows] == 1) & (col_deg[cols] == 1)
    r, c, w = rows[~lone], cols[~lone], cost[~lone]
    r2, c2 = _solve(_clusters(r.tolist(), c.tolist()), (r, c, w), MISS)
    mr = np.concatenate([rows[lone], r2])
    mc = np.concatenate([cols[lone], c2])
    order = np.argsort(mr, kind="stable")
    return mr[order], mc[order]


@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans(), st.sampled_from([0, 256]))
def test_both_cluster_routes_assign_as_the_list_route_does(
    seed: int, ties: bool, wide: bool, small_max: int
) -> None:
    n, m, edges = _edges(seed, ties, wide)
    got_r, got_c = assign_edges(n, m, edges, miss_cost=MISS, small_max=small_max)
    want_r, want_c = _old_route(n, m, edges)
    assert got_r.dtype == want_r.dtype and got_c.dtype == want_c.dtype
    np.testing.assert_array_equal(got_r, want_r)
    np.testing.assert_array_equal(got_c, want_c)


def test_a_row_takes_its_lowest_column_among_equal_costs() -> None:
    rows = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    cols = np.array([4, 2, 3, 5, 6], dtype=np.int64)
    cost = np.array([1.0, 1.0, 3.0, 0.0, 0.0])
    r, c = assign_edges(2, 7, (rows, cols, cost), miss_cost=MISS)
    assert r.tolist() == [0, 1] and c.tolist() == [2, 5]


def _weave(old: list[np.ndarray], new: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([piece for pair in zip(old, new, strict=True) for piece in pair])


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=8))
def test_the_weave_index_puts_each_trackers_newborns_after_its_own_rows(
    sizes: list[tuple[int, int]],
) -> None:
    ns, nb = [a for a, _ in sizes], [b for _, b in sizes]
    old_rows = np.arange(sum(ns)) * 10
    new_rows = -1 - np.arange(sum(nb))
    cuts_old = np.cumsum([0, *ns])
    cuts_new = np.cumsum([0, *nb])
    want = _weave(
        [old_rows[a:b] for a, b in itertools.pairwise(cuts_old)],
        [new_rows[a:b] for a, b in itertools.pairwise(cuts_new)],
    )
    got = np.concatenate([old_rows, new_rows])[_weave_order(ns, nb)]
    np.testing.assert_array_equal(got, want)
