"""Tracking quality: GOSPA with its components, and scores over a whole run.

GOSPA follows Rahmathullah, García-Fernández and Svensson (2016). For ``alpha = 2`` the
metric splits exactly into localisation, missed and false parts:
``distance ** p == localisation + missed + false``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from kizuna.fusion._types import FloatArray, IntArray

__all__ = ["Gospa", "RunScore", "TruthFrame", "gospa", "score_run"]


@dataclass(frozen=True, slots=True)
class Gospa:
    distance: float
    localisation: float  # sum of d**p over assigned pairs closer than c
    missed: float  # c**p / alpha per truth left unassigned
    false: float  # c**p / alpha per estimate left unassigned
    track_idx: IntArray  # assigned pairs (estimate index, truth index), closer than c
    truth_idx: IntArray


def gospa(
    estimates: FloatArray,
    truths: FloatArray,
    *,
    c: float = 100.0,
    p: float = 2.0,
    alpha: float = 2.0,
) -> Gospa:
    """GOSPA between position sets ``estimates`` (m, d) and ``truths`` (n, d)."""
    if not (c > 0 and p >= 1 and 0 < alpha <= 2):
        raise ValueError("GOSPA needs c > 0, p >= 1 and 0 < alpha <= 2")
    m, n = estimates.shape[0], truths.shape[0]
    dummy = c**p / alpha
    empty = np.zeros(0, dtype=np.int64)
    if m == 0 or n == 0:
        return Gospa(((m + n) * dummy) ** (1 / p), 0.0, n * dummy, m * dummy, empty, empty)
    dist = cdist(estimates, truths)
    cost = np.minimum(dist, c) ** p
    ri, ci = linear_sum_assignment(cost)
    close = dist[ri, ci] < c
    loc = float(cost[ri[close], ci[close]].sum())
    total = float(cost[ri, ci].sum()) + dummy * abs(m - n)
    n_pairs = int(close.sum())
    return Gospa(
        total ** (1 / p),
        loc,
        (n - n_pairs) * dummy,
        (m - n_pairs) * dummy,
        ri[close].astype(np.int64),
        ci[close].astype(np.int64),
    )


@dataclass(frozen=True, slots=True)
class TruthFrame:
    """Estimates and truths at one time: ids and positions of each."""

    time: float
    track_ids: IntArray
    track_pos: FloatArray
    truth_ids: IntArray
    truth_pos: FloatArray


@dataclass(frozen=True, slots=True)
class RunScore:
    scans: int
    gospa_mean: float
    localisation_mean: float
    missed_mean: float
    false_mean: float
    track_count_error: float  # mean |tracks - truths| per scan
    id_switches: int
    fragmentations: int
    rmse: float  # position RMSE over assigned pairs

    def to_json(self) -> dict[str, float | int]:
        return {
            "scans": self.scans,
            "gospa_mean": self.gospa_mean,
            "gospa_localisation_mean": self.localisation_mean,
            "gospa_missed_mean": self.missed_mean,
            "gospa_false_mean": self.false_mean,
            "track_count_error": self.track_count_error,
            "id_switches": self.id_switches,
            "fragmentations": self.fragmentations,
            "position_rmse": self.rmse,
        }


def score_run(
    frames: Sequence[TruthFrame], *, c: float = 100.0, p: float = 2.0, alpha: float = 2.0
) -> RunScore:
    """Score a run scan by scan. A truth's ID switches when the track assigned to it changes;
    it fragments when it loses its track and later gets one again."""
    g: list[Gospa] = []
    last_track: dict[int, int] = {}
    was_tracked: dict[int, bool] = {}
    switches = frags = 0
    sq_err, pairs = 0.0, 0
    count_err = 0.0
    for f in frames:
        res = gospa(f.track_pos, f.truth_pos, c=c, p=p, alpha=alpha)
        g.append(res)
        count_err += abs(len(f.track_ids) - len(f.truth_ids))
        d = f.track_pos[res.track_idx] - f.truth_pos[res.truth_idx]
        sq_err += float((d**2).sum())
        pairs += int(res.track_idx.size)
        assigned = dict(
            zip(
                f.truth_ids[res.truth_idx].tolist(),
                f.track_ids[res.track_idx].tolist(),
                strict=True,
            )
        )
        for tid in f.truth_ids.tolist():
            trk = assigned.get(tid)
            if trk is None:
                was_tracked[tid] = False
                continue
            if tid in last_track and last_track[tid] != trk:
                switches += 1
            if tid in last_track and not was_tracked[tid]:
                frags += 1
            last_track[tid] = trk
            was_tracked[tid] = True
    k = max(len(frames), 1)
    return RunScore(
        scans=len(frames),
        gospa_mean=sum(x.distance for x in g) / k,
        localisation_mean=sum(x.localisation for x in g) / k,
        missed_mean=sum(x.missed for x in g) / k,
        false_mean=sum(x.false for x in g) / k,
        track_count_error=count_err / k,
        id_switches=switches,
        fragmentations=frags,
        rmse=float(np.sqrt(sq_err / pairs)) if pairs else 0.0,
    )
