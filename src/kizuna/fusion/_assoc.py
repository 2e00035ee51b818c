"""Gating and global-nearest-neighbour assignment.

Candidate pairs come from a KD-tree range query, so the work grows with the number of pairs
near each other rather than with tracks × detections. The pairs split into connected
components; a component of one track and one detection is assigned directly (vectorised),
and only the contested components go to ``scipy.optimize.linear_sum_assignment``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from kizuna.fusion._types import FloatArray, IntArray

__all__ = ["candidate_pairs", "gnn_assign", "mahalanobis_sq"]

_BIG = 1e12


def candidate_pairs(
    centres: FloatArray, radius: FloatArray, points: FloatArray
) -> tuple[IntArray, IntArray]:
    """All (i, j) with ``|points[j] - centres[i]| <= radius[i]``, as two index arrays."""
    if centres.shape[0] == 0 or points.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    tree = cKDTree(points)
    hits = tree.query_ball_point(centres, r=radius, return_sorted=False)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(np.arange(centres.shape[0], dtype=np.int64), counts)
    if rows.size == 0:
        return rows, rows.copy()
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
    return rows, cols


def mahalanobis_sq(nu: FloatArray, s_inv: FloatArray) -> FloatArray:
    """νᵀ S⁻¹ ν for stacks ν (m, d) and S⁻¹ (m, d, d)."""
    out: FloatArray = np.einsum("mi,mij,mj->m", nu, s_inv, nu)
    return out


def gnn_assign(
    n_rows: int, n_cols: int, rows: IntArray, cols: IntArray, cost: FloatArray, *, miss_cost: float
) -> tuple[IntArray, IntArray]:
    """Minimum-cost assignment over the given edges; a row may stay unassigned at ``miss_cost``.

    Edges with ``cost >= miss_cost`` are never chosen. Returns matched (row, col) index arrays,
    sorted by row.
    """
    keep = cost < miss_cost
    rows, cols, cost = rows[keep], cols[keep], cost[keep]
    if rows.size == 0:
        return rows, cols
    row_deg = np.bincount(rows, minlength=n_rows)
    col_deg = np.bincount(cols, minlength=n_cols)
    lone = (row_deg[rows] == 1) & (col_deg[cols] == 1)
    out_r, out_c = [rows[lone]], [cols[lone]]
    rows, cols, cost = rows[~lone], cols[~lone], cost[~lone]
    if rows.size:
        r2, c2 = _contested(n_rows, n_cols, (rows, cols, cost), miss_cost)
        out_r.append(r2)
        out_c.append(c2)
    mr, mc = np.concatenate(out_r), np.concatenate(out_c)
    order = np.argsort(mr, kind="stable")
    return mr[order], mc[order]


def _contested(
    n_rows: int, n_cols: int, edges: tuple[IntArray, IntArray, FloatArray], miss_cost: float
) -> tuple[IntArray, IntArray]:
    rows, cols, cost = edges
    graph = coo_matrix(
        (np.ones(rows.size), (rows, cols + n_rows)), shape=(n_rows + n_cols, n_rows + n_cols)
    )
    _, label = connected_components(graph, directed=False)
    comp = label[rows]
    order = np.argsort(comp, kind="stable")
    rows, cols, cost, comp = rows[order], cols[order], cost[order], comp[order]
    starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
    ends = np.r_[starts[1:], comp.size]
    out_r: list[IntArray] = []
    out_c: list[IntArray] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):  # contested clusters only
        ur, ri = np.unique(rows[a:b], return_inverse=True)
        uc, ci = np.unique(cols[a:b], return_inverse=True)
        nr, nc = ur.size, uc.size
        # Columns past nc are one "unassigned" slot per row, priced at miss_cost.
        m = np.full((nr, nc + nr), _BIG)
        m[ri, ci] = cost[a:b]
        m[np.arange(nr), nc + np.arange(nr)] = miss_cost
        pr, pc = linear_sum_assignment(m)
        real = pc < nc
        out_r.append(ur[pr[real]])
        out_c.append(uc[pc[real]])
    return np.concatenate(out_r), np.concatenate(out_c)
