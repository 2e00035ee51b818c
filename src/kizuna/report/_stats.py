"""Means and confidence intervals over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

__all__ = ["Estimate", "estimate"]


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean with a Student-t interval; one value gives a zero-width interval, none gives NaN."""
    vals = [v for v in values if math.isfinite(v)]
    n = len(vals)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = sum(vals) / n
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)
