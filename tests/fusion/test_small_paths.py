"""The small-scan routes (dense gating, union of contested clusters in Python) give exactly
what the general routes (KD-tree, sparse connected components) give."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.fusion import (
    ConstantVelocity,
    Detections,
    ScanResult,
    ScenarioSpec,
    SensorSpec,
    Tracker,
    TrackerConfig,
    generate,
)
from kizuna.fusion._assoc import (
    _unique,
    candidate_pairs,
    gate_2d,
    gnn_assign,
    mahalanobis_sq,
)
from kizuna.fusion._kalman import innovation_cov, inv_sym, update

MISS = 10.0


def _crossing_scans(rng: np.random.Generator, pairs: int, scans: int) -> list[Detections]:
    """Pairs of targets flying through a common point at mid-run, seen with noise, misses
    and clutter around the crossings, in scans of shuffled detections."""
    centre = rng.uniform(-2e4, 2e4, (pairs, 1, 2))
    angle = rng.uniform(0, np.pi, (pairs, 1))
    step = np.stack([np.cos(angle), np.sin(angle)], axis=2) * rng.uniform(20, 60, (pairs, 1, 1))
    turn = np.array([[1.0, 0.0], [0.0, -1.0]])  # the partner flies the mirrored course
    vel = np.concatenate([step, step @ turn], axis=1)  # (pairs, 2, 2)
    out = []
    for k in range(scans):
        pos = (centre + vel * (k - scans / 2)).reshape(-1, 2)
        seen = rng.random(pos.shape[0]) < 0.9
        z = pos[seen] + rng.normal(0, 25.0, (int(seen.sum()), 2))
        clutter = centre.reshape(-1, 2)[rng.integers(0, pairs, 6)] + rng.normal(0, 400, (6, 2))
        z = np.concatenate([z, clutter])[rng.permutation(int(seen.sum()) + 6)]
        out.append(Detections.of(z, 25.0, "EYE"))
    return out


def _assert_same(a: ScanResult, b: ScanResult) -> None:
    np.testing.assert_array_equal(a.tracks.ids, b.tracks.ids)
    np.testing.assert_array_equal(a.confirmed_now, b.confirmed_now)
    np.testing.assert_array_equal(a.deleted, b.deleted)
    np.testing.assert_allclose(a.tracks.x, b.tracks.x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.tracks.p, b.tracks.p, rtol=1e-9, atol=1e-9)


def _pair(config: TrackerConfig, q: float = 1.0) -> tuple[Tracker, Tracker]:
    fast = Tracker(ConstantVelocity(q=q), config)
    general = Tracker(ConstantVelocity(q=q), replace(config, small_fast=False))
    return fast, general


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_crossing_targets_in_clutter_get_the_same_tracks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fast, general = _pair(TrackerConfig(confirm_m=2, confirm_n=3, max_misses=3))
    confirmed = 0
    for k, det in enumerate(_crossing_scans(rng, int(rng.integers(2, 12)), 30)):
        a, b = fast.step(10.0 * k, det), general.step(10.0 * k, det)
        _assert_same(a, b)
        confirmed += a.confirmed_now.size
        np.testing.assert_array_equal(
            fast.tracks(confirmed_only=False).ids, general.tracks(confirmed_only=False).ids
        )
    assert confirmed > 0  # the run made tracks, so the comparison compared something


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_dense_two_sensor_scenario_gets_the_same_tracks(seed: int) -> None:
    """Close targets, heavy clutter, two sensors per scan and a clutter burst now and then,
    so scans cross the small-scan limits both ways."""
    spec = ScenarioSpec(
        n_targets=int(np.random.default_rng(seed).integers(5, 40)),
        n_scans=25,
        spacing=300.0,
        sensors=(SensorSpec("USA", 20.0, 0.9, 2.0), SensorSpec("JPN", 40.0, 0.8, 3.0, 0.8)),
    )
    sc = generate(spec, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    fast, general = _pair(TrackerConfig(), q=spec.tracker_q)
    for k, (t, scan) in enumerate(sc.scans()):
        det = scan
        if k % 9 == 8:
            burst = rng.uniform(-spec.side / 2, spec.side / 2, (400, 2))
            det = Detections(
                np.concatenate([scan.z, burst]),
                np.concatenate([scan.sigma, np.full(400, 20.0)]),
                np.concatenate([scan.sensor, np.full(400, "USA")]),
            )
        _assert_same(fast.step(t, det), general.step(t, det))


def _table(seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 20)), int(rng.integers(0, 20))
    keep = rng.random((n, m)) < rng.uniform(0.02, 0.5)
    cost = rng.integers(0, 4, (n, m)).astype(float) if ties else rng.uniform(0, MISS, (n, m))
    return keep, cost


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_small_clusters_are_solved_as_the_sparse_solver_solves_them_even_on_ties(
    seed: int, ties: bool
) -> None:
    keep, cost = _table(seed, ties)
    rows, cols = np.nonzero(keep)
    want = gnn_assign(*keep.shape, rows, cols, cost[rows, cols], miss_cost=MISS, small_max=0)
    for small_max in (3, 10_000):
        got = gnn_assign(
            *keep.shape, rows, cols, cost[rows, cols], miss_cost=MISS, small_max=small_max
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    got = gnn_assign(*keep.shape, rows, cols, cost[rows, cols], miss_cost=MISS)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dense_gate_scores_pairs_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, gate = int(rng.integers(1, 25)), int(rng.integers(1, 25)), 13.8
    pos = rng.uniform(0, 3000, (n, 2))
    a = rng.normal(0, rng.uniform(10, 400), (n, 2, 2))
    ppos = a @ a.transpose(0, 2, 1) + np.eye(2)
    z = rng.uniform(0, 3000, (m, 2))
    r_var = rng.uniform(5, 60, m) ** 2
    keep, cost = gate_2d(pos, ppos, z, r_var, gate=gate)
    p = np.zeros((n, 4, 4))
    p[:, :2, :2] = ppos
    spread = np.trace(ppos, axis1=1, axis2=2) + 2 * r_var.max()
    rows, cols = candidate_pairs(pos, np.sqrt(gate * spread), z, dense_max=0)
    s = innovation_cov(p[rows], r_var[cols])
    nu = z[cols] - pos[rows]
    want = mahalanobis_sq(nu, inv_sym(s))
    inside = want < gate
    assert set(zip(*np.nonzero(keep), strict=True)) == set(
        zip(rows[inside].tolist(), cols[inside].tolist(), strict=True)
    )
    np.testing.assert_array_equal(cost[rows[inside], cols[inside]], want[inside])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dense_and_kd_tree_candidate_pairs_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 100, (int(rng.integers(0, 30)), 2))
    points = rng.uniform(0, 100, (int(rng.integers(0, 30)), 2))
    radius = rng.uniform(0, 30, centres.shape[0])
    dense = candidate_pairs(centres, radius, points)
    tree = candidate_pairs(centres, radius, points, dense_max=0)
    as_set = lambda rc: set(zip(rc[0].tolist(), rc[1].tolist(), strict=True))  # noqa: E731
    assert as_set(dense) == as_set(tree)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_a_distance_does_not_depend_on_the_pairs_scored_with_it(seed: int, m: int) -> None:
    """Scored alone or in a stack, a pair gets the same bits (einsum alone sums pairwise)."""
    rng = np.random.default_rng(seed)
    nu = rng.normal(0, 1e3, (m, 2))
    a = rng.normal(0, 100, (m, 2, 2))
    s_inv = inv_sym(a @ a.transpose(0, 2, 1) + np.eye(2))
    together = mahalanobis_sq(nu, s_inv)
    alone = np.concatenate([mahalanobis_sq(nu[i : i + 1], s_inv[i : i + 1]) for i in range(m)])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_allclose(together, np.einsum("mi,mij,mj->m", nu, s_inv, nu), rtol=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3]))
def test_the_update_is_the_joseph_form(seed: int, dim: int) -> None:
    """The batched update, closed-form 2-D inverse and all, is the textbook Joseph form."""
    rng = np.random.default_rng(seed)
    n, s = int(rng.integers(1, 12)), 2 * dim
    a = rng.normal(0, rng.uniform(1, 300), (n, s, s))
    p = a @ a.transpose(0, 2, 1) + np.eye(s)
    p = 0.5 * (p + p.transpose(0, 2, 1))
    x = rng.normal(0, 1e3, (n, s))
    z = rng.normal(0, 1e3, (n, dim))
    r_var = rng.uniform(1, 900, n)
    got_x, got_p = update(x, p, z, r_var)
    h = np.hstack([np.eye(dim), np.zeros((dim, dim))])
    for i in range(n):
        r = r_var[i] * np.eye(dim)
        k = p[i] @ h.T @ np.linalg.inv(h @ p[i] @ h.T + r)
        ikh = np.eye(s) - k @ h
        want_p = ikh @ p[i] @ ikh.T + k @ r @ k.T
        np.testing.assert_allclose(got_x[i], x[i] + k @ (z[i] - h @ x[i]), rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(got_p[i], want_p, rtol=1e-8, atol=1e-8 * np.abs(want_p).max())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["spread", "ties", "near"]))
def test_two_row_clusters_are_solved_as_the_solver_solves_them(seed: int, kind: str) -> None:
    """Clusters of two rows are tried exhaustively, not solved: the same matches as the
    solver's, whether costs are far apart, tied, or a rounding error apart."""
    rng = np.random.default_rng(seed)
    nc = int(rng.integers(1, 5))
    keep = rng.random((2, nc)) < 0.7
    keep[0, 0] = keep[1, -1] = True  # both rows in play
    if nc == 1 or rng.random() < 0.5:
        keep[:, 0] = True  # joined through a shared column
    else:
        keep[:, 0] = keep[:, -1] = True
    if kind == "spread":
        cost = rng.uniform(0, MISS, (2, nc))
    elif kind == "ties":
        cost = rng.integers(0, 4, (2, nc)).astype(float) * (MISS / 5)
    else:
        base = rng.uniform(0, MISS / 2)
        cost = base + rng.integers(-2, 3, (2, nc)) * np.spacing(base) * rng.choice([1, 1e3])
    rows, cols = keep.nonzero()
    want = gnn_assign(2, nc, rows, cols, cost[rows, cols], miss_cost=MISS, small_max=0)
    got = gnn_assign(2, nc, rows, cols, cost[rows, cols], miss_cost=MISS)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=400))
def test_unique_by_counting_is_numpys_unique(values: list[int]) -> None:
    a = np.array(values, dtype=np.int64)
    got, inverse = _unique(a)
    want, want_inverse = np.unique(a, return_inverse=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(inverse, want_inverse)
