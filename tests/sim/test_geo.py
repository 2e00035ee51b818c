"""The exercise grid: positions in arrays convert exactly as one at a time do."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from kizuna.sim._geo import Grid

_LAT = st.floats(-89.0, 89.0)
_LON = st.floats(-180.0, 180.0)


@given(_LAT, _LON, st.lists(st.tuples(_LAT, _LON), min_size=1, max_size=20))
def test_many_positions_convert_to_the_bit_as_each_alone(
    lat0: float, lon0: float, points: list[tuple[float, float]]
) -> None:
    grid = Grid(lat0, lon0)
    lat, lon = (np.array(v, dtype=np.float64) for v in zip(*points, strict=True))
    one_by_one = np.array([grid.to_xy(a, b) for a, b in points])
    assert np.array_equal(grid.to_xy_many(lat, lon), one_by_one)


def test_a_position_goes_to_the_grid_and_back() -> None:
    grid = Grid(30.0, 140.0)
    x, y = grid.to_xy(*grid.to_latlon(350_000.0, -120_000.0))
    assert abs(x - 350_000.0) < 1e-6 and abs(y + 120_000.0) < 1e-6
