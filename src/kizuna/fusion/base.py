"""The tracker's components, as Stone Soup splits a tracker, and the batch they work on.

A scan of a tracker goes predictor → gater → associator → updater → initiator → deleter.
Each component is a Protocol with one vectorised implementation in ``kizuna.fusion``; every
one works on a *batch*: the tracks of several trackers stacked row by row, each row knowing
its tracker by ``owner``. A lone tracker is a batch of one, so there is one route whatever
the size, and speed comes from doing many small problems in one set of array operations.

To swap a component, pass your own implementation to ``Tracker(components=Components(...))``;
trackers step together only with trackers that use equal components.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kizuna.fusion._types import BoolArray, FloatArray, IntArray

__all__ = [
    "Associator",
    "Deleter",
    "Gater",
    "Initiator",
    "Pairs",
    "Predictor",
    "Rules",
    "Scan",
    "Tracks",
    "Updater",
    "merge",
]


@dataclass(frozen=True, slots=True)
class Tracks:
    """Tracks of a batch of trackers, one row each. ``x`` and ``p`` hold each motion mode's
    state ``(n, modes, s)`` and covariance ``(n, modes, s, s)``; ``mu`` the mode
    probabilities. ``score`` is the track's log-likelihood ratio (target against false
    alarms) and ``peak`` its highest so far; ``hist`` a bit per recent scan, newest lowest,
    set on a hit."""

    owner: IntArray
    ids: IntArray
    x: FloatArray
    p: FloatArray
    mu: FloatArray
    score: FloatArray
    peak: FloatArray
    hist: IntArray
    age: IntArray
    misses: IntArray
    confirmed: BoolArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def empty(cls, modes: int, dim: int) -> Tracks:
        s = 2 * dim
        i = np.zeros(0, dtype=np.int64)
        f = np.zeros(0)
        return cls(
            i, i, np.zeros((0, modes, s)), np.zeros((0, modes, s, s)), np.zeros((0, modes)),
            f, f, i, i, i, np.zeros(0, dtype=bool),
        )  # fmt: skip

    def take(self, idx: IntArray | BoolArray | slice) -> Tracks:
        """The given rows, in the given order (a slice gives views)."""
        return Tracks(*(getattr(self, k)[idx] for k in _FIELDS))

    @staticmethod
    def concat(parts: list[Tracks]) -> Tracks:
        return Tracks(*(np.concatenate([getattr(t, k) for t in parts]) for k in _FIELDS))

    def estimate(self) -> tuple[FloatArray, FloatArray]:
        """Each track's state and covariance, its modes merged by moment matching."""
        if self.x.shape[1] == 1:
            return self.x[:, 0], self.p[:, 0]
        return merge(self.mu, self.x, self.p)


def merge(w: FloatArray, x: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The moment-matched Gaussian of mixtures: weights ``w`` (n, r) summing to 1 over r,
    means ``x`` (n, r, s) and covariances ``p`` (n, r, s, s)."""
    n, r, s = x.shape
    mean: FloatArray = (w[:, None, :] @ x)[:, 0]
    dx = x - mean[:, None, :]
    spread = np.swapaxes(dx * w[:, :, None], 1, 2) @ dx
    cov: FloatArray = (w[:, None, :] @ p.reshape(n, r, s * s)).reshape(n, s, s) + spread
    return mean, cov


_FIELDS = Tracks.__slots__


@dataclass(frozen=True, slots=True)
class Scan:
    """Detections of a batch: positions ``z`` (m, d), variances ``r_var`` (m,), and the
    tracker of the batch each is for."""

    owner: IntArray
    z: FloatArray
    r_var: FloatArray

    def __len__(self) -> int:
        return int(self.z.shape[0])

    def take(self, idx: IntArray | BoolArray) -> Scan:
        return Scan(self.owner[idx], self.z[idx], self.r_var[idx])


@dataclass(frozen=True, slots=True)
class Rules:
    """Each tracker's parameters, one entry per tracker of the batch: index by ``owner``."""

    gate: FloatArray  # χ² threshold on the squared Mahalanobis distance
    log_pd: FloatArray  # log of the detection probability
    log_miss: FloatArray  # log(1 - pd)
    log_clutter: FloatArray  # log of the clutter density (false detections per m² a scan)
    confirm_score: FloatArray  # SPRT: confirm at or above
    reject_score: FloatArray  # SPRT: a tentative track goes at or below
    drop_score: FloatArray  # a confirmed track goes when this far below its peak
    confirm_m: IntArray
    confirm_n: IntArray
    max_misses: IntArray
    max_var: FloatArray  # m²; a confirmed track this unsure in position goes
    speed_sigma: FloatArray  # m/s, velocity std of a track born from one detection


@dataclass(frozen=True, slots=True)
class Pairs:
    """Gated (track row, detection row) pairs, row by row, with their squared Mahalanobis
    distance and log-likelihood log N(ν; 0, S)."""

    rows: IntArray
    cols: IntArray
    d2: FloatArray
    loglik: FloatArray

    def take(self, mask: BoolArray) -> Pairs:
        return Pairs(self.rows[mask], self.cols[mask], self.d2[mask], self.loglik[mask])


class Predictor(Protocol):
    """Moves tracks forward in time (an IMM also mixes its modes first)."""

    @property
    def modes(self) -> int:
        """Motion modes per track (1 for a single model)."""
        ...

    @property
    def initial_mu(self) -> FloatArray:
        """Mode probabilities of a newborn track, shape (modes,)."""
        ...

    def predict(self, tracks: Tracks, dt: FloatArray) -> Tracks:
        """Every row moved by its own ``dt`` (seconds, shape (n,), >= 0)."""
        ...


class Gater(Protocol):
    def gate(self, tracks: Tracks, scan: Scan, rules: Rules) -> Pairs:
        """The pairs of a tracker's own tracks and detections inside its gate."""
        ...


class Associator(Protocol):
    def associate(
        self, n_tracks: int, n_dets: int, pairs: Pairs, rules: Rules, owner: IntArray
    ) -> tuple[IntArray, IntArray]:
        """Matched (track row, detection row) pairs, at most one per track and detection;
        ``owner`` is each track row's tracker."""
        ...


class Updater(Protocol):
    def update(self, tracks: Tracks, rows: IntArray, scan: Scan, cols: IntArray) -> Tracks:
        """``tracks`` with rows ``rows`` updated by detections ``cols`` of ``scan``."""
        ...


class Initiator(Protocol):
    def initiate(
        self, scan: Scan, rules: Rules, predictor: Predictor, first_id: IntArray
    ) -> Tracks:
        """Tentative tracks born from free detections; a tracker's ids count on from
        ``first_id[owner]``."""
        ...

    def confirm(self, tracks: Tracks, rules: Rules) -> BoolArray:
        """Which tracks are confirmed after this scan was booked."""
        ...


class Deleter(Protocol):
    def delete(self, tracks: Tracks, position_var: FloatArray, rules: Rules) -> BoolArray:
        """Which tracks go after this scan was booked (``position_var``: trace of each
        track's position covariance)."""
        ...
