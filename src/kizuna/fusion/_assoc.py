"""Gating and global-nearest-neighbour assignment, one route for every problem size.

Candidate pairs come from a KD-tree range query, so the work grows with the number of pairs
near each other rather than with tracks × detections. Problems of several trackers are one
query: each tracker's points sit in a slab of their own along an extra axis, so no pair
joins two trackers. The gated pairs split into connected components; a component of one
track and one detection is its own answer, and each contested component is solved by
``scipy.optimize.linear_sum_assignment`` on its own small table.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

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
    ``centre_group[i] == point_group[j]``), as two index arrays listed row by row."""
    empty = np.zeros(0, dtype=np.int64)
    if centres.shape[0] == 0 or points.shape[0] == 0:
        return empty, empty.copy()
    if centre_group is not None and point_group is not None:
        # A slab per group, further apart than any reach, on an axis of its own. The
        # offsets are exact multiples, so the distance within a slab is not changed.
        lo = min(float(centres.min()), float(points.min()))
        hi = max(float(centres.max()), float(points.max()))
        sep = 2.0 * ((hi - lo) + float(radius.max())) + 1.0
        centres = np.column_stack([centres, centre_group * sep])
        points = np.column_stack([points, point_group * sep])
    tree = cKDTree(points)
    hits = tree.query_ball_point(centres, r=radius, return_sorted=True)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(np.arange(centres.shape[0], dtype=np.int64), counts)
    if rows.size == 0:
        return empty, empty.copy()
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
    return rows, cols


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
    miss = np.broadcast_to(np.asarray(miss_cost, dtype=np.float64), (n_rows,))
    row_deg = np.bincount(rows, minlength=n_rows)
    col_deg = np.bincount(cols, minlength=n_cols)
    lone = (row_deg[rows] == 1) & (col_deg[cols] == 1)
    out_r, out_c = [rows[lone]], [cols[lone]]
    rest = ~lone
    if rest.any():
        r, c, w = rows[rest], cols[rest], cost[rest]
        graph = coo_matrix(
            (np.ones(r.size), (r, c + n_rows)), shape=(n_rows + n_cols, n_rows + n_cols)
        )
        _, label = connected_components(graph, directed=False)
        comp = label[r]
        order = comp.argsort(kind="stable")
        cuts = np.flatnonzero(np.diff(comp[order])) + 1
        for members in np.split(order, cuts):
            ur, ri = np.unique(r[members], return_inverse=True)
            uc, ci = np.unique(c[members], return_inverse=True)
            nr, nc = ur.size, uc.size
            # Each row has its own "unassigned" column, at its miss cost.
            table = np.full((nr, nc + nr), _BIG)
            table[ri, ci] = w[members]
            table[np.arange(nr), nc + np.arange(nr)] = miss[ur]
            pr, pc = linear_sum_assignment(table)
            real = pc < nc
            out_r.append(ur[pr[real]])
            out_c.append(uc[pc[real]])
    mr, mc = np.concatenate(out_r), np.concatenate(out_c)
    order = mr.argsort(kind="stable")
    return mr[order], mc[order]
