"""Gating and global-nearest-neighbour assignment, one route for every problem size.

Candidate pairs come from a sweep along one axis (sorted points, binary-searched strips),
so the work grows with the number of pairs near each other rather than with tracks ×
detections. Problems of several trackers are one sweep: each tracker's points sit in a
stretch of their own along that axis, so no pair joins two trackers. A gated pair whose
track and detection have no other pair is its own answer; all the contested pairs, of
every tracker, are one table for ``scipy.optimize.linear_sum_assignment``, so no cluster
is solved in a Python loop.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from kizuna.fusion._types import FloatArray, IntArray

__all__ = ["assign_edges", "candidate_pairs", "gnn_assign", "mahalanobis_sq"]

_BIG = 1e12  # cost of a pair that is not an edge: never chosen over "unassigned"


def candidate_pairs(
    centres: FloatArray,
    radius: FloatArray,
    points: FloatArray,
    *,
    centre_group: IntArray | None = None,
    point_group: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """All (i, j) with ``|points[j] - centres[i]| <= radius[i]`` (and, when groups are given,
    ``centre_group[i] == point_group[j]``), as two index arrays listed row by row.

    A sweep along the first axis: points sorted once, each centre's strip
    ``[x - r, x + r]`` found by binary search, the strips expanded into pairs and those
    outside the circle dropped -- a fixed number of array operations for any size. Groups
    sit side by side on that axis, further apart than any reach.
    """
    empty = np.zeros(0, dtype=np.int64)
    if centres.shape[0] == 0 or points.shape[0] == 0:
        return empty, empty.copy()
    cx, px = centres[:, 0], points[:, 0]
    if centre_group is not None and point_group is not None:
        lo = min(float(cx.min()), float(px.min()))
        hi = max(float(cx.max()), float(px.max()))
        sep = 2.0 * ((hi - lo) + float(radius.max())) + 1.0
        cx = (cx - lo) + centre_group * sep
        px = (px - lo) + point_group * sep
    order = np.argsort(px, kind="stable")
    keys = px[order]
    # The strip's ends are widened by a hair: the exact circle test below decides.
    slack = 1e-9 * (1.0 + np.abs(cx) + radius)
    start = np.searchsorted(keys, cx - radius - slack, side="left")
    end = np.searchsorted(keys, cx + radius + slack, side="right")
    counts = end - start
    rows = np.repeat(np.arange(centres.shape[0], dtype=np.int64), counts)
    first = np.repeat(start - (np.cumsum(counts) - counts), counts)
    cols = order[first + np.arange(rows.size, dtype=np.int64)]
    diff = points[cols] - centres[rows]
    near = np.add.reduce(diff * diff, axis=1) <= radius[rows] ** 2
    return rows[near], cols[near]


def mahalanobis_sq(nu: FloatArray, s_inv: FloatArray) -> FloatArray:
    """νᵀ S⁻¹ ν for stacks ν (m, d) and S⁻¹ (m, d, d)."""
    return np.asarray(np.einsum("mi,mij,mj->m", nu, s_inv, nu), dtype=np.float64)


def gnn_assign(
    n_rows: int,
    n_cols: int,
    rows: IntArray,
    cols: IntArray,
    cost: FloatArray,
    *,
    miss_cost: float,
) -> tuple[IntArray, IntArray]:
    """Minimum-cost assignment over the given edges; a row may stay unassigned at
    ``miss_cost``. Edges with ``cost >= miss_cost`` are never chosen. Returns matched
    (row, col) index arrays, sorted by row."""
    keep = cost < miss_cost
    return assign_edges(n_rows, n_cols, (rows[keep], cols[keep], cost[keep]), miss_cost)


def assign_edges(
    n_rows: int,
    n_cols: int,
    edges: tuple[IntArray, IntArray, FloatArray],
    miss_cost: float | FloatArray,
) -> tuple[IntArray, IntArray]:
    """``gnn_assign`` for edges that all cost less than their row's miss cost already.
    ``miss_cost`` is one for all rows or one per row (rows of several trackers)."""
    rows, cols, cost = edges
    if rows.size == 0:
        return rows, cols
    row_deg = np.bincount(rows, minlength=n_rows)
    col_deg = np.bincount(cols, minlength=n_cols)
    lone = (row_deg[rows] == 1) & (col_deg[cols] == 1)
    if lone.all():
        return rows, cols  # listed row by row already
    rest = ~lone
    ur, ri = _compact(rows[rest], n_rows)
    uc, ci = _compact(cols[rest], n_cols)
    k, nc = ur.size, uc.size
    miss = np.broadcast_to(np.asarray(miss_cost, dtype=np.float64), (n_rows,))[ur]
    # One table of every contested row and column (of every tracker: a pair never joins two,
    # so the blocks are independent); each row has an "unassigned" column of its own.
    table = np.full((k, nc + k), _BIG)
    table[ri, ci] = cost[rest]
    table[np.arange(k), nc + np.arange(k)] = miss
    pr, pc = linear_sum_assignment(table)
    real = pc < nc
    mr = np.concatenate([rows[lone], ur[pr[real]]])
    mc = np.concatenate([cols[lone], uc[pc[real]]])
    order = mr.argsort(kind="stable")
    return mr[order], mc[order]


def _compact(values: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for indices below ``size``, by counting
    instead of sorting."""
    present = np.zeros(size, dtype=bool)
    present[values] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[values]
