"""Standards, tiers and assessments as values, and the tier a partner has earned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

__all__ = [
    "Area",
    "Assessment",
    "Catalogue",
    "Direction",
    "Standard",
    "StandardStatus",
    "Tier",
    "TierResult",
    "TierRule",
    "assess",
    "latest",
]


class Area(StrEnum):
    PHYSICAL = "physical"
    PERSONNEL = "personnel"
    COMMUNICATIONS = "communications"
    CYBER = "cyber"


class Direction(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"


class Tier(IntEnum):
    T0 = 0
    T1 = 1
    T2 = 2
    T3 = 3


@dataclass(frozen=True, slots=True)
class TierRule:
    """What a tier lets through the gateway."""

    tier: Tier
    summary: str
    max_rank: int  # highest label equivalence rank released; 0 is UNCLASSIFIED
    categories: frozenset[str]  # "*" for every category

    def allows(self, rank: int, category: str) -> bool:
        in_cat = "*" in self.categories or category in self.categories
        return rank <= self.max_rank and in_cat


@dataclass(frozen=True, slots=True)
class Standard:
    id: str
    area: Area
    name: str
    metric: str
    unit: str
    direction: Direction
    thresholds: Mapping[Tier, float]  # for T1..T3

    def meets(self, value: float | None, tier: Tier) -> bool:
        if tier is Tier.T0:
            return True
        if value is None:
            return False
        need = self.thresholds[tier]
        return value >= need if self.direction is Direction.AT_LEAST else value <= need


@dataclass(frozen=True, slots=True)
class Catalogue:
    standards: tuple[Standard, ...]
    tiers: Mapping[Tier, TierRule]


@dataclass(frozen=True, slots=True)
class Assessment:
    partner: str
    on: date
    values: Mapping[str, float]
    evidence: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StandardStatus:
    standard: Standard
    value: float | None
    evidence: str
    met: Tier  # the highest tier whose threshold this standard meets
    gap: str  # what the next tier needs, "" when the standard is already at T3


@dataclass(frozen=True, slots=True)
class TierResult:
    partner: str
    on: date | None
    tier: Tier
    rule: TierRule
    standards: tuple[StandardStatus, ...]

    @property
    def next_tier(self) -> Tier | None:
        return Tier(self.tier + 1) if self.tier < Tier.T3 else None

    def gaps(self) -> list[StandardStatus]:
        """The standards that hold the partner below the next tier."""
        nxt = self.next_tier
        return [] if nxt is None else [s for s in self.standards if s.met < nxt]


def _status(std: Standard, a: Assessment | None) -> StandardStatus:
    value = None if a is None else a.values.get(std.id)
    evidence = "" if a is None else a.evidence.get(std.id, "")
    met = max(t for t in Tier if std.meets(value, t))
    gap = ""
    if met < Tier.T3:
        nxt = Tier(met + 1)
        sign = ">=" if std.direction is Direction.AT_LEAST else "<="
        gap = f"{nxt.name} needs {sign} {std.thresholds[nxt]:g} {std.unit}"
    return StandardStatus(std, value, evidence, met, gap)


def assess(catalogue: Catalogue, partner: str, assessment: Assessment | None) -> TierResult:
    """The tier earned: the weakest standard decides."""
    statuses = tuple(_status(s, assessment) for s in catalogue.standards)
    tier = min((s.met for s in statuses), default=Tier.T0)
    on = None if assessment is None else assessment.on
    return TierResult(partner, on, tier, catalogue.tiers[tier], statuses)


def latest(assessments: Sequence[Assessment], partner: str, on: date) -> Assessment | None:
    """The most recent assessment of ``partner`` dated on or before ``on``."""
    mine = [a for a in assessments if a.partner == partner and a.on <= on]
    return max(mine, key=lambda a: a.on) if mine else None
