from __future__ import annotations

import numpy as np

from kizuna.coord import Architecture, CoordinationCell, FixedStock, synthetic_nominations

NAMES = ("parallel", "integrated", "integrated+cfc")


def run_cell(
    arch: Architecture, *, seed: int = 1, targets: int = 60, stock: int = 50, hours: float = 6.0
) -> CoordinationCell:
    noms = synthetic_nominations(
        arch, targets, np.random.default_rng([seed, 1]), horizon_s=hours * 3600
    )
    cell = CoordinationCell(
        arch, rng=np.random.default_rng([seed, 2]), stock=FixedStock({}, default=stock)
    )
    cell.run(noms)
    return cell
