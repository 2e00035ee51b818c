"""Target value model: type value, raised for time-sensitive targets as their window closes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PriorityModel"]


@dataclass(frozen=True, slots=True)
class PriorityModel:
    """priority = value x (tst_weight x (1 + urgency x elapsed share of the window)) for TSTs.

    Both weights are assumed modelling choices, not figures from FACTS.md.
    """

    tst_weight: float = 2.0
    urgency: float = 1.0

    def __post_init__(self) -> None:
        if self.tst_weight <= 0 or self.urgency < 0:
            raise ValueError("tst_weight must be positive and urgency non-negative")

    def priorities(
        self,
        value: npt.NDArray[np.float64],
        nominated_at: npt.NDArray[np.float64],
        window_end: npt.NDArray[np.float64],
        now: float,
    ) -> npt.NDArray[np.float64]:
        """Vectorised over targets; ``window_end`` is NaN for targets that are not TSTs."""
        tst = ~np.isnan(window_end)
        span = np.where(tst, window_end - nominated_at, 1.0)
        elapsed = np.clip((now - nominated_at) / np.maximum(span, 1e-9), 0.0, 1.0)
        boost = self.tst_weight * (1.0 + self.urgency * elapsed)
        out: npt.NDArray[np.float64] = np.where(tst, value * boost, value)
        return out

    def priority(
        self, value: float, nominated_at: float, window_end: float | None, now: float
    ) -> float:
        end = np.array([np.nan if window_end is None else window_end])
        return float(self.priorities(np.array([value]), np.array([nominated_at]), end, now)[0])
