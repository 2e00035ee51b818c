"""Gating and global-nearest-neighbour assignment.

Candidate pairs come from a KD-tree range query, so the work grows with the number of pairs
near each other rather than with tracks × detections. The pairs split into connected
components; a component of one track and one detection is assigned directly (vectorised),
and only the contested components go to ``scipy.optimize.linear_sum_assignment``.

Small problems -- a national sensor's scan of a few dozen tracks -- take cheaper routes to
the same answer: a dense distance test instead of the KD-tree, and components found with a
union-find over the few contested edges instead of a sparse graph, whose construction costs
far more than the problem. ``dense_max`` and ``small_max`` set where the routes part; zero
forces the general route, which the tests use to prove the two agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from kizuna.fusion._types import BoolArray, FloatArray, IntArray

__all__ = [
    "DENSE_MAX",
    "SMALL_MAX",
    "assign_edges",
    "candidate_pairs",
    "gate_2d",
    "gate_pairs",
    "gnn_assign",
    "mahalanobis_sq",
    "near_pairs",
]

_BIG = 1e12
DENSE_MAX = 16384  # tracks x detections at or below which dense tables beat a KD-tree
SMALL_MAX = 256  # contested edges at or below which clusters are found in plain Python
_LIST_MAX = 48  # a cluster's edges at or below which its table is built as lists
_TIE = 1e-9  # relative gap under which two assignments' costs count as a tie


def candidate_pairs(
    centres: FloatArray, radius: FloatArray, points: FloatArray, *, dense_max: int = DENSE_MAX
) -> tuple[IntArray, IntArray]:
    """All (i, j) with ``|points[j] - centres[i]| <= radius[i]``, as two index arrays."""
    if centres.shape[0] == 0 or points.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    if centres.shape[0] * points.shape[0] <= dense_max:
        diff = points[None, :, :] - centres[:, None, :]
        near = np.einsum("ijk,ijk->ij", diff, diff) <= (radius * radius)[:, None]
        rows, cols = np.nonzero(near)
        return rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False)
    tree = cKDTree(points)
    hits = tree.query_ball_point(centres, r=radius, return_sorted=False)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(np.arange(centres.shape[0], dtype=np.int64), counts)
    if rows.size == 0:
        return rows, rows.copy()
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
    return rows, cols


def _mahalanobis_2d(
    nu0: FloatArray,
    nu1: FloatArray,
    *,
    p00: FloatArray,
    p01: FloatArray,
    p11: FloatArray,
    r_var: FloatArray,
) -> FloatArray:
    """νᵀ S⁻¹ ν for S = P + r·I, elementwise over broadcast arrays, through ``inv_sym`` and
    ``mahalanobis_sq``'s floating-point steps, so a pair scores the same bits whichever
    table it is scored in."""
    a = p00 + r_var
    d = p11 + r_var
    det = a * d
    det -= p01 * p01
    i01 = -p01 / det
    i00 = np.divide(d, det, out=d)
    i11 = np.divide(a, det, out=a)
    # (((ν0·i00)·ν0 + (ν0·i01)·ν1) + (ν1·i01)·ν0) + (ν1·i11)·ν1: einsum's order, in place.
    cost = nu0 * i00
    cost *= nu0
    term = np.multiply(nu0, i01, out=det)
    term *= nu1
    cost += term
    np.multiply(nu1, i01, out=term)
    term *= nu0
    cost += term
    np.multiply(nu1, i11, out=term)
    term *= nu1
    cost += term
    return cost


def gate_2d(
    pos: FloatArray, ppos: FloatArray, z: FloatArray, r_var: FloatArray, *, gate: float
) -> tuple[BoolArray, FloatArray]:
    """Which (track, detection) pairs pass the gate, and their squared Mahalanobis distances,
    as (n, m) arrays: for 2-D tracks at ``pos`` (n, 2) with position covariances ``ppos``
    (n, 2, 2) and detections ``z`` (m, 2) of variance ``r_var`` (m,).

    The costs come from exactly the floating-point steps of ``inv_sym`` and
    ``mahalanobis_sq`` on gathered pairs, so they agree to the bit; the pairs kept are those
    the KD-tree's enclosing circle lets through and the gate then passes.
    """
    p00, p01, p11 = ppos[:, 0, 0, None], ppos[:, 0, 1, None], ppos[:, 1, 1, None]
    nu0 = z[:, 0] - pos[:, 0, None]
    nu1 = z[:, 1] - pos[:, 1, None]
    cost = _mahalanobis_2d(nu0, nu1, p00=p00, p01=p01, p11=p11, r_var=r_var)
    # The circle holds every gate ellipse with room to spare (λmax(S) < trace(P) + 2·σmax²),
    # so a pair on its rim is far outside the gate: the rim's rounding cannot matter.
    spread = (p00 + p11) + 2.0 * float(np.maximum.reduce(r_var))
    np.multiply(nu0, nu0, out=nu0)
    np.multiply(nu1, nu1, out=nu1)
    nu0 += nu1
    keep = nu0 <= gate * spread
    keep &= cost < gate
    return keep, cost


def near_pairs(tracks: FloatArray, dets: FloatArray, *, gate: float) -> tuple[IntArray, IntArray]:
    """The (track, detection) pairs inside each track's circle, ``gate_2d``'s first test
    to the bit, row by row as ``np.nonzero`` lists them. ``tracks`` (n, 6) holds each
    track's x, y, Pxx, Pxy, Pyy and circle radius² over the gate (``Pxx + Pyy + 2·r_max``,
    r_max the widest variance of its scan); ``dets`` (m, 3) each detection's x, y and
    variance.

    The circle is cheap and lets through a few pairs a track, so only those are scored.
    """
    nu0 = dets[:, 0] - tracks[:, 0, None]
    nu1 = dets[:, 1] - tracks[:, 1, None]
    np.multiply(nu0, nu0, out=nu0)
    np.multiply(nu1, nu1, out=nu1)
    nu0 += nu1
    near = nu0 <= gate * tracks[:, 5, None]
    rows, cols = near.nonzero()
    return rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False)


def gate_pairs(
    tracks: FloatArray, dets: FloatArray, rows: IntArray, cols: IntArray, *, gate: float
) -> tuple[BoolArray, FloatArray]:
    """Which of the pairs ``near_pairs`` gave pass the gate, and their squared Mahalanobis
    distances, through ``gate_2d``'s floating-point steps in its order: the same bits."""
    t = tracks[rows]
    dz = dets[cols]
    p00, p01, p11, r_var = t[:, 2], t[:, 3], t[:, 4], dz[:, 2]
    nu0 = dz[:, 0] - t[:, 0]
    nu1 = dz[:, 1] - t[:, 1]
    cost = _mahalanobis_2d(nu0, nu1, p00=p00, p01=p01, p11=p11, r_var=r_var)
    return cost < gate, cost


def mahalanobis_sq(nu: FloatArray, s_inv: FloatArray) -> FloatArray:
    """νᵀ S⁻¹ ν for stacks ν (m, d) and S⁻¹ (m, d, d).

    In 2-D the four terms are summed in one fixed order, the order einsum uses for a stack;
    einsum sums a stack of one pairwise, so a distance would otherwise depend, in its last
    bit, on how many pairs were scored together.
    """
    if nu.shape[1] == 2:
        n0, n1 = nu[:, 0], nu[:, 1]
        out: FloatArray = (
            ((n0 * s_inv[:, 0, 0]) * n0 + (n0 * s_inv[:, 0, 1]) * n1) + (n1 * s_inv[:, 1, 0]) * n0
        ) + (n1 * s_inv[:, 1, 1]) * n1
        return out
    return np.asarray(np.einsum("mi,mij,mj->m", nu, s_inv, nu), dtype=np.float64)


def gnn_assign(
    n_rows: int,
    n_cols: int,
    rows: IntArray,
    cols: IntArray,
    cost: FloatArray,
    *,
    miss_cost: float,
    small_max: int = SMALL_MAX,
) -> tuple[IntArray, IntArray]:
    """Minimum-cost assignment over the given edges; a row may stay unassigned at ``miss_cost``.

    Edges with ``cost >= miss_cost`` are never chosen. Returns matched (row, col) index arrays,
    sorted by row.
    """
    keep = cost < miss_cost
    return assign_edges(
        n_rows,
        n_cols,
        (rows[keep], cols[keep], cost[keep]),
        miss_cost=miss_cost,
        small_max=small_max,
    )


def assign_edges(
    n_rows: int,
    n_cols: int,
    edges: tuple[IntArray, IntArray, FloatArray],
    *,
    miss_cost: float,
    small_max: int = SMALL_MAX,
) -> tuple[IntArray, IntArray]:
    """``gnn_assign`` for edges that all cost less than ``miss_cost`` already."""
    rows, cols, cost = edges
    if rows.size == 0:
        return rows, cols
    row_deg = np.bincount(rows, minlength=n_rows)
    col_deg = np.bincount(cols, minlength=n_cols)
    lone = (row_deg[rows] == 1) & (col_deg[cols] == 1)
    out_r, out_c = [rows[lone]], [cols[lone]]
    rows, cols, cost = rows[~lone], cols[~lone], cost[~lone]
    if rows.size:
        if rows.size <= small_max:
            r2, c2 = _contested_small(rows, cols, cost, miss_cost)
        else:
            r2, c2 = _contested(n_rows, n_cols, (rows, cols, cost), miss_cost)
        out_r.append(r2)
        out_c.append(c2)
    mr, mc = np.concatenate(out_r), np.concatenate(out_c)
    order = mr.argsort(kind="stable")
    return mr[order], mc[order]


def _contested(
    n_rows: int, n_cols: int, edges: tuple[IntArray, IntArray, FloatArray], miss_cost: float
) -> tuple[IntArray, IntArray]:
    """The matches among many contested edges: clusters from a sparse graph, each solved as
    ``_contested_small`` solves it."""
    rows, cols, cost = edges
    # The graph in CSR form straight away: rows first, then columns, an edge from each row.
    nodes = n_rows + n_cols
    by_row = rows.argsort(kind="stable")
    indptr = np.zeros(nodes + 1, dtype=np.int64)
    np.add.accumulate(np.bincount(rows, minlength=nodes), out=indptr[1:])
    graph = csr_matrix((np.ones(rows.size), cols[by_row] + n_rows, indptr), shape=(nodes, nodes))
    _, label = connected_components(graph, directed=False)
    order = label[rows].argsort(kind="stable")
    comp = label[rows][order]
    cuts = [0, *((comp[1:] != comp[:-1]).nonzero()[0] + 1).tolist(), comp.size]
    members = order.tolist()
    # A big cluster's edges stay an array: its table is built by numpy from them.
    clusters: list[list[int] | IntArray] = [
        members[a:b] if b - a <= _LIST_MAX else order[a:b] for a, b in itertools.pairwise(cuts)
    ]
    return _solve(clusters, (rows, cols, cost), miss_cost)


def _contested_small(
    rows: IntArray, cols: IntArray, cost: FloatArray, miss_cost: float
) -> tuple[IntArray, IntArray]:
    """``_contested`` for a few edges: the same clusters, found in plain Python."""
    return _solve(_clusters(rows.tolist(), cols.tolist()), (rows, cols, cost), miss_cost)


def _solve(
    clusters: Sequence[list[int] | IntArray],
    edges: tuple[IntArray, IntArray, FloatArray],
    miss_cost: float,
) -> tuple[IntArray, IntArray]:
    """Each cluster's minimum-cost assignment (a row may stay unassigned at ``miss_cost``):
    the solver's on a table of the cluster's rows and columns in order, with one
    "unassigned" column per row; a cluster of one or two rows by inspection instead."""
    rows, cols, cost = edges
    r_l, c_l, w_l = rows.tolist(), cols.tolist(), cost.tolist()
    out_r: list[int] = []
    out_c: list[int] = []
    for members in clusters:
        if len(members) > _LIST_MAX:  # a big cluster's table is cheaper built by numpy
            r, c = _solve_big(np.asarray(members, dtype=np.int64), edges, miss_cost)
            out_r.extend(r)
            out_c.extend(c)
            continue
        ur = sorted({r_l[e] for e in members})
        if len(ur) == 1:
            # One row: the solver takes its cheapest column, the lowest-numbered on a tie.
            out_r.append(ur[0])
            out_c.append(min([(w_l[e], c_l[e]) for e in members])[1])
            continue
        if len(ur) == 2:
            pairs = _two_rows(ur, [(r_l[e], c_l[e], w_l[e]) for e in members], miss_cost)
            if pairs is not None:
                out_r.extend(r for r, _ in pairs)
                out_c.extend(c for _, c in pairs)
                continue
        uc = sorted({c_l[e] for e in members})
        nr, nc = len(ur), len(uc)
        ri = {r: i for i, r in enumerate(ur)}
        ci = {c: i for i, c in enumerate(uc)}
        m = [[_BIG] * (nc + nr) for _ in ur]
        for i, row in enumerate(m):
            row[nc + i] = miss_cost  # each row's own "unassigned" slot
        for e in members:
            m[ri[r_l[e]]][ci[c_l[e]]] = w_l[e]
        pr, pc = linear_sum_assignment(np.array(m))
        for a, b in zip(pr.tolist(), pc.tolist(), strict=True):
            if b < nc:
                out_r.append(ur[a])
                out_c.append(uc[b])
    return np.array(out_r, dtype=np.int64), np.array(out_c, dtype=np.int64)


def _solve_big(
    members: IntArray, edges: tuple[IntArray, IntArray, FloatArray], miss_cost: float
) -> tuple[list[int], list[int]]:
    """``_solve`` for one big cluster, the table built by numpy to the same values."""
    rows, cols, cost = edges
    ur, ri = _unique(rows[members])
    uc, ci = _unique(cols[members])
    nr, nc = ur.size, uc.size
    table = np.full((nr, nc + nr), _BIG)
    table[ri, ci] = cost[members]
    table[np.arange(nr), nc + np.arange(nr)] = miss_cost
    pr, pc = linear_sum_assignment(table)
    real = pc < nc
    return ur[pr[real]].tolist(), uc[pc[real]].tolist()


def _unique(values: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for small non-negative indices, by
    counting instead of sorting."""
    present = np.zeros(int(np.maximum.reduce(values)) + 1, dtype=bool)
    present[values] = True
    rank = np.add.accumulate(present, dtype=np.int64) - 1
    return present.nonzero()[0], rank[values]


def _two_rows(
    ur: list[int], edges: list[tuple[int, int, float]], miss_cost: float
) -> list[tuple[int, int]] | None:
    """The assignment the solver finds for a cluster of two rows, found by trying every
    one; None when the best is not clearly better than the next, as the solver breaks
    such near-ties by its own rules."""
    r0, r1 = ur
    first = [(c, w) for r, c, w in edges if r == r0]
    second = [(c, w) for r, c, w in edges if r == r1]
    options: list[tuple[float, list[tuple[int, int]]]] = [(miss_cost + miss_cost, [])]
    options += [(w + miss_cost, [(r0, c)]) for c, w in first]
    options += [(w + miss_cost, [(r1, c)]) for c, w in second]
    options += [
        (w0 + w1, [(r0, c0), (r1, c1)]) for c0, w0 in first for c1, w1 in second if c0 != c1
    ]
    options.sort(key=lambda o: o[0])
    best, runner_up = options[0][0], options[1][0]
    # The solver's sums differ from these by rounding alone, far below the margin.
    if runner_up - best <= _TIE * max(1.0, abs(best)):
        return None
    return options[0][1]


def _clusters(r_l: list[int], c_l: list[int]) -> list[list[int]]:
    """The edges of each connected component of the bipartite graph (row r_l[e], col c_l[e])."""
    # Components grow edge by edge; joining two moves the smaller one's nodes over.
    row_of: dict[int, int] = {}
    col_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for e, (r, c) in enumerate(zip(r_l, c_l, strict=True)):
        a, b = row_of.get(r), col_of.get(c)
        if a is None:
            a = e if b is None else b
            row_of[r] = a
            if b is None:
                col_of[c] = a
                members[a] = []
        elif b is None:
            col_of[c] = a
        elif b != a:
            if len(members[b]) > len(members[a]):
                a, b = b, a
            moved = members.pop(b)
            for f in moved:
                row_of[r_l[f]] = a
                col_of[c_l[f]] = a
            members[a].extend(moved)
        members[a].append(e)
    return list(members.values())
