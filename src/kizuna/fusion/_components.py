"""The one implementation of each tracker component (see ``kizuna.fusion.base``).

Every function works on a batch of tracks of several trackers, in a fixed number of array
operations whatever the batch holds; only contested association clusters are solved one by
one, and those are few when targets are not bunched together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.fusion._assoc import assign_edges, candidate_pairs
from kizuna.fusion._kalman import predict, update
from kizuna.fusion._models import MotionMix
from kizuna.fusion._types import BoolArray, FloatArray, IntArray
from kizuna.fusion.base import Pairs, Predictor, Rules, Scan, Tracks, merge

_LOG_2PI = float(np.log(2.0 * np.pi))

__all__ = [
    "EllipsoidGater",
    "GnnAssociator",
    "ImmPredictor",
    "KalmanUpdater",
    "MissDeleter",
    "MofNInitiator",
    "ScoreDeleter",
    "ScoreInitiator",
    "book",
]


@dataclass(frozen=True, slots=True)
class ImmPredictor:
    """Interacting multiple model prediction: mix the modes by their switching chances,
    then predict each mode with its own model. With one mode it is the Kalman predictor."""

    mix: MotionMix

    @property
    def modes(self) -> int:
        return len(self.mix.models)

    @property
    def initial_mu(self) -> FloatArray:
        return np.asarray(self.mix.initial, dtype=np.float64)

    def predict(self, tracks: Tracks, dt: FloatArray) -> Tracks:
        if len(tracks) == 0:
            return tracks
        x, p, mu = tracks.x, tracks.p, tracks.mu
        if self.modes > 1:
            x, p, mu = _mix(x, p, mu, np.asarray(self.mix.switch, dtype=np.float64))
        # F and Q per distinct step and mode (trackers of a batch may step by different
        # dt, but few distinct ones), then one per row.
        steps, which = np.unique(dt, return_inverse=True)
        f = np.stack([m.transition(steps) for m in self.mix.models], axis=1)
        q = np.stack([m.noise(steps) for m in self.mix.models], axis=1)
        x, p = predict(x, p, f[which], q[which])
        moved = dt > 0  # a row that does not move keeps its covariance bit for bit
        if not moved.all():
            x = np.where(moved[:, None, None], x, tracks.x)
            p = np.where(moved[:, None, None, None], p, tracks.p)
            mu = np.where(moved[:, None], mu, tracks.mu)
        return _replace(tracks, x=x, p=p, mu=mu)


def _mix(
    x: FloatArray, p: FloatArray, mu: FloatArray, switch: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM mixing: each mode's starting state is the moment-matched mixture of all modes,
    weighted by the chance that the target was in mode i given it is now in mode j."""
    n, r, s = x.shape
    cbar = mu @ switch  # (n, r): predicted mode chances
    w = switch[None, :, :] * mu[:, :, None] / cbar[:, None, :]  # (n, i, j)
    # Mode j's mixture is ``merge`` with weights w[:, :, j]: all j at once, as n·r rows.
    wj = np.swapaxes(w, 1, 2).reshape(n * r, r)
    xj = np.repeat(x, r, axis=0)
    pj = np.repeat(p, r, axis=0)
    x0, p0 = merge(wj, xj, pj)
    return x0.reshape(n, r, s), p0.reshape(n, r, s, s), cbar


@dataclass(frozen=True, slots=True)
class EllipsoidGater:
    """χ² gating on each track's merged estimate: candidates from one sweep over the batch
    (a circle that holds each gate ellipse), then scored exactly.

    A detection's noise is σ²·I, so with each track's position covariance P = V Λ Vᵀ
    (one eigendecomposition per track) a pair's S = V (Λ + σ²) Vᵀ: its distance and
    likelihood cost a few products per pair and no matrix inverse.
    """

    def gate(self, tracks: Tracks, scan: Scan, rules: Rules) -> Pairs:
        x, p = tracks.estimate()
        d = x.shape[1] // 2
        pos = x[:, :d]
        lam, vec = np.linalg.eigh(p[:, :d, :d])
        lam = np.maximum(lam, 0.0)  # rounding may leave a tiny negative eigenvalue
        gate = rules.gate[tracks.owner]
        widest = np.zeros(rules.gate.shape[0])
        np.maximum.at(widest, scan.owner, scan.r_var)
        # The gate ellipse's longest half-axis is sqrt(gate · λmax(S)).
        reach = np.sqrt(gate * (lam[:, -1] + widest[tracks.owner]))
        rows, cols = candidate_pairs(
            pos, reach, scan.z, centre_group=tracks.owner, point_group=scan.owner
        )
        u = ((scan.z[cols] - pos[rows])[:, None, :] @ vec[rows])[:, 0, :]
        den = lam[rows] + scan.r_var[cols][:, None]
        d2 = np.add.reduce(u * u / den, axis=1)
        logdet = np.add.reduce(np.log(den), axis=1)
        loglik = -0.5 * (d2 + logdet + d * _LOG_2PI)
        return Pairs(rows, cols, d2, loglik).take(d2 < gate[rows])


@dataclass(frozen=True, slots=True)
class GnnAssociator:
    """Global nearest neighbour: the assignment of least total squared Mahalanobis
    distance, a track left unassigned costing its gate."""

    def associate(
        self, n_tracks: int, n_dets: int, pairs: Pairs, rules: Rules, owner: IntArray
    ) -> tuple[IntArray, IntArray]:
        edges = (pairs.rows, pairs.cols, pairs.d2)
        return assign_edges(n_tracks, n_dets, edges, rules.gate[owner])


@dataclass(frozen=True, slots=True)
class KalmanUpdater:
    """Kalman update of each mode (Joseph form), and the IMM's mode chances by each mode's
    likelihood."""

    def update(self, tracks: Tracks, rows: IntArray, scan: Scan, cols: IntArray) -> Tracks:
        if rows.size == 0:
            return tracks
        r = tracks.x.shape[1]
        z, r_var = scan.z[cols][:, None, :], scan.r_var[cols][:, None]  # the same for each mode
        xr, pr, loglik = update(tracks.x[rows], tracks.p[rows], z, r_var)
        x, p, mu = tracks.x.copy(), tracks.p.copy(), tracks.mu.copy()
        x[rows], p[rows] = xr, pr
        if r > 1:
            logw = np.log(np.maximum(tracks.mu[rows], 1e-300)) + loglik
            logw -= logw.max(axis=1, keepdims=True)
            w = np.exp(logw)
            mu[rows] = w / w.sum(axis=1, keepdims=True)
        return _replace(tracks, x=x, p=p, mu=mu)


def _born(scan: Scan, rules: Rules, predictor: Predictor, first_id: IntArray) -> Tracks:
    """Tentative tracks at single detections: still, with the detection's variance in
    position and the tracker's ``speed_sigma``² in velocity, in every mode."""
    k, d = scan.z.shape
    r = predictor.modes
    s = 2 * d
    x = np.zeros((k, r, s))
    x[:, :, :d] = scan.z[:, None, :]
    var = np.empty((k, s))
    var[:, :d] = scan.r_var[:, None]
    var[:, d:] = (rules.speed_sigma[scan.owner] ** 2)[:, None]
    p = np.zeros((k, s, s))
    p.reshape(k, s * s)[:, :: s + 1] = var
    # A tracker's newborns count on from its next id, in the order of its detections.
    order = np.argsort(scan.owner, kind="stable")
    counts = np.bincount(scan.owner, minlength=first_id.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k) - np.repeat(starts, counts)
    ids = first_id[scan.owner] + rank
    zeros_i = np.zeros(k, dtype=np.int64)
    zeros_f = np.zeros(k)
    return Tracks(
        scan.owner.copy(), ids, x, np.repeat(p[:, None], r, axis=1),
        np.broadcast_to(predictor.initial_mu, (k, r)).copy(),
        zeros_f, zeros_f.copy(), zeros_i, zeros_i.copy(), zeros_i.copy(),
        np.zeros(k, dtype=bool),
    )  # fmt: skip


def book(tracks: Tracks, hit: BoolArray, gain: FloatArray, rules: Rules) -> Tracks:
    """One scan's hits and misses booked: the hit history, age, misses since the last hit,
    and the score, which gains ``gain`` on a hit (log Pd + log N(ν; 0, S) - log clutter
    density) and log(1 - Pd) on a miss."""
    o = tracks.owner
    width = np.left_shift(np.int64(1), rules.confirm_n[o]) - 1
    hist = ((tracks.hist << 1) | hit.astype(np.int64)) & width
    misses = np.where(hit, 0, tracks.misses + 1)
    score = tracks.score + np.where(hit, gain, rules.log_miss[o])
    return _replace(
        tracks,
        hist=hist,
        age=tracks.age + 1,
        misses=misses,
        score=score,
        peak=np.maximum(tracks.peak, score),
    )


@dataclass(frozen=True, slots=True)
class ScoreInitiator:
    """Single-point births; confirmation by the sequential probability ratio test on the
    track score: confirmed once it reaches log((1 - β) / α)."""

    def initiate(
        self, scan: Scan, rules: Rules, predictor: Predictor, first_id: IntArray
    ) -> Tracks:
        return _born(scan, rules, predictor, first_id)

    def confirm(self, tracks: Tracks, rules: Rules) -> BoolArray:
        return tracks.confirmed | (tracks.score >= rules.confirm_score[tracks.owner])


@dataclass(frozen=True, slots=True)
class MofNInitiator:
    """Single-point births; confirmed after M hits in the last N scans."""

    def initiate(
        self, scan: Scan, rules: Rules, predictor: Predictor, first_id: IntArray
    ) -> Tracks:
        return _born(scan, rules, predictor, first_id)

    def confirm(self, tracks: Tracks, rules: Rules) -> BoolArray:
        hits = np.bitwise_count(tracks.hist).astype(np.int64)
        return tracks.confirmed | (hits >= rules.confirm_m[tracks.owner])


def _unusable(tracks: Tracks, position_var: FloatArray, rules: Rules) -> BoolArray:
    """Confirmed tracks too unsure to keep, and any track with a NaN or inf in its state."""
    o = tracks.owner
    bad = ~np.isfinite(tracks.x).all(axis=(1, 2))
    return bad | (tracks.confirmed & (position_var > rules.max_var[o]))


@dataclass(frozen=True, slots=True)
class ScoreDeleter:
    """SPRT deletion: a tentative track goes once its score falls to log(β / (1 - α)); a
    confirmed one once it has fallen ``drop_score`` below its peak (about ``max_misses``
    missed scans in a row)."""

    def delete(self, tracks: Tracks, position_var: FloatArray, rules: Rules) -> BoolArray:
        o = tracks.owner
        tentative_gone = tracks.score <= rules.reject_score[o]
        confirmed_gone = tracks.peak - tracks.score >= rules.drop_score[o]
        gone = np.where(tracks.confirmed, confirmed_gone, tentative_gone)
        return gone | _unusable(tracks, position_var, rules)


@dataclass(frozen=True, slots=True)
class MissDeleter:
    """M-of-N deletion: a tentative track goes once it can no longer reach M of N, a
    confirmed one after ``max_misses`` missed scans in a row."""

    def delete(self, tracks: Tracks, position_var: FloatArray, rules: Rules) -> BoolArray:
        o = tracks.owner
        n, m = rules.confirm_n[o], rules.confirm_m[o]
        hits = np.bitwise_count(tracks.hist).astype(np.int64)
        window_misses = np.minimum(tracks.age, n) - hits
        gone = np.where(
            tracks.confirmed, tracks.misses >= rules.max_misses[o], window_misses > n - m
        )
        return gone | _unusable(tracks, position_var, rules)


def _replace(tracks: Tracks, **changes: FloatArray | IntArray | BoolArray) -> Tracks:
    values = {k: getattr(tracks, k) for k in Tracks.__slots__}
    values.update(changes)
    return Tracks(**values)
