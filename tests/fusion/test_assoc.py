"""Gating and GNN: the sparse, clustered solver agrees with a dense optimal assignment."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from kizuna.fusion._assoc import candidate_pairs, gnn_assign

MISS = 10.0


def _edges(seed: int) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    nr, nc = int(rng.integers(0, 25)), int(rng.integers(0, 25))
    tracks = rng.uniform(0, 60, (nr, 2))
    dets = rng.uniform(0, 60, (nc, 2))
    rows, cols = candidate_pairs(tracks, np.full(nr, 8.0), dets)
    cost = ((tracks[rows] - dets[cols]) ** 2).sum(axis=1) / 4.0
    return nr, nc, rows, cols, cost


def _objective(nr: int, rows: np.ndarray, cols: np.ndarray, cost: dict) -> float:
    return sum(cost[(r, c)] for r, c in zip(rows.tolist(), cols.tolist(), strict=True)) + MISS * (
        nr - rows.size
    )


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_gnn_matches_a_dense_solve(seed: int) -> None:
    nr, nc, rows, cols, cost = _edges(seed)
    mr, mc = gnn_assign(nr, nc, rows, cols, cost, miss_cost=MISS)
    table = dict(zip(zip(rows.tolist(), cols.tolist(), strict=True), cost.tolist(), strict=True))
    assert len(set(mc.tolist())) == mc.size and len(set(mr.tolist())) == mr.size
    assert all(table[(r, c)] < MISS for r, c in zip(mr.tolist(), mc.tolist(), strict=True))
    dense = np.full((nr, nc + nr), 1e9)
    ok = cost < MISS
    dense[rows[ok], cols[ok]] = cost[ok]
    dense[np.arange(nr), nc + np.arange(nr)] = MISS
    if nr:
        pr, pc = linear_sum_assignment(dense)
        best = float(dense[pr, pc].sum())
    else:
        best = 0.0
    assert abs(_objective(nr, mr, mc, table) - best) < 1e-6


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_gnn_is_invariant_to_the_order_of_tracks_and_detections(seed: int, perm: int) -> None:
    nr, nc, rows, cols, cost = _edges(seed)
    rng = np.random.default_rng(perm)
    pr, pc = rng.permutation(nr), rng.permutation(nc)
    inv_r, inv_c = np.argsort(pr), np.argsort(pc)  # old index -> new index
    mr, mc = gnn_assign(nr, nc, rows, cols, cost, miss_cost=MISS)
    order = rng.permutation(rows.size)  # the edge list order must not matter either
    r2, c2 = gnn_assign(nr, nc, inv_r[rows][order], inv_c[cols][order], cost[order], miss_cost=MISS)
    back = {(int(pr[r]), int(pc[c])) for r, c in zip(r2.tolist(), c2.tolist(), strict=True)}
    assert back == set(zip(mr.tolist(), mc.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_candidate_pairs_are_exactly_the_points_in_range(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 100, (int(rng.integers(0, 30)), 2))
    points = rng.uniform(0, 100, (int(rng.integers(0, 30)), 2))
    radius = rng.uniform(0, 30, centres.shape[0])
    rows, cols = candidate_pairs(centres, radius, points)
    dist = np.linalg.norm(centres[:, None] - points[None], axis=2)
    want = set(zip(*np.nonzero(dist <= radius[:, None]), strict=True))
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == {
        (int(a), int(b)) for a, b in want
    }
