"""Latency distributions as data: parsed from YAML, sampled from standard normals.

A distribution maps a standard normal draw to seconds. Sampling through a normal (rather than
each family's own sampler) lets a router give every edge its own stream of common random
numbers, so changing one edge leaves every other edge's draws untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from kizuna.errors import ConfigError

__all__ = [
    "Constant",
    "Distribution",
    "LogNormal",
    "Uniform",
    "parse_distribution",
    "parse_duration",
]

_Z90 = 1.2815515655446004  # standard normal 90th percentile
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*$")
FloatArray = npt.NDArray[np.float64]


class Distribution(Protocol):
    """A non-negative latency in seconds."""

    @property
    def median(self) -> float: ...

    def from_normal(self, z: FloatArray) -> FloatArray:
        """Seconds for each standard normal draw in ``z``."""
        ...

    def sample(self, rng: np.random.Generator) -> float: ...


@dataclass(frozen=True, slots=True)
class Constant:
    value: float

    @property
    def median(self) -> float:
        return self.value

    def from_normal(self, z: FloatArray) -> FloatArray:
        return np.full(z.shape, self.value)

    def sample(self, rng: np.random.Generator) -> float:  # noqa: ARG002 - uniform interface
        return self.value


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Given by its median and 90th percentile, the way FACTS.md states latencies."""

    p50: float
    p90: float

    @property
    def median(self) -> float:
        return self.p50

    @property
    def sigma(self) -> float:
        return math.log(self.p90 / self.p50) / _Z90

    def from_normal(self, z: FloatArray) -> FloatArray:
        out: FloatArray = self.p50 * np.exp(self.sigma * z)
        return out

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.p50 * math.exp(self.sigma * rng.standard_normal()))


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    @property
    def median(self) -> float:
        return (self.low + self.high) / 2

    def from_normal(self, z: FloatArray) -> FloatArray:
        out: FloatArray = self.low + (self.high - self.low) * ndtr(z)
        return out

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


def parse_duration(value: object, field: str) -> float:
    """Seconds from a number or a string such as ``"30m"``, ``"2h"``, ``"12s"``."""
    if isinstance(value, bool):
        raise ConfigError(f"expected a duration, got {value!r}", field=field)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value.lower())):
        if m.group(2) not in _UNITS:
            raise ConfigError(f"unknown duration unit {m.group(2)!r} in {value!r}", field=field)
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ConfigError(f"expected a duration like 30m or 2h, got {value!r}", field=field)
    if not math.isfinite(seconds):
        raise ConfigError(f"duration must be finite, got {value!r}", field=field)
    if seconds < 0:
        raise ConfigError(f"negative latency {value!r}", field=field)
    return seconds


def parse_distribution(spec: object, field: str) -> Distribution:
    """``{constant: 0}``, ``{median: 5m, p90: 15m}`` or ``{min: 20m, max: 60m}``."""
    if spec is None:
        raise ConfigError("latency distribution missing", field=field)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"expected a mapping, got {spec!r}", field=field)
    keys = frozenset(str(k) for k in spec)
    if keys == {"constant"}:
        return Constant(parse_duration(spec["constant"], f"{field}.constant"))
    if keys == {"median", "p90"}:
        p50 = parse_duration(spec["median"], f"{field}.median")
        p90 = parse_duration(spec["p90"], f"{field}.p90")
        if p50 == 0 and p90 == 0:
            return Constant(0.0)
        if p50 <= 0 or p90 < p50:
            raise ConfigError(f"need 0 < median <= p90, got {p50} and {p90}", field=field)
        return Constant(p50) if p90 == p50 else LogNormal(p50, p90)
    if keys == {"min", "max"}:
        low = parse_duration(spec["min"], f"{field}.min")
        high = parse_duration(spec["max"], f"{field}.max")
        if high < low:
            raise ConfigError(f"max {high} is below min {low}", field=field)
        return Constant(low) if high == low else Uniform(low, high)
    raise ConfigError(
        f"unknown distribution keys {sorted(keys)}; use constant, median+p90 or min+max",
        field=field,
    )
