"""Several trackers stepped at one instant in one set of array operations.

Sensors that look at the same instant each feed their own tracker; stepping those trackers
one after another pays numpy's fixed cost per call once per tracker, on arrays of a few
dozen rows. ``step_together`` stacks their tracks and detections instead. Each tracker's
own (tracks x detections) table lets through the pairs inside each track's circle; those
pairs, of all trackers, are then scored, associated, updated, born and booked once, on the
stacked rows. A pair never joins two trackers, so association sees each tracker's own
problem.

Every row goes through exactly the floating-point steps it would go through alone, so each
tracker ends with the same tracks to the bit. The state prediction ``x @ Fᵀ`` stays per
tracker: it is one BLAS product whose last bits follow its row count. (Covariances are one
product per matrix, so they are predicted together.) A tracker whose scan needs anything
but the usual route -- rows to reject, a late or non-finite time, no tracks yet, an empty
or large scan, a 3-D model, several sensors in one scan, other association rules -- steps
alone, the way ``Tracker.step`` takes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kizuna.errors import ValidationError
from kizuna.fusion._assoc import gate_pairs, near_pairs
from kizuna.fusion._kalman import predict_cov, update
from kizuna.fusion._tracker import ScanResult, Tracker, book, born, match_edges
from kizuna.fusion._types import BoolArray, Detections, FloatArray, IntArray, Rejects, TrackTable

__all__ = ["step_together"]


def step_together(
    trackers: Sequence[Tracker], time: float, scans: Sequence[Detections]
) -> list[ScanResult]:
    """``[t.step(time, d) for t, d in zip(trackers, scans)]``, with the same results and the
    same tracker states afterwards, in fewer array operations. A scan ``step`` would refuse
    (positions of the wrong dimension) refuses the whole call before any tracker steps."""
    if len(trackers) != len(scans):
        raise ValidationError("need one scan per tracker", field="scans")
    for t, d in zip(trackers, scans, strict=True):
        if len(d) and d.z.shape[1] != t.model.dim:
            raise ValidationError(f"positions must have {t.model.dim} columns", field="z")
    if len({id(t) for t in trackers}) != len(trackers):  # a tracker twice: one scan at a time
        return [t.step(time, d) for t, d in zip(trackers, scans, strict=True)]
    usual = [t._batchable(time, d) for t, d in zip(trackers, scans, strict=True)]
    lead = next((t for t, ok in zip(trackers, usual, strict=True) if ok), None)
    group = [
        i
        for i, (t, ok) in enumerate(zip(trackers, usual, strict=True))
        if ok and lead is not None and _same_rules(t, lead)
    ]
    results: dict[int, ScanResult] = {}
    # Trackers that step by the same dt sit side by side, so their covariances share F, Q.
    group.sort(key=lambda i: _dt(trackers[i], time))
    if len(group) >= 2:
        stepped = _step_group([trackers[i] for i in group], time, [scans[i] for i in group])
        results.update(zip(group, stepped, strict=True))
    return [
        results[i] if i in results else t.step(time, d)
        for i, (t, d) in enumerate(zip(trackers, scans, strict=True))
    ]


def _dt(tracker: Tracker, time: float) -> float:
    last = tracker.time
    return 0.0 if last is None else time - last


def _same_rules(a: Tracker, b: Tracker) -> bool:
    """Whether two trackers associate and confirm alike, so one table and one booking serve
    both. Their sensors, track limits and deletion variances may differ."""
    ca, cb = a.config, b.config
    return (
        a._small_max == b._small_max
        and ca.gate == cb.gate
        and ca.confirm_m == cb.confirm_m
        and ca.confirm_n == cb.confirm_n
        and ca.max_misses == cb.max_misses
        and ca.init_speed_sigma == cb.init_speed_sigma
    )


def _step_group(group: list[Tracker], time: float, scans: list[Detections]) -> list[ScanResult]:
    # x @ Fᵀ's last bits depend on its row count: states are predicted tracker by tracker;
    # covariances, one product per matrix, together for trackers that share F and Q.
    fqs = [t._predict_state(time) for t in group]
    states = [t._state() for t in group]
    ns = [len(t) for t in group]
    ms = [len(d) for d in scans]
    x = np.concatenate([s[0] for s in states])
    p = np.concatenate([s[1] for s in states])
    for a, b, fq in _runs(group, fqs, ns):
        p[a:b] = predict_cov(p[a:b], fq[1], fq[2])
    conf = np.concatenate([s[6] for s in states])
    z = np.concatenate([d.z for d in scans])
    sigma = np.concatenate([d.sigma for d in scans])
    r_var = sigma**2
    starts = [0, *itertools.accumulate(ms[:-1])]
    # Each tracker's circle allows for its own scan's widest variance, as alone.
    widest = np.maximum.reduceat(r_var, starts).repeat(ns)
    ppos = p.reshape(-1, 16)[:, [0, 1, 5]]  # Pxx, Pxy, Pyy
    radius2 = (ppos[:, 0] + ppos[:, 2]) + 2.0 * widest
    tracks = np.concatenate([x[:, :2], ppos, radius2[:, None]], axis=1)
    dets = np.concatenate([z, r_var[:, None]], axis=1)
    gate = group[0].config.gate
    rows, cols = _near_in_blocks(tracks, dets, ns, ms, gate)
    keep, cost = gate_pairs(tracks, dets, rows, cols, gate=gate)
    edges = (rows[keep], cols[keep], cost[keep])
    small = group[0]._small_max * len(group)
    ti, dk, free = match_edges(conf, z.shape[0], edges, gate, small)
    hit = np.zeros(x.shape[0], dtype=bool)
    if ti.size:
        x[ti], p[ti] = update(x[ti], p[ti], z[dk], r_var[dk])
        hit[ti] = True
    nb = np.add.reduceat(free, starts).tolist()  # a tracker's newborns; every scan has a row
    return _book_group(group, time, (x, p, conf, hit), (z[free], sigma[free], nb))


def _runs(
    group: list[Tracker],
    fqs: list[tuple[float, FloatArray, FloatArray] | None],
    ns: list[int],
) -> list[tuple[int, int, tuple[float, FloatArray, FloatArray]]]:
    """(first row, end row, (dt, F, Q)) of each run of neighbouring trackers whose
    covariances are still to be predicted with the same F and Q."""
    out: list[tuple[int, int, tuple[float, FloatArray, FloatArray]]] = []
    a = 0
    for i, (fq, n) in enumerate(zip(fqs, ns, strict=True)):
        if fq is not None:
            last = out[-1] if out else None
            if (
                last is not None
                and last[1] == a
                and last[2][0] == fq[0]
                and group[i - 1].model == group[i].model
            ):
                out[-1] = (last[0], a + n, last[2])
            else:
                out.append((a, a + n, fq))
        a += n
    return out


def _near_in_blocks(
    tracks: FloatArray, dets: FloatArray, ns: list[int], ms: list[int], gate: float
) -> tuple[IntArray, IntArray]:
    """``near_pairs`` of each tracker's own tracks and detections, in stacked indices: row
    by row, as ``np.nonzero`` lists a table of all trackers whose cross pairs are masked."""
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    a = c = 0
    for n, m in zip(ns, ms, strict=True):
        r, q = near_pairs(tracks[a : a + n], dets[c : c + m], gate=gate)
        rows.append(r + a)
        cols.append(q + c)
        a, c = a + n, c + m
    return np.concatenate(rows), np.concatenate(cols)


def _book_group(
    group: list[Tracker],
    time: float,
    rows: tuple[FloatArray, FloatArray, BoolArray, BoolArray],
    births: tuple[FloatArray, FloatArray, list[int]],
) -> list[ScanResult]:
    """Births, then hits and misses booked, tracks confirmed and deleted, on stacked rows;
    then each tracker takes its own rows back."""
    x, p, was, hit = rows
    bz, bsigma, nb = births
    n_b = bz.shape[0]
    cfg = group[0].config
    states = [t._state() for t in group]
    ns = [s[0].shape[0] for s in states]
    bx, bp = born(bz, bsigma, 2, cfg.init_speed_sigma)
    # Each tracker's rows, then its newborns, tracker after tracker: the order alone gives.
    # One index does it: old rows stacked first, newborns after them, then taken in order.
    order = _weave_order(ns, nb)
    x = np.concatenate([x, bx])[order]
    p = np.concatenate([p, bp])[order]
    was = np.concatenate([was, np.zeros(n_b, bool)])[order]
    hit = np.concatenate([hit, np.ones(n_b, bool)])[order]
    # A tracker's newborns count on from its own next id, in the order of its detections.
    next_ids = [t._next_id for t in group]
    first_new = np.array([i - a for i, (a, _) in zip(next_ids, _cuts(nb), strict=True)])
    new_ids = first_new.repeat(nb) + np.arange(n_b, dtype=np.int64)
    ids = np.concatenate([*(s[2] for s in states), new_ids])[order]
    hist = np.concatenate([*(s[3] for s in states), np.zeros((n_b, cfg.confirm_n), bool)])[order]
    zeros = np.zeros(n_b, np.int64)
    age = np.concatenate([*(s[4] for s in states), zeros])[order]
    misses = np.concatenate([*(s[5] for s in states), zeros])[order]
    sizes = [a + b for a, b in zip(ns, nb, strict=True)]
    limits = [t.config.max_position_var for t in group]
    max_var = limits[0] if len(set(limits)) == 1 else np.repeat(limits, sizes)
    confirmed, drop = book((hist, age, misses), was, hit, x, p, cfg=cfg, max_var=max_var)
    keep = ~drop
    gone = drop & was
    fresh = confirmed & ~(was | drop)
    shown = confirmed & keep
    # Each tracker's count of deleted, newly confirmed, kept and shown rows, from its block.
    starts = [0, *itertools.accumulate(sizes[:-1])]  # every block has a row
    counts = np.add.reduceat(np.array([gone, fresh, keep, shown]), starts, axis=1).tolist()
    deleted = _cut(ids[gone], counts[0])
    newly = _cut(ids[fresh], counts[1])
    tables = zip(
        _cut(ids[shown], counts[3]),
        _cut(x[shown], counts[3]),
        _cut(p[shown], counts[3]),
        strict=True,
    )
    if np.logical_or.reduce(drop):
        x, p, ids, hist = x[keep], p[keep], ids[keep], hist[keep]
        age, misses, confirmed = age[keep], misses[keep], confirmed[keep]
    out = []
    a = 0
    for i, (t, (t_ids, t_x, t_p)) in enumerate(zip(group, tables, strict=True)):
        b = a + counts[2][i]
        t._restore(
            next_ids[i] + nb[i],
            (x[a:b], p[a:b], ids[a:b], hist[a:b], age[a:b], misses[a:b], confirmed[a:b]),
        )
        tracks = TrackTable(time, t_ids, t_x, t_p)
        out.append(ScanResult(tracks, newly[i], deleted[i], Rejects()))
        a = b
    return out


def _weave_order(ns: list[int], nb: list[int]) -> IntArray:
    """For each tracker's old rows, then its new ones, tracker after tracker: where the row
    sits in all old rows stacked, then all new rows stacked."""
    n_old = sum(ns)
    sizes: list[int] = []
    shift: list[int] = []  # source row minus woven row, the same along a block
    a = c = w = 0
    for n, m in zip(ns, nb, strict=True):
        sizes += [n, m]
        shift += [a - w, n_old + c - (w + n)]
        a, c, w = a + n, c + m, w + n + m
    return np.array(shift, dtype=np.int64).repeat(sizes) + np.arange(w, dtype=np.int64)


def _cuts(sizes: list[int]) -> list[tuple[int, int]]:
    """(start, end) of consecutive blocks of the given sizes."""
    out = []
    a = 0
    for n in sizes:
        out.append((a, a + n))
        a += n
    return out


def _cut(values: NDArray[Any], counts: list[int]) -> list[NDArray[Any]]:
    """``values`` cut into consecutive pieces of the given lengths, one per tracker."""
    out = []
    a = 0
    for n in counts:
        out.append(values[a : a + n])
        a += n
    return out
