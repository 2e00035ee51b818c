"""Synthetic nominations for runs, tests and the benchmark: seeded, notional."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.coord._arch import Architecture
from kizuna.coord._model import Nomination

__all__ = ["TargetArea", "synthetic_nominations"]


@dataclass(frozen=True, slots=True)
class TargetArea:
    """A notional box (km on the architecture's grid) where targets appear."""

    x_min: float = 700.0
    x_max: float = 1400.0
    y_min: float = -300.0
    y_max: float = 300.0


def synthetic_nominations(
    arch: Architecture,
    count: int,
    rng: np.random.Generator,
    *,
    horizon_s: float = 12 * 3600.0,
    area: TargetArea | None = None,
) -> list[Nomination]:
    """``count`` nominations spread uniformly over ``horizon_s`` seconds, types weighted by
    nothing but the catalogue order (uniform), each from a uniformly chosen sensor."""
    if count < 0 or horizon_s < 0:
        raise ValueError("count and horizon must be non-negative")
    box = area or TargetArea()
    types = sorted(arch.target_types)
    sensors = sorted(n.id for n in arch.sensors())
    t = np.sort(rng.uniform(0.0, horizon_s, count))
    kind = rng.integers(0, len(types), count)
    who = rng.integers(0, len(sensors), count)
    x = rng.uniform(box.x_min, box.x_max, count)
    y = rng.uniform(box.y_min, box.y_max, count)
    return [
        Nomination(
            f"T{i:05d}", types[kind[i]], float(x[i]), float(y[i]), sensors[who[i]], float(t[i])
        )
        for i in range(count)
    ]
