"""A vectorised multi-target tracker: Kalman filter, gating, GNN, M-of-N, deletion.

All per-track state lives in parallel numpy arrays; one scan costs a fixed number of array
operations whatever the number of tracks. Only contested association clusters are solved one
by one, and those are few when targets are not bunched together.

A national sensor's scan is small (tens of tracks and detections), so a fixed cost per numpy
call, not the arithmetic, sets the price of a step. Small 2-D scans therefore score every
track against every detection once on a dense table (``_match_dense``) instead of a KD-tree
per round, and find contested clusters without a sparse graph. Both routes give the same
tracks to the bit; ``TrackerConfig.small_fast=False`` forces the general one for comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kizuna.errors import ValidationError
from kizuna.fusion._assoc import (
    DENSE_MAX,
    SMALL_MAX,
    assign_edges,
    candidate_pairs,
    gate_2d,
    gnn_assign,
    mahalanobis_sq,
)
from kizuna.fusion._kalman import inv_sym, predict_cov, predict_state, update
from kizuna.fusion._models import ConstantVelocity, MotionModel
from kizuna.fusion._types import (
    BoolArray,
    Detections,
    FloatArray,
    IntArray,
    Rejects,
    TrackTable,
)

__all__ = ["BATCH_MAX", "ScanResult", "Tracker", "TrackerConfig"]

# Tracks x detections at or below which a tracker steps in a group, gated on a dense table
# even above DENSE_MAX, where a lone step takes the KD-tree to the same pairs and costs.
BATCH_MAX = 65536


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracker parameters. ``gate`` is a χ² threshold on the squared Mahalanobis distance
    (13.8 keeps 99.9 % of true 2-D detections)."""

    gate: float = 13.8
    confirm_m: int = 3
    confirm_n: int = 4
    max_misses: int = 4
    max_position_var: float = 1.0e6  # m²; a confirmed track this unsure is deleted
    init_speed_sigma: float = 150.0  # m/s, velocity std of a track born from one detection
    max_tracks: int = 50_000
    sensors: frozenset[str] | None = None  # None: accept any sensor name
    # Small scans take cheaper routes to the same association (see ``_assoc``); False forces
    # the general KD-tree and sparse-graph route everywhere, which the tests compare against.
    small_fast: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_m <= self.confirm_n:
            raise ValidationError("need 1 <= M <= N", field="confirm_m")
        if self.gate <= 0 or self.max_misses < 1 or self.max_tracks < 1:
            raise ValidationError("gate, max_misses and max_tracks must be positive")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one scan changed: the confirmed tracks now, and the tracks deleted by it."""

    tracks: TrackTable
    confirmed_now: IntArray  # ids first confirmed in this scan
    deleted: IntArray  # ids of confirmed tracks deleted in this scan
    rejects: Rejects = field(default_factory=Rejects)


class Tracker:
    """Turns scans of detections into confirmed tracks. Feed scans in time order."""

    def __init__(
        self, model: MotionModel | None = None, config: TrackerConfig | None = None
    ) -> None:
        self.model: MotionModel = model or ConstantVelocity()
        self.config = config or TrackerConfig()
        d = self.model.dim
        s = 2 * d
        self._time: float | None = None
        self._next_id = 1
        self._x = np.zeros((0, s))
        self._p = np.zeros((0, s, s))
        self._ids = np.zeros(0, dtype=np.int64)
        self._hist = np.zeros((0, self.config.confirm_n), dtype=bool)
        self._age = np.zeros(0, dtype=np.int64)
        self._misses = np.zeros(0, dtype=np.int64)
        self._confirmed = np.zeros(0, dtype=bool)
        self.rejects = Rejects()
        # F and Q for the last step length: a sensor's tracker steps at its fixed revisit.
        self._fq: tuple[float, FloatArray, FloatArray] | None = None
        fast = self.config.small_fast
        self._dense_max, self._small_max = (DENSE_MAX, SMALL_MAX) if fast else (0, 0)

    @property
    def time(self) -> float | None:
        return self._time

    def __len__(self) -> int:
        return int(self._ids.size)

    def tracks(self, *, confirmed_only: bool = True) -> TrackTable:
        t = self._time if self._time is not None else 0.0
        mask = self._confirmed if confirmed_only else np.ones(len(self), dtype=bool)
        return TrackTable(t, self._ids[mask], self._x[mask], self._p[mask])

    def step(self, time: float, detections: Detections) -> ScanResult:
        """Predict to ``time``, associate and update, start and delete tracks."""
        rejects = Rejects()
        if not math.isfinite(time):
            rejects.add("nonfinite_time", max(len(detections), 1), "time: NaN or inf")
            return self._unchanged(rejects)
        if self._time is not None and time < self._time:
            rejects.add("out_of_order_scan", max(len(detections), 1), "time: before last scan")
            return self._unchanged(rejects)
        if len(detections) and detections.z.shape[1] != self.model.dim:
            raise ValidationError(f"positions must have {self.model.dim} columns", field="z")
        det = detections.validated(rejects, self.config.sensors)
        self._predict(time)
        hit = np.zeros(len(self), dtype=bool)
        if len(det) and np.logical_and.reduce(det.sensor == det.sensor[0]):
            hit = self._pass(det, hit, rejects)  # one sensor: the usual scan
        else:
            for name in np.unique(det.sensor):
                hit = self._pass(det.select(det.sensor == name), hit, rejects)
        newly, deleted = self._maintain(hit)
        self.rejects.merge(rejects)
        return ScanResult(self.tracks(), newly, deleted, rejects)

    # ---- for ``step_together``: the usual route, taken by several trackers at once --------
    def _batchable(self, time: float, det: Detections) -> bool:
        """Whether ``step(time, det)`` would take the usual route, which a group takes for
        it: a finite time in order, every row valid and from one sensor, tracks already, a
        2-D scan of at most ``BATCH_MAX`` pairs, and room for every detection to start a
        track."""
        n, m = len(self), len(det)
        return (
            n > 0
            and m > 0
            and self._dense_max > 0
            and n * m <= BATCH_MAX
            and n + m <= self.config.max_tracks
            and self.model.dim == 2
            and det.z.ndim == 2
            and det.z.shape[1] == 2
            and det.z.dtype == np.float64
            and det.sigma.dtype == np.float64
            and math.isfinite(time)
            and (self._time is None or time >= self._time)
            and det._all_valid(self.config.sensors)  # one known sensor, when sensors are set
            and (
                self.config.sensors is not None
                or bool(np.logical_and.reduce(det.sensor == det.sensor[0]))
            )
        )

    def _state(
        self,
    ) -> tuple[FloatArray, FloatArray, IntArray, BoolArray, IntArray, IntArray, BoolArray]:
        return (
            self._x,
            self._p,
            self._ids,
            self._hist,
            self._age,
            self._misses,
            self._confirmed,
        )

    def _restore(
        self,
        next_id: int,
        state: tuple[FloatArray, FloatArray, IntArray, BoolArray, IntArray, IntArray, BoolArray],
    ) -> None:
        self._next_id = next_id
        self._x, self._p, self._ids, self._hist, self._age, self._misses, self._confirmed = state

    def _unchanged(self, rejects: Rejects) -> ScanResult:
        self.rejects.merge(rejects)
        empty = np.zeros(0, dtype=np.int64)
        return ScanResult(self.tracks(), empty, empty.copy(), rejects)

    def _predict(self, time: float) -> None:
        fq = self._predict_state(time)
        if fq is not None:
            self._p = predict_cov(self._p, fq[1], fq[2])

    def _predict_state(self, time: float) -> tuple[float, FloatArray, FloatArray] | None:
        """Move the clock and the states to ``time``; return (dt, F, Q) if the covariances
        are still to be predicted, else None."""
        dt = 0.0 if self._time is None else time - self._time
        self._time = time
        if dt > 0 and len(self):
            if self._fq is None or self._fq[0] != dt:
                self._fq = (dt, self.model.transition(dt), self.model.noise(dt))
            self._x = predict_state(self._x, self._fq[1])
            return self._fq
        return None

    def _pass(self, det: Detections, hit: NDArray[np.bool_], rejects: Rejects) -> NDArray[np.bool_]:
        """One sensor's detections: confirmed tracks choose first, then tentative ones."""
        n, m = len(self), len(det)
        if n and m and self.model.dim == 2 and n * m <= self._dense_max:
            ti, dk, free = self._match_dense(det)
        else:
            ti, dk, free = self._match(det)
        if ti.size:
            # The groups hold different tracks, so one update serves both.
            self._x[ti], self._p[ti] = update(
                self._x[ti], self._p[ti], det.z[dk], det.sigma[dk] ** 2
            )
            hit[ti] = True
        born = self._birth(det.z[free], det.sigma[free], rejects)
        return np.concatenate([hit, np.ones(born, dtype=bool)])

    def _match(self, det: Detections) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
        """(track, detection) matches of both rounds, and the detections left free."""
        free = np.ones(len(det), dtype=bool)
        done_t: list[IntArray] = [np.zeros(0, dtype=np.int64)]
        done_d: list[IntArray] = [np.zeros(0, dtype=np.int64)]
        for group in (self._confirmed, ~self._confirmed):
            tr = np.flatnonzero(group)
            dj = np.flatnonzero(free)
            if tr.size == 0 or dj.size == 0:
                continue
            mt, md = self._associate(tr, det.z[dj], det.sigma[dj])
            done_t.append(tr[mt])
            done_d.append(dj[md])
            free[dj[md]] = False
        return np.concatenate(done_t), np.concatenate(done_d), free

    def _match_dense(self, det: Detections) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
        """``_match`` for a small 2-D scan: every pair is scored once, on one dense table."""
        gate = self.config.gate
        keep, cost = gate_2d(self._x[:, :2], self._p[:, :2, :2], det.z, det.sigma**2, gate=gate)
        rows, cols = keep.nonzero()
        edges = (rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False))
        return match_edges(
            self._confirmed, len(det), (*edges, cost[rows, cols]), gate, self._small_max
        )

    def _associate(
        self, tr: IntArray, z: FloatArray, sigma: FloatArray
    ) -> tuple[IntArray, IntArray]:
        d = self.model.dim
        gate = self.config.gate
        pos = self._x[tr, :d]
        ppos = self._p[tr, :d, :d]
        # A circle that contains every gate ellipse: λmax(S) <= trace(P_pos) + d·σmax².
        spread = np.trace(ppos, axis1=1, axis2=2) + d * float(sigma.max()) ** 2
        rows, cols = candidate_pairs(pos, np.sqrt(gate * spread), z, dense_max=self._dense_max)
        if rows.size == 0:
            return rows, cols
        s = ppos[rows]  # S = H P Hᵀ + R, as innovation_cov makes it, from the gathered block
        idx = np.arange(d)
        s[:, idx, idx] += (sigma[cols] ** 2)[:, None]
        cost = mahalanobis_sq(z[cols] - pos[rows], inv_sym(s))
        return gnn_assign(
            tr.size, z.shape[0], rows, cols, cost, miss_cost=gate, small_max=self._small_max
        )

    def _birth(self, z: FloatArray, sigma: FloatArray, rejects: Rejects) -> int:
        room = self.config.max_tracks - len(self)
        if z.shape[0] > room:
            rejects.add("births_dropped", z.shape[0] - max(room, 0), "max_tracks reached")
            z, sigma = z[: max(room, 0)], sigma[: max(room, 0)]
        k = int(z.shape[0])
        if k == 0:
            return 0
        x, p = born(z, sigma, self.model.dim, self.config.init_speed_sigma)
        ids = np.arange(self._next_id, self._next_id + k, dtype=np.int64)
        self._next_id += k
        self._x = np.concatenate([self._x, x])
        self._p = np.concatenate([self._p, p])
        self._ids = np.concatenate([self._ids, ids])
        self._hist = np.concatenate([self._hist, np.zeros((k, self.config.confirm_n), bool)])
        self._age = np.concatenate([self._age, np.zeros(k, np.int64)])
        self._misses = np.concatenate([self._misses, np.zeros(k, np.int64)])
        self._confirmed = np.concatenate([self._confirmed, np.zeros(k, bool)])
        return k

    def _maintain(self, hit: NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
        """Book hits and misses; confirm and delete. Returns (newly confirmed, deleted) ids."""
        was = self._confirmed
        self._confirmed, drop = book(
            (self._hist, self._age, self._misses), was, hit, self._x, self._p, cfg=self.config
        )
        deleted = self._ids[drop & was]
        newly = self._ids[self._confirmed & ~(was | drop)]
        if np.logical_or.reduce(drop):
            keep = ~drop
            self._x, self._p, self._ids = self._x[keep], self._p[keep], self._ids[keep]
            self._hist, self._age = self._hist[keep], self._age[keep]
            self._misses, self._confirmed = self._misses[keep], self._confirmed[keep]
        return newly, deleted


def match_edges(
    conf: BoolArray,
    m: int,
    edges: tuple[IntArray, IntArray, FloatArray],
    gate: float,
    small: int,
) -> tuple[IntArray, IntArray, BoolArray]:
    """Both rounds of association over gated (track, detection, cost) edges listed row by
    row: confirmed tracks choose first, then tentative ones among the detections left.
    Returns the matched (track, detection) pairs and the detections left free.

    Edges of several trackers side by side, never joining two of them, match each tracker
    as its own edges would: a round only filters the list, which keeps its order.
    """
    rows, cols, cost = edges
    n = conf.size
    free = np.ones(m, dtype=bool)
    first = conf[rows]
    edges_1 = (rows[first], cols[first], cost[first])
    ti, dk = assign_edges(n, m, edges_1, miss_cost=gate, small_max=small)
    free[dk] = False
    second = ~first
    second &= free[cols]
    edges_2 = (rows[second], cols[second], cost[second])
    mt, md = assign_edges(n, m, edges_2, miss_cost=gate, small_max=small)
    if mt.size:
        ti = np.concatenate([ti, mt])
        dk = np.concatenate([dk, md])
        free[md] = False
    return ti, dk, free


def born(
    z: FloatArray, sigma: FloatArray, d: int, speed_sigma: float
) -> tuple[FloatArray, FloatArray]:
    """States and covariances of tracks born from single detections: at the detection,
    still, with its variance in position and ``speed_sigma``² in velocity."""
    k = z.shape[0]
    x = np.zeros((k, 2 * d))
    x[:, :d] = z
    var = np.empty((k, 2 * d))
    var[:, :d] = sigma[:, None] ** 2
    var[:, d:] = speed_sigma**2
    p = np.zeros((k, 2 * d, 2 * d))
    p.reshape(k, 4 * d * d)[:, :: 2 * d + 1] = var
    return x, p


def book(
    counters: tuple[NDArray[np.bool_], IntArray, IntArray],
    was: BoolArray,
    hit: BoolArray,
    x: FloatArray,
    p: FloatArray,
    *,
    cfg: TrackerConfig,
    max_var: float | FloatArray | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Book one scan's hits and misses in (history, age, misses), in place; return which
    tracks are confirmed now and which must go. ``max_var`` (per track, or one for all)
    stands in for ``cfg.max_position_var`` when tracks of several trackers are booked."""
    hist, age, misses = counters
    hist[:, 1:] = hist[:, :-1]
    hist[:, 0] = hit
    age += 1
    misses += 1
    misses[hit] = 0
    hits = np.add.reduce(hist, axis=1)
    confirmed = was | (hits >= cfg.confirm_m)
    d = x.shape[1] // 2
    # The trace of the position block; in 2-D the sum np.trace makes, without its wrapper.
    var = p[:, 0, 0] + p[:, 1, 1] if d == 2 else np.trace(p[:, :d, :d], axis1=1, axis2=2)
    window_misses = np.minimum(age, cfg.confirm_n) - hits
    limit = cfg.max_position_var if max_var is None else max_var
    drop = np.where(
        confirmed,
        (misses >= cfg.max_misses) | (var > limit),
        window_misses > cfg.confirm_n - cfg.confirm_m,
    )
    drop |= ~np.logical_and.reduce(np.isfinite(x), axis=1)  # never keep a NaN track
    return confirmed, drop
