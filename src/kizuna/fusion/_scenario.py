"""Scenario generator: targets, manoeuvres, and sensors with noise, coverage, pd and clutter.

Pure: every random draw comes from the ``numpy.random.Generator`` passed in, so a seed gives
the same scenario on every machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kizuna.fusion._types import Detections, FloatArray, IntArray

__all__ = ["Scenario", "ScenarioSpec", "SensorSpec", "generate"]


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A sensor: noise ``sigma`` (m), detection probability, clutter per km² per scan, and a
    circular coverage as a fraction of the area's half-width (None: everywhere)."""

    name: str
    sigma: float
    pd: float = 0.95
    clutter_per_km2: float = 0.02
    coverage: float | None = None


def _default_sensors() -> tuple[SensorSpec, ...]:
    return (
        SensorSpec("USA", sigma=15.0, pd=0.95, clutter_per_km2=0.02),
        SensorSpec("JPN", sigma=30.0, pd=0.85, clutter_per_km2=0.03, coverage=0.7),
    )


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """``spacing`` sets the density: the area's side is ``spacing * sqrt(n_targets)``."""

    n_targets: int = 20
    n_scans: int = 100
    dt: float = 1.0
    spacing: float = 1500.0
    speed: tuple[float, float] = (10.0, 60.0)
    q: float = 0.5  # m²/s³, acceleration noise of every target
    late_fraction: float = 0.2  # share of targets that appear in the first quarter of the run
    manoeuvre_prob: float = 0.01  # chance per target per scan to start a turn
    turn_rate: float = np.deg2rad(3.0)
    turn_scans: int = 20
    sensors: tuple[SensorSpec, ...] = field(default_factory=_default_sensors)

    @property
    def tracker_q(self) -> float:
        """The process noise a CV tracker should assume: the targets' own plus their turns,
        whose acceleration (turn rate × top speed) it must absorb as noise."""
        return self.q + (self.turn_rate * self.speed[1]) ** 2 * self.dt / 2

    @property
    def side(self) -> float:
        return self.spacing * float(np.sqrt(max(self.n_targets, 1)))


@dataclass(frozen=True, slots=True)
class Scenario:
    """Truth rows (time, id, state [x, y, vx, vy]) and detection rows per sensor."""

    spec: ScenarioSpec
    times: FloatArray
    truth_time: FloatArray
    truth_id: IntArray
    truth_x: FloatArray
    det_time: FloatArray
    det: Detections

    def scans(self, sensor: str | None = None) -> Iterator[tuple[float, Detections]]:
        """(time, detections) per scan time, of one sensor or of all of them."""
        mask = np.ones(len(self.det), bool) if sensor is None else self.det.sensor == sensor
        t = self.det_time[mask]
        d = self.det.select(mask)
        bounds = np.searchsorted(t, self.times, side="left")
        ends = np.r_[bounds[1:], t.size]
        for time, a, b in zip(self.times.tolist(), bounds.tolist(), ends.tolist(), strict=True):
            yield time, d.select(np.arange(a, b))

    def truth_at(self, k: int) -> tuple[IntArray, FloatArray]:
        """Ids and states of the targets present at scan ``k``."""
        t = self.times[k]
        lo = int(np.searchsorted(self.truth_time, t, side="left"))
        hi = int(np.searchsorted(self.truth_time, t, side="right"))
        return self.truth_id[lo:hi], self.truth_x[lo:hi]


def _turn(v: FloatArray, omega: FloatArray, dt: float) -> FloatArray:
    c, s = np.cos(omega * dt), np.sin(omega * dt)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def _sense(
    s: SensorSpec, pos: FloatArray, side: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Detections of one sensor in one scan: (positions, sigma), in random order."""
    half = side / 2
    radius = None if s.coverage is None else s.coverage * half
    seen = np.asarray(rng.random(pos.shape[0]) < s.pd, dtype=bool)
    if radius is not None:
        seen &= np.hypot(pos[:, 0], pos[:, 1]) <= radius
    z = pos[seen] + rng.normal(0.0, s.sigma, size=(int(seen.sum()), 2))
    area_km2 = (side / 1000) ** 2 if radius is None else np.pi * (radius / 1000) ** 2
    n_clutter = rng.poisson(s.clutter_per_km2 * area_km2)
    if radius is None:
        clutter = rng.uniform(-half, half, size=(n_clutter, 2))
    else:
        r = radius * np.sqrt(rng.random(n_clutter))
        a = rng.uniform(0, 2 * np.pi, n_clutter)
        clutter = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    out = np.concatenate([z, clutter])
    out = out[rng.permutation(out.shape[0])]
    return out, np.full(out.shape[0], s.sigma)


def generate(spec: ScenarioSpec, rng: np.random.Generator) -> Scenario:
    """Simulate the targets and every sensor's scans."""
    n = spec.n_targets
    half = spec.side / 2
    pos = rng.uniform(-0.8 * half, 0.8 * half, size=(n, 2))
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(*spec.speed, size=n)
    vel = np.stack([speed * np.cos(heading), speed * np.sin(heading)], axis=1)
    late = rng.random(n) < spec.late_fraction
    start = np.where(late, rng.integers(0, max(spec.n_scans // 4, 1), n), 0)
    turn_left = np.zeros(n, dtype=np.int64)
    omega = np.zeros(n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    tt: list[FloatArray] = []
    ti: list[IntArray] = []
    tx: list[FloatArray] = []
    dtm: list[FloatArray] = []
    dz: list[FloatArray] = []
    ds: list[FloatArray] = []
    dn: list[NDArray[np.str_]] = []
    times = np.arange(spec.n_scans, dtype=np.float64) * spec.dt
    for k, t in enumerate(times.tolist()):
        if k:
            starts = (turn_left == 0) & (rng.random(n) < spec.manoeuvre_prob)
            omega = np.where(starts, rng.choice([-1.0, 1.0], n) * spec.turn_rate, omega)
            turn_left = np.where(starts, spec.turn_scans, np.maximum(turn_left - 1, 0))
            vel = _turn(vel, np.where(turn_left > 0, omega, 0.0), spec.dt)
            acc = rng.normal(0.0, np.sqrt(spec.q / spec.dt), size=(n, 2))
            pos = pos + vel * spec.dt + 0.5 * acc * spec.dt**2
            vel = vel + acc * spec.dt
        alive = start <= k
        tt.append(np.full(int(alive.sum()), t))
        ti.append(ids[alive])
        tx.append(np.concatenate([pos[alive], vel[alive]], axis=1))
        for s in spec.sensors:
            z, sig = _sense(s, pos[alive], spec.side, rng)
            dtm.append(np.full(z.shape[0], t))
            dz.append(z)
            ds.append(sig)
            dn.append(np.full(z.shape[0], s.name))
    return Scenario(
        spec,
        times,
        np.concatenate(tt),
        np.concatenate(ti),
        np.concatenate(tx),
        np.concatenate(dtm),
        Detections(np.concatenate(dz), np.concatenate(ds), np.concatenate(dn)),
    )
