"""The allocation board's view of shooters: static feasibility and the scored problem."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from kizuna.coord._alloc import AllocationProblem
from kizuna.coord._arch import Architecture
from kizuna.coord._model import Target

__all__ = ["Fleet"]

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]


class Fleet:
    """Shooter arrays in a fixed order, for vectorised feasibility and scoring."""

    def __init__(self, arch: Architecture) -> None:
        specs = list(arch.shooters.values())
        self.ids = [s.id for s in specs]
        self.index = {sid: i for i, sid in enumerate(self.ids)}
        self.specs = specs
        self.nation = [s.nation for s in specs]
        self.x = np.array([s.x_km for s in specs], dtype=float)
        self.y = np.array([s.y_km for s in specs], dtype=float)
        self.range = np.array([s.range_km for s in specs], dtype=float)
        self.speed = np.array([s.speed_kmh for s in specs], dtype=float)
        self.pk = np.array([s.pk for s in specs], dtype=float)
        self.capacity = np.array([s.capacity for s in specs], dtype=np.int64)
        self.salvo = np.array([s.salvo for s in specs], dtype=np.int64)
        # the expected delay before a shot: the shooter nation's median approval (the same in
        # every architecture, so zero-hop runs allocate alike)
        self.delay = np.array([arch.approvals[s.nation].latency.median for s in specs])
        self.nations = np.array(self.nation)
        # per target type: which shooters can engage it and whose nation may approve it
        self._can = {
            t: np.array(
                [
                    t in s.can_engage
                    and (
                        arch.approvals[s.nation].permitted is None
                        or t in (arch.approvals[s.nation].permitted or ())
                    )
                    for s in specs
                ],
                dtype=bool,
            )
            for t in arch.target_types
        }

    def static(self, target: Target, releasable: frozenset[str] | None) -> tuple[Bools, Floats]:
        """Which shooters could ever take ``target``, and each one's time of flight (s)."""
        dist = np.hypot(self.x - target.x_km, self.y - target.y_km)
        ok = (dist <= self.range) & self._can[target.type]
        if releasable is not None:
            ok &= np.isin(self.nations, sorted(releasable))
        tof: Floats = dist / self.speed * 3600.0
        return ok, tof

    def problem(
        self,
        now: float,
        *,
        masks: list[Bools],
        tofs: list[Floats],
        priority: Floats,
        window_end: Floats,
        excluded: list[set[str]],
        free: npt.NDArray[np.int64],
    ) -> AllocationProblem:
        mask = np.array(masks, dtype=bool).reshape(len(masks), len(self.ids))
        tof = np.array(tofs, dtype=float).reshape(mask.shape)
        for row, nations in enumerate(excluded):
            if nations:
                mask[row] &= ~np.isin(self.nations, sorted(nations))
        arrive = now + self.delay[None, :] + tof
        in_window = np.isnan(window_end)[:, None] | (arrive <= window_end[:, None])
        mask &= in_window & (free > 0)[None, :]
        value = priority[:, None] * self.pk[None, :] / (1.0 + tof / 3600.0)
        scores = np.where(mask, value, math.nan)
        return AllocationProblem(scores, free)
