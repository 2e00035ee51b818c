"""RED forces as truth: notional launchers, ships, aircraft and fixed sites that move, hide
and reappear. Vectorised over every entity; all randomness from the run's Generator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Forces", "RedGroup", "Theatre"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Theatre:
    """The box RED operates in, km on the exercise's notional grid."""

    x_km: tuple[float, float]
    y_km: tuple[float, float]


@dataclass(frozen=True, slots=True)
class RedGroup:
    name: str
    type: str
    count: int
    speed_kmh: tuple[float, float] = (0.0, 0.0)
    hidden_share: float = 0.0  # long-run share of time hidden (in hides, under cover, silent)
    exposure_min: tuple[float, float] = (20.0, 60.0)  # how long one exposure lasts
    nominate: bool = True  # False: tracked in the picture but never a target (e.g. aircraft)
    turn_per_h: float = 0.5  # mean course changes per hour


class Forces:
    """Every RED entity's truth state. Positions in metres, velocities in m/s."""

    def __init__(self, groups: Sequence[RedGroup], theatre: Theatre, rng: np.random.Generator):
        self.groups = tuple(groups)
        self._rng = rng
        self.group = np.concatenate([np.full(g.count, i) for i, g in enumerate(groups)]).astype(
            np.int64
        )
        n = self.group.size
        self.type = np.array([g.type for g in groups])[self.group]
        lo = np.array([theatre.x_km[0], theatre.y_km[0]]) * 1000.0
        hi = np.array([theatre.x_km[1], theatre.y_km[1]]) * 1000.0
        self._lo, self._hi = lo, hi
        self.pos: FloatArray = lo + rng.random((n, 2)) * (hi - lo)
        speed_lo = np.array([groups[i].speed_kmh[0] for i in self.group]) / 3.6
        speed_hi = np.array([groups[i].speed_kmh[1] for i in self.group]) / 3.6
        self._speed = speed_lo + rng.random(n) * (speed_hi - speed_lo)
        self.vel: FloatArray = self._course(rng.uniform(0, 2 * np.pi, n))
        self._turn = np.array([groups[i].turn_per_h for i in self.group]) / 3600.0
        self._hidden_share = np.array([groups[i].hidden_share for i in self.group])
        self._expo = np.array([groups[i].exposure_min for i in self.group]) * 60.0
        # Each entity's mean time hidden, so that its share of time hidden is hidden_share.
        share, mean_expo = self._hidden_share, self._expo.mean(axis=1)
        self._mean_hide = np.where(
            share < 1.0, mean_expo * share / np.maximum(1.0 - share, 1e-9), np.inf
        )
        self._turn_dt = (0.0, self._turn * 0.0)  # chance of a turn in a step of dt seconds
        self.alive: BoolArray = np.ones(n, dtype=bool)
        # start in a random phase of the hide/expose cycle
        self.exposed: BoolArray = rng.random(n) >= self._hidden_share
        self._switch_at: FloatArray = np.where(
            self.exposed, self._exposure(np.arange(n)), self._hiding(np.arange(n))
        ) * rng.random(n)
        self.time = 0.0
        self.exposed_since: FloatArray = np.where(self.exposed, 0.0, np.inf)

    def _course(self, heading: FloatArray, idx: NDArray[np.int64] | None = None) -> FloatArray:
        speed = self._speed if idx is None else self._speed[idx]
        vel = np.empty((heading.size, 2))
        np.cos(heading, out=vel[:, 0])
        np.sin(heading, out=vel[:, 1])
        vel *= speed[:, None]
        return vel

    def _exposure(self, idx: NDArray[np.int64]) -> FloatArray:
        lo, hi = self._expo[idx, 0], self._expo[idx, 1]
        out: FloatArray = lo + self._rng.random(idx.size) * (hi - lo)
        return out

    def _hiding(self, idx: NDArray[np.int64]) -> FloatArray:
        out: FloatArray = self._rng.exponential(1.0, idx.size) * self._mean_hide[idx]
        return out

    def advance(self, dt: float) -> None:
        """Move everything ``dt`` seconds: turn now and then, stay in the box, hide and show."""
        self.time += dt
        if self._turn_dt[0] != dt:
            self._turn_dt = (dt, self._turn * dt)
        idx = (self._rng.random(self.pos.shape[0]) < self._turn_dt[1]).nonzero()[0]
        if idx.size:
            self.vel[idx] = self._course(self._rng.uniform(0, 2 * np.pi, idx.size), idx)
        self.pos += self.vel * dt
        out = self.pos < self._lo
        out |= self.pos > self._hi
        np.negative(self.vel, out=self.vel, where=out)  # turn back at the edge of the area
        # np.clip's result, without its Python wrapper: positions are never NaN.
        np.minimum(np.maximum(self.pos, self._lo, out=self.pos), self._hi, out=self.pos)
        idx = (self._switch_at <= self.time).nonzero()[0]
        if idx.size:
            now_exposed = ~self.exposed[idx]
            self.exposed[idx] = now_exposed
            self.exposed_since[idx] = np.where(now_exposed, self.time, np.inf)
            span = np.where(now_exposed, self._exposure(idx), self._hiding(idx))
            self._switch_at[idx] = self.time + span

    def visible(self) -> BoolArray:
        return self.alive & self.exposed

    def kill(self, index: int) -> None:
        self.alive[index] = False
