"""Sensors: coverage, revisit, detection probability, noise and clutter, producing the
detections a national tracker consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.fusion import Detections
from kizuna.sim._forces import Forces

__all__ = ["Coverage", "SensorSpec", "coverage", "observe"]


@dataclass(frozen=True, slots=True)
class SensorSpec:
    id: str  # a sensor node of the C2 architecture
    nation: str
    label: str  # the banner its products carry
    revisit_s: float
    pd: float
    sigma_m: float
    clutter: float = 0.0  # mean false detections per look over its coverage
    x_km: tuple[float, float] | None = None  # coverage box; None: the whole theatre
    y_km: tuple[float, float] | None = None
    sees: frozenset[str] | None = None  # RED types it can detect; None: all


@dataclass(frozen=True, slots=True)
class Coverage:
    """Where a sensor looks, in metres, and which entities it can detect by type (None:
    all): what a run works out once per sensor."""

    lo: np.ndarray
    hi: np.ndarray
    sees: np.ndarray | None


def coverage(
    spec: SensorSpec, forces: Forces, box: tuple[tuple[float, float], tuple[float, float]]
) -> Coverage:
    (x0, x1), (y0, y1) = spec.x_km or box[0], spec.y_km or box[1]
    lo = np.array([x0 * 1e3, y0 * 1e3])
    hi = np.array([x1 * 1e3, y1 * 1e3])
    sees = None if spec.sees is None else np.isin(forces.type, list(spec.sees))
    return Coverage(lo, hi, sees)


def observe(
    spec: SensorSpec,
    forces: Forces,
    rng: np.random.Generator,
    cover: Coverage,
    visible: np.ndarray,
) -> Detections:
    """One look: each visible entity in coverage is detected with ``pd``, plus Poisson clutter.
    ``cover`` is ``coverage(spec, forces, box)`` and ``visible`` ``forces.visible()``, which a
    run works out once per sensor and once per tick."""
    pos = forces.pos
    # Both axes in one comparison each: the same booleans as one test per axis and bound.
    within = pos >= cover.lo
    within &= pos <= cover.hi
    inside = within[:, 0] & within[:, 1]
    inside &= visible
    if cover.sees is not None:
        inside &= cover.sees
    hit = inside & (rng.random(inside.size) < spec.pd)
    z = pos[hit] + rng.normal(0.0, spec.sigma_m, (int(np.add.reduce(hit)), 2))
    n_false = int(rng.poisson(spec.clutter))
    if n_false:
        z = np.concatenate([z, cover.lo + rng.random((n_false, 2)) * (cover.hi - cover.lo)])
    return Detections.of(z, spec.sigma_m, spec.id)
