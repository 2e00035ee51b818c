"""The exercise grid (km) to WGS-84 and back: a local equirectangular projection, adequate
for a theatre a few hundred kilometres across."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Grid"]

_M_PER_DEG = 111_320.0


class Grid:
    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self._cos = math.cos(math.radians(lat0))

    def to_latlon(self, x_m: float, y_m: float) -> tuple[float, float]:
        lat = self.lat0 + y_m / _M_PER_DEG
        lon = self.lon0 + x_m / (_M_PER_DEG * self._cos)
        return lat, (lon + 180.0) % 360.0 - 180.0

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        dlon = (lon - self.lon0 + 180.0) % 360.0 - 180.0
        return dlon * _M_PER_DEG * self._cos, (lat - self.lat0) * _M_PER_DEG

    def to_xy_many(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """``to_xy`` for arrays of positions, as an (n, 2) array."""
        dlon = (lon - self.lon0 + 180.0) % 360.0 - 180.0
        return np.stack((dlon * _M_PER_DEG * self._cos, (lat - self.lat0) * _M_PER_DEG), axis=1)
