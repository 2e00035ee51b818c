"""Vetting gates (JP 3-60): each a pluggable check returning a reasoned decision.

A denial is data: the cycle records it and rejects the target; nothing raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from kizuna.coord._model import Target, TargetType

__all__ = [
    "CollateralGate",
    "Gate",
    "GateDecision",
    "LegalReviewGate",
    "NoStrikeEntry",
    "NoStrikeGate",
]


@dataclass(frozen=True, slots=True)
class GateDecision:
    permit: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def allow(cls, *reasons: str) -> GateDecision:
        return cls(True, reasons)

    @classmethod
    def deny(cls, *reasons: str) -> GateDecision:
        if not reasons:
            raise ValueError("a denial needs at least one reason")
        return cls(False, reasons)


class Gate(Protocol):
    """A vetting check. ``name`` keys the gate's latency in the architecture."""

    @property
    def name(self) -> str: ...

    def check(self, target: Target, kind: TargetType) -> GateDecision: ...


@dataclass(frozen=True, slots=True)
class NoStrikeEntry:
    name: str
    x_km: float
    y_km: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class NoStrikeGate:
    entries: tuple[NoStrikeEntry, ...]
    name: str = "no_strike"

    def check(self, target: Target, kind: TargetType) -> GateDecision:  # noqa: ARG002
        hits = [
            e.name
            for e in self.entries
            if math.hypot(target.x_km - e.x_km, target.y_km - e.y_km) <= e.radius_km
        ]
        if hits:
            return GateDecision.deny(*(f"within no-strike radius of {h}" for h in hits))
        return GateDecision.allow("clear of the no-strike list")


@dataclass(frozen=True, slots=True)
class CollateralGate:
    """Collateral-damage estimate: tiers above ``max_tier`` need an authority the cell lacks."""

    max_tier: int
    name: str = "cde"

    def check(self, target: Target, kind: TargetType) -> GateDecision:  # noqa: ARG002
        if target.cde_tier > self.max_tier:
            return GateDecision.deny(f"CDE tier {target.cde_tier} above {self.max_tier}")
        return GateDecision.allow(f"CDE tier {target.cde_tier}")


@dataclass(frozen=True, slots=True)
class LegalReviewGate:
    """Only lawful military objectives pass."""

    name: str = "legal"

    def check(self, target: Target, kind: TargetType) -> GateDecision:  # noqa: ARG002
        if not kind.military_objective:
            return GateDecision.deny(f"type {kind.id} is not a military objective")
        return GateDecision.allow("military objective")
