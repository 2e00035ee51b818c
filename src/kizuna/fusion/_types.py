"""Array-valued inputs and outputs of the tracker: detections in, track tables out.

Arrays are the unit of work so that nothing in the hot path loops per track in Python. The
frozen dataclasses hold numpy arrays; treat them as read-only values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kizuna.errors import ValidationError

__all__ = ["BoolArray", "Detections", "FloatArray", "IntArray", "Rejects", "TrackTable"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ArrayLikeFloat = FloatArray | list[list[float]] | list[float] | tuple[float, ...]


@dataclass(slots=True)
class Rejects:
    """Counts of input skipped, by reason, with the first few messages kept for the log."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    keep: int = 20

    def add(self, reason: str, n: int = 1, message: str | None = None) -> None:
        if n <= 0:
            return
        self.counts[reason] += n
        if message is not None and len(self.examples) < self.keep:
            self.examples.append(message)

    def merge(self, other: Rejects) -> None:
        if not other.counts and not other.examples:
            return
        self.counts.update(other.counts)
        room = self.keep - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Detections:
    """One scan's detections: positions ``z`` (k, d), noise ``sigma`` (k,), sensor per row."""

    z: FloatArray
    sigma: FloatArray
    sensor: NDArray[np.str_]

    @classmethod
    def of(
        cls,
        z: ArrayLikeFloat,
        sigma: ArrayLikeFloat | float,
        sensor: str | NDArray[np.str_] | list[str] = "",
    ) -> Detections:
        """Build from array-likes; a scalar sigma or sensor applies to every row."""
        zz = np.asarray(z, dtype=np.float64)
        if zz.ndim == 1 and zz.size == 0:
            zz = zz.reshape(0, 2)
        if zz.ndim != 2:
            raise ValidationError("must be a (k, d) array of positions", field="z")
        k = zz.shape[0]
        # A scalar, the usual case, is filled in directly: broadcasting costs more than it.
        if isinstance(sigma, float | int):
            ss = np.empty(k)
            ss.fill(sigma)
        else:
            ss = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (k,)).copy()
        if isinstance(sensor, str):
            names = np.empty(k, dtype=f"<U{max(len(sensor), 1)}")
            names.fill(sensor)
        else:
            names = np.broadcast_to(np.asarray(sensor, dtype=np.str_), (k,)).copy()
        return cls(zz, ss, names)

    @classmethod
    def empty(cls, dim: int = 2) -> Detections:
        return cls(np.zeros((0, dim)), np.zeros(0), np.zeros(0, dtype=np.str_))

    def __len__(self) -> int:
        return int(self.z.shape[0])

    def select(self, mask: NDArray[np.bool_] | IntArray) -> Detections:
        return Detections(self.z[mask], self.sigma[mask], self.sensor[mask])

    def validated(self, rejects: Rejects, known: frozenset[str] | None = None) -> Detections:
        """The rows that can be used; every other row is counted in ``rejects`` by reason."""
        if self._all_valid(known):
            return self
        ok = np.ones(len(self), dtype=bool)
        finite = np.isfinite(self.z).all(axis=1)
        rejects.add("nonfinite_position", int((~finite).sum()), "z: NaN or inf position")
        ok &= finite
        good_sigma = np.isfinite(self.sigma) & (self.sigma > 0)
        rejects.add("bad_sigma", int((ok & ~good_sigma).sum()), "sigma: must be finite and > 0")
        ok &= good_sigma
        if known is not None:
            is_known = np.isin(self.sensor, np.array(sorted(known), dtype=np.str_))
            rejects.add("unknown_sensor", int((ok & ~is_known).sum()), "sensor: not a known sensor")
            ok &= is_known
        return self if ok.all() else self.select(ok)

    def _all_valid(self, known: frozenset[str] | None) -> bool:
        """A quick yes for the usual scan: every row finite, every sigma positive, and one
        known sensor. A no only means the rows must be checked one by one."""
        if not len(self):
            return True
        # A finite sum means no NaN or inf (an overflow only sends the scan the long way);
        # NaN fails both sigma bounds, as the minimum and maximum carry it.
        if not math.isfinite(float(np.add.reduce(self.z, axis=None))):
            return False
        if not (np.minimum.reduce(self.sigma) > 0 and np.maximum.reduce(self.sigma) < np.inf):
            return False
        if known is None:
            return True
        first = self.sensor[0]
        return str(first) in known and bool(np.logical_and.reduce(self.sensor == first))


@dataclass(frozen=True, slots=True)
class TrackTable:
    """Tracks at one time: ids (n,), states ``x`` (n, s), covariances ``p`` (n, s, s)."""

    time: float
    ids: IntArray
    x: FloatArray
    p: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def dim(self) -> int:
        """Spatial dimension: states are positions then velocities."""
        return int(self.x.shape[1] // 2)

    @property
    def positions(self) -> FloatArray:
        return self.x[:, : self.dim]

    @property
    def position_covariances(self) -> FloatArray:
        d = self.dim
        return self.p[:, :d, :d]

    def select(self, mask: NDArray[np.bool_] | IntArray) -> TrackTable:
        return TrackTable(self.time, self.ids[mask], self.x[mask], self.p[mask])

    @classmethod
    def empty(cls, time: float, dim: int = 2) -> TrackTable:
        s = 2 * dim
        return cls(time, np.zeros(0, np.int64), np.zeros((0, s)), np.zeros((0, s, s)))
