"""The one implementation of each tracker component (see ``kizuna.fusion.base``).

Every function works on a batch of tracks of several trackers, in a fixed number of array
operations whatever the batch holds; only contested association clusters are solved one by
one, and those are few when targets are not bunched together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.fusion._assoc import assign_edges, candidate_pairs
from kizuna.fusion._kalman import innovation_cov, log_gaussian, predict, update
from kizuna.fusion._models import MotionMix
from kizuna.fusion._types import BoolArray, FloatArray, IntArray
from kizuna.fusion.base import Pairs, Predictor, Rules, Scan, Tracks

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
        # F and Q per distinct step length (trackers of a batch may step by different dt).
        steps, which = np.unique(dt, return_inverse=True)
        f = np.stack([np.stack([m.transition(float(t)) for m in self.mix.models]) for t in steps])
        q = np.stack([np.stack([m.noise(float(t)) for m in self.mix.models]) for t in steps])
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
    """IMM mixing: each mode's starting state is the mixture of all modes weighted by the
    chance that the target was in mode i given it is now in mode j."""
    cbar = mu @ switch  # (n, r): predicted mode chances
    w = switch[None, :, :] * mu[:, :, None] / cbar[:, None, :]  # (n, i, j)
    x0 = np.einsum("nij,nis->njs", w, x)
    dx = x[:, :, None, :] - x0[:, None, :, :]  # (n, i, j, s)
    p0 = np.einsum("nij,nist->njst", w, p) + np.einsum("nij,nijs,nijt->njst", w, dx, dx)
    return np.asarray(x0), np.asarray(p0), np.asarray(cbar)


@dataclass(frozen=True, slots=True)
class EllipsoidGater:
    """χ² gating on each track's merged estimate: candidates from one KD-tree query over
    the batch (a circle that holds each gate ellipse), then scored exactly."""

    def gate(self, tracks: Tracks, scan: Scan, rules: Rules) -> Pairs:
        x, p = tracks.estimate()
        d = x.shape[1] // 2
        pos, ppos = x[:, :d], p[:, :d, :d]
        gate = rules.gate[tracks.owner]
        widest = np.zeros(rules.gate.shape[0])
        np.maximum.at(widest, scan.owner, scan.r_var)
        # A circle that contains every gate ellipse: λmax(S) <= trace(P_pos) + d·σmax².
        spread = np.trace(ppos, axis1=1, axis2=2) + d * widest[tracks.owner]
        rows, cols = candidate_pairs(
            pos,
            np.sqrt(gate * spread),
            scan.z,
            centre_group=tracks.owner,
            point_group=scan.owner,
        )
        s = innovation_cov(ppos[rows], scan.r_var[cols])
        d2, loglik = log_gaussian(scan.z[cols] - pos[rows], s)
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
        z = np.repeat(scan.z[cols][:, None, :], r, axis=1)
        r_var = np.repeat(scan.r_var[cols][:, None], r, axis=1)
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
